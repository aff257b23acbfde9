"""Where the MLflow UI shows a run or the experiment, as a model-training experiment.

MLflow 3's UI opens an experiment on its GenAI traces overview unless the browser chose
"model training" before (a setting kept in the browser) or the URL says
`workflowType=machine_learning`; every link the pipeline prints says so. No MLflow import:
`make mlflow-ui` asks for the experiment's link in a fraction of a second.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

UI_QUERY = "?workflowType=machine_learning"
DEFAULT_UI = "http://127.0.0.1:5000"  # `make mlflow-ui`


def ui_base(tracking_uri: str) -> str:
    """The UI's address: the tracking server's when there is one, else `make mlflow-ui`'s."""
    if tracking_uri.startswith(("http://", "https://")):
        return tracking_uri.rstrip("/")
    return DEFAULT_UI


def run_link(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    """A run's page in the UI."""
    return f"{ui_base(tracking_uri)}/#/experiments/{experiment_id}/runs/{run_id}{UI_QUERY}"


def experiment_link(store: Path, experiment: str, base: str = DEFAULT_UI) -> str:
    """The experiment's training runs in the UI, its id read from the SQLite `store`
    (mlflow.db); the list of experiments when the store or the experiment is not there yet."""
    found = None
    if store.is_file():
        try:
            with sqlite3.connect(f"{store.resolve().as_uri()}?mode=ro", uri=True) as db:
                found = db.execute(
                    "SELECT experiment_id FROM experiments WHERE name = ?", (experiment,)
                ).fetchone()
        except sqlite3.Error:
            found = None
    where = f"experiments/{found[0]}" if found else "experiments"
    return f"{base.rstrip('/')}/#/{where}{UI_QUERY}"


def workspace_link(root: Path, port: int) -> str:
    """`make mlflow-ui`'s link: the experiment named by params.yaml (`track.experiment`) in
    the workspace's store, on the UI at `port`."""
    import yaml

    try:
        params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8")) or {}
        experiment = str(params["track"]["experiment"])
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        experiment = ""
    return experiment_link(root / "mlflow.db", experiment, f"http://127.0.0.1:{port}")
