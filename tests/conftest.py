"""Shared fixtures: a small generated TravelTide database as Parquet (the embedded source)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from support import SMALL_SCALE, postgres_url
from traveltide.config import GenerateConfig
from traveltide.io import write_parquet
from traveltide.schema import TABLES
from traveltide.sources.db import Source, driver_url
from traveltide.synthetic.generate import generate

# Modules that keep a worker busy for a minute or more, handed out first so that short modules
# fill the end of the run. Those that copy the shared baseline repository come first, and a
# CPU-heavy module without a repository (the A/B calibration simulations) third, so the second
# core works while one worker builds the baseline. `make test` passes --no-loadscope-reorder,
# since pytest-xdist's loadfile otherwise hands out the modules with the most tests first.
LONGEST_FIRST = (  # paths below tests/
    "integration/test_pipeline_dvc.py",
    "integration/test_pipeline_source.py",
    "integration/test_bad_environment.py",
    "integration/test_pipeline_queue.py",
    "calibration/test_calibration.py",
    "integration/test_spark_parity.py",  # a Spark session: about a minute, mostly the JVM's
    "integration/test_bad_input.py",
    "integration/test_determinism.py",
    "integration/test_report_browser.py",
    "integration/test_dvc_views_plots.py",
    "integration/test_mlflow_ui.py",
    "integration/test_pgload.py",
    "integration/test_mlflow_postgres.py",
    "integration/test_serving.py",
    "integration/test_spark_errors.py",
    "integration/test_spark_extract.py",
    "integration/test_spark_connect.py",
    "integration/test_pg_types.py",
)
TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long modules first (a stable sort: the rest keep pytest's order)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def place(item: pytest.Item) -> int:
        path = Path(item.path).resolve()
        where = path.relative_to(TESTS).as_posix() if path.is_relative_to(TESTS) else ""
        return rank.get(where, len(rank))

    items.sort(key=place)


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
