"""MLflow logging of one pipeline state; the only module that talks to MLflow.

Where runs land, and why:
- The store is `sqlite:///<repo root>/mlflow.db`, where the root is `DVC_ROOT` (DVC sets it to
  the main repository even while `dvc exp run --queue` works in a temporary copy under
  .dvc/tmp/exps/), so queued and parallel experiments all land in one store.
  `MLFLOW_TRACKING_URI` wins when set (a PostgreSQL backend store or a tracking server).
- The experiment is created with an explicit artifact location under the root: an experiment
  first created inside a temporary copy would otherwise keep its artifacts there for good.
- Writers to a local store (SQLite, files) take an exclusive file lock beside it: SQLite has a
  single writer, and its first use migrates the schema, which races when two queue workers
  start together. A database server (`postgresql://`, `mysql://`) or a tracking server
  (`http://`) handles concurrent writers itself: no lock. A plain `postgresql://` URI is
  mapped to psycopg2 (the one driver installed; see `traveltide.sources.db.driver_url`), and a
  database store is probed once with a short timeout, so a wrong URI fails in seconds with
  one line instead of MLflow's minutes of reconnect attempts.
- With a tracking server, the server decides where artifacts go (`--artifacts-destination`).

What one run holds: params, metrics (stage metrics, stage timings), the metrics' text values
as tags (`metric_tags`: the A/B verdict, the algorithm), artifacts, the input tables as
MLflow datasets whose digests are their DVC md5s, one nested run per k-selection candidate,
and the fitted segmenter as an MLflow model (`SegmenterModel`) that `mlflow models serve`
serves. The model carries its own copy of the traveltide package
(`code_paths`), so it loads wherever MLflow and the pinned libraries are installed.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import logging
import os
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import mlflow
import pandas as pd
import yaml
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel

import traveltide
from traveltide.errors import DataError, TrackingError, first_line
from traveltide.mlops.serving import REGISTERED_MODEL, load_segmenter, score
from traveltide.sources.source import redact_url
from traveltide.timings import read_timings

# libyaml's loader where PyYAML was built with it: dvc.lock parses in 0.02 s instead of 0.14 s
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

log = logging.getLogger(__name__)

LOCK_NAME = ".mlflow.lock"
MODEL_NAME = "segmenter"  # the logged model's name, also the run tag holding its id
SEGMENTER_ARTIFACT = "segmenter"
# What the served model imports (traveltide.segment.cluster and its imports); pinned to this
# environment's versions so `mlflow models serve --env-manager virtualenv` rebuilds it.
MODEL_PACKAGES = ("mlflow", "cloudpickle", "numpy", "pandas", "scikit-learn", "scipy", "pyyaml")


LOCAL_SCHEMES = frozenset({"", "file", "sqlite"})  # one machine's files: serialised by a lock
SERVER_SCHEMES = frozenset({"http", "https", "databricks"})  # a tracking server stores artifacts
PROBE_TIMEOUT_S = 10  # seconds to reach a database store before giving up
MAX_TAG_CHARS = 5000  # MLflow allows 8,000 characters in a tag value


@dataclass(frozen=True)
class TrackingTarget:
    """Where MLflow writes: store URI, artifact root (None: the tracking server's choice), and
    the lock file that serialises writers to a local store (None for a database or server)."""

    root: Path
    tracking_uri: str
    artifact_location: str | None
    lock_path: Path | None

    @property
    def label(self) -> str:
        """The store URI with any password masked, for messages."""
        return redact_url(self.tracking_uri)  # the one rule of database URLs, stores included


def repo_root(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path:
    """The main repository: DVC_ROOT when DVC runs the stage, else the working directory."""
    env = os.environ if env is None else env
    root = env.get("DVC_ROOT")
    return Path(root).resolve() if root else (cwd or Path.cwd()).resolve()


def uri_scheme(uri: str) -> str:
    """The store kind of a tracking URI: `postgresql+psycopg2://...` -> `postgresql`."""
    return urlsplit(uri).scheme.split("+", 1)[0].lower()


def store_uri(uri: str) -> str:
    """`uri` as MLflow should get it: a plain `postgresql://` gets the psycopg2 driver
    (SQLAlchemy 2.1 would pick psycopg 3, which is not installed); anything else unchanged."""
    if urlsplit(uri).scheme.lower() != "postgresql":
        return uri
    from traveltide.sources.db import driver_url

    return driver_url(uri).render_as_string(hide_password=False)


def resolve_target(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> TrackingTarget:
    env = os.environ if env is None else env
    root = repo_root(env, cwd)
    uri = store_uri(env.get("MLFLOW_TRACKING_URI") or f"sqlite:///{root / 'mlflow.db'}")
    scheme = uri_scheme(uri)
    return TrackingTarget(
        root=root,
        tracking_uri=uri,
        artifact_location=None if scheme in SERVER_SCHEMES else (root / "mlartifacts").as_uri(),
        lock_path=root / LOCK_NAME if scheme in LOCAL_SCHEMES else None,
    )


@contextmanager
def store_lock(path: Path | None) -> Iterator[None]:
    """An exclusive, blocking file lock (released when the process dies, even on SIGKILL);
    no lock at all when `path` is None (a store that handles concurrent writers itself)."""
    if path is None:
        yield
        return
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


def metric_tags(groups: Mapping[str, Any]) -> dict[str, str]:
    """The text values of nested metrics as {"stage.key": text} tags, the numbers' complement
    in `flatten_metrics`: `ab_test.verdict_winner`, `cluster.algorithm`, a list as "a, b".
    Empty and null values are dropped; text longer than MLflow's tag limit is cut."""
    tags: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, str) and value:
            tags[prefix] = value[:MAX_TAG_CHARS]
        elif isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
            tags[prefix] = ", ".join(value)[:MAX_TAG_CHARS]

    walk("", groups)
    return tags


