"""traveltide.mlops.ui: every link opens the MLflow UI on training runs, not GenAI traces."""

from pathlib import Path

import yaml

from traveltide.mlops.store import resolve_target
from traveltide.mlops.tracking import log_pipeline_run
from traveltide.mlops.ui import experiment_link, run_link, workspace_link


def test_a_run_link_follows_a_tracking_server():
    assert run_link("sqlite:////x/mlflow.db", "1", "abc") == (
        "http://127.0.0.1:5000/#/experiments/1/runs/abc?workflowType=machine_learning"
    )
    assert run_link("http://mlflow.example:8080/", "3", "abc") == (
        "http://mlflow.example:8080/#/experiments/3/runs/abc?workflowType=machine_learning"
    )


def test_the_workspace_link_names_the_experiment_of_params_yaml(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"track": {"experiment": "seg"}}))
    assert workspace_link(tmp_path, 5001) == (
        "http://127.0.0.1:5001/#/experiments?workflowType=machine_learning"  # no store yet
    )
    assert not (tmp_path / "mlflow.db").exists()  # asking created none
    target = resolve_target({"DVC_ROOT": str(tmp_path)}, cwd=tmp_path)
    for name in ("other", "seg"):
        record = log_pipeline_run(
            target=target, experiment=name, params={}, metrics={}, tags={}, artifacts=[]
        )
    assert workspace_link(tmp_path, 5001) == (
        f"http://127.0.0.1:5001/#/experiments/{record.experiment_id}?workflowType=machine_learning"
    )
    assert experiment_link(Path("/nowhere/mlflow.db"), "seg").endswith(
        "/#/experiments?workflowType=machine_learning"
    )
