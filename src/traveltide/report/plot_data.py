"""The tables behind dvc.yaml's top-level `plots` (`dvc plots show`, `dvc plots diff`), and the
labels and orders the PNG plots share with them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from traveltide.report.formatting import ARM_NAMES
from traveltide.report.inputs import ReportInputs

NOISE = -1  # the cluster of users a density-based clustering leaves out


def cluster_label(cluster: Any, metrics: Mapping[str, Any]) -> str:
    """'3: free_checked_bag' (the cluster's perk), or 'noise'."""
    if str(cluster) == str(NOISE):
        return "noise"
    perk = (metrics.get("cluster", {}).get("cluster_perks") or {}).get(str(cluster))
    return f"{cluster}: {perk}" if perk else str(cluster)


def metric_sizes(metrics: Mapping[str, Any], stage: str, key: str) -> dict[str, int]:
    """Users per group from one stage's metrics (``cluster_sizes``, ``perk_mix``, ...)."""
    return dict(metrics.get(stage, {}).get(key) or {})


def cluster_order(item: tuple[str, Any]) -> tuple[int, str]:
    """Clusters in numeric order (ids are strings in the metrics JSON)."""
    try:
        return int(item[0]), ""
    except ValueError:
        return 1 << 30, item[0]


def lift_table(ab: Mapping[str, Any]) -> pd.DataFrame:
    """Every tested comparison's conversion lift with its 95% CI, in percentage points."""
    rows = []
    for key in ab.get("comparisons") or []:
        values: list[Any] = [
            ab.get(f"{key}_{n}") for n in ("lift_abs", "lift_ci_low", "lift_ci_high")
        ]
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
            continue
        lift, low, high = values
        treatment, baseline = key.split("_vs_")
        rows.append(
            {
                "comparison": f"{treatment} vs {baseline}",
                "label": f"{ARM_NAMES.get(treatment, treatment)} vs "
                f"{ARM_NAMES.get(baseline, baseline)}",
                "lift_pts": 100 * lift,
                "ci_low_pts": 100 * low,
                "ci_high_pts": 100 * high,
                "p_adj": ab.get(f"{key}_p_adj"),
                "significant": bool(ab.get(f"{key}_significant")),
            }
        )
    columns = ["comparison", "label", "lift_pts", "ci_low_pts", "ci_high_pts", "p_adj"]
    return pd.DataFrame(rows, columns=[*columns, "significant"])


def plot_data(inputs: ReportInputs) -> dict[str, pd.DataFrame]:
    """The tables behind dvc.yaml's top-level `plots` (`dvc plots show` / `dvc plots diff`)."""
    m = inputs.metrics
    out: dict[str, pd.DataFrame] = {}
    clusters = sorted(metric_sizes(m, "cluster", "cluster_sizes").items(), key=cluster_order)
    out["cluster_sizes.csv"] = pd.DataFrame(
        {"cluster": [cluster_label(c, m) for c, _ in clusters], "users": [n for _, n in clusters]}
    )
    segments = sorted(metric_sizes(m, "segment_rules", "segment_sizes").items())
    out["segment_sizes.csv"] = pd.DataFrame(
        {"segment": [s for s, _ in segments], "users": [n for _, n in segments]}
    )
    table = inputs.contingency
    out["contingency.csv"] = pd.DataFrame(
        [
            {"segment": str(seg), "cluster": str(c), "users": int(table.loc[seg, c])}
            for seg in table.index
            for c in table.columns
        ],
        columns=["segment", "cluster", "users"],
    )
    out["ab_lift.csv"] = lift_table(m.get("ab_test", {}))
    if inputs.projection is not None:
        pts = inputs.projection.points
        out["pca.csv"] = pd.DataFrame(
            {
                "pc1": pts["pc1"].round(4),
                "pc2": pts["pc2"].round(4),
                "cluster": [cluster_label(c, m) for c in pts["cluster"]],
            }
        )
    return out
