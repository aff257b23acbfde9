"""The report stage's work as a function: the HTML page, its plots, the tables behind DVC's
plots and the marketing exports, from the pipeline's outputs.

The DVC stage calls it with dvc.yaml's paths; `traveltide report --output DIR` calls it with
the same inputs and every output under DIR (a copy to share, the workspace untouched).
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from traveltide.io import read_json, read_parquet, write_bytes, write_csv, write_json, write_text
from traveltide.report.abview import ab_view
from traveltide.report.answers import answers_html
from traveltide.report.exports import analysis, rewards_assignment, segment_summary
from traveltide.report.inputs import ReportInputs
from traveltide.report.narrative import plain_text
from traveltide.report.plot_data import plot_data
from traveltide.report.plots import make_plots
from traveltide.report.projection import pca_projection
from traveltide.report.render import render_html

# the stages whose figures the report reads: metrics/<stage>.json (the DVC metrics: cluster,
# compare, ab_test) merged with data/summary/<stage>.json (figures and text that are not)
STAGES = ("extract", "data_quality", "features", "segment_rules", "cluster", "compare", "ab_test")
ASSIGNMENT, SUMMARY, ANALYSIS = "rewards_assignment.csv", "segment_summary.csv", "analysis.json"


class ReportPaths(Protocol):
    """Where the report reads and writes: the stage's command-line paths, or the CLI's.

    `ab_summary` (data/ab/summary.json) and `policy_values` (data/ab/policy_values.csv) are
    optional: without them the page quotes the A/B metrics alone; so is `benchmark`
    (data/segments/benchmark.csv): without it the appendix leaves the benchmark out.
    """

    metrics_dir: Path
    summary_dir: Path
    k_selection: Path
    contingency: Path
    ab_arms: Path
    features: Path
    rules: Path
    clusters: Path
    plots: Path
    plot_data: Path
    report: Path
    exports: Path


def _optional(paths: ReportPaths, name: str) -> Path | None:
    """An optional input's path, when given and present."""
    path = getattr(paths, name, None)
    return Path(path) if path is not None and Path(path).exists() else None


def stage_figures(paths: ReportPaths) -> dict[str, dict[str, Any]]:
    """Each stage's metrics merged with its summary (the A/B test: with data/ab/summary.json);
    a stage that wrote neither is {}."""
    out: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        figures: dict[str, Any] = {}
        for path in (paths.metrics_dir / f"{stage}.json", paths.summary_dir / f"{stage}.json"):
            if path.exists():
                figures.update(read_json(path))
        out[stage] = figures
    ab_summary = _optional(paths, "ab_summary")
    if ab_summary is not None:
        out["ab_test"] = {**out["ab_test"], **read_json(ab_summary)}
    out["ab_test"] = ab_view(out["ab_test"])
    return out


def publish(paths: ReportPaths, timings: Mapping[str, Any] | None = None) -> None:
    """Write report, plots, plot data and exports from the inputs named by `paths`.

    `timings` (stage -> StageTiming) adds a "Where the time went" section to the page; the
    report stage passes none, so its page stays byte-identical from run to run.
    """
    metrics = stage_figures(paths)
    features = read_parquet(paths.features, what="features' user table")
    clusters = read_parquet(paths.clusters, what="cluster's segments")
    assignment = rewards_assignment(
        read_parquet(paths.rules, what="segment_rules' segments"), clusters, metrics["ab_test"]
    )
    summary = segment_summary(features, assignment)
    projection = pca_projection(features, clusters)
    policy_path = _optional(paths, "policy_values")
    benchmark_path = _optional(paths, "benchmark")
    inputs = ReportInputs(
        metrics=metrics,
        k_table=pd.read_csv(paths.k_selection),
        contingency=pd.read_csv(paths.contingency, index_col="segment"),
        ab_arms=pd.read_csv(paths.ab_arms),
        projection=projection,
        assignment=assignment,
        summary=summary,
        policy_values=pd.read_csv(policy_path) if policy_path is not None else None,
        benchmark=pd.read_csv(benchmark_path) if benchmark_path is not None else None,
        export_links={  # relative to the report, so the page links work wherever it is copied
            name: os.path.relpath(paths.exports / name, paths.report.parent).replace(os.sep, "/")
            for name in (ASSIGNMENT, SUMMARY, ANALYSIS)
        },
        timings=timings,
    )
    plots = make_plots(inputs)
    for name, png in plots.items():
        write_bytes(png, paths.plots / name)
    for name, table in plot_data(inputs).items():
        write_csv(table, paths.plot_data / name)
    write_csv(assignment, paths.exports / ASSIGNMENT)
    write_csv(summary, paths.exports / SUMMARY)
    write_json(
        analysis(
            metrics=metrics,
            k_table=inputs.k_table,
            contingency=inputs.contingency,
            ab_arms=inputs.ab_arms,
            summary=summary,
            assignment=assignment,
            answers=plain_text(answers_html(inputs)),
            projection=projection.to_dict(),
        ),
        paths.exports / ANALYSIS,
    )
    write_text(render_html(inputs, plots), paths.report)
