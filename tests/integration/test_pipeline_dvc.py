"""The real pipeline, run by the real dvc in a temporary git repository at a small scale.

The module works on its own copy of the run's baseline repository (conftest's
`baseline_template`: a fresh repository, one `dvc repro`, committed) and the tests run in
order, as a user would: the first repro (the template's own, with its MLflow store), a no-op
repro, a fresh clone's repro, one experiment, then a queue of experiments on two workers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from pipeline_repo import (
    ALL_STAGES,
    PipelineRepo,
    copy_repo,
    first_repro_output,
    mlflow_runs,
    run,
    stages_ran,
)
from support import SMALL_SCALE
from traveltide.mlops.serving import load_segmenter
from traveltide.mlops.state import pipeline_digest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def repo(baseline_template, tmp_path_factory):
    """A copy to change (without the template's MLflow store: its first `track` starts one),
    and the template's first repro: its output and MLflow run, read and never written."""
    copy = copy_repo(baseline_template, tmp_path_factory.mktemp("pipeline"))
    return {
        "path": copy.path,
        "env": copy.env,
        "first": baseline_template.path,
        "repro": first_repro_output(baseline_template),
    }


def changed_stages(path: Path, env: dict[str, str]) -> set[str]:
    return PipelineRepo(path, env).changed_stages()


def test_repro_builds_every_stage_and_logs_one_run(repo):
    path = repo["first"]
    assert stages_ran(repo["repro"]) == ALL_STAGES
    metrics = {p.stem: json.loads(p.read_text()) for p in (path / "metrics").glob("*.json")}
    summary = {p.stem: json.loads(p.read_text()) for p in (path / "data/summary").glob("*.json")}
    assert summary["extract"]["users"] > 50
    assert summary["features"]["n_features"] >= 50
    assert -1 <= metrics["cluster"]["silhouette"] <= 1 and metrics["cluster"]["k"] == 7
    assert 0 <= metrics["compare"]["nmi"] <= 1 and -1 <= metrics["compare"]["ari"] <= 1
    assert any("lift" in key for key in metrics["ab_test"])
    assert metrics["ab_test"]["srm_p_value"] is not None
    report = (path / "data/report/report.html").read_text()
    assert "data:image/png;base64," in report and "silhouette" in report
    runs = mlflow_runs(path)
    assert len(runs) == 1
    only = runs[0]
    assert only.data.params["cluster.k"] == "7"
    assert only.data.params["generate.scale"] == str(SMALL_SCALE)
    for key in ("cluster/silhouette", "compare/ari", "compare/nmi"):
        assert key in only.data.metrics, key
    assert only.data.tags["dvc_exp_name"] == "workspace"
    assert re.fullmatch(r"[0-9a-f]{40}", only.data.tags["git_commit"])
    # the run file names the state, not the run: the same bytes on every machine
    digest = pipeline_digest(path / "dvc.lock")
    run_file = json.loads((path / "data/track/run.json").read_text())
    assert run_file == {"experiment": "traveltide-segmentation", "dvc_lock_md5": digest}
    assert only.data.tags["dvc_lock_md5"] == digest
    from mlflow import MlflowClient

    client = MlflowClient()
    artifacts = {a.path for a in client.list_artifacts(only.info.run_id, "exports")}
    expected = {"rewards_assignment.csv", "segment_summary.csv", "analysis.json"}
    assert {f"exports/{name}" for name in expected} <= artifacts, artifacts
    assert "report/report.html" in {
        a.path for a in client.list_artifacts(only.info.run_id, "report")
    }
    assert "timings.json" in {a.path for a in client.list_artifacts(only.info.run_id)}
    assert {d.dataset.name for d in only.inputs.dataset_inputs} >= {"cohort", "user_features"}
    # the logged model's input example: real users with the pickled segmenter's columns
    segmenter = load_segmenter(path / "data/models/segmenter.pkl")
    (model_dir,) = (path / "mlartifacts").glob(f"*/models/{only.data.tags['segmenter']}/artifacts")
    example = json.loads((model_dir / "input_example.json").read_text())
    assert example["columns"] == ["user_id", *segmenter.features]


def test_second_repro_reruns_nothing_and_status_is_clean(repo):
    path, env = repo["path"], repo["env"]
    status = run(["dvc", "status"], path, env).stdout
    assert status.strip() == "Data and pipelines are up to date.", status
    lock = (path / "dvc.lock").read_bytes()
    again = run(["dvc", "repro"], path, env)
    assert stages_ran(again.stdout + again.stderr) == set()
    assert (path / "dvc.lock").read_bytes() == lock  # nothing rewritten
    assert not (path / "mlflow.db").exists()  # track did not run: the copy has no store yet
    assert run(["git", "status", "--porcelain"], path, env).stdout == ""


def test_fresh_clone_logs_its_own_run_and_leaves_git_clean(repo, tmp_path):
    """`git clone` + `dvc repro` (what `make run` does) on another machine: the committed
    dvc.lock is what the run produces, so git stays clean, and track runs (its run file is not
    versioned), logging the state to the clone's own MLflow store."""
    path, env = repo["path"], repo["env"]
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(path), str(clone)], tmp_path, env)
    done = run(["dvc", "repro"], clone, env)
    assert stages_ran(done.stdout + done.stderr) == ALL_STAGES
    assert run(["git", "status", "--porcelain"], clone, env).stdout == ""
    assert run(["dvc", "status"], clone, env).stdout.strip() == "Data and pipelines are up to date."
    (only,) = mlflow_runs(clone)
    assert only.data.tags["dvc_lock_md5"] == pipeline_digest(clone / "dvc.lock")


def test_experiment_reruns_cluster_onwards_and_adds_one_run(repo):
    path, env = repo["path"], repo["env"]
    assert run(["git", "status", "--porcelain"], path, env).stdout == ""  # as committed
    out = run(["dvc", "exp", "run", "-n", "k6", "-S", "cluster.k=6"], path, env)
    assert stages_ran(out.stdout + out.stderr) == {
        "cluster",
        "compare",
        "ab_test",
        "report",
        "track",
    }
    (k6,) = mlflow_runs(path)
    assert k6.data.tags["dvc_exp_name"] == "k6"
    assert k6.data.params["cluster.k"] == "6" and k6.info.run_name == "k6"


def test_failed_stage_is_one_line_and_dvc_checkout_restores_outputs(repo):
    path, env = repo["path"], repo["env"]
    cohort = path / "data/interim/cohort.parquet"
    before = cohort.read_bytes()
    params_file = path / "params.yaml"
    original = params_file.read_text()
    params = yaml.safe_load(original)
    params["cohort"]["min_sessions"] = 1000
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    failed = run(["dvc", "repro"], path, env, check=False)
    params_file.write_text(original)
    assert failed.returncode != 0
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: extract: cohort is empty: no user has more than 1000 sessions after 2023-01-04 "
        "(params cohort.min_sessions, cohort.session_start_after)"
    ]
    assert "Traceback" not in failed.stderr
    assert cohort.read_bytes() == before  # extract's outputs are `persist`: DVC kept them
    run(["dvc", "checkout"], path, env)
    assert cohort.read_bytes() == before
    assert changed_stages(path, env) == set()
