"""Reading tracked runs back: a sweep's runs side by side, the run of a pipeline state, and
logging a state once."""

import math
from pathlib import Path

import mlflow
import pytest
import yaml

from support import mlflow_run
from traveltide.errors import DataError, TrackingError
from traveltide.mlops import runs as runs_module
from traveltide.mlops.runs import find_state_run, runs_table, track_once
from traveltide.mlops.state import LOCK_TAG, RunFile, pipeline_digest, workspace_digest
from traveltide.mlops.store import experiment_id, resolve_target
from traveltide.mlops.tracking import run_tags


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """The module's one MLflow store (a new SQLite store takes seconds to migrate)."""
    return tmp_path_factory.mktemp("store")


@pytest.fixture(scope="module")
def sweep(store):
    """Three runs of experiment `t`, each with a nested run."""
    target = resolve_target({"DVC_ROOT": str(store)}, cwd=store)
    grid = [("exp-a", "3", "standard", 0.31), ("exp-b", "4", "standard", 0.42)]
    grid += [("exp-c", "4", "robust", 0.27)]
    for name, k, scaler, silhouette in grid:
        mlflow_run(
            target,
            "t",
            name=name,
            params={"cluster.k": k, "cluster.scaler": scaler, "generate.seed": "42"},
            metrics={"cluster/silhouette": silhouette, "cluster.k": float(k)},
            tags={"ab_test.verdict_winner": f"win-{name}"},
        )
        # a nested run (a candidate of the run, say): never a row of its own
        mlflow_run(target, "t", name=f"{name}-child", tags={"mlflow.parentRunId": "x"})
    return target


def test_runs_table_has_one_row_per_experiment_and_the_params_that_differ(sweep):
    table = runs_table(sweep, "t", metrics=("cluster/silhouette", "cluster.k"))
    assert table["run"].tolist() == ["exp-c", "exp-b", "exp-a"]  # newest first, no candidates
    assert list(table.columns) == [
        "run",
        "started",
        "cluster.k",  # the param; generate.seed is the same everywhere, so not shown
        "cluster.scaler",
        "cluster/silhouette",
        "metric:cluster.k",  # the metric of the same name
        "verdict",
    ]
    assert table["cluster/silhouette"].tolist() == [0.27, 0.42, 0.31]
    assert table["verdict"].tolist() == ["win-exp-c", "win-exp-b", "win-exp-a"]

    best = runs_table(sweep, "t", names=["exp-a", "exp-b"], sort="cluster/silhouette")
    assert best["run"].tolist() == ["exp-b", "exp-a"]
    assert "cluster.scaler" not in best.columns  # both standard
    with pytest.raises(TrackingError, match="no run named exp-z in experiment 't'"):
        runs_table(sweep, "t", names=["exp-a", "exp-z"])
    with pytest.raises(TrackingError, match="no experiment 'other'"):
        runs_table(sweep, "other")


def test_default_metrics_not_logged_are_nan_not_an_error(sweep):
    table = runs_table(sweep, "t")
    assert all(math.isnan(x) for x in table["compare/ari"])  # a default no run logged
    assert table["cluster/silhouette"].tolist() == [0.27, 0.42, 0.31]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metrics": ("cluster/silhoutte",)}, "no run logged a metric cluster/silhoutte "
         r"\(did you mean cluster/silhouette\?\)"),
        ({"sort": "silhouete"}, r"metric silhouete \(did you mean cluster/silhouette\?\)"),
        ({"metrics": ("zzz",)}, r"no run logged a metric zzz \(2 metrics are logged\)"),
    ],
)  # fmt: skip
def test_a_metric_no_run_logged_is_an_error_naming_the_closest(sweep, kwargs, message):
    with pytest.raises(TrackingError, match=message):
        runs_table(sweep, "t", **kwargs)


# ------------------------------------------------------------------------ pipeline state

LOCK = {
    "schema": "2.0",
    "stages": {
        "extract": {"cmd": "python stages/extract.py", "outs": [{"path": "c", "md5": "1" * 32}]},
        "track": {"cmd": "python stages/track.py", "outs": [{"path": "run", "md5": "2" * 32}]},
    },
}


def write_lock(folder: Path, lock: dict, **dump) -> Path:
    path = folder / "dvc.lock"
    path.write_text(yaml.safe_dump(lock, **dump))
    return path


