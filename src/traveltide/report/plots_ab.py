"""The report's plots of the A/B test: each comparison's lift, and what each way of giving
perks is worth (the policy values), one chart a head of marketing can read."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from traveltide.report.names import policy_name
from traveltide.report.plot_data import lift_table, lift_unit
from traveltide.report.plotting import ARM_COLOURS, MUTED, WIDTH_IN, png, styled
from traveltide.report.worth import METRIC_WORDS, quoted

POLICY_COLOURS = {
    "rules": ARM_COLOURS["A"],
    "clusters": ARM_COLOURS["B"],
    "random_perk": ARM_COLOURS["C"],
    "best_perk_per_segment": "#54a24b",
    "best_perk_per_cluster": "#54a24b",
    "uplift_model": "#54a24b",
}
AXIS_WORDS = {
    "net_value": "net value per customer in USD (revenue minus the perk's cost)",
    "revenue": "revenue per customer in USD",
    "conversion": "share of customers who book",
}


def wrap(label: str, width: int = 28) -> str:
    """A long axis label on several lines, so the plot keeps to the page's width."""
    return "\n".join(textwrap.wrap(label, width)) or label


def _usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 0 else f"-${-value:,.2f}"


def lift_rows(ab: Mapping[str, Any]) -> tuple[pd.DataFrame, str]:
    """The comparisons the verdict rests on (``plot_data.lift_table``) and their unit."""
    return lift_table(ab), lift_unit(ab)


def plot_ab_lift(lifts: pd.DataFrame, unit: str) -> bytes:
    """Each comparison's effect on the decision metric with its 95% CI; green where it is
    too large to be chance after the multiple-testing correction."""
    money = unit.startswith("USD")
    with styled() as plt:
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 0.6 * len(lifts) + 1.5))
        y = np.arange(len(lifts))
        effect, low, high = (lifts[c].to_numpy(float) for c in ("effect", "ci_low", "ci_high"))
        for i in range(len(lifts)):
            colour = "#54a24b" if lifts["significant"].iloc[i] else MUTED
            ax.errorbar(
                effect[i],
                y[i],
                xerr=[[effect[i] - low[i]], [high[i] - effect[i]]],
                fmt="o",
                ms=7,
                capsize=5,
                lw=2,
                color=colour,
            )
            text = f"{effect[i]:+,.2f}" if money else f"{effect[i]:+.1f}"
            ax.annotate(
                text, (effect[i], y[i]), textcoords="offset points", xytext=(0, 8), ha="center"
            )
        ax.axvline(0, color="black", lw=1)
        ax.set_yticks(y, [wrap(label) for label in lifts["label"]])
        ax.set_ylim(len(lifts) - 0.5, -0.7)
        ax.set_xlabel(f"difference, {unit} (95% range)")
        ax.set_title("What the test showed (green: too large to be chance)")
        return png(fig)


def policy_rows(values: pd.DataFrame | None) -> tuple[pd.DataFrame, str, str] | None:
    """The policy values the chart shows (``worth.quoted``), best first."""
    return quoted(values)


def plot_policy_value(rows: pd.DataFrame, estimator: str, metric: str) -> bytes:
    """Every policy's value per customer with its 95% range, best at the top; the random
    perk (today's control) as a dashed reference line."""
    scale = 100.0 if metric == "conversion" else 1.0
    est = rows["estimate"].to_numpy(float) * scale
    low = rows["ci_low"].to_numpy(float) * scale
    high = rows["ci_high"].to_numpy(float) * scale
    names = [policy_name(p) for p in rows["policy"]]
    with styled() as plt:
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 0.45 * len(rows) + 1.6))
        y = np.arange(len(rows))
        for i, policy in enumerate(rows["policy"]):
            colour = POLICY_COLOURS.get(str(policy), "#bab0ac")
            ax.errorbar(
                est[i],
                y[i],
                xerr=[[max(est[i] - low[i], 0.0)], [max(high[i] - est[i], 0.0)]],
                fmt="o",
                ms=7,
                capsize=4,
                lw=2,
                color=colour,
            )
            text = f"{est[i]:.1f}%" if metric == "conversion" else _usd(est[i])
            ax.annotate(
                text, (high[i], y[i]), textcoords="offset points", xytext=(6, -4), fontsize=9
            )
        random = rows.index[rows["policy"] == "random_perk"]
        if len(random):
            ax.axvline(est[random[0]], color=MUTED, lw=1, ls="--")
        ax.set_yticks(y, [wrap(name) for name in names])
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.margins(x=0.15)
        ax.set_xlabel(AXIS_WORDS.get(metric, METRIC_WORDS.get(metric, metric)))
        ax.set_title("What each way of giving perks is worth")
        return png(fig)
