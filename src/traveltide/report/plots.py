"""The report's figures as PNG bytes, drawn with matplotlib's Agg backend.

matplotlib is imported on the first drawing, not with this module. PNG metadata is stripped, so
the bytes do not depend on the installed matplotlib version.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from traveltide.report.exports import perk_counts
from traveltide.report.inputs import ReportInputs
from traveltide.report.plot_data import (
    NOISE,
    cluster_label,
    cluster_order,
    lift_table,
    metric_sizes,
)
from traveltide.report.projection import Projection

DPI = 90
_PNG_META = {"Software": None}  # no matplotlib version in the file: same bytes across installs


def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, imported on first use (it costs ~0.5 s)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    """The figure as PNG bytes; the figure is closed (pyplot keeps every open one)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata=_PNG_META)
    _pyplot().close(fig)
    return buf.getvalue()


def plot_pca(projection: Projection, metrics: Mapping[str, Any]) -> bytes:
    """The projected users coloured by cluster; noise in light grey."""
    plt = _pyplot()
    pts = projection.points
    clusters = sorted(pts["cluster"].unique())
    cmap = plt.get_cmap("tab10" if len(clusters) <= 10 else "tab20")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, c in enumerate(clusters):
        sel = (pts["cluster"] == c).to_numpy()
        ax.scatter(
            pts["pc1"].to_numpy()[sel],
            pts["pc2"].to_numpy()[sel],
            s=5,
            alpha=0.6,
            linewidths=0,
            color="lightgrey" if c == NOISE else cmap(i % cmap.N),
            label=cluster_label(c, metrics),
        )
    ev = projection.explained
    ax.set_xlabel(f"PC1 ({100 * ev[0]:.0f}% of variance)")
    ax.set_ylabel(f"PC2 ({100 * ev[1]:.0f}% of variance)")
    ax.set_title("ML clusters on the first two principal components")
    ax.legend(fontsize=7, markerscale=3, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
    return _png(fig)


def plot_k_selection(k_table: pd.DataFrame, chosen: Any = None) -> bytes:
    """Silhouette (and persona ARI when known) on the left axis, Davies-Bouldin on the right."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    k = k_table["k"]
    if "silhouette" in k_table:
        ax.plot(k, k_table["silhouette"], marker="o", label="silhouette (higher is better)")
    if "truth_ari" in k_table and k_table["truth_ari"].notna().any():
        ax.plot(k, k_table["truth_ari"], marker="^", ls="--", label="ARI vs personas")
    ax.set_xlabel("k")
    ax.set_ylabel("silhouette / ARI")
    handles, labels = ax.get_legend_handles_labels()
    if "davies_bouldin" in k_table and k_table["davies_bouldin"].notna().any():
        ax2 = ax.twinx()
        ax2.plot(k, k_table["davies_bouldin"], marker="s", color="tab:red", label="Davies-Bouldin")
        ax2.set_ylabel("Davies-Bouldin (lower is better)")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    if isinstance(chosen, int) and chosen in set(k):
        ax.axvline(chosen, color="grey", lw=1, ls=":")
        labels = [*labels, f"chosen k = {chosen}"]
        handles = [*handles, ax.lines[-1]]
    ax.legend(
        handles,
        labels,
        fontsize=7,
        frameon=False,
        ncol=2,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.18),
    )
    ax.set_title("k-selection")
    return _png(fig)


def plot_sizes(sizes: Mapping[str, int], title: str) -> bytes:
    """Users per group as horizontal bars, in the order given, each bar labelled."""
    plt = _pyplot()
    labels = list(sizes)
    fig, ax = plt.subplots(figsize=(5.5, 0.35 * len(labels) + 1.2))
    bars = ax.barh(labels, [sizes[k] for k in labels], color="tab:blue")
    ax.bar_label(bars, labels=[f"{sizes[k]:,}" for k in labels], fontsize=7, padding=2)
    ax.invert_yaxis()
    ax.set_xlabel("users")
    ax.set_title(title)
    return _png(fig)


def plot_perk_mix(mixes: Mapping[str, Mapping[str, int]]) -> bytes:
    """Users per perk under each view (grouped bars)."""
    plt = _pyplot()
    perks = sorted({p for mix in mixes.values() for p in mix})
    fig, ax = plt.subplots(figsize=(6, 0.5 * len(perks) + 1.4))
    height = 0.8 / max(len(mixes), 1)
    y = np.arange(len(perks))
    for i, (name, mix) in enumerate(mixes.items()):
        ax.barh(y + i * height, [mix.get(p, 0) for p in perks], height=height, label=name)
    ax.set_yticks(y + height * (len(mixes) - 1) / 2, perks)
    ax.invert_yaxis()
    ax.set_xlabel("users")
    ax.set_title("perk mix")
    ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
    return _png(fig)


def plot_contingency(table: pd.DataFrame) -> bytes:
    """Users per rule segment (rows) and ML cluster (columns) as an annotated heat map."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(0.55 * table.shape[1] + 3.5, 0.4 * table.shape[0] + 1.6))
    values = table.to_numpy()
    im = ax.imshow(values, cmap="Blues", aspect="auto")
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns])
    ax.set_yticks(range(table.shape[0]), [str(i) for i in table.index])
    top = values.max() if values.size else 0
    for (i, j), v in np.ndenumerate(values):
        color = "white" if top and v > top / 2 else "black"
        ax.text(j, i, f"{v:,}", ha="center", va="center", fontsize=7, color=color)
    ax.set_xlabel("ML cluster")
    ax.set_ylabel("rule segment")
    ax.set_title("rule segment x ML cluster (users)")
    fig.colorbar(im, ax=ax)
    return _png(fig)


