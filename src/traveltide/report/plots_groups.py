"""The report's plots of the segments and ML groups: sizes, perk mix, the PCA picture, the
rule segment x ML group table and the choice of the number of groups."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from traveltide.report.inputs import ReportInputs
from traveltide.report.names import NOISE, cluster_label, perk_name, segment_name
from traveltide.report.narrative import best_k
from traveltide.report.offer import perk_mix
from traveltide.report.plotting import MUTED, WIDTH_IN, png, styled
from traveltide.report.projection import Projection

MIX_VIEWS = ("Today's rules", "ML groups", "Recommended")
VIEW_COLOURS = dict(zip(MIX_VIEWS, ("#4c78a8", "#f58518", "#54a24b"), strict=True))


def cluster_sizes(sizes: Mapping[str, int], names: Mapping[str, str]) -> dict[str, int]:
    """{human name: users} in cluster-id order (noise last)."""

    def order(item: tuple[str, int]) -> tuple[int, int]:
        try:
            c = int(item[0])
        except ValueError:
            return 1 << 30, 0
        return (1 << 29, 0) if c == NOISE else (c, 0)

    return {cluster_label(c, names): n for c, n in sorted(sizes.items(), key=order)}


def plot_sizes(sizes: Mapping[str, int], title: str) -> bytes:
    """Customers per group as horizontal bars, in the order given, each bar labelled."""
    with styled() as plt:
        labels = list(sizes)
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 0.42 * len(labels) + 1.0))
        bars = ax.barh(labels, [sizes[k] for k in labels], color="#4c78a8")
        ax.bar_label(bars, labels=[f"{sizes[k]:,}" for k in labels], padding=3)
        ax.invert_yaxis()
        ax.set_xlabel("customers")
        ax.set_title(title)
        ax.margins(x=0.12)
        return png(fig)


def perk_mixes(inputs: ReportInputs) -> dict[str, dict[str, int]]:
    """Customers per perk as today's rules give them, as the ML groups give them, and as
    recommended (counted from the rewards assignment, like the answers' table)."""
    m = inputs.metrics
    mixes = {
        MIX_VIEWS[0]: dict((m.get("segment_rules") or {}).get("perk_mix") or {}),
        MIX_VIEWS[1]: dict((m.get("cluster") or {}).get("perk_mix") or {}),
        MIX_VIEWS[2]: perk_mix(inputs.assignment) if inputs.assignment is not None else {},
    }
    return {k: v for k, v in mixes.items() if v}


def plot_perk_mix(mixes: Mapping[str, Mapping[str, int]]) -> bytes:
    """Customers per perk under each view (grouped bars), perks in a fixed order."""
    perks = sorted({p for mix in mixes.values() for p in mix})
    with styled() as plt:
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 0.75 * len(perks) + 1.3))
        height = 0.8 / max(len(mixes), 1)
        y = np.arange(len(perks))
        for i, (view, mix) in enumerate(mixes.items()):
            values = [mix.get(p, 0) for p in perks]
            bars = ax.barh(
                y + i * height,
                values,
                height=height,
                label=view,
                color=VIEW_COLOURS.get(view, MUTED),
            )
            ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=2, fontsize=8.5)
        ax.set_yticks(y + height * (len(mixes) - 1) / 2, [perk_name(p) for p in perks])
        ax.invert_yaxis()
        ax.set_xlabel("customers")
        ax.set_title("Customers per perk")
        ax.margins(x=0.12)
        ax.legend(frameon=False, loc="lower right")
        return png(fig)