def _experiment_id(client: Any, name: str, target: TrackingTarget) -> str:
    """The experiment's id, creating it with an artifact location under the main repository
    (or where the tracking server puts artifacts); safe when two writers create it at once."""
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = f"{target.artifact_location}/{name}" if target.artifact_location else None
    try:
        return client.create_experiment(name, artifact_location=location)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return client.get_experiment_by_name(name).experiment_id


_probed: set[str] = set()


def probe_database(uri: str) -> None:
    """Connect once to a database store (not SQLite, not a server) with a short timeout:
    MLflow itself retries a failed connection for about two minutes before it says why."""
    if uri in _probed or uri_scheme(uri) in LOCAL_SCHEMES | SERVER_SCHEMES:
        return
    import sqlalchemy as sa

    connect_args = {"connect_timeout": PROBE_TIMEOUT_S} if uri_scheme(uri) == "postgresql" else {}
    engine = sa.create_engine(uri, connect_args=connect_args, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    finally:
        engine.dispose()
    _probed.add(uri)


@contextmanager
def _store(target: TrackingTarget) -> Iterator[Any]:
    """A locked MLflow client on the target store; MLflow, driver and OS errors become
    TrackingError."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with store_lock(target.lock_path):
            probe_database(target.tracking_uri)
            mlflow.set_tracking_uri(target.tracking_uri)
            yield mlflow.MlflowClient()
    except (MlflowException, OSError, SQLAlchemyError, ImportError) as exc:
        secret = urlsplit(target.tracking_uri).password
        raise TrackingError(
            f"MLflow store {target.label} cannot be written: {first_line(exc, secret)}"
        ) from exc


def init_store(target: TrackingTarget, experiment: str) -> str:
    """Create (or migrate) the store and the experiment; returns the experiment id."""
    with _store(target) as client:
        return _experiment_id(client, experiment, target)


# --- the segmenter as an MLflow model ---------------------------------------------------


class SegmenterModel(PythonModel):
    """The pickled `Segmenter` as an MLflow pyfunc model: user_id (when given), cluster, perk.

    The pickle travels as an artifact, byte for byte the DVC output of the cluster stage; its
    classes (and this one) come from the traveltide copy logged with the model.
    """

    def load_context(self, context: Any) -> None:
        self.segmenter = load_segmenter(context.artifacts[SEGMENTER_ARTIFACT])

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        try:
            return score(self.segmenter, model_input, source="request")
        except DataError as exc:  # MLflow's server answers 400 with the message of these only
            raise MlflowException.invalid_parameter_value(str(exc)) from exc


def model_signature(features: Sequence[str]) -> Any:
    """Feature columns in (double; `user_id` optional), user_id / cluster / perk out."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    user_id = ColSpec("long", "user_id", required=False)
    return ModelSignature(
        inputs=Schema([user_id, *(ColSpec("double", name) for name in features)]),
        outputs=Schema([user_id, ColSpec("long", "cluster"), ColSpec("string", "perk")]),
    )


def model_requirements() -> list[str]:
    """`MODEL_PACKAGES` pinned to the installed versions (no slow requirement inference)."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in MODEL_PACKAGES]


@dataclass(frozen=True)
class ModelSpec:
    """The segmenter pickle to log as a model, with a few real feature rows as input example."""

    segmenter: Path
    features: tuple[str, ...]
    example: pd.DataFrame
    digest: str  # the pickle's md5 (its DVC hash)


@contextmanager
def _package_copy() -> Iterator[Path]:
    """The traveltide package in use, without bytecode, for the model's `code_paths`."""
    source = Path(traveltide.__file__).parent
    with tempfile.TemporaryDirectory(prefix="traveltide-code-") as tmp:
        copy = Path(tmp) / source.name
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        yield copy


class _DropMessage(logging.Filter):
    def __init__(self, start: str):
        super().__init__()
        self.start = start

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.start)


