"""traveltide.report.plot_data: the tables behind DVC's plots."""

from __future__ import annotations

import pytest

from report_inputs import build_inputs
from traveltide.report.plot_data import lift_table, plot_data


def test_lift_table_reads_every_comparison(ab_by_verdict):
    ab = ab_by_verdict["B"]
    table = lift_table(ab)
    assert table["comparison"].tolist() == ["A vs C", "B vs C", "B vs A"]
    row = table.set_index("comparison").loc["B vs C"]
    assert row["lift_pts"] == pytest.approx(100 * ab["B_vs_C_lift_abs"])
    assert row["ci_low_pts"] < row["lift_pts"] < row["ci_high_pts"]
    assert bool(row["significant"]) is True


def test_plot_data_tables(ab_by_verdict):
    inputs = build_inputs(ab_by_verdict["B"])
    tables = plot_data(inputs)
    long = tables["contingency.csv"]
    assert long["users"].sum() == inputs.contingency.to_numpy().sum()
    wide = long.pivot(index="segment", columns="cluster", values="users")
    wide.columns = wide.columns.astype(int)
    assert (
        (wide.loc[inputs.contingency.index, inputs.contingency.columns] == inputs.contingency)
        .all()
        .all()
    )
    assert tables["cluster_sizes.csv"]["users"].sum() == inputs.metrics["extract"]["users"]
    assert len(tables["pca.csv"]) == len(inputs.projection.points)
