"""MLflow with its backend store on the real PostgreSQL server (`MLFLOW_TRACKING_URI=postgresql://`).

Each test gets its own database, created on 127.0.0.1:5432 and dropped afterwards, and writes
through `traveltide.mlops` or the `traveltide` command exactly as the track stage and a
user would. What was written is read back through MLflow and, to be sure it is PostgreSQL
that holds it, straight from the database's own tables.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from pipeline_repo import clean_env
from support import blob_segmenter, blob_users, pg_query
from traveltide.errors import TrackingError
from traveltide.mlops.lineage import DatasetSpec, file_md5
from traveltide.mlops.model import ModelSpec, load_logged_segmenter, register_model
from traveltide.mlops.store import init_store, resolve_target
from traveltide.mlops.tracking import KIND, KIND_TAG, Artifact, log_pipeline_run
from traveltide.sources.db import driver_url

pytestmark = pytest.mark.postgres

EXPERIMENT = "traveltide-segmentation"


def admin_engine(server_url: str) -> sa.Engine:
    return sa.create_engine(driver_url(server_url), isolation_level="AUTOCOMMIT")


@pytest.fixture
def mlflow_db(postgres):
    """A plain `postgresql://` URL of a fresh, empty database, dropped after the test."""
    name = f"traveltide_mlflow_test_{uuid.uuid4().hex[:10]}"
    engine = admin_engine(postgres)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(postgres).set(drivername="postgresql", database=name)
    yield url.render_as_string(hide_password=False)
    with engine.connect() as conn:  # FORCE: MLflow's pooled connections are still open
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


query = pg_query


def traveltide(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "traveltide.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_a_pipeline_run_with_its_model_lives_in_postgresql(mlflow_db, tmp_path):
    users, _ = blob_users(seed=1, first_id=1)
    segmenter = blob_segmenter(users)
    model_file, table = tmp_path / "segmenter.pkl", tmp_path / "user_features.parquet"
    model_file.write_bytes(pickle.dumps(segmenter, protocol=5))
    users.to_parquet(table, index=False)
    report = tmp_path / "report.html"
    report.write_text("<html>report</html>")
    target = resolve_target({"MLFLOW_TRACKING_URI": mlflow_db, "DVC_ROOT": str(tmp_path)})
    assert target.tracking_uri.startswith("postgresql+psycopg2://")
    assert target.lock_path is None  # the database serialises writers, not a file lock
    record = log_pipeline_run(
        target=target,
        experiment=EXPERIMENT,
        params={"cluster.k": "3", "cluster.scaler": "standard"},
        metrics={"cluster/silhouette": 0.71, "ab_test/B_vs_C_decision_effect": 4.0},
        tags={"dvc_exp_name": "eight-eild", "git_commit": "c" * 40, "ab_test.verdict_winner": "B"},
        artifacts=[Artifact(report, "report")],
        description="**eight-eild**: `cluster.k` 7 → 3",
        datasets=[DatasetSpec("user_features", table, "training", file_md5(table))],
        model=ModelSpec(
            segmenter=model_file,
            features=tuple(segmenter.features),
            example=users.head(3),
            digest=file_md5(model_file),
        ),
    )

    import mlflow

    client = mlflow.MlflowClient(target.tracking_uri)
    run = client.get_run(record.run_id)
    assert run.info.run_name == "eight-eild" == run.data.tags["dvc_exp_name"]
    assert run.data.params == {"cluster.k": "3", "cluster.scaler": "standard"}
    assert run.data.metrics == {"cluster/silhouette": 0.71, "ab_test/B_vs_C_decision_effect": 4.0}
    assert run.data.tags["ab_test.verdict_winner"] == "B"
    assert run.data.tags["mlflow.note.content"] == "**eight-eild**: `cluster.k` 7 → 3"
    assert client.get_experiment(record.experiment_id).tags[KIND_TAG] == KIND
    assert [d.dataset.digest for d in run.inputs.dataset_inputs] == [file_md5(table)]
    artifacts = Path(run.info.artifact_uri.removeprefix("file://"))
    assert (artifacts / "report" / "report.html").exists()

    # the rows are in PostgreSQL's tables, and no SQLite store appeared anywhere
    in_db = query(
        mlflow_db,
        "SELECT r.name, COUNT(m.key) FROM runs r LEFT JOIN latest_metrics m "
        "ON m.run_uuid = r.run_uuid WHERE r.run_uuid = :id GROUP BY r.name",
        id=record.run_id,
    )
    assert in_db == [("eight-eild", 2)]
    children = query(
        mlflow_db,
        "SELECT COUNT(*) FROM tags WHERE key = 'mlflow.parentRunId' AND value = :id",
        id=record.run_id,
    )
    assert children == [(0,)]  # the k-selection table is an artifact, not nested runs
    assert not list(tmp_path.rglob("*.db")) and not (tmp_path / ".mlflow.lock").exists()

    # the logged model and a registered version load back and score like the original
    loaded = load_logged_segmenter(target, record.model_uri)
    pd.testing.assert_frame_equal(loaded.predict(users), segmenter.predict(users))
    assert register_model(target, record.model_uri) == "1"
    registered = load_logged_segmenter(target, "models:/traveltide-segmenter/1")
    pd.testing.assert_frame_equal(registered.predict(users), segmenter.predict(users))


WRITER = textwrap.dedent(
    """
    import sys
    from traveltide.mlops.store import resolve_target
    from traveltide.mlops.tracking import log_pipeline_run

    for name in sys.argv[1:]:
        log_pipeline_run(
            target=resolve_target(),
            experiment="traveltide-segmentation",
            params={"cluster.k": name.removeprefix("exp-")},
            metrics={"cluster/silhouette": 0.5},
            tags={"dvc_exp_name": name},
            artifacts=[],
        )
    """
)


def test_mlflow_init_then_parallel_writers_without_a_lock(mlflow_db, tmp_path):
    """The command users run before a parallel queue, then concurrent writers, as queue
    workers would be: every run lands."""
    env = {**clean_env(), "MLFLOW_TRACKING_URI": mlflow_db, "DVC_ROOT": str(tmp_path)}
    (tmp_path / "params.yaml").write_text(f"track:\n  experiment: {EXPERIMENT}\n")
    done = traveltide("mlflow-init", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"MLflow store ready: experiment '{EXPERIMENT}' (id 1) in ")
    assert "postgresql+psycopg2://" in done.stdout
    again = init_store(resolve_target(env), EXPERIMENT)
    assert again == "1"  # idempotent: the same experiment, not a second one
    rows = query(
        mlflow_db, "SELECT name, artifact_location FROM experiments WHERE name = :n", n=EXPERIMENT
    )
    assert rows == [(EXPERIMENT, f"{(tmp_path / 'mlartifacts').as_uri()}/{EXPERIMENT}")]

    # two writers at once (as two queue workers), three runs each, so their writes interleave
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    batches = [[f"exp-{k}" for k in range(3, 6)], [f"exp-{k}" for k in range(6, 9)]]
    writers = [
        subprocess.Popen(
            [sys.executable, str(script), *batch],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for batch in batches
    ]
    errors = [w.communicate(timeout=300)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    names = sorted(batches[0] + batches[1])
    top = query(
        mlflow_db,
        "SELECT r.name FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id "
        "WHERE e.name = :n AND r.run_uuid NOT IN "
        "(SELECT run_uuid FROM tags WHERE key = 'mlflow.parentRunId') ORDER BY r.name",
        n=EXPERIMENT,
    )
    assert [name for (name,) in top] == names
    assert not (tmp_path / ".mlflow.lock").exists()


def test_a_missing_database_is_one_line_within_seconds(postgres, tmp_path):
    missing = f"traveltide_mlflow_missing_{uuid.uuid4().hex[:8]}"
    url = sa.make_url(postgres).set(drivername="postgresql", database=missing)
    target = resolve_target(
        {
            "MLFLOW_TRACKING_URI": url.render_as_string(hide_password=False),
            "DVC_ROOT": str(tmp_path),
        }
    )
    start = time.monotonic()
    with pytest.raises(TrackingError) as failed:
        init_store(target, EXPERIMENT)
    assert time.monotonic() - start < 10  # not MLflow's two minutes of reconnecting
    message = str(failed.value)
    assert "\n" not in message
    assert f'database "{missing}" does not exist' in message
