"""traveltide.report.render: the page's sections, glossary, stylesheets and plots."""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd
import pytest

from report_inputs import ALL_PLOTS, inputs_for
from traveltide.report.glossary import GLOSSARY
from traveltide.report.inputs import ReportInputs
from traveltide.report.plots import make_plots
from traveltide.report.plotting import SCALE, css_size
from traveltide.report.render import SECTIONS, render_html
from traveltide.timings import StageTiming


@pytest.fixture(scope="module")
def drawn(ab):
    """The inputs of one decision and their plots (drawing costs a second or two)."""
    inputs = inputs_for(ab, "tie, B risks less")
    return inputs, make_plots(inputs)


def test_the_page_answers_first_and_keeps_the_statistics_for_the_appendix(drawn):
    inputs, plots = drawn
    page = render_html(inputs, plots)
    titles = re.findall(r"<h2>(.*?)</h2>", page)
    assert titles == [title for _, title in SECTIONS]
    answers, appendix = page.split('<section id="appendix">')
    for term in ("silhouette", "Holm", "Newcomb", "Welch", "Mann-Whitney", "Bonferroni"):
        assert term not in answers.split('<section id="segments">')[0], term
    for term, _ in GLOSSARY:
        assert term.split(" (")[0].split(",")[0] in appendix, term
    for term in ("Silhouette", "Holm", "Newcomb", "Welch", "Mann-Whitney", "Bonferroni", "ARI"):
        assert term in appendix.split('<dl id="glossary">')[1], term


def test_plots_are_inlined_at_twice_their_shown_size(drawn):
    inputs, plots = drawn
    assert set(plots) == ALL_PLOTS
    page = render_html(inputs, plots)
    for name, png in plots.items():
        width, height = css_size(png)
        assert 300 <= width <= 900, (name, width)  # fits a laptop screen's column
        assert f'data-plot="{name}" ' in page
        tag = re.search(rf'<img data-plot="{re.escape(name)}"[^>]*>', page).group(0)
        assert f'width="{width}" height="{height}"' in tag
    assert SCALE == 2


def test_stylesheets_for_a_phone_and_for_print(ab):
    page = render_html(inputs_for(ab, "A wins"), {})
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "@media (max-width: 640px)" in page and "@media print" in page
    printed = page.split("@media print")[1]
    assert "@page { size: A4" in printed and "break-inside: avoid" in printed
    assert "nav { display: none; }" in printed


def test_k_selection_says_why_the_k_used_was_chosen(ab):
    page = render_html(inputs_for(ab, "A wins"), {})
    assert (
        '<p id="k-choice">k = 3 was set by hand (cluster.k in params.yaml), not chosen from '
        "these curves; the silhouette alone would pick k = 4." in page
    )


def test_timings_section_lists_stages_slowest_first(ab):
    def timing(stage: str, wall: float) -> StageTiming:
        return StageTiming(
            stage, "ok", "2026-01-01T00:00:00+00:00", wall, 0.5, wall - 0.5, wall, 10**9
        )

    inputs = replace(
        inputs_for(ab, "tie, rules stay"),
        timings={"a": timing("a", 1.0), "b": timing("b", 12.5), "c": timing("c", 3.0)},
    )
    page = render_html(inputs, {})
    table = re.search(r'<table id="timings">(.*?)</table>', page, re.S).group(1)
    assert re.findall(r"<tr><td>(\w+)</td>", table) == ["b", "c", "a"]
    assert "<td>12.5</td>" in table and "16.5 s of stage wall time" in page
    assert 'href="#timings"' in page
    assert 'id="timings"' not in render_html(replace(inputs, timings=None), {})


def test_report_survives_sparse_metrics():
    inputs = ReportInputs(
        metrics={"extract": {"users": 10}},
        k_table=pd.DataFrame(),
        contingency=pd.DataFrame(),
        ab_arms=pd.DataFrame(),
    )
    page = render_html(inputs, make_plots(inputs))
    assert 'data-value="10.0" data-fmt="int">10<' in page and "<img" not in page


def test_the_appendix_reads_the_planned_figures_of_the_tested_comparisons(ab):
    from traveltide.report.sections import ab_power_section, ab_verdict_section

    figures = inputs_for(ab, "B wins").stage("ab_test")
    power = ab_power_section(figures)
    rows = re.findall(r"<tr><td>(.*?)</td>", power)
    assert rows == [k.replace("_", " ") for k in figures["tested"]]
    assert f"{100 * figures['plan_B_vs_C_power']:.1f}%" in power
    assert "(Holm correction)" in power and "n/a" not in power
    verdict = ab_verdict_section(figures)
    assert "<strong>Winner: B</strong>" in verdict
    assert f"{100 * figures['B_vs_C_lift_abs']:+.2f} pts" in verdict


def test_the_appendix_shows_the_benchmark_only_when_there_is_one(drawn):
    inputs, plots = drawn
    cluster = {**inputs.metrics["cluster"], "truth_ari": 0.45, "truth_ceiling_ari": 0.9}
    with_truth = replace(
        inputs, metrics={**inputs.metrics, "cluster": {**cluster, "truth_ari_vs_ceiling": 0.5}}
    )
    page = render_html(with_truth, plots)
    appendix = page.split('<section id="appendix">')[1]
    assert 'data-plot="benchmark.png"' in appendix and 'id="benchmark"' in appendix
    intro = re.search(r'<p id="benchmark-intro">(.*?)</p>', appendix)
    assert intro is not None and "0.900" in intro[1] and "0.450" in intro[1] and "0.50" in intro[1]
    rows = re.findall(r"<tr><td>", appendix.split('id="benchmark"')[1].split("</table>")[0])
    assert len(rows) == min(5, len(inputs.benchmark))
    external = replace(inputs, benchmark=inputs.benchmark.iloc[:0])
    assert "benchmark.png" not in make_plots(external)
    assert 'id="benchmark' not in render_html(external, plots)
