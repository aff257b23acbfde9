from pathlib import Path

import pytest

from traveltide.errors import TrackingError
from traveltide.tracking import (
    flatten_metrics,
    log_pipeline_run,
    resolve_target,
    safe_uri,
)


def test_store_resolves_to_dvc_root_even_from_a_temp_copy(tmp_path):
    copy = tmp_path / "repo" / ".dvc" / "tmp" / "exps" / "abc"
    target = resolve_target({"DVC_ROOT": str(tmp_path / "repo")}, cwd=copy)
    assert target.tracking_uri == f"sqlite:///{tmp_path / 'repo' / 'mlflow.db'}"
    assert target.artifact_location == (tmp_path / "repo" / "mlartifacts").as_uri()
    assert resolve_target({}, cwd=copy).tracking_uri.endswith("exps/abc/mlflow.db")


def test_env_uri_wins_and_passwords_are_masked(tmp_path):
    uri = "postgresql://u:s3cret@localhost:5432/mlflow"
    target = resolve_target({"MLFLOW_TRACKING_URI": uri}, cwd=tmp_path)
    assert target.tracking_uri == uri
    assert "s3cret" not in target.label and ":***@" in target.label
    assert safe_uri("sqlite:///x.db") == "sqlite:///x.db"


def test_flatten_metrics_keeps_numbers_only():
    flat = flatten_metrics(
        {"cluster": {"k": 5, "names": {"0": "a"}, "ok": True}, "ab": {"p": None}}
    )
    assert flat == {"cluster.k": 5.0, "cluster.ok": 1.0}


def test_logs_run_with_params_metrics_tags_and_nested_candidates(tmp_path):
    target = resolve_target({"DVC_ROOT": str(tmp_path)}, cwd=tmp_path)
    report = tmp_path / "report.html"
    report.write_text("<html></html>")
    record = log_pipeline_run(
        target=target,
        experiment="t",
        params={"cluster.k": "5"},
        metrics={"compare.ari": 0.5},
        tags={"dvc_exp_name": "exp-1", "git_commit": "abc"},
        artifacts=[report],
        candidates=[{"k": 2, "silhouette": 0.3}, {"k": 3, "silhouette": 0.4}],
    )
    import mlflow

    mlflow.set_tracking_uri(target.tracking_uri)
    run = mlflow.get_run(record.run_id)
    assert run.data.params["cluster.k"] == "5" and run.data.metrics["compare.ari"] == 0.5
    assert run.data.tags["dvc_exp_name"] == "exp-1" and run.info.run_name == "exp-1"
    children = mlflow.search_runs(
        [record.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{record.run_id}'"
    )
    assert sorted(children["params.k"]) == ["2", "3"]
    artifacts = Path(run.info.artifact_uri.removeprefix("file://"))
    assert (artifacts / "report.html").exists()
    assert str(artifacts).startswith(str(tmp_path / "mlartifacts"))


def test_unwritable_store_is_one_clear_error(tmp_path):
    target = resolve_target(
        {"MLFLOW_TRACKING_URI": "sqlite:////proc/nope/mlflow.db", "DVC_ROOT": str(tmp_path)},
        cwd=tmp_path,
    )
    with pytest.raises(TrackingError, match="cannot be written"):
        log_pipeline_run(
            target=target,
            experiment="t",
            params={},
            metrics={},
            tags={},
            artifacts=[],
            candidates=[],
        )
