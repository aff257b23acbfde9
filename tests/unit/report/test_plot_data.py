"""traveltide.report.plot_data: the tables behind DVC's plots."""

from __future__ import annotations

import pytest

from report_inputs import inputs_for
from traveltide.report.plot_data import lift_table, plot_data, policy_table


def test_lift_table_reads_the_decision_metric_of_every_tested_comparison(ab):
    figures = ab["figures"]
    table = lift_table(figures)
    assert table["comparison"].tolist() == [
        "A vs C",
        "B vs A (customers whose perks differ)",
        "B vs C",
    ]
    row = table.set_index("comparison").loc["B vs C"]
    assert row["effect"] == pytest.approx(figures["B_vs_C_decision_effect"])
    assert row["ci_low"] < row["effect"] < row["ci_high"]
    assert row["label"] == "ML group perks vs a random perk"
    # without decision figures, the conversion lift in percentage points
    plain = {k: v for k, v in figures.items() if "decision" not in k}
    lifts = lift_table(plain).set_index("comparison")
    assert lifts.loc["B vs C", "effect"] == pytest.approx(100 * figures["B_vs_C_lift_abs"])


def test_plot_data_tables(ab):
    inputs = inputs_for(ab, "B wins")
    tables = plot_data(inputs)
    long = tables["contingency.csv"]
    assert long["users"].sum() == inputs.contingency.to_numpy().sum()
    assert set(long["segment"]) == {"Big spenders", "Family travellers", "Bargain hunters"}
    assert tables["cluster_sizes.csv"]["users"].sum() == inputs.metrics["extract"]["users"]
    assert tables["cluster_sizes.csv"]["cluster"].str.startswith("Group ").all()
    assert len(tables["pca.csv"]) == len(inputs.projection.points)
    policy = tables["policy_value.csv"]
    assert (policy["estimator"] == "dr").all() and (policy["metric"] == "net_value").all()
    assert policy["estimate"].is_monotonic_decreasing
    assert "Rule perks (A)" in set(policy["label"])
    assert policy_table(None).empty
