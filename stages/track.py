"""DVC stage track: one MLflow run for this pipeline state; its ids in a small JSON file."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

import os
from pathlib import Path

import pandas as pd

from traveltide.config import TrackConfig, flatten
from traveltide.io import read_json, read_parquet, write_json
from traveltide.mlops.serving import ID_COLUMN, feature_matrix, load_segmenter
from traveltide.mlops.tracking import (
    DatasetSpec,
    ModelSpec,
    dvc_digest,
    dvc_out_hashes,
    flatten_metrics,
    log_pipeline_run,
    metric_tags,
    resolve_target,
    run_tags,
    timing_metrics,
)
from traveltide.stage import run_stage
from traveltide.timings import timings_dir

EXAMPLE_USERS = 3  # real feature rows stored with the model as its input example


def input_example(features, names, *, source):
    """The first few users: user_id and the model's feature columns, checked like any input."""
    head = features.head(EXAMPLE_USERS)
    example = feature_matrix(head, list(names), source=source)
    example.insert(0, ID_COLUMN, head[ID_COLUMN].to_numpy())
    return example


def main(params, paths):
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bars in DVC logs
    metrics = {p.stem: read_json(p) for p in sorted(paths.metrics_dir.glob("*.json"))}
    timing = timing_metrics(timings_dir())
    timing.pop("track", None)  # this stage's file is from its previous run
    metrics["timing"] = timing
    hashes = dvc_out_hashes(Path("dvc.lock"))
    segmenter = load_segmenter(paths.model)
    features = read_parquet(paths.features, what="features' user table")
    record = log_pipeline_run(
        target=resolve_target(),
        experiment=TrackConfig.from_params(params).experiment,
        params=flatten(params),
        metrics=flatten_metrics(metrics),
        tags={**metric_tags(metrics), **run_tags(os.environ, Path.cwd())},
        artifacts=[
            paths.report,
            *sorted(paths.plots.glob("*.png")),
            paths.k_selection,
            paths.profiles,
            paths.clusters,
            paths.rules,
            paths.contingency,
            paths.ab_arms,
            *sorted(p for p in paths.exports.glob("*") if p.is_file()),
        ],
        candidates=pd.read_csv(paths.k_selection).to_dict("records"),
        datasets=[
            DatasetSpec("cohort", paths.cohort, "source", dvc_digest(paths.cohort, hashes)),
            DatasetSpec(
                "user_features", paths.features, "training", dvc_digest(paths.features, hashes)
            ),
        ],
        model=ModelSpec(
            segmenter=paths.model,
            features=tuple(segmenter.features),
            example=input_example(features, segmenter.features, source=str(paths.features)),
            digest=dvc_digest(paths.model, hashes),
        ),
    )
    write_json(record.__dict__, paths.run)


if __name__ == "__main__":
    run_stage(
        "track",
        main,
        [
            "metrics_dir",
            "report",
            "plots",
            "k_selection",
            "profiles",
            "clusters",
            "rules",
            "contingency",
            "ab_arms",
            "exports",
            "cohort",
            "features",
            "model",
            "run",
        ],
    )
