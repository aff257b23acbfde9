"""The report as a reader sees it: rendered in headless Chromium, and `dvc plots` from the real
pipeline (a copy of the baseline repository), whose report is checked in the browser too."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from report_inputs import ALL_PLOTS, ab_metrics_by_verdict, build_inputs
from traveltide.report.plots import make_plots
from traveltide.report.render import render_html


@pytest.fixture(scope="module")
def ab_by_verdict() -> dict[str, dict]:
    return ab_metrics_by_verdict()


SECTION_TITLES = (
    "Executive summary",
    "Headline figures",
    "Segments",
    "Choosing the number of clusters",
    "Rules vs ML",
    "A/B test",
    "Exports",
)


PROBE = """<script>
window.addEventListener('load', function () {
  var rows = [];
  document.querySelectorAll('img').forEach(function (img) {
    rows.push([img.alt, img.complete, img.naturalWidth, img.naturalHeight].join(' '));
  });
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = rows.join('\\n');
  document.body.appendChild(pre);
});
</script>"""


def chromium() -> str:
    """The browser, or skip (fail where TRAVELTIDE_REQUIRE_BROWSER=1 or CI is set)."""
    found = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
    )
    if found is None:
        reason = (
            "headless Chromium not found (Debian: apt-get install chromium); "
            "the report's browser test needs it"
        )
        if os.environ.get("TRAVELTIDE_REQUIRE_BROWSER") == "1" or os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def rendered_dom(report: Path, scratch: Path) -> str:
    """The DOM after load, with a probe listing every image's decoded size."""
    page = scratch / "probe.html"
    page.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"))
    proc = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={scratch / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def check_rendered_report(dom: str, metrics: dict, plots: set[str]) -> None:
    probe = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert probe, "the probe script did not run"
    images = {}
    for line in html.unescape(probe.group(1)).splitlines():
        name, complete, width, height = line.split()
        images[name] = (complete, int(width), int(height))
    assert set(images) == plots
    for name, (complete, width, height) in images.items():
        assert complete == "true" and width > 50 and height > 50, (name, width, height)
    for title in SECTION_TITLES:
        assert f"<h2>{html.escape(title)}</h2>" in dom, title
    cell = re.search(r'data-metric="cohort users">([^<]*)<', dom)
    assert cell and cell.group(1) == f"{metrics['extract']['users']:,}"
    k = re.search(r'data-metric="ML clusters \(k\)">([^<]*)<', dom)
    assert k and k.group(1) == str(metrics["cluster"]["k"])
    assert html.escape(f"{metrics['extract']['users']:,} customers") in dom
    verdict = re.search(r'data-metric="A/B verdict">([^<]*)<', dom)
    assert verdict and html.unescape(verdict.group(1)) == metrics["ab_test"]["verdict_winner"]


def test_report_renders_in_headless_chromium(tmp_path, ab_by_verdict):
    inputs = build_inputs(ab_by_verdict["B"])
    plots = make_plots(inputs)
    report = tmp_path / "report.html"
    report.write_text(render_html(inputs, plots), encoding="utf-8")
    dom = rendered_dom(report, tmp_path)
    check_rendered_report(dom, dict(inputs.metrics), set(plots))


# --------------------------------------------------------------------------- DVC plots


def plot_titles(dvc_yaml: Path) -> list[str]:
    plots = yaml.safe_load(dvc_yaml.read_text())["plots"]
    return [props["title"] for item in plots for props in item.values()]


@pytest.mark.integration
def test_dvc_plots_and_report_from_the_real_pipeline(baseline_template, tmp_path):
    from pipeline_repo import copy_repo

    repo = copy_repo(baseline_template, tmp_path)  # the real pipeline, run at a small scale
    assert repo.changed_stages() == {"source"}
    titles = plot_titles(repo.path / "dvc.yaml")
    assert len(titles) >= 7
    shown = repo.run("dvc", "plots", "show", "-o", str(tmp_path / "shown"))
    page = (tmp_path / "shown" / "index.html").read_text()
    assert "failed to load" not in (shown.stdout + shown.stderr).lower()
    for title in titles:
        assert json.dumps(title) in page, title

    report = repo.path / "data/report/report.html"
    metrics = {p.stem: json.loads(p.read_text()) for p in (repo.path / "metrics").glob("*.json")}
    plots = {p.name for p in (repo.path / "data/report/plots").glob("*.png")}
    assert plots == ALL_PLOTS
    check_rendered_report(rendered_dom(report, tmp_path), metrics, plots)

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
    assert 'id="timings"' not in (repo.path / "data/report/report.html").read_text()
    assert {k: v for k, v in repo.output_hashes().items() if k.startswith(outputs)} == before

    # dvc plots diff: HEAD is the baseline's commit (the forced rerun changed nothing it
    # tracks); change the A/B seed and compare with it
    assert repo.run("git", "status", "--porcelain").stdout == ""
    params = repo.params()
    params["ab_test"]["seed"] = 7
    repo.write_params(params)
    repo.run("dvc", "repro", "report")
    repo.run("dvc", "plots", "diff", "HEAD", "-o", str(tmp_path / "diff"))
    diff = (tmp_path / "diff" / "index.html").read_text()
    lift = re.search(r'<div id = "ab_lift">(.*?)</div>', diff, re.S).group(1)
    assert '"rev": "HEAD"' in lift and '"rev": "workspace"' in lift
