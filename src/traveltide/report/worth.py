"""What the perks are worth: the policy values of the A/B stage, in words and as one table.

The A/B stage estimates, from the customers who got a random perk, what each way of giving
perks would earn per customer (data/ab/policy_values.csv: policy x estimator x metric). The
report quotes one estimator (doubly robust where present) and one metric (net value: revenue
minus the perk's cost, else revenue), and scales it to the cohort.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

from traveltide.report.formatting import is_number, tagged
from traveltide.report.inputs import ReportInputs
from traveltide.report.names import policy_name

ESTIMATOR_ORDER = ("dr", "snipw", "ipw")  # the first present is quoted
METRIC_ORDER = ("net_value", "revenue", "conversion")
# the policies the answer names (the plot shows every policy)
NAMED = (
    "clusters",
    "rules",
    "random_perk",
    "best_perk_per_cluster",
    "best_perk_per_segment",
    "uplift_model",
)
METRIC_WORDS = {
    "net_value": "net value (revenue minus the perk's cost)",
    "revenue": "revenue",
    "conversion": "bookings",
}


def _first(values: Sequence[str], present: set[str]) -> str | None:
    return next((v for v in values if v in present), None)


def quoted(values: pd.DataFrame | None) -> tuple[pd.DataFrame, str, str] | None:
    """The rows the report quotes (one estimator, one metric, finite CIs) by policy, with the
    estimator and metric chosen; None without policy values."""
    if values is None or values.empty or not {"policy", "estimator", "metric"} <= set(values):
        return None
    estimator = _first(ESTIMATOR_ORDER, set(values["estimator"].astype(str)))
    metric = _first(METRIC_ORDER, set(values["metric"].astype(str)))
    if estimator is None or metric is None:
        return None
    rows = values[(values["estimator"] == estimator) & (values["metric"] == metric)]
    rows = rows[[is_number(v) for v in rows["estimate"]]]
    if rows.empty:
        return None
    ordered = rows.sort_values(["estimate", "policy"], ascending=[False, True], kind="stable")
    return ordered.reset_index(drop=True), estimator, metric


def _money(metric: str) -> str:
    return "pct1" if metric == "conversion" else "usd2"


def worth_paragraphs(inputs: ReportInputs) -> str:
    """Question 4 in words: each named policy's value per customer and over the cohort."""
    q = quoted(inputs.policy_values)
    if q is None:
        return _revenue_fallback(inputs)
    rows, estimator, metric = q
    fmt = _money(metric)
    items = []
    for r in rows.itertuples(index=False):
        if r.policy not in NAMED:
            continue
        src = f"p:{r.policy}:{estimator}:{metric}"
        ci = ""
        if is_number(r.ci_low) and is_number(r.ci_high):
            ci = (
                f" (95% range {tagged(r.ci_low, f'{src}:ci_low', fmt)} to "
                f"{tagged(r.ci_high, f'{src}:ci_high', fmt)})"
            )
        total = ""
        if metric != "conversion" and inputs.assignment is not None:
            cohort = r.estimate * len(inputs.assignment)
            total = "; over all customers about " + tagged(
                cohort, f"t:{r.policy}:{estimator}:{metric}", "usd0"
            )
        items.append(
            f"<li><strong>{html.escape(policy_name(r.policy))}</strong>: "
            f"{tagged(r.estimate, f'{src}:estimate', fmt)} per customer{ci}{total}</li>"
        )
    if not items:
        return _revenue_fallback(inputs)
    return (
        f"<p>What each way of giving perks earns per customer in "
        f"{html.escape(METRIC_WORDS.get(metric, metric))}, estimated from the customers who got "
        "a random perk (best first):</p>\n<ul>" + "".join(items) + "</ul>\n"
        '<p>The chart <a href="#fig-policy-value">What each way of giving perks is worth</a> '
        "shows every option with its range.</p>"
    )


def _revenue_fallback(inputs: ReportInputs) -> str:
    """Without policy values: the revenue per customer each arm of the test earned."""
    ab = inputs.stage("ab_test")
    arms = [a for a in "ABC" if is_number(ab.get(f"{a}_revenue_per_user"))]
    if not arms:
        return ""
    names = {"A": "rule perks", "B": "ML group perks", "C": "a random perk"}
    parts = [
        f"{tagged(ab[f'{a}_revenue_per_user'], f'm:ab_test.{a}_revenue_per_user', 'usd2')} "
        f"with {names[a]}"
        for a in arms
    ]
    return "<p>Revenue per customer in the test: " + ", ".join(parts) + ".</p>"