@contextmanager
def _quiet_model_logging() -> Iterator[None]:
    """Hide two MLflow advisories that do not apply here: type-hint signatures (the signature
    is explicit) and "models from code" (the pickled class is ours, from the logged code)."""
    pyfunc_log = logging.getLogger("mlflow.pyfunc")
    drop = _DropMessage("Passing a Python object as `python_model`")
    pyfunc_log.addFilter(drop)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*type hint", category=UserWarning)
            yield
    finally:
        pyfunc_log.removeFilter(drop)


def _log_model(spec: ModelSpec) -> Any:
    """Log `spec` as a pyfunc model of the active run; returns MLflow's ModelInfo."""
    with _package_copy() as code, _quiet_model_logging():
        return mlflow.pyfunc.log_model(
            name=MODEL_NAME,
            python_model=SegmenterModel(),
            artifacts={SEGMENTER_ARTIFACT: str(spec.segmenter)},
            code_paths=[str(code)],
            signature=model_signature(spec.features),
            input_example=spec.example,
            pip_requirements=model_requirements(),
            tags={"dvc_md5": spec.digest},
        )


# --- datasets with their DVC hashes ------------------------------------------------------


def dvc_out_hashes(lock: Path) -> dict[str, str]:
    """{output path: md5} of every stage output recorded in `lock` (dvc.lock); {} without it."""
    if not lock.exists():
        return {}
    try:
        text = lock.read_text(encoding="utf-8")
        stages = (yaml.load(text, Loader=SAFE_LOADER) or {}).get("stages", {})
    except yaml.YAMLError as exc:
        raise DataError(f"{lock}: not valid YAML: {first_line(exc)}") from exc
    return {
        Path(out["path"]).as_posix(): str(out["md5"])
        for stage in stages.values()
        for out in stage.get("outs", [])
        if "path" in out and "md5" in out
    }


def dvc_digest(path: Path, hashes: Mapping[str, str]) -> str:
    """The md5 DVC records for the file `path`: DVC 3 hashes a file's bytes with plain md5, so
    it is the file's md5, checked against dvc.lock's entry (a mismatch means a stale lock: it
    is logged, and the file's own md5 is what the run used)."""
    actual = file_md5(path)
    recorded = hashes.get(path.as_posix())
    if recorded is not None and recorded != actual:
        log.warning("%s: dvc.lock records md5 %s, the file has %s", path, recorded, actual)
    return actual


@dataclass(frozen=True)
class DatasetSpec:
    """A table the run used, logged as an MLflow dataset named `name` in `context`."""

    name: str
    path: Path
    context: str
    digest: str


def _log_dataset(spec: DatasetSpec) -> None:
    if not spec.path.exists():
        raise DataError(f"{spec.path}: missing input; run `dvc repro` to rebuild it")
    frame = pd.read_parquet(spec.path)
    with warnings.catch_warnings():
        # MLflow registers its local-file source class twice and says so on every dataset,
        # and hints that integer columns cannot hold NaN: true, and no concern for a record.
        warnings.filterwarnings("ignore", message=".*can be interpreted in multiple ways")
        warnings.filterwarnings("ignore", message=".*Inferred schema contains integer")
        dataset = mlflow.data.from_pandas(
            frame, source=spec.path.as_posix(), name=spec.name, digest=spec.digest
        )
        # MLflow infers the schema value by value (about 5 s for the cohort); the first 1,000
        # rows give the same column types. `schema` is a cached property, so seed its cache.
        from mlflow.models import infer_signature

        dataset.__dict__["schema"] = infer_signature(frame.head(1000)).inputs
        mlflow.log_input(dataset, context=spec.context)


# --- timings -----------------------------------------------------------------------------


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


# --- one run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
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
    with _store(target) as client:
        exp_id = _experiment_id(client, experiment, target)
        run_name = tags.get("dvc_exp_name", "workspace")
        model_info = None
        with mlflow.start_run(experiment_id=exp_id, run_name=run_name) as run:
            mlflow.set_tags(dict(tags))
            mlflow.log_params(dict(params))
            for spec in datasets:
                _log_dataset(spec)
            if model is not None:
                model_info = _log_model(model)
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


def register_model(target: TrackingTarget, model_uri: str, name: str = REGISTERED_MODEL) -> str:
    """Register a logged model as a new version of `name`; returns the version number."""
    with _store(target):
        version = mlflow.register_model(model_uri, name)
    return str(version.version)


