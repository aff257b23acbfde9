"""Queued DVC experiments on two workers, all logging to the repository's one MLflow store.

Marked `slow` (about two minutes of a worker): `make bench` runs it with test_sweep.py's
eight-experiment queue; the default suite keeps the single experiment of test_pipeline_dvc.py."""

from __future__ import annotations

import re
import time

import pytest

from pipeline_repo import copy_repo, mlflow_runs, run

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def repo(baseline_template, tmp_path_factory):
    """A copy of the run's baseline repository, without its MLflow store."""
    copy = copy_repo(baseline_template, tmp_path_factory.mktemp("pipeline"))
    return {"path": copy.path, "env": copy.env}


def test_queued_experiments_on_two_workers_all_land_in_the_main_store(repo):
    """Two queued experiments run at once on two workers, both logging to the one MLflow store.

    tests/test_sweep.py (`slow`, in the benchmark) queues eight, so workers also take the next
    queued experiment; here two keep the default suite within its time.
    """
    path, env = repo["path"], repo["env"]
    before = {r.info.run_id for r in mlflow_runs(path)}
    queued = run(["dvc", "exp", "run", "--queue", "-S", "cluster.k=range(3,5)"], path, env)
    queued_names = re.findall(r"Queued experiment '([^']+)'", queued.stdout)
    assert len(queued_names) == 2, queued.stdout
    run(["traveltide", "mlflow-init"], path, env)
    run(["dvc", "queue", "start", "-j", "2"], path, env)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = run(["dvc", "queue", "status"], path, env).stdout
        if not re.search(r"\b(Queued|Running)\b", status):
            break
        time.sleep(3)
    assert "Failed" not in status, status
    names = {
        line.split()[0]
        for line in run(["dvc", "exp", "ls", "--name-only"], path, env).stdout.splitlines()
        if line.strip()
    }
    runs = mlflow_runs(path)
    new = [r for r in runs if r.info.run_id not in before]
    assert sorted(r.info.run_name for r in new) == sorted(queued_names), status
    assert all(r.data.tags["dvc_exp_name"] == r.info.run_name for r in new)
    assert sorted(int(r.data.params["cluster.k"]) for r in new) == [3, 4]
    logged = {r.data.tags["dvc_exp_name"] for r in runs}
    assert names <= logged, (names, logged)
    for name in queued_names:
        log = run(["dvc", "queue", "logs", name], path, env).stdout
        assert "Running stage 'track'" in log and "database is locked" not in log.lower(), name
    # nothing landed in the temporary copies' own stores
    assert not list((path / ".dvc" / "tmp").rglob("mlflow.db"))