def plot_pca(projection: Projection, names: Mapping[str, str]) -> bytes:
    """The projected customers coloured by ML group; noise in light grey."""
    pts = projection.points
    clusters = sorted(pts["cluster"].unique())
    with styled() as plt:
        cmap = plt.get_cmap("tab10" if len(clusters) <= 10 else "tab20")
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 4.6))
        for i, c in enumerate(clusters):
            sel = (pts["cluster"] == c).to_numpy()
            ax.scatter(
                pts["pc1"].to_numpy()[sel],
                pts["pc2"].to_numpy()[sel],
                s=6,
                alpha=0.6,
                linewidths=0,
                color="lightgrey" if c == NOISE else cmap(i % cmap.N),
                label=cluster_label(c, names),
            )
        ev = projection.explained
        ax.set_xlabel(f"first principal component ({100 * ev[0]:.0f}% of the variance)")
        ax.set_ylabel(f"second ({100 * ev[1]:.0f}%)")
        ax.set_title("ML groups in a two-dimensional picture of the customers")
        ax.legend(
            markerscale=3, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9
        )
        return png(fig)


def plot_contingency(table: pd.DataFrame, names: Mapping[str, str]) -> bytes:
    """Customers per rule segment (rows) and ML group (columns) as an annotated heat map."""
    values = table.to_numpy()
    with styled() as plt:
        fig, ax = plt.subplots(
            figsize=(min(WIDTH_IN, 0.75 * table.shape[1] + 3.2), 0.45 * table.shape[0] + 1.8)
        )
        im = ax.imshow(values, cmap="Blues", aspect="auto")
        ax.set_xticks(
            range(table.shape[1]),
            [cluster_label(c, names).split(":")[0] for c in table.columns],
            rotation=0,
        )
        ax.set_yticks(range(table.shape[0]), [segment_name(i) for i in table.index])
        top = values.max() if values.size else 0
        for (i, j), v in np.ndenumerate(values):
            colour = "white" if top and v > top / 2 else "black"
            ax.text(j, i, f"{v:,}", ha="center", va="center", fontsize=8.5, color=colour)
        ax.set_xlabel("ML group")
        ax.set_title("Customers per rule segment and ML group")
        ax.spines[:].set_visible(False)
        fig.colorbar(im, ax=ax, shrink=0.8, label="customers")
        return png(fig)


def plot_k_selection(k_table: pd.DataFrame, cluster: Mapping[str, Any]) -> bytes:
    """Silhouette (and persona ARI when known) on the left axis, Davies-Bouldin on the right;
    the k used and the k the silhouette prefers are marked and named in the legend."""
    k = k_table["k"]
    chosen = cluster.get("k")
    peak = best_k(k_table, "silhouette")
    with styled() as plt:
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.8))
        if "silhouette" in k_table:
            ax.plot(k, k_table["silhouette"], marker="o", label="silhouette (higher is better)")
        if "truth_ari" in k_table and k_table["truth_ari"].notna().any():
            ax.plot(k, k_table["truth_ari"], marker="^", ls="--", label="ARI vs personas")
        ax.set_xlabel("number of ML groups (k)")
        ax.set_ylabel("silhouette / ARI")
        handles, labels = ax.get_legend_handles_labels()
        if "davies_bouldin" in k_table and k_table["davies_bouldin"].notna().any():
            ax2 = ax.twinx()
            ax2.spines["right"].set_visible(True)
            ax2.plot(k, k_table["davies_bouldin"], marker="s", color="#e45756")
            ax2.set_ylabel("Davies-Bouldin (lower is better)")
            handles.append(ax2.lines[-1])
            labels.append("Davies-Bouldin (lower is better)")
        if peak is not None:
            best = float(k_table.loc[k_table["k"] == peak, "silhouette"].iloc[0])
            (star,) = ax.plot([peak], [best], marker="*", ms=16, color="#54a24b", ls="none")
            handles.append(star)
            labels.append(f"highest silhouette: k = {peak}")
        if isinstance(chosen, int) and chosen in set(k):
            line = ax.axvline(chosen, color="black", lw=1.2, ls=":")
            auto = str(cluster.get("k_rule", "")).startswith("auto")
            how = "chosen by its rule" if auto else "set by hand"
            handles.append(line)
            labels.append(f"k used: {chosen} ({how})")
        ax.set_xticks(list(k))
        ax.legend(
            handles,
            labels,
            frameon=False,
            ncol=2,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.2),
        )
        ax.set_title("How many ML groups? Quality of each candidate number")
        return png(fig)
