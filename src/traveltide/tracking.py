"""MLflow logging of one pipeline state; the only module that talks to MLflow.

Where runs land, and why:
- The store is `sqlite:///<repo root>/mlflow.db`, where the root is `DVC_ROOT` (DVC sets it to
  the main repository even while `dvc exp run --queue` works in a temporary copy under
  .dvc/tmp/exps/), so queued and parallel experiments all land in one store.
  `MLFLOW_TRACKING_URI` wins when set (a PostgreSQL backend store or a tracking server).
- The experiment is created with an explicit artifact location under the root: an experiment
  first created inside a temporary copy would otherwise keep its artifacts there for good.
- Writers take an exclusive file lock beside the store: SQLite has a single writer, and its
  first use migrates the schema, which races when two queue workers start together.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from traveltide.errors import TrackingError, first_line

log = logging.getLogger(__name__)

LOCK_NAME = ".mlflow.lock"


@dataclass(frozen=True)
class TrackingTarget:
    """Where MLflow writes: store URI, artifact root, and the lock file that serialises writers."""

    root: Path
    tracking_uri: str
    artifact_location: str
    lock_path: Path

    @property
    def label(self) -> str:
        """The store URI with any password masked, for messages."""
        return safe_uri(self.tracking_uri)


def safe_uri(uri: str) -> str:
    """`uri` with the password of its user-info part replaced by ***."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def repo_root(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path:
    """The main repository: DVC_ROOT when DVC runs the stage, else the working directory."""
    env = os.environ if env is None else env
    root = env.get("DVC_ROOT")
    return Path(root).resolve() if root else (cwd or Path.cwd()).resolve()


def resolve_target(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> TrackingTarget:
    env = os.environ if env is None else env
    root = repo_root(env, cwd)
    uri = env.get("MLFLOW_TRACKING_URI") or f"sqlite:///{root / 'mlflow.db'}"
    return TrackingTarget(
        root=root,
        tracking_uri=uri,
        artifact_location=(root / "mlartifacts").as_uri(),
        lock_path=root / LOCK_NAME,
    )


@contextmanager
def store_lock(path: Path) -> Iterator[None]:
    """An exclusive, blocking file lock (released when the process dies, even on SIGKILL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def flatten_metrics(groups: Mapping[str, Any]) -> dict[str, float]:
    """Nested metrics -> {"stage.key.sub": number}; strings and nulls are dropped (not metrics)."""
    flat: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, int | float):  # bool is an int: true -> 1.0
            flat[prefix] = float(value)

    walk("", groups)
    return flat


def git_commit(cwd: Path | None = None) -> str:
    """HEAD of the repository the stage runs in (in a DVC temp copy: the baseline commit)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def file_md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest() if path.exists() else "missing"


def run_tags(env: Mapping[str, str], cwd: Path) -> dict[str, str]:
    """Tags linking the MLflow run to its DVC experiment, baseline and commit."""
    exp_name = env.get("DVC_EXP_NAME", "")
    return {
        "dvc_exp_name": exp_name or "workspace",
        "dvc_baseline_rev": env.get("DVC_EXP_BASELINE_REV", ""),
        "git_commit": git_commit(cwd),
        "dvc_lock_md5": file_md5(cwd / "dvc.lock"),
    }


def _experiment_id(client: Any, name: str, target: TrackingTarget) -> str:
    """The experiment's id, creating it with an artifact location under the main repository."""
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    return client.create_experiment(name, artifact_location=f"{target.artifact_location}/{name}")


@contextmanager
def _store(target: TrackingTarget) -> Iterator[Any]:
    """A locked MLflow client on the target store; MLflow and OS errors become TrackingError."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        with store_lock(target.lock_path):
            mlflow.set_tracking_uri(target.tracking_uri)
            yield mlflow.MlflowClient()
    except (MlflowException, OSError) as exc:
        raise TrackingError(
            f"MLflow store {target.label} cannot be written: {first_line(exc)}"
        ) from exc


def init_store(target: TrackingTarget, experiment: str) -> str:
    """Create (or migrate) the store and the experiment; returns the experiment id."""
    with _store(target) as client:
        return _experiment_id(client, experiment, target)


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    experiment_id: str
    run_name: str


def log_pipeline_run(
    *,
    target: TrackingTarget,
    experiment: str,
    params: Mapping[str, str],
    metrics: Mapping[str, float],
    tags: Mapping[str, str],
    artifacts: list[Path],
    candidates: list[dict[str, Any]],
) -> RunRecord:
    """Log one run (with one nested run per k-selection candidate) and return its ids."""
    import mlflow

    with _store(target) as client:
        exp_id = _experiment_id(client, experiment, target)
        run_name = tags.get("dvc_exp_name", "workspace")
        with mlflow.start_run(experiment_id=exp_id, run_name=run_name) as run:
            mlflow.set_tags(dict(tags))
            mlflow.log_params(dict(params))
            mlflow.log_metrics(dict(metrics))
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
        return RunRecord(run.info.run_id, exp_id, run_name)
