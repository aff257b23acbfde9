"""The track stage's work: what the pipeline wrote, gathered and logged as one MLflow run.

Params (flattened params.yaml); the key metrics of metrics/*.json (`tracking.key_metrics`);
the A/B verdict as a tag; a description naming the params that differ from the baseline;
artifacts in folders: `report/` (the page and its plots), `tables/` (k-selection, benchmark,
profiles, contingency, segments), `ab/` (arms, policy values, the A/B summary), `exports/`,
`metrics/` (every DVC metrics file in full), `summary/` (data/summary: data quality,
generator fidelity, cluster and compare details) and `timings.json` (each stage's last
successful run); the cohort and feature tables as datasets; and the segmenter as a model
with a few real users as its input example. Paths are relative to the workspace, as
dvc.yaml writes them.
"""

from __future__ import annotations

import logging
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
    VERDICT_TAG,
    Artifact,
    RunRecord,
    baseline_params,
    key_metrics,
    log_pipeline_run,
    run_description,
    run_tags,
)
from traveltide.timings import read_timings, timings_dir

EXAMPLE_USERS = 3  # real feature rows stored with the model as its input example
TIMINGS = "timings.json"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineOutputs:
    """The pipeline outputs one run records, named as the track stage's options."""

    metrics_dir: Path
    summary_dir: Path
    ab_summary: Path
    policy_values: Path
    report: Path
    plots: Path
    k_selection: Path
    benchmark: Path
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

    def artifacts(self) -> list[Artifact]:
        """The files logged with the run, by artifact folder (those missing are skipped)."""

        def files(folder: Path, pattern: str) -> list[Path]:
            return sorted(p for p in folder.glob(pattern) if p.is_file())

        return [
            Artifact(self.report, "report"),
            *(Artifact(p, "report/plots") for p in files(self.plots, "*.png")),
            *(
                Artifact(p, "tables")
                for p in (self.k_selection, self.benchmark, self.profiles, self.contingency)
                + (self.clusters, self.rules)
            ),
            *(Artifact(p, "ab") for p in (self.ab_arms, self.policy_values, self.ab_summary)),
            *(Artifact(p, "exports") for p in files(self.exports, "*")),
            *(Artifact(p, "metrics") for p in files(self.metrics_dir, "*.json")),
            *(Artifact(p, "summary") for p in files(self.summary_dir, "*.json")),
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


def stage_timings(folder: Path) -> dict[str, dict[str, float]]:
    """`timing_metrics` without track's own (its file is from its previous run)."""
    timing = timing_metrics(folder)
    timing.pop("track", None)
    return timing


def metric_files(metrics_dir: Path) -> dict[str, Any]:
    """Each DVC metrics file (metrics/*.json) by its stem."""
    return {p.stem: read_json(p) for p in sorted(metrics_dir.glob("*.json"))}


def verdict_tags(ab_summary: Path) -> dict[str, str]:
    """The A/B verdict's winner as a tag (`traveltide runs` shows it), when the A/B stage
    wrote its summary."""
    if not ab_summary.exists():
        return {}
    verdict = read_json(ab_summary).get("verdict") or {}
    winner = verdict.get("winner") if isinstance(verdict, Mapping) else None
    return {VERDICT_TAG: str(winner)} if winner else {}


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
    """Log the pipeline state in `workspace` (its dvc.lock and git commit) as one MLflow run,
    and log its id and where it opens in the UI.

    `env` (default os.environ) picks the store and names the DVC experiment; `timings`
    defaults to the stages' timings folder.
    """
    env = os.environ if env is None else env
    hashes = dvc_out_hashes(workspace / "dvc.lock")
    segmenter = load_segmenter(outputs.model)
    features = read_parquet(outputs.features, what="features' user table")
    tags = run_tags(env, workspace)
    rev = tags["dvc_baseline_rev"]
    record = log_pipeline_run(
        target=resolve_target(env, workspace),
        experiment=TrackConfig.from_params(params).experiment,
        params=flatten(params),
        metrics=key_metrics(metric_files(outputs.metrics_dir)),
        tags={**verdict_tags(outputs.ab_summary), **tags},
        description=run_description(
            params, baseline_params(workspace, rev), name=tags["dvc_exp_name"], baseline_rev=rev
        ),
        artifacts=outputs.artifacts(),
        documents={TIMINGS: stage_timings(timings_dir() if timings is None else timings)},
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
    log.info("MLflow run %s (%s): %s", record.run_id, record.run_name, record.url)
    return record
