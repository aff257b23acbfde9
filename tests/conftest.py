"""Shared fixtures: a small generated TravelTide database as Parquet (the embedded source)."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest

from traveltide.db import Source, driver_url
from traveltide.generate import GenerateConfig, generate
from traveltide.io import write_parquet
from traveltide.schema import TABLES

SMALL_SCALE = 0.02

# The modules that keep a worker busy for a minute or more, handed out first, so that the
# short ones fill the end of the run. The suite is CPU-bound: in a `make test` on the slowest
# machine seen (2026-12-02, loop 0.21 s) both cores were 99% busy except in the first minute
# and the last 50 s. In the first minute, test_pipeline_dvc, the two bad-input
# modules, test_report's pipeline test and test_determinism all copy or compare with one
# baseline repository (`baseline_template`), which one worker builds while the others wait:
# test_abtest (its calibration simulations, about 1.5 CPU-minutes, no repository) goes third
# and keeps the second core busy meanwhile. At the end it had run last, alone for 50 s.
# The bad-input cases were one module of 5.6 minutes, alone on one worker for nearly the
# whole run: split in two. pytest-xdist's loadfile hands out whole modules, by default those
# with the most tests first: `make test` passes --no-loadscope-reorder so that this order holds.
LONGEST_FIRST = (
    "test_pipeline_dvc.py",
    "test_bad_environment.py",
    "test_abtest.py",
    "test_bad_input.py",
    "test_determinism.py",
    "test_report.py",
    "test_pgload.py",
    "test_mlflow_postgres.py",
    "test_serving.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long modules first (a stable sort: the rest keep pytest's order)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(scope="session")
def small_db():
    return generate(GenerateConfig(seed=7, scale=SMALL_SCALE))


@pytest.fixture(scope="session")
def embedded_source(small_db, tmp_path_factory) -> Source:
    folder = tmp_path_factory.mktemp("embedded") / "traveltide"
    for table in TABLES:
        write_parquet(getattr(small_db, table), folder / f"{table}.parquet")
    return Source(url=None, embedded_dir=folder)


@pytest.fixture(scope="session")
def baseline_template(tmp_path_factory):
    """One committed baseline repository (the real pipeline at SMALL_SCALE) for the whole run,
    which modules copy (`pipeline_repo.copy_repo`) and never change. Under xdist the first
    worker to ask builds it in the run's shared temporary folder while the others wait on a
    file lock: every repository build is the whole pipeline, about 18 CPU-seconds."""
    from filelock import FileLock

    from pipeline_repo import PipelineRepo, build_baseline, clean_env

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker's folder is inside the run's
        shared = shared.parent
    folder, built = shared / "baseline", shared / "baseline.built"
    with FileLock(shared / "baseline.lock"):
        if not built.exists():  # a worker whose build failed leaves no marker: build again
            shutil.rmtree(folder, ignore_errors=True)
            build_baseline(folder, SMALL_SCALE)
            built.touch()
    return PipelineRepo(folder / "repo", clean_env())


def postgres_url() -> str:
    return os.environ.get("TRAVELTIDE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def postgres() -> str:
    """The real PostgreSQL server: skip without it, but fail in CI where it must be up."""
    import sqlalchemy as sa

    url = postgres_url()
    try:
        engine = sa.create_engine(driver_url(url))
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "no server"
        reason = f"PostgreSQL not reachable at {url}: {type(exc).__name__}"
        if os.environ.get("TRAVELTIDE_REQUIRE_POSTGRES") == "1" or os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return url


def schema_url(url: str, schema: str) -> str:
    """The URL with libpq `options` setting search_path, so unqualified SQL reads `schema`."""
    import sqlalchemy as sa

    parsed = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


@pytest.fixture
def pg_schema(postgres):
    """A fresh schema name for one test, dropped afterwards whatever the test left."""
    import sqlalchemy as sa

    name = f"tt_test_{uuid.uuid4().hex[:12]}"
    yield name
    engine = sa.create_engine(driver_url(postgres))
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    engine.dispose()


def pg_query(url: str, sql: str, **params) -> list[tuple]:
    """Rows of one query on a PostgreSQL URL, through a short-lived engine."""
    import sqlalchemy as sa

    engine = sa.create_engine(driver_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


SIGNALS = {"free_checked_bag": "bags", "exclusive_discounts": "discount"}  # perks.signals
BLOB_FEATURES = ["bags", "discount", "c", "d"]  # the feature columns of blob_users


def blob_users(n: int = 300, *, k: int = 3, seed: int = 0, std: float = 0.6, first_id: int = 1000):
    """`n` users in `k` well-separated Gaussian blobs over BLOB_FEATURES (user_id counting from
    `first_id`), and each user's blob: a feature table whose right clustering is known."""
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_blobs

    X, truth = make_blobs(
        n_samples=n, centers=k, n_features=len(BLOB_FEATURES), cluster_std=std, random_state=seed
    )
    table = pd.DataFrame(X, columns=BLOB_FEATURES)
    table.insert(0, "user_id", np.arange(n, dtype="int64") + first_id)
    return table, truth
