"""The self-contained HTML report: headline figures and plots, inlined so it opens offline.

Plots are drawn with matplotlib's Agg backend to PNG and embedded as base64 data URIs; the PNGs
are also returned so the tracking stage can log them as MLflow artifacts. Output is
deterministic: no timestamps, and matplotlib's PNG metadata is stripped.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

_PNG_META = {"Software": None}


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows, read from the pipeline's outputs."""

    metrics: Mapping[str, Any]  # metrics/<stage>.json contents by stage name
    k_table: pd.DataFrame
    contingency: pd.DataFrame  # index: rule segment, columns: cluster
    ab_arms: pd.DataFrame  # columns: comparison, lift_abs, ci_low, ci_high, p_value


def _png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", metadata=_PNG_META)
    plt.close(fig)
    return buf.getvalue()


def plot_k_selection(k_table: pd.DataFrame) -> bytes:
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(k_table["k"], k_table["silhouette"], marker="o", label="silhouette")
    ax.set_xlabel("k")
    ax.set_ylabel("silhouette")
    ax2 = ax.twinx()
    ax2.plot(
        k_table["k"], k_table["davies_bouldin"], marker="s", color="tab:red", label="Davies-Bouldin"
    )
    ax2.set_ylabel("Davies-Bouldin")
    ax.set_title("k-selection")
    return _png(fig)


def plot_sizes(sizes: Mapping[str, int], title: str) -> bytes:
    fig, ax = plt.subplots(figsize=(5, 3))
    labels = list(sizes)
    ax.barh(labels, [sizes[k] for k in labels], color="tab:blue")
    ax.set_xlabel("users")
    ax.set_title(title)
    return _png(fig)


def plot_contingency(table: pd.DataFrame) -> bytes:
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    values = table.to_numpy()
    im = ax.imshow(values, cmap="Blues", aspect="auto")
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns])
    ax.set_yticks(range(table.shape[0]), [str(i) for i in table.index])
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7)
    ax.set_xlabel("ML cluster")
    ax.set_title("rule segment x ML cluster (users)")
    fig.colorbar(im, ax=ax)
    return _png(fig)


def plot_ab_lift(arms: pd.DataFrame) -> bytes:
    fig, ax = plt.subplots(figsize=(5, 2.5))
    y = np.arange(len(arms))
    lift = arms["lift_abs"].to_numpy(float) * 100
    low = arms["ci_low"].to_numpy(float) * 100
    high = arms["ci_high"].to_numpy(float) * 100
    ax.errorbar(lift, y, xerr=[lift - low, high - lift], fmt="o", capsize=4)
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(y, list(arms["comparison"]))
    ax.set_xlabel("conversion lift over control (percentage points, 95% CI)")
    ax.set_title("A/B lift")
    return _png(fig)


def make_plots(inputs: ReportInputs) -> dict[str, bytes]:
    """Every plot of the report as PNG bytes, by file name."""
    m = inputs.metrics
    plots = {
        "k_selection.png": plot_k_selection(inputs.k_table),
        "cluster_sizes.png": plot_sizes(
            {f"cluster {k}": v for k, v in m["cluster"]["cluster_sizes"].items()}, "ML clusters"
        ),
        "segment_sizes.png": plot_sizes(m["segment_rules"]["segment_sizes"], "rule segments"),
        "contingency.png": plot_contingency(inputs.contingency),
    }
    if not inputs.ab_arms.empty:
        plots["ab_lift.png"] = plot_ab_lift(inputs.ab_arms)
    return plots


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if not np.isfinite(value) else f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return html.escape(str(value))


def headline(metrics: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The figures a reader needs first, in reading order."""
    c, q, cmp_, ab = (
        metrics["extract"],
        metrics["cluster"],
        metrics["compare"],
        metrics["ab_test"],
    )
    return [
        ("cohort users", c["users"]),
        ("cohort sessions", c["sessions"]),
        ("ML clusters (k)", q["k"]),
        ("silhouette", q["silhouette"]),
        ("Calinski-Harabasz", q["calinski_harabasz"]),
        ("Davies-Bouldin", q["davies_bouldin"]),
        ("ARI rules vs ML", cmp_["ari"]),
        ("NMI rules vs ML", cmp_["nmi"]),
        ("perk agreement", cmp_["perk_agreement"]),
        ("A/B verdict", ab.get("verdict_winner", "n/a")),
    ]


def render_html(inputs: ReportInputs, plots: Mapping[str, bytes]) -> str:
    """The whole report as one HTML string with the plots inlined."""
    rows = "\n".join(
        f'<tr><th>{html.escape(name)}</th><td data-metric="{html.escape(name)}">{_fmt(v)}</td></tr>'
        for name, v in headline(inputs.metrics)
    )
    verdict = html.escape(str(inputs.metrics["ab_test"].get("verdict_reason", "")))
    images = "\n".join(
        f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}"><figcaption>{html.escape(name)}</figcaption></figure>'
        for name, png in plots.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>TravelTide segmentation report</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; }}
th, td {{ padding: 4px 10px; border-bottom: 1px solid #ddd; }}
th {{ text-align: left; }} figure {{ display: inline-block; margin: 8px; }}
</style></head>
<body>
<h1>TravelTide segmentation report</h1>
<h2>Headline figures</h2>
<table id="headline">
{rows}
</table>
<h2>A/B verdict</h2>
<p id="verdict">{verdict}</p>
<h2>Plots</h2>
{images}
</body></html>
"""
