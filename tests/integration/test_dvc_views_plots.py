"""DVC's own views of the pipeline, on a copy of the baseline repository: metrics files hold
numbers only; `dvc exp show` in a 200-column terminal opens on the figures that compare
configurations; `dvc metrics diff` prints short numeric rows; `dvc plots show` and
`dvc plots diff` render every plot in headless Chromium with the network cut off, from the
bundled Vega of .dvc/plots/offline.html (DVC's own page, which loads Vega from a CDN, does not).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from browser import external, render
from report_numbers import check_numbers, pipeline_sources

pytestmark = pytest.mark.integration

COLUMNS = 200  # the terminal `dvc exp show` must be readable in
# the figures a reader compares experiments by: the first screen of `dvc exp show`
FIRST_SCREEN = ("k", "silhouette", "calinski_harabasz", "davies_bouldin", "stability")
FIRST_SCREEN += ("ari", "nmi")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

PLOTS_PROBE = """
window.addEventListener('load', function () {
  setTimeout(function () {
    var plots = {};
    document.querySelectorAll('body > div[id]').forEach(function (div) {
      var mark = div.querySelector('canvas.marks, svg.marks');
      var box = mark ? mark.getBoundingClientRect() : null;
      plots[div.id] = box ? [Math.round(box.width), Math.round(box.height)] : null;
    });
    traveltideProbe({plots: plots, vega: typeof vegaEmbed});
  }, 3000);
});
"""


@pytest.fixture(scope="module")
def repo(baseline_template, tmp_path_factory):
    """A copy of the baseline with the offline page set as DVC's plots template (as
    .dvc/config sets it in the project), and one experiment's worth of change: cluster.k = 4,
    reproduced and left uncommitted, so `diff` commands compare it with HEAD."""
    from pipeline_repo import copy_repo

    copy = copy_repo(baseline_template, tmp_path_factory.mktemp("views"))
    copy.run("dvc", "config", "plots.html_template", "plots/offline.html")
    assert (copy.path / ".dvc/plots/offline.html").exists()
    params = copy.params()
    params["cluster"]["k"] = 4
    copy.write_params(params)
    copy.run("dvc", "repro", "report")
    return copy


def test_metrics_files_hold_numbers_only(repo):
    shown = json.loads(repo.run("dvc", "metrics", "show", "--json").stdout)
    files = {path: data["data"] for rev in shown.values() for path, data in rev["data"].items()}
    assert set(files) == {"metrics/cluster.json", "metrics/compare.json", "metrics/ab_test.json"}
    for path, data in files.items():
        for key, value in data.items():
            assert value is None or isinstance(value, int | float), (path, key, value)
    for path in files:  # what DVC shows is the file as written: no text dropped on the way
        raw = json.loads((repo.path / path).read_text())
        assert all(v is None or isinstance(v, int | float) for v in raw.values()), path
    dvc_yaml = yaml.safe_load((repo.path / "dvc.yaml").read_text())
    declared = {str(m) for stage in dvc_yaml["stages"].values() for m in stage.get("metrics", [])}
    assert declared == set(files)


def first_screen(repo) -> list[str]:
    """`dvc exp show` as a user sees it in a COLUMNS-wide terminal: DVC draws the table for
    its pager (a TTY: `script`), and the terminal shows each line's first COLUMNS characters."""
    if shutil.which("script") is None:
        pytest.skip("script (util-linux) is needed for a pseudo-terminal")
    env = {**repo.env, "COLUMNS": str(COLUMNS), "LINES": "50", "DVC_PAGER": "cat"}
    out = subprocess.run(
        ["script", "-qec", "dvc exp show", "/dev/null"],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-2000:]
    lines = [ANSI.sub("", line).rstrip("\r") for line in out.stdout.splitlines()]
    return [line[:COLUMNS] for line in lines if line.strip()]


