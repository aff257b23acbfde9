"""The whole report as one self-contained HTML page.

Sections in reading order, plots inlined as base64 data URIs so the page opens offline; no
timestamps and no absolute paths, so the same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from typing import Any

import numpy as np

from traveltide.report.inputs import ReportInputs
from traveltide.report.narrative import executive_summary, headline
from traveltide.report.sections import (
    ab_power_section,
    ab_verdict_section,
    exports_section,
    recommendations_section,
    summary_section,
    timings_section,
)

# (section id, title) in reading order; `traveltide report` adds the timings last
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Executive summary"),
    ("headline", "Headline figures"),
    ("segments", "Segments"),
    ("k-selection", "Choosing the number of clusters"),
    ("rules-vs-ml", "Rules vs ML"),
    ("ab-test", "A/B test"),
    ("exports", "Exports"),
)

CAPTIONS = {
    "pca.png": (
        "ML clusters on the first two principal components of the standardized features"
        "{sample}. A projection for looking only: it is not the space the clusters were found "
        "in, so clusters that overlap here may still be apart there."
    ),
    "cluster_sizes.png": "Users per ML cluster (label: cluster id and its perk).",
    "segment_sizes.png": "Users per rule segment.",
    "perk_mix.png": "Users per perk: as the rules give them, as the ML clusters give them, "
    "and as recommended (see Exports).",
    "k_selection.png": "k-selection: quality of each candidate number of clusters; "
    "the dotted line is the k used.",
    "contingency.png": "Users per rule segment (rows) and ML cluster (columns).",
    "ab_lift.png": "Conversion lift of each comparison in percentage points with its 95% "
    "confidence interval; green: significant after multiple-testing correction.",
}


def _caption(name: str, inputs: ReportInputs) -> str:
    """A plot's caption; the PCA's says how many users it shows."""
    text = CAPTIONS.get(name, name)
    if name == "pca.png" and inputs.projection is not None:
        p = inputs.projection
        sample = (
            f", a seeded sample of {len(p.points):,} of {p.users:,} users"
            if len(p.points) < p.users
            else f", all {p.users:,} users"
        )
        text = text.format(sample=sample)
    return text


def _figure(name: str, png: bytes, caption: str) -> str:
    """One plot as a <figure> with the PNG inlined as a data URI."""
    fig_id = "fig-" + name.removesuffix(".png").replace("_", "-")
    return (
        f'<figure id="{fig_id}"><img alt="{html.escape(name)}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _fmt(value: Any) -> str:
    """A headline figure as an escaped table cell."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "n/a" if not np.isfinite(value) else f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    if value is None:
        return "n/a"
    return html.escape(str(value))


def render_html(inputs: ReportInputs, plots: Mapping[str, bytes]) -> str:
    """The whole report as one HTML string with the plots inlined (no external resources)."""
    m = inputs.metrics
    ab = m.get("ab_test", {})
    figs = {name: _figure(name, png, _caption(name, inputs)) for name, png in plots.items()}

    def fig(*names: str) -> str:
        return "\n".join(figs[n] for n in names if n in figs)

    rows = "\n".join(
        f'<tr><th>{html.escape(name)}</th><td data-metric="{html.escape(name)}">{_fmt(v)}</td></tr>'
        for name, v in headline(m)
    )
    summary = "\n".join(f"<p>{html.escape(s)}</p>" for s in executive_summary(m, inputs.assignment))
    verdict = html.escape(str(ab.get("verdict_reason", "")))
    body = {
        "summary": f'<div id="executive-summary">\n{summary}\n</div>',
        "headline": f'<table id="headline">\n{rows}\n</table>',
        "segments": f"{fig('pca.png', 'cluster_sizes.png', 'segment_sizes.png', 'perk_mix.png')}"
        f"\n<h3>Segment summary</h3>\n{summary_section(inputs.summary)}",
        "k-selection": fig("k_selection.png"),
        "rules-vs-ml": f"{fig('contingency.png')}\n<h3>Recommendations</h3>\n"
        f"{recommendations_section(m.get('compare', {}))}",
        "ab-test": f"{fig('ab_lift.png')}\n<h3>Verdict</h3>\n"
        f'<p id="verdict">{verdict}</p>\n{ab_verdict_section(ab)}\n'
        f"<h3>Power and minimum detectable effect</h3>\n{ab_power_section(ab)}",
        "exports": exports_section(inputs),
    }
    shown = SECTIONS
    if inputs.timings:
        body["timings"] = timings_section(inputs.timings)
        shown = (*SECTIONS, ("timings", "Where the time went"))
    nav = " | ".join(f'<a href="#{sid}">{html.escape(title)}</a>' for sid, title in shown)
    sections = "\n".join(
        f'<section id="{sid}">\n<h2>{html.escape(title)}</h2>\n{body[sid]}\n</section>'
        for sid, title in shown
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>TravelTide segmentation report</title>
<style>
body {{ font-family: sans-serif; max-width: 1150px; margin: 2em auto; color: #222;
  line-height: 1.45; }}
table {{ border-collapse: collapse; margin: 0.5em 0; }}
th, td {{ padding: 4px 10px; border-bottom: 1px solid #ddd; vertical-align: top; }}
th {{ text-align: left; }}
figure {{ display: inline-block; margin: 8px; vertical-align: top; max-width: 560px; }}
figure img {{ max-width: 100%; }}
figcaption {{ font-size: 0.85em; color: #555; }}
#executive-summary {{ background: #f4f7fb; padding: 0.5em 1em; border-left: 4px solid #4a7ab5; }}
nav {{ font-size: 0.9em; }}
</style></head>
<body>
<h1>TravelTide segmentation report</h1>
<nav>{nav}</nav>
{sections}
</body></html>
"""
