"""The track stage's work: what the pipeline wrote, gathered and logged as one MLflow run.

Params (flattened params.yaml), every metrics file, the stages' timings, the report, plots,
tables and exports as artifacts, the cohort and feature tables as datasets, the k-selection
candidates as nested runs, and the segmenter as a model with a few real users as its input
example. Paths are relative to the workspace, as dvc.yaml writes them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from traveltide.config import TrackConfig, flatten
from traveltide.io import read_json, read_parquet
from traveltide.mlops.lineage import DatasetSpec, dvc_digest, dvc_out_hashes
from traveltide.mlops.model import ModelSpec
from traveltide.mlops.serving import ID_COLUMN, feature_matrix, load_segmenter
from traveltide.mlops.store import resolve_target
from traveltide.mlops.tracking import (
    RunRecord,
    flatten_metrics,
    log_pipeline_run,
    metric_tags,
    run_tags,
)
from traveltide.timings import read_timings, timings_dir

EXAMPLE_USERS = 3  # real feature rows stored with the model as its input example


@dataclass(frozen=True)
class PipelineOutputs:
    """The pipeline outputs one run records, named as the track stage's options."""

    metrics_dir: Path
    report: Path
    plots: Path
    k_selection: Path
    profiles: Path
    clusters: Path
    rules: Path
    contingency: Path
    ab_arms: Path
    exports: Path
    cohort: Path
    features: Path
    model: Path

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_paths(cls, paths: Any) -> PipelineOutputs:
        """From any object with one attribute per output (a stage's parsed options)."""
        return cls(**{name: Path(getattr(paths, name)) for name in cls.names()})

    def artifacts(self) -> list[Path]:
        """The files logged as run artifacts: report, plots, tables, exports."""
        return [
            self.report,
            *sorted(self.plots.glob("*.png")),
            self.k_selection,
            self.profiles,
            self.clusters,
            self.rules,
            self.contingency,
            self.ab_arms,
            *sorted(p for p in self.exports.glob("*") if p.is_file()),
        ]


def timing_metrics(folder: Path) -> dict[str, dict[str, float]]:
    """{stage: {wall_s, run_s, startup_s, cpu_s, peak_rss_mb}} of the stages whose last run
    succeeded; {} when the folder is missing. Never fails a run: timings only inform."""
    out: dict[str, dict[str, float]] = {}
    for stage, timing in read_timings(folder).items():
        if timing.status != "ok":
            continue
        values = {k: v for k, v in asdict(timing).items() if isinstance(v, int | float)}
        values["peak_rss_mb"] = round(values.pop("peak_rss_bytes") / 1e6, 1)
        out[stage] = values
    return out


def stage_metrics(metrics_dir: Path, timings: Path) -> dict[str, Any]:
    """Each metrics file by its stem, and `timing`: the stages' timings but track's own (its
    file is from its previous run)."""
    metrics = {p.stem: read_json(p) for p in sorted(metrics_dir.glob("*.json"))}
    timing = timing_metrics(timings)
    timing.pop("track", None)
    metrics["timing"] = timing
    return metrics


def input_example(features: pd.DataFrame, names: Sequence[str], *, source: str) -> pd.DataFrame:
    """The first few users: user_id and the model's feature columns, checked like any input."""
    head = features.head(EXAMPLE_USERS)
    example = feature_matrix(head, list(names), source=source)
    example.insert(0, ID_COLUMN, head[ID_COLUMN].to_numpy())
    return example


def track_pipeline_state(
    params: dict[str, Any],
    outputs: PipelineOutputs,
    *,
    env: Mapping[str, str] | None = None,
    workspace: Path = Path("."),
    timings: Path | None = None,
) -> RunRecord:
    """Log the pipeline state in `workspace` (its dvc.lock and git commit) as one MLflow run.

    `env` (default os.environ) picks the store and names the DVC experiment; `timings`
    defaults to the stages' timings folder.
    """
    env = os.environ if env is None else env
    metrics = stage_metrics(outputs.metrics_dir, timings_dir() if timings is None else timings)
    hashes = dvc_out_hashes(workspace / "dvc.lock")
    segmenter = load_segmenter(outputs.model)
    features = read_parquet(outputs.features, what="features' user table")
    return log_pipeline_run(
        target=resolve_target(env, workspace),
        experiment=TrackConfig.from_params(params).experiment,
        params=flatten(params),
        metrics=flatten_metrics(metrics),
        tags={**metric_tags(metrics), **run_tags(env, workspace)},
        artifacts=outputs.artifacts(),
        candidates=pd.read_csv(outputs.k_selection).to_dict("records"),
        datasets=[
            DatasetSpec("cohort", outputs.cohort, "source", dvc_digest(outputs.cohort, hashes)),
            DatasetSpec(
                "user_features",
                outputs.features,
                "training",
                dvc_digest(outputs.features, hashes),
            ),
        ],
        model=ModelSpec(
            segmenter=outputs.model,
            features=tuple(segmenter.features),
            example=input_example(features, segmenter.features, source=str(outputs.features)),
            digest=dvc_digest(outputs.model, hashes),
        ),
    )