def plot_ab_lift(lifts: pd.DataFrame) -> bytes:
    """Each comparison's lift with its 95% CI (``lift_table``); significant ones in green."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 0.5 * len(lifts) + 1.4))
    y = np.arange(len(lifts))
    lift, low, high = (lifts[c].to_numpy(float) for c in ("lift_pts", "ci_low_pts", "ci_high_pts"))
    colors = ["tab:green" if s else "tab:grey" for s in lifts["significant"]]
    for i in range(len(lifts)):
        ax.errorbar(
            lift[i],
            y[i],
            xerr=[[lift[i] - low[i]], [high[i] - lift[i]]],
            fmt="o",
            capsize=4,
            color=colors[i],
        )
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(y, list(lifts["label"]))
    ax.invert_yaxis()
    ax.set_xlabel("conversion lift (percentage points, 95% CI; green: significant)")
    ax.set_title("A/B lift")
    return _png(fig)


def _recommended_mix(inputs: ReportInputs) -> dict[str, int]:
    """Users per recommended perk (none without the rewards assignment)."""
    if inputs.assignment is None:
        return {}
    return perk_counts(inputs.assignment["recommended_perk"])


def make_plots(inputs: ReportInputs) -> dict[str, bytes]:
    """Every plot of the report as PNG bytes, by file name, in reading order."""
    m = inputs.metrics
    plots: dict[str, bytes] = {}
    if inputs.projection is not None and len(inputs.projection.points):
        plots["pca.png"] = plot_pca(inputs.projection, m)
    clusters = metric_sizes(m, "cluster", "cluster_sizes")
    if clusters:
        labels = {cluster_label(c, m): n for c, n in sorted(clusters.items(), key=cluster_order)}
        plots["cluster_sizes.png"] = plot_sizes(labels, "ML clusters (users)")
    segments = metric_sizes(m, "segment_rules", "segment_sizes")
    if segments:
        ordered = dict(sorted(segments.items(), key=lambda kv: (-kv[1], kv[0])))
        plots["segment_sizes.png"] = plot_sizes(ordered, "rule segments (users)")
    mixes = {
        "rules": metric_sizes(m, "segment_rules", "perk_mix"),
        "ML": metric_sizes(m, "cluster", "perk_mix"),
        "recommended": _recommended_mix(inputs),
    }
    mixes = {k: v for k, v in mixes.items() if v}
    if mixes:
        plots["perk_mix.png"] = plot_perk_mix(mixes)
    if not inputs.k_table.empty and "k" in inputs.k_table:
        plots["k_selection.png"] = plot_k_selection(inputs.k_table, m.get("cluster", {}).get("k"))
    if not inputs.contingency.empty:
        plots["contingency.png"] = plot_contingency(inputs.contingency)
    lifts = lift_table(m.get("ab_test", {}))
    if not lifts.empty:
        plots["ab_lift.png"] = plot_ab_lift(lifts)
    return plots
