"""The MLflow UI as `make mlflow-ui` starts it, in headless Chromium: one worker and no job
runner, and the links the pipeline prints open the experiment on its training runs (not on
MLflow 3's GenAI traces overview) and a run on its few metrics and its description."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
import yaml

from browser import render
from traveltide.mlops.store import resolve_target
from traveltide.mlops.tracking import log_pipeline_run
from traveltide.mlops.ui import workspace_link

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
GENAI_OVERVIEW = "Detect Issues"  # the GenAI overview's button: not what a training run needs


def make_recipe(target: str) -> str:
    """The shell command of a Makefile target's recipe (continued lines joined), `@` lines
    left out."""
    text = (ROOT / "Makefile").read_text()
    body = text.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    joined = "\n".join(line.removeprefix("\t") for line in body).replace("\\\n", " ")
    return "\n".join(line for line in joined.splitlines() if not line.startswith("@"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """A store with one pipeline run, served by `make mlflow-ui`'s own command."""
    root = tmp_path_factory.mktemp("ui")
    (root / "params.yaml").write_text(yaml.safe_dump({"track": {"experiment": "seg"}}))
    target = resolve_target({"DVC_ROOT": str(root)}, cwd=root)
    record = log_pipeline_run(
        target=target,
        experiment="seg",
        params={"cluster.k": "5"},
        metrics={"cluster/silhouette": 0.31, "compare/ari": 0.4},
        tags={"dvc_exp_name": "sappy-ruin"},
        artifacts=[],
        description="**sappy-ruin**: DVC experiment. Params changed: `cluster.k`: 7 → 5",
    )
    port = free_port()
    command = make_recipe("mlflow-ui").replace("$(CURDIR)", str(root))
    command = command.replace("$(MLFLOW_PORT)", str(port))
    assert "--workers 1" in command and "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false" in command
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    server = subprocess.Popen(
        ["bash", "-c", command],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                assert server.poll() is None, "mlflow ui exited"
                assert time.monotonic() < deadline, "mlflow ui did not start in 3 minutes"
                time.sleep(1)
        yield {"root": root, "port": port, "record": record, "pid": server.pid}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def test_the_ui_runs_one_worker_and_no_job_runner(ui):
    tree = [psutil.Process(ui["pid"]), *psutil.Process(ui["pid"]).children(recursive=True)]
    assert len(tree) <= 3, [p.cmdline()[:3] for p in tree]  # mlflow, one uvicorn worker


def test_the_printed_links_open_training_runs(ui, tmp_path):
    record, port = ui["record"], ui["port"]
    link = workspace_link(ui["root"], port)
    assert link == (
        f"http://127.0.0.1:{port}/#/experiments/{record.experiment_id}"
        "?workflowType=machine_learning"
    )
    experiment = render(link, tmp_path / "experiment", loopback=True, wait_ms=20000).dom
    assert "sappy-ruin" in experiment  # the runs table, with the run
    assert GENAI_OVERVIEW not in experiment
    run = render(
        record.url.replace(":5000", f":{port}"), tmp_path / "run", loopback=True, wait_ms=20000
    ).dom
    assert "cluster/silhouette" in run and "compare/ari" in run
    assert re.search(r"Params changed.*cluster\.k", run, re.S)  # the description


def test_without_the_link_mlflow_opens_on_genai_traces(ui, tmp_path):
    """Why every link carries workflowType: a fresh browser opens the experiment on MLflow 3's
    GenAI overview, whatever the experiment's mlflow.experimentKind tag says."""
    bare = f"http://127.0.0.1:{ui['port']}/#/experiments/{ui['record'].experiment_id}"
    assert GENAI_OVERVIEW in render(bare, tmp_path, loopback=True, wait_ms=20000).dom
