"""The report as a reader sees it: headless Chromium at a laptop's width (1,366 px) and a
phone's (390 px), offline. Nothing overflows the page sideways, every plot loads at twice the
resolution it is shown at, and every number of the opening answers equals the pipeline's
outputs; the page prints as an A4 PDF. First on inputs built in memory, then on the real
pipeline's report (a copy of the baseline repository)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from browser import chromium, external, render
from report_inputs import ALL_PLOTS, ab_figures, inputs_for
from report_numbers import Sources, check_numbers, pipeline_sources
from traveltide.report.plots import make_plots
from traveltide.report.render import SECTIONS, render_html

WIDTHS = (1366, 390)

PROBE = """
window.addEventListener('load', function () {
  var width = document.documentElement.clientWidth;
  var wide = [];
  document.querySelectorAll('body *').forEach(function (el) {
    var box = el.getBoundingClientRect();
    if (box.right > width + 1 && !el.closest('.scroll')) {
      wide.push(el.tagName + (el.id ? '#' + el.id : '') + ' ' + Math.round(box.right));
    }
  });
  var images = [];
  document.querySelectorAll('img').forEach(function (img) {
    images.push({plot: img.dataset.plot, complete: img.complete, natural: img.naturalWidth,
                 naturalHeight: img.naturalHeight, attr: Number(img.getAttribute('width')),
                 shown: img.getBoundingClientRect().width});
  });
  traveltideProbe({
    viewport: width, scroll: document.documentElement.scrollWidth, wide: wide.slice(0, 10),
    images: images, answers: (document.getElementById('answers') || {}).outerHTML || ''});
});
"""


def check_page(report: Path, scratch: Path, sources: Sources, plots: set[str]) -> None:
    """The page at both widths: no sideways overflow, every image loaded at 2x, no request
    left the page, and every number of the answers equals its source."""
    for width in WIDTHS:
        seen = render(report, scratch / f"w{width}", PROBE, width=width, wait_ms=5000)
        probe = seen.probe
        assert probe["viewport"] == width
        assert probe["scroll"] <= width, (width, probe["scroll"], probe["wide"])
        assert probe["wide"] == [], (width, probe["wide"])
        images = {img["plot"]: img for img in probe["images"]}
        assert set(images) == plots
        for name, img in images.items():
            assert img["complete"] and img["natural"] // 2 == img["attr"], (width, name, img)
            assert 0 < img["shown"] <= width, (width, name, img)
        assert external(seen.requests) == [], seen.requests
        assert probe["answers"], "no answers section"
        assert check_numbers(probe["answers"], sources) > 20
    titles = re.findall(r"<h2>(.*?)</h2>", report.read_text(encoding="utf-8"))
    assert titles == [title for _, title in SECTIONS]


def test_the_report_reads_on_a_laptop_and_a_phone(tmp_path):
    ab = ab_figures()
    inputs = inputs_for(ab, "tie, B risks less")
    plots = make_plots(inputs)
    report = tmp_path / "report.html"
    report.write_text(render_html(inputs, plots), encoding="utf-8")
    sources = Sources(inputs.metrics, inputs.assignment, inputs.summary, inputs.policy_values)
    check_page(report, tmp_path, sources, ALL_PLOTS)


def pdf_pages(report: Path, scratch: Path) -> int:
    """Pages of the report printed to PDF by headless Chromium (A4, the print stylesheet)."""
    pdf = scratch / "report.pdf"
    subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={scratch / 'pdf-profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            report.as_uri(),
        ],
        capture_output=True,
        timeout=180,
        check=True,
    )
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    return len(re.findall(rb"/Type\s*/Page(?!s)", data))


def test_the_report_prints_as_a_pdf(tmp_path):
    inputs = inputs_for(ab_figures(), "B wins")
    report = tmp_path / "report.html"
    report.write_text(render_html(inputs, make_plots(inputs)), encoding="utf-8")
    pages = pdf_pages(report, tmp_path)
    # each of the 7 sections starts a page; figures and tables are not cut across pages
    assert len(SECTIONS) <= pages <= 30


# --------------------------------------------------------------------------- the real pipeline


@pytest.mark.integration
def test_the_pipelines_report_in_the_browser_and_as_a_copy(baseline_template, tmp_path):
    from pipeline_repo import copy_repo

    repo = copy_repo(baseline_template, tmp_path)  # the real pipeline, run at a small scale
    report = repo.path / "data/report/report.html"
    plots = {p.name for p in (repo.path / "data/report/plots").glob("*.png")}
    assert plots == ALL_PLOTS
    check_page(report, tmp_path / "browser", pipeline_sources(repo.path), plots)
    page = report.read_text()
    compare = json.loads((repo.path / "data/summary/compare.json").read_text())
    for advice in compare["recommendations"]:  # conditional advice the decision may overrule
        assert advice not in page

    outputs = ("data/report", "data/exports")
    before = {k: v for k, v in repo.output_hashes().items() if k.startswith(outputs)}
    repo.run("dvc", "repro", "--force", "--single-item", "report")
    after = {k: v for k, v in repo.output_hashes().items() if k.startswith(outputs)}
    assert before == after and len(before) > 10

    # `traveltide report` renders the same exports into another folder, workspace untouched
    repo.run("traveltide", "report", "--output", str(tmp_path / "copy"))
    for name in ("rewards_assignment.csv", "segment_summary.csv", "analysis.json"):
        copy = (tmp_path / "copy" / "exports" / name).read_bytes()
        assert copy == (repo.path / "data/exports" / name).read_bytes(), name
    copied = (tmp_path / "copy" / "report.html").read_text()
    assert "data:image/png;base64," in copied
    # ... with the stages' timings, which the stage's own (deterministic) page leaves out
    timed = re.search(r'<table id="timings">(.*?)</table>', copied, re.S).group(1)
    assert {"extract", "select_k", "cluster", "report"} <= set(
        re.findall(r"<tr><td>(\w+)</td>", timed)
    )
    assert 'id="timings"' not in page
    assert {k: v for k, v in repo.output_hashes().items() if k.startswith(outputs)} == before