def test_exp_show_opens_on_the_figures_that_compare_configurations(repo):
    lines = first_screen(repo)
    header = next(line for line in lines if "Experiment" in line)
    columns = header.split()
    assert columns[:2] == ["Experiment", "Created"]
    for name in FIRST_SCREEN:
        assert name in columns, (name, header)
    for line in lines:
        assert "…" not in line, line  # nothing collapsed on the first screen
    row = next(line for line in lines if line.split()[0] == "workspace")
    values = row.split()[2 : 2 + len(FIRST_SCREEN)]
    assert all(re.fullmatch(r"-?[0-9.e+-]+", v) for v in values), row


def test_at_another_k_the_report_still_says_what_the_outputs_say(repo):
    """The answers of the k = 4 report (every segment's perks and shares, the overall mix,
    the test, the worth) against the rewards assignment and the metrics of that run."""
    page = (repo.path / "data/report/report.html").read_text()
    answers = re.search(r'<div id="answers">.*?</div>\n</section>', page, re.S).group(0)
    assert check_numbers(answers, pipeline_sources(repo.path)) > 20
    assert json.loads((repo.path / "metrics/cluster.json").read_text())["k"] == 4


def test_metrics_diff_prints_short_numeric_rows(repo):
    diff = repo.run("dvc", "metrics", "diff", "HEAD", "--all").stdout
    rows = [line for line in diff.splitlines() if line.startswith("metrics/")]
    assert rows and max(len(line) for line in rows) <= 120, max(rows, key=len)
    by_key = {line.split()[1]: line.split()[2:] for line in rows}
    assert by_key["k"] == ["7", "4", "-3"]  # HEAD, workspace, change
    for key, values in by_key.items():
        for v in values:
            assert re.fullmatch(r"-|-?[0-9.e+-]+", v), (key, values)


def plots_page(repo, *args: str, out: Path) -> Path:
    repo.run("dvc", "plots", *args, "-o", str(out))
    return out / "index.html"


def titles(repo) -> list[str]:
    plots = yaml.safe_load((repo.path / "dvc.yaml").read_text())["plots"]
    return [props["title"] for item in plots for props in item.values()]


def test_plots_show_renders_every_plot_offline(repo, tmp_path):
    page = plots_page(repo, "show", out=tmp_path / "show")
    text = page.read_text()
    assert "cdn.jsdelivr" not in text and "<script src=" not in text
    for title in titles(repo):
        assert json.dumps(title) in text, title
    seen = render(page, tmp_path / "browser", PLOTS_PROBE, wait_ms=10000)
    assert seen.probe["vega"] == "function"
    plots = seen.probe["plots"]
    assert len(plots) >= len(titles(repo))
    for name, box in plots.items():
        assert box and box[0] > 100 and box[1] > 50, (name, box)
    assert external(seen.requests) == [], seen.requests


def test_plots_diff_renders_both_revisions_offline(repo, tmp_path):
    page = plots_page(repo, "diff", "HEAD", out=tmp_path / "diff")
    text = page.read_text()
    sizes = re.search(r'<div id = "cluster_sizes">(.*?)</div>', text, re.S).group(1)
    assert '"rev": "HEAD"' in sizes and '"rev": "workspace"' in sizes
    seen = render(page, tmp_path / "browser", PLOTS_PROBE, wait_ms=10000)
    assert all(box and box[0] > 100 for box in seen.probe["plots"].values()), seen.probe
    assert external(seen.requests) == []


def test_dvcs_own_page_needs_the_network(repo, tmp_path):
    """The check above can fail: DVC's default page (Vega from a CDN) draws nothing offline."""
    repo.run("dvc", "config", "--unset", "plots.html_template")
    try:
        page = plots_page(repo, "show", out=tmp_path / "cdn")
    finally:
        repo.run("dvc", "config", "plots.html_template", "plots/offline.html")
    seen = render(page, tmp_path / "browser", PLOTS_PROBE, wait_ms=10000)
    assert seen.probe["vega"] == "undefined"
    assert all(box is None for box in seen.probe["plots"].values())
    assert any("cdn.jsdelivr.net" in url for url in external(seen.requests))
