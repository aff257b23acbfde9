"""The tables behind dvc.yaml's top-level `plots` (`dvc plots show`, `dvc plots diff`), with
the human names the report's own plots use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from traveltide.report.abview import arms_of, tested
from traveltide.report.formatting import is_number
from traveltide.report.inputs import ReportInputs
from traveltide.report.names import ARM_NAMES, cluster_label, policy_name, segment_name
from traveltide.report.worth import quoted

LIFT_COLUMNS = ("comparison", "label", "effect", "ci_low", "ci_high", "p_adj", "significant")
UNITS = {"conversion": "percentage points", "revenue": "USD per user", "net_value": "USD per user"}


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def effect_of(ab: Mapping[str, Any], key: str) -> tuple[float, float, float, Any, bool] | None:
    """One comparison's effect on the decision metric with its 95% CI, adjusted p and whether
    it is significant (conversion in percentage points, money in USD per user); the
    conversion lift where the stage wrote no decision figures; None when a figure is missing."""
    metric = str(ab.get("decision_metric") or "conversion")
    names = ("decision_effect", "decision_ci_low", "decision_ci_high")
    p, significant = f"{key}_decision_p_adj", f"{key}_decision_significant"
    if not all(is_number(ab.get(f"{key}_{n}")) for n in names):
        names = ("lift_abs", "lift_ci_low", "lift_ci_high")
        metric, p, significant = "conversion", f"{key}_p_adj", f"{key}_significant"
    values: list[Any] = [ab.get(f"{key}_{n}") for n in names]
    if not all(is_number(v) for v in values):
        return None
    scale = 100.0 if metric == "conversion" else 1.0
    effect, low, high = (scale * float(v) for v in values)
    return effect, low, high, ab.get(p), bool(ab.get(significant))


def lift_metric(ab: Mapping[str, Any]) -> str:
    """The metric of `lift_table`'s effects: the decision metric, or conversion where the
    stage wrote no decision figures."""
    key = next(iter(tested(ab)), "")
    if not is_number(ab.get(f"{key}_decision_effect")):
        return "conversion"
    return str(ab.get("decision_metric") or "conversion")


def lift_unit(ab: Mapping[str, Any]) -> str:
    """The unit of `lift_table`'s effects."""
    metric = lift_metric(ab)
    return UNITS.get(metric, metric)


def lift_table(ab: Mapping[str, Any]) -> pd.DataFrame:
    """Every comparison the verdict rests on: its effect on the decision metric with the
    95% CI (``effect_of``), human labels first."""
    rows = []
    for key in tested(ab):
        found = effect_of(ab, key)
        if found is None:
            continue
        effect, low, high, p_adj, significant = found
        treatment, baseline, triggered = arms_of(key)
        where = " (customers whose perks differ)" if triggered else ""
        rows.append(
            {
                "comparison": f"{treatment} vs {baseline}{where}",
                "label": f"{_upper_first(ARM_NAMES.get(treatment, treatment))} vs "
                f"{ARM_NAMES.get(baseline, baseline)}{where}",
                "effect": effect,
                "ci_low": low,
                "ci_high": high,
                "p_adj": p_adj,
                "significant": significant,
            }
        )
    return pd.DataFrame(rows, columns=list(LIFT_COLUMNS))


def policy_table(values: pd.DataFrame | None) -> pd.DataFrame:
    """The policy values the report quotes (``worth.quoted``: one estimator, one metric), with
    human names, best first."""
    columns = ["label", "policy", "estimator", "metric", "estimate", "ci_low", "ci_high"]
    q = quoted(values)
    if q is None:
        return pd.DataFrame(columns=columns)
    table = q[0].copy()
    table.insert(0, "label", [policy_name(p) for p in table["policy"]])
    return table[columns].reset_index(drop=True)


def plot_data(inputs: ReportInputs) -> dict[str, pd.DataFrame]:
    """The tables behind dvc.yaml's top-level `plots` (`dvc plots show` / `dvc plots diff`)."""
    m = inputs.metrics
    names = inputs.group_names
    out: dict[str, pd.DataFrame] = {}

    def order(item: tuple[str, Any]) -> tuple[int, str]:
        try:
            return int(item[0]), ""
        except ValueError:
            return 1 << 30, item[0]

    clusters = sorted(((m.get("cluster") or {}).get("cluster_sizes") or {}).items(), key=order)
    out["cluster_sizes.csv"] = pd.DataFrame(
        {
            "cluster": [cluster_label(c, names) for c, _ in clusters],
            "users": [n for _, n in clusters],
        }
    )
    segments = sorted(((m.get("segment_rules") or {}).get("segment_sizes") or {}).items())
    out["segment_sizes.csv"] = pd.DataFrame(
        {"segment": [segment_name(s) for s, _ in segments], "users": [n for _, n in segments]}
    )
    table = inputs.contingency
    out["contingency.csv"] = pd.DataFrame(
        [
            {
                "segment": segment_name(seg),
                "cluster": cluster_label(c, names).split(":")[0],
                "users": int(table.loc[seg, c]),
            }
            for seg in table.index
            for c in table.columns
        ],
        columns=["segment", "cluster", "users"],
    )
    out["ab_lift.csv"] = lift_table(m.get("ab_test") or {})
    out["policy_value.csv"] = policy_table(inputs.policy_values)
    if inputs.projection is not None:
        pts = inputs.projection.points
        out["pca.csv"] = pd.DataFrame(
            {
                "pc1": pts["pc1"].round(4),
                "pc2": pts["pc2"].round(4),
                "cluster": [cluster_label(c, names) for c in pts["cluster"]],
            }
        )
    return out
