"""traveltide.report.render: the page's sections, with and without optional inputs."""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd

from report_inputs import build_inputs
from traveltide.report.inputs import ReportInputs
from traveltide.report.plots import make_plots
from traveltide.report.render import render_html
from traveltide.timings import StageTiming


def test_timings_section_lists_stages_slowest_first(ab_by_verdict):
    def timing(stage: str, wall: float) -> StageTiming:
        return StageTiming(
            stage, "ok", "2026-01-01T00:00:00+00:00", wall, 0.5, wall - 0.5, wall, 10**9
        )

    inputs = replace(
        build_inputs(ab_by_verdict["tie"]),
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
    assert "10 customers" in page and "<img" not in page