def test_digest_covers_every_stage_but_track_and_not_the_formatting(tmp_path):
    first = pipeline_digest(write_lock(tmp_path, LOCK))
    restyled = pipeline_digest(write_lock(tmp_path, LOCK, sort_keys=False, width=20, indent=4))
    assert restyled == first
    track_rewritten = {**LOCK, "stages": {**LOCK["stages"], "track": {"cmd": "other"}}}
    assert pipeline_digest(write_lock(tmp_path, track_rewritten)) == first
    extract = {**LOCK["stages"]["extract"], "outs": [{"path": "c", "md5": "3" * 32}]}
    changed = {**LOCK, "stages": {**LOCK["stages"], "extract": extract}}
    assert pipeline_digest(write_lock(tmp_path, changed)) != first
    (tmp_path / "dvc.lock").unlink()
    assert workspace_digest(tmp_path) == "missing"
    with pytest.raises(DataError, match=r"dvc.lock: cannot read .*run `dvc repro`"):
        pipeline_digest(tmp_path / "dvc.lock")


@pytest.fixture
def workspace(store, tmp_path, monkeypatch):
    """A workspace with a dvc.lock of its own (a state no other test logs), where logging a
    state is a small stand-in run in experiment `s` of the module's store."""
    extract = {**LOCK["stages"]["extract"], "cmd": f"python stages/extract.py # {tmp_path}"}
    write_lock(tmp_path, {**LOCK, "stages": {**LOCK["stages"], "extract": extract}})
    logged = []

    def fake_track(params, outputs, *, env, workspace):
        logged.append(env.get("DVC_EXP_NAME"))
        tags = {**run_tags(env, workspace), "segmenter": "m-1"}
        name = tags["dvc_exp_name"]
        mlflow_run(resolve_target(env, workspace), "s", name=name, metrics={"m": 1.0}, tags=tags)

    monkeypatch.setattr(runs_module, "track_pipeline_state", fake_track)
    env = {"DVC_ROOT": str(store)}
    return tmp_path, env, logged


def state_runs(env: dict, digest: str) -> list:
    mlflow.set_tracking_uri(resolve_target(env).tracking_uri)
    exp = mlflow.get_experiment_by_name("s")
    found = mlflow.search_runs(
        [exp.experiment_id], filter_string=f"tags.{LOCK_TAG} = '{digest}'", output_format="list"
    )
    return [r for r in found if "mlflow.parentRunId" not in r.data.tags]


PARAMS = {"track": {"experiment": "s"}}


def test_a_state_is_logged_once(workspace):
    """Track killed after logging, forced to rerun, or the same state under another name (a
    sweep repeating a configuration, `dvc exp apply`): still the one run."""
    root, env, logged = workspace
    digest = pipeline_digest(root / "dvc.lock")
    record = track_once(PARAMS, None, env=env, workspace=root)
    assert record == RunFile("s", digest)
    assert track_once(PARAMS, None, env=env, workspace=root) == record
    track_once(PARAMS, None, env={**env, "DVC_EXP_NAME": "k7"}, workspace=root)
    assert logged == [None]
    (only,) = state_runs(env, digest)
    assert only.info.status == "FINISHED" and only.data.tags["dvc_exp_name"] == "workspace"
    assert find_state_run(resolve_target(env, root), "s", digest) == only.info.run_id


def test_an_unfinished_run_of_the_state_is_replaced(workspace):
    """A track stage killed mid-logging leaves a RUNNING run: the rerun deletes it (and its
    nested runs) and logs the state again, so one run holds it."""
    root, env, logged = workspace
    digest = pipeline_digest(root / "dvc.lock")
    target = resolve_target(env, root)
    mlflow.set_tracking_uri(target.tracking_uri)
    client = mlflow.MlflowClient()
    exp_id = experiment_id(client, "s", target)
    killed = client.create_run(exp_id, tags=run_tags(env, root), run_name="workspace")
    child = client.create_run(exp_id, tags={"mlflow.parentRunId": killed.info.run_id})
    track_once(PARAMS, None, env=env, workspace=root)
    (only,) = state_runs(env, digest)
    assert only.info.run_id != killed.info.run_id and only.info.status == "FINISHED"
    assert client.get_run(killed.info.run_id).info.lifecycle_stage == "deleted"
    assert client.get_run(child.info.run_id).info.lifecycle_stage == "deleted"
    assert logged == [None]


def test_register_lookup_refuses_a_state_never_logged(workspace):
    root, env, _ = workspace
    track_once(PARAMS, None, env=env, workspace=root)
    with pytest.raises(TrackingError) as failed:
        find_state_run(resolve_target(env, root), "s", "0" * 32)
    message = str(failed.value)
    assert "no run of this workspace's pipeline state (dvc.lock digest 000000000000)" in message
    assert message.endswith("run `dvc repro` to log it") and "\n" not in message
