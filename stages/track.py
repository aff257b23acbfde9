"""DVC stage track: one MLflow run for this pipeline state; its id in a small JSON file."""

import os
from pathlib import Path

import pandas as pd

from traveltide.config import TrackConfig, flatten
from traveltide.io import read_json, write_json
from traveltide.stage import run_stage
from traveltide.tracking import flatten_metrics, log_pipeline_run, resolve_target, run_tags


def main(params, paths):
    metrics = {p.stem: read_json(p) for p in sorted(paths.metrics_dir.glob("*.json"))}
    target = resolve_target()
    record = log_pipeline_run(
        target=target,
        experiment=TrackConfig.from_params(params).experiment,
        params=flatten(params),
        metrics=flatten_metrics(metrics),
        tags=run_tags(os.environ, Path.cwd()),
        artifacts=[
            paths.report,
            *sorted(paths.plots.glob("*.png")),
            paths.k_selection,
            paths.clusters,
            paths.rules,
        ],
        candidates=pd.read_csv(paths.k_selection).to_dict("records"),
    )
    write_json(record.__dict__, paths.run)


if __name__ == "__main__":
    run_stage(
        "track", main, ["metrics_dir", "report", "plots", "k_selection", "clusters", "rules", "run"]
    )
