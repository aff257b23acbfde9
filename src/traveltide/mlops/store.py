"""Where MLflow writes, and a locked client on that store; the experiment created safely.

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
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import mlflow
from mlflow.exceptions import MlflowException

from traveltide.errors import TrackingError, first_line
from traveltide.sources.source import redact_url

LOCK_NAME = ".mlflow.lock"
LOCAL_SCHEMES = frozenset({"", "file", "sqlite"})  # one machine's files: serialised by a lock
SERVER_SCHEMES = frozenset({"http", "https", "databricks"})  # a tracking server stores artifacts
PROBE_TIMEOUT_S = 10  # seconds to reach a database store before giving up
LOCK_WAIT_S = 600.0  # seconds a writer waits for another to release a local store's lock
LOCK_POLL_S = 0.2


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
    """The store, artifact root and lock of this process (`env`, `cwd`: os.environ, the cwd)."""
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


def _acquire(handle: Any, path: Path, wait_s: float) -> None:
    """Take the exclusive lock on `handle`, waiting up to `wait_s` seconds for its holder."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise TrackingError(
                    f"MLflow store lock {path} still held by another process after "
                    f"{wait_s:g} s (another track stage or `traveltide` command logging?)"
                ) from None
            time.sleep(LOCK_POLL_S)


@contextmanager
def store_lock(path: Path | None, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """An exclusive file lock, waited for up to `wait_s` seconds (released when its holder
    dies, even on SIGKILL); no lock at all when `path` is None (a store that handles
    concurrent writers itself)."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        _acquire(handle, path, wait_s)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
def open_store(target: TrackingTarget) -> Iterator[Any]:
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


def experiment_id(client: Any, name: str, target: TrackingTarget) -> str:
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


def init_store(target: TrackingTarget, experiment: str) -> str:
    """Create (or migrate) the store and the experiment; returns the experiment id."""
    with open_store(target) as client:
        return experiment_id(client, experiment, target)
