"""The report's benchmark: how much of the planted customer types each clustering method
recovers, as one plot and a short table for the appendix (data/segments/benchmark.csv, the
benchmark stage's table; empty with an external source, and then nothing is shown)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import pandas as pd

from traveltide.report.formatting import is_number
from traveltide.report.plotting import WIDTH_IN, png, styled
from traveltide.report.sections import html_table

TRUE_K = "true_k"  # traveltide.segment.benchmark.TRUE_K (the report imports no segment module)
GOAL = 0.8  # the share of the ceiling a method should reach
TOP_ROWS = 5
HOW_CHOSEN = (
    "The clustering defaults (7 groups, log-scaled features, standard scaling, leaving out "
    "features that mostly repeat an earlier one) were chosen on this benchmark: no automatic "
    "rule for the number of groups recovered as much of the planted types as 7 groups, and "
    "leaving out the repeating features doubled what was recovered "
    "(docs/clustering.md#benchmark)."
)


def has_benchmark(table: pd.DataFrame | None) -> bool:
    """A benchmark table with rows (an external source has none: no known types)."""
    return table is not None and not table.empty and "vs_ceiling" in table


def _unset(value: Any) -> bool:
    return str(value) in ("none", "nan", "")


def setting_label(row: Mapping[str, Any]) -> str:
    """E.g. `kmeans, log1p_scaled, standard, corr <= 0.6, PCA 0.9`."""
    pca = "no PCA" if _unset(row["pca"]) else f"PCA {row['pca']}"
    limit = row.get("max_correlation", "none")
    corr = "all features" if _unset(limit) else f"corr <= {limit}"
    return f"{row['algorithm']}, {row['transform']}, {row['scaler']}, {corr}, {pca}"


def _best_auto(table: pd.DataFrame) -> pd.DataFrame:
    """Per setting, the auto-k row with the highest share of the ceiling (ties: first)."""
    auto = table[table["k_choice"] != TRUE_K]
    keys = [k for k in ("algorithm", "transform", "scaler", "max_correlation", "pca") if k in table]
    return auto.sort_values("vs_ceiling", ascending=False, kind="stable").drop_duplicates(keys)


def plot_benchmark(table: pd.DataFrame) -> bytes:
    """Share of the ceiling per setting: at the true k and at the best auto-k rule's k, with
    the goal (0.8) and the ceiling (1.0) marked."""
    true = table[table["k_choice"] == TRUE_K].reset_index(drop=True)
    auto = _best_auto(table)
    labels = [setting_label(r) for r in true.to_dict("records")]
    best = {setting_label(r): r["vs_ceiling"] for r in auto.to_dict("records")}
    y = list(range(len(true)))
    with styled() as plt:
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 1.2 + 0.26 * len(true)))
        ax.barh([i - 0.2 for i in y], true["vs_ceiling"], height=0.4, label="true k")
        ax.barh(
            [i + 0.2 for i in y],
            [best.get(label, float("nan")) for label in labels],
            height=0.4,
            label="best auto-k rule's k",
        )
        ax.axvline(GOAL, color="#54a24b", ls="--", lw=1.2, label=f"goal: {GOAL:g}")
        ax.axvline(1.0, color="black", ls=":", lw=1.2, label="ceiling")
        ax.set_yticks(y)
        ax.set_yticklabels(labels, fontsize=7.5)
        ax.invert_yaxis()
        ax.set_xlim(0, 1.05)
        ax.set_xlabel("ARI vs the planted types / supervised ceiling")
        ax.legend(frameon=False, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.12))
        ax.set_title("Known customer types found")
        return png(fig)


def _cell(value: Any, digits: int = 3) -> str:
    return f"{float(value):.{digits}f}" if is_number(value) else "n/a"


def benchmark_section(table: pd.DataFrame, cluster: Mapping[str, Any]) -> str:
    """The ceiling, this run's share of it, the best settings and the rules' averages."""
    ceiling, ratio = cluster.get("truth_ceiling_ari"), cluster.get("truth_ari_vs_ceiling")
    intro = (
        f"A model trained on the planted customer types reaches an ARI of {_cell(ceiling)} "
        f"(the ceiling); this run's ML groups reach {_cell(cluster.get('truth_ari'))}, "
        f"{_cell(ratio, 2)} of it. {HOW_CHOSEN}"
    )
    top = table.sort_values("vs_ceiling", ascending=False, kind="stable").head(TOP_ROWS)
    rows = [
        [setting_label(r), str(r["k_choice"]), str(r["k"]), _cell(r["truth_ari"])]
        + [_cell(r["vs_ceiling"], 2), _cell(r["silhouette"]), _cell(r["stability"], 2)]
        for r in top.to_dict("records")
    ]
    head = ["setting", "k chosen by", "k", "ARI", "share of ceiling", "silhouette", "stability"]
    means = table.groupby("k_choice", sort=False)["vs_ceiling"].mean()
    rules = "; ".join(f"{html.escape(str(c))} {v:.2f}" for c, v in means.items())
    return (
        f'<p id="benchmark-intro">{html.escape(intro)}</p>\n'
        f"{html_table(head, rows, 'benchmark')}\n"
        f'<p id="benchmark-rules">Mean share of the ceiling by how k is chosen: {rules}.</p>'
    )