def run_model_uri(target: TrackingTarget, run_id: str) -> str:
    """`models:/<id>` of the segmenter logged by run `run_id` (its `segmenter` tag)."""
    with _store(target) as client:
        try:
            run = client.get_run(run_id)
        except MlflowException as exc:
            raise TrackingError(f"run {run_id} not in {target.label}: {first_line(exc)}") from exc
    model_id = run.data.tags.get(MODEL_NAME)
    if not model_id:
        raise TrackingError(f"run {run_id} logged no {MODEL_NAME} model")
    return f"models:/{model_id}"


def find_run(target: TrackingTarget, experiment: str, run_name: str) -> str:
    """Id of the latest top-level run named `run_name` (a DVC experiment's name)."""
    if "'" in run_name:
        raise TrackingError(f"no run named {run_name!r}")
    with _store(target) as client:
        exp = client.get_experiment_by_name(experiment)
        runs = (
            client.search_runs(
                [exp.experiment_id],
                filter_string=f"attributes.run_name = '{run_name}'",
                order_by=["attributes.start_time DESC"],
                max_results=1,
            )
            if exp is not None
            else []
        )
    if not runs:
        raise TrackingError(f"no run named {run_name!r} in experiment {experiment!r}")
    return runs[0].info.run_id


# --- comparing the runs of a sweep ------------------------------------------------------

DEFAULT_RUN_METRICS = (
    "cluster.silhouette",
    "cluster.calinski_harabasz",
    "cluster.davies_bouldin",
    "cluster.stability",
    "compare.ari",
    "compare.nmi",
    "ab_test.B_vs_C_lift_abs",
    "ab_test.B_vs_C_p_adj",
)
VERDICT_TAG = "ab_test.verdict_winner"


def top_level_runs(client: Any, experiment_id: str) -> list[Any]:
    """Every run of the experiment that is not a nested k-selection candidate, newest first."""
    runs, token = [], None
    while True:
        page = client.search_runs(
            [experiment_id],
            order_by=["attributes.start_time DESC"],
            max_results=1000,
            page_token=token,
        )
        runs += [r for r in page if "mlflow.parentRunId" not in r.data.tags]
        token = page.token
        if not token:
            return runs


def runs_table(
    target: TrackingTarget,
    experiment: str,
    *,
    names: Sequence[str] = (),
    metrics: Sequence[str] = DEFAULT_RUN_METRICS,
    sort: str | None = None,
) -> pd.DataFrame:
    """One row per pipeline run (one per DVC experiment; `names` picks some), newest first or
    by `sort` (highest first): the run name, the params that differ between the rows (like
    `dvc exp show --only-changed`), the `metrics` asked for and the A/B verdict when logged."""
    with _store(target) as client:
        exp = client.get_experiment_by_name(experiment)
        if exp is None:
            raise TrackingError(f"no experiment {experiment!r} in {target.label}")
        runs = top_level_runs(client, exp.experiment_id)
    if names:
        missing = sorted(set(names) - {r.info.run_name for r in runs})
        if missing:
            raise TrackingError(f"no run named {', '.join(missing)} in experiment {experiment!r}")
        runs = [r for r in runs if r.info.run_name in set(names)]
    keys = sorted({key for r in runs for key in r.data.params})
    varying = [k for k in keys if len({r.data.params.get(k) for r in runs}) > 1]
    columns = list(dict.fromkeys([*metrics, *([sort] if sort else [])]))
    rows = []
    for r in runs:
        row = {
            "run": r.info.run_name,
            "started": pd.Timestamp(r.info.start_time, unit="ms", tz="UTC").strftime(
                "%Y-%m-%d %H:%M"
            ),
        }
        row |= {k: r.data.params.get(k) for k in varying}
        # a metric named like a param (cluster.k: the k fitted, e.g. for k = auto) keeps both
        row |= {
            (f"metric:{m}" if m in varying else m): r.data.metrics.get(m, float("nan"))
            for m in columns
        }
        if any(VERDICT_TAG in x.data.tags for x in runs):
            row["verdict"] = r.data.tags.get(VERDICT_TAG, "")
        rows.append(row)
    table = pd.DataFrame(rows, columns=None if rows else ["run", "started", *columns])
    if sort:
        by = f"metric:{sort}" if sort in varying else sort
        table = table.sort_values(by, ascending=False, na_position="last", kind="stable")
    return table.reset_index(drop=True)


def load_logged_segmenter(target: TrackingTarget, model_uri: str) -> Any:
    """The `Segmenter` inside a logged or registered model (`models:/traveltide-segmenter/1`)."""
    with _store(target):
        try:
            model = mlflow.pyfunc.load_model(model_uri)
        except MlflowException as exc:
            raise TrackingError(
                f"{model_uri}: cannot be loaded from {target.label}: {first_line(exc)}"
            ) from exc
    python_model = model.unwrap_python_model()
    if not isinstance(python_model, SegmenterModel):
        raise TrackingError(f"{model_uri} is not a traveltide segmenter model")
    return python_model.segmenter
