"""The whole report as one self-contained HTML page.

A head of marketing's answers first, the detail after, the statistics in an appendix with a
glossary. Plots are inlined as base64 data URIs (shown at half their pixel size: sharp on
high-density screens and in print), so the page opens offline; a stylesheet for narrow
screens and one for print (A4). No timestamps and no absolute paths: the same inputs give the
same bytes.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from typing import Any

from traveltide.report.answers import answers_html
from traveltide.report.benchmark_view import benchmark_section, has_benchmark
from traveltide.report.glossary import glossary_html
from traveltide.report.inputs import ReportInputs
from traveltide.report.narrative import agreement_html, headline, k_choice
from traveltide.report.plot_data import lift_metric
from traveltide.report.plotting import css_size
from traveltide.report.sections import (
    ab_power_section,
    ab_verdict_section,
    exports_section,
    summary_section,
    timings_section,
)
from traveltide.report.style import CSS

TITLE = "TravelTide rewards: who gets which perk"
# (section id, title) in reading order; `traveltide report` adds the timings last
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "In short"),
    ("segments", "The segments and the ML groups"),
    ("rules-vs-ml", "Rules and ML groups compared"),
    ("ab-test", "The A/B test and what it is worth"),
    ("k-selection", "How many ML groups"),
    ("exports", "Exports"),
    ("appendix", "Appendix: the statistics"),
)

CAPTIONS = {
    "segment_sizes.png": "Customers per segment, as today's marketing rules define them.",
    "perk_mix.png": "Customers per perk: as today's rules give them, as the ML groups give "
    "them, and as recommended (the same counts as the table above).",
    "cluster_sizes.png": "Customers per ML group, named after the rule segments they mostly hold.",
    "pca.png": "The customers in two dimensions (principal components of the standardised "
    "features{sample}), coloured by ML group. A picture for looking only: the groups were "
    "found in more dimensions, so groups that overlap here may be apart there.",
    "contingency.png": "Customers per rule segment (rows) and ML group (columns).",
    "ab_lift.png": "Difference between the arms in {what}, with its 95% range; green: too "
    "large to be chance after correcting for several comparisons.",
    "policy_value.png": "What each way of giving perks would earn per customer, estimated from "
    "the customers who got a random perk, with its 95% range (dashed: a random perk).",
    "k_selection.png": "Quality of each candidate number of ML groups. {why}",
    "benchmark.png": "How much of the planted customer types (synthetic data only) each "
    "clustering setting recovers, as a share of what a model trained on them recovers.",
}
LIFT_WORDS = {
    "net_value": "net value per customer (USD, revenue minus the perk's cost)",
    "revenue": "revenue per customer (USD)",
    "conversion": "the share who booked (percentage points)",
}


def _caption(name: str, inputs: ReportInputs) -> str:
    """A plot's caption: the PCA's says how many customers it shows, the k-selection's why
    the number used was chosen."""
    text = CAPTIONS.get(name, name)
    if name == "pca.png" and inputs.projection is not None:
        p = inputs.projection
        sample = (
            f", a sample of {len(p.points):,} of {p.users:,} customers"
            if len(p.points) < p.users
            else f", all {p.users:,} customers"
        )
        text = text.format(sample=sample)
    if name == "ab_lift.png":
        what = LIFT_WORDS.get(lift_metric(inputs.stage("ab_test")), "the decision metric")
        text = text.format(what=f"{what}, the measure the decision rests on")
    if name == "k_selection.png":
        text = text.format(why=k_choice(inputs.stage("cluster"), inputs.k_table))
    return text


def _figure(name: str, png: bytes, caption: str) -> str:
    """One plot as a <figure>, the PNG inlined and sized in CSS pixels."""
    fig_id = "fig-" + name.removesuffix(".png").replace("_", "-")
    width, height = css_size(png)
    return (
        f'<figure id="{fig_id}"><img data-plot="{html.escape(name)}" '
        f'alt="{html.escape(caption)}" width="{width}" height="{height}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _fmt(value: Any) -> str:
    """An appendix figure as an escaped table cell."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    if value is None:
        return "n/a"
    return html.escape(str(value))


def _benchmark(inputs: ReportInputs, figure: str) -> str:
    """The benchmark's plot and short table, when the pipeline has one (synthetic data)."""
    if inputs.benchmark is None or not has_benchmark(inputs.benchmark):
        return ""
    section = benchmark_section(inputs.benchmark, inputs.stage("cluster"))
    return f"<h3>How the ML settings were chosen: the benchmark</h3>\n{section}\n{figure}\n"


def _appendix(inputs: ReportInputs, benchmark: str = "") -> str:
    ab = inputs.stage("ab_test")
    rows = "\n".join(
        f'<tr><th>{html.escape(name)}</th><td data-metric="{html.escape(name)}">{_fmt(v)}</td></tr>'
        for name, v in headline(inputs.metrics)
    )
    verdict = html.escape(str(ab.get("verdict_reason", "")))
    return (
        "<h3>Figures</h3>\n"
        f'<div class="scroll"><table id="headline">\n{rows}\n</table></div>\n'
        "<h3>The A/B test in detail</h3>\n"
        f'<p id="verdict">{verdict}</p>\n{ab_verdict_section(ab)}\n'
        f"<h3>Power and minimum detectable effect</h3>\n{ab_power_section(ab)}\n"
        f"{benchmark}<h3>Glossary</h3>\n{glossary_html()}"
    )


def render_html(inputs: ReportInputs, plots: Mapping[str, bytes]) -> str:
    """The whole report as one HTML string with the plots inlined (no external resources)."""
    figs = {name: _figure(name, png, _caption(name, inputs)) for name, png in plots.items()}

    def fig(*names: str) -> str:
        return "\n".join(figs[n] for n in names if n in figs)

    k_text = k_choice(inputs.stage("cluster"), inputs.k_table)
    body = {
        "summary": answers_html(inputs),
        "segments": f"{fig('segment_sizes.png', 'perk_mix.png', 'cluster_sizes.png', 'pca.png')}"
        f"\n<h3>Every segment and ML group</h3>\n"
        f"{summary_section(inputs.summary, inputs.group_names)}",
        "rules-vs-ml": f"{agreement_html(inputs.stage('compare'))}\n{fig('contingency.png')}",
        "ab-test": fig("ab_lift.png", "policy_value.png"),
        "k-selection": (f'<p id="k-choice">{html.escape(k_text)}</p>\n' if k_text else "")
        + fig("k_selection.png"),
        "exports": exports_section(inputs),
        "appendix": _appendix(inputs, _benchmark(inputs, fig("benchmark.png"))),
    }
    shown = SECTIONS
    if inputs.timings:
        body["timings"] = timings_section(inputs.timings)
        shown = (*SECTIONS, ("timings", "Where the time went"))
    nav = "\n".join(f'<a href="#{sid}">{html.escape(title)}</a>' for sid, title in shown)
    sections = "\n".join(
        f'<section id="{sid}">\n<h2>{html.escape(title)}</h2>\n{body[sid]}\n</section>'
        for sid, title in shown
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(TITLE)}</title>
<style>
{CSS}
</style></head>
<body>
<header><h1>{html.escape(TITLE)}</h1>
<nav>{nav}</nav></header>
<main>
{sections}
</main>
</body></html>
"""
