"""One MLflow run for one pipeline state: params, metrics, tags, artifacts, datasets, model.

What one run holds: params, metrics (stage metrics, stage timings), the metrics' text values
as tags (`metric_tags`: the A/B verdict, the algorithm), tags linking it to its DVC experiment
(`run_tags`), artifacts, the input tables as MLflow datasets whose digests are their DVC md5s
(`traveltide.mlops.lineage`), one nested run per k-selection candidate, and the fitted
segmenter as an MLflow model (`traveltide.mlops.model`). Where it lands: `traveltide.mlops.store`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow

from traveltide.mlops.lineage import DatasetSpec, file_md5, log_dataset
from traveltide.mlops.model import MODEL_NAME, ModelSpec, log_model
from traveltide.mlops.store import TrackingTarget, experiment_id, open_store
from traveltide.nested import leaves

MAX_TAG_CHARS = 5000  # MLflow allows 8,000 characters in a tag value


def flatten_metrics(groups: Mapping[str, Any]) -> dict[str, float]:
    """Nested metrics -> {"stage.key.sub": number}; strings and nulls are dropped (not metrics)."""
    # bool is an int: true -> 1.0
    return {name: float(v) for name, v in leaves(groups) if isinstance(v, int | float)}


def metric_tags(groups: Mapping[str, Any]) -> dict[str, str]:
    """The text values of nested metrics as {"stage.key": text} tags, the numbers' complement
    in `flatten_metrics`: `ab_test.verdict_winner`, `cluster.algorithm`, a list as "a, b".
    Empty and null values are dropped; text longer than MLflow's tag limit is cut."""
    tags: dict[str, str] = {}
    for name, value in leaves(groups):
        if isinstance(value, str) and value:
            tags[name] = value[:MAX_TAG_CHARS]
        elif isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
            tags[name] = ", ".join(value)[:MAX_TAG_CHARS]
    return tags


def git_commit(cwd: Path | None = None) -> str:
    """HEAD of the repository the stage runs in (in a DVC temp copy: the baseline commit)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def run_tags(env: Mapping[str, str], cwd: Path) -> dict[str, str]:
    """Tags linking the MLflow run to its DVC experiment, baseline and commit.

    `dvc_exp_name` is also the run's name, so either finds the other. Outside an experiment
    (`dvc repro`) the name is `workspace` and the baseline is the commit the workspace is on.
    `dvc_lock_md5` hashes dvc.lock as the track stage sees it: every stage but track itself.
    """
    commit = git_commit(cwd)
    return {
        "dvc_exp_name": env.get("DVC_EXP_NAME") or "workspace",
        "dvc_baseline_rev": env.get("DVC_EXP_BASELINE_REV") or commit,
        "git_commit": commit,
        "dvc_lock_md5": file_md5(cwd / "dvc.lock"),
    }


@dataclass(frozen=True)
class RunRecord:
    """The ids of a logged run (written to the track stage's JSON file)."""

    run_id: str
    experiment_id: str
    run_name: str
    model_id: str | None = None
    model_uri: str | None = None


def log_pipeline_run(
    *,
    target: TrackingTarget,
    experiment: str,
    params: Mapping[str, str],
    metrics: Mapping[str, float],
    tags: Mapping[str, str],
    artifacts: list[Path],
    candidates: list[dict[str, Any]],
    datasets: Sequence[DatasetSpec] = (),
    model: ModelSpec | None = None,
) -> RunRecord:
    """Log one run (with one nested run per k-selection candidate) and return its ids.

    Everything happens under the store lock, the model too: parallel queue workers share
    one SQLite store. Metrics are also linked to the logged model, so
    `mlflow.search_logged_models` can rank models by silhouette or lift.
    """
    with open_store(target) as client:
        exp_id = experiment_id(client, experiment, target)
        run_name = tags.get("dvc_exp_name", "workspace")
        model_info = None
        with mlflow.start_run(experiment_id=exp_id, run_name=run_name) as run:
            mlflow.set_tags(dict(tags))
            mlflow.log_params(dict(params))
            for spec in datasets:
                log_dataset(spec)
            if model is not None:
                model_info = log_model(model)
                mlflow.set_tag(MODEL_NAME, model_info.model_id)
            mlflow.log_metrics(dict(metrics), model_id=model_info.model_id if model_info else None)
            for path in artifacts:
                if path.exists():
                    mlflow.log_artifact(str(path))
            for cand in candidates:
                with mlflow.start_run(
                    experiment_id=exp_id, run_name=f"{run_name}-k{cand['k']}", nested=True
                ):
                    mlflow.set_tags({**tags, "candidate": "k_selection"})
                    mlflow.log_param("k", cand["k"])
                    mlflow.log_metrics(flatten_metrics(cand))
        return RunRecord(
            run.info.run_id,
            exp_id,
            run_name,
            model_info.model_id if model_info else None,
            model_info.model_uri if model_info else None,
        )
