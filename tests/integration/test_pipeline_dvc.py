"""The real pipeline, run by the real dvc in a temporary git repository at a small scale.

The module works on its own copy of the run's baseline repository (conftest's
`baseline_template`: a fresh repository, one `dvc repro`, committed) and the tests run in
order, as a user would: the first repro (the template's own, with its MLflow store), a no-op
repro, one experiment, then a queue of experiments on two workers.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import yaml

from pipeline_repo import (
    ALL_STAGES,
    PipelineRepo,
    copy_repo,
    first_repro_output,
    run,
    stages_ran,
)
from support import SMALL_SCALE, schema_url
from traveltide.mlops.serving import load_segmenter

pytestmark = pytest.mark.integration


def mlflow_runs(repo: Path) -> list:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlflow.db'}")
    exp = mlflow.get_experiment_by_name("traveltide-segmentation")
    if exp is None:
        return []
    runs = mlflow.search_runs([exp.experiment_id], output_format="list")
    return [r for r in runs if "mlflow.parentRunId" not in r.data.tags]


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
    assert metrics["extract"]["users"] > 50
    assert metrics["features"]["n_features"] >= 50
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
    for key in ("cluster.silhouette", "compare.ari", "compare.nmi", "ab_test.B_vs_C_lift_abs"):
        assert key in only.data.metrics, key
    assert only.data.tags["dvc_exp_name"] == "workspace"
    assert re.fullmatch(r"[0-9a-f]{40}", only.data.tags["git_commit"])
    run_file = json.loads((path / "data/track/mlflow_run.json").read_text())
    assert run_file["run_id"] == only.info.run_id
    from mlflow import MlflowClient

    artifacts = {a.path for a in MlflowClient().list_artifacts(only.info.run_id)}
    expected = {"report.html", "rewards_assignment.csv", "segment_summary.csv", "analysis.json"}
    assert expected <= artifacts, artifacts
    assert any(key.startswith("timing.") for key in only.data.metrics)
    assert {d.dataset.name for d in only.inputs.dataset_inputs} >= {"cohort", "user_features"}
    # the logged model's input example: real users with the pickled segmenter's columns
    segmenter = load_segmenter(path / "data/models/segmenter.pkl")
    (model_dir,) = (path / "mlartifacts").glob(f"*/models/{only.data.tags['segmenter']}/artifacts")
    example = json.loads((model_dir / "input_example.json").read_text())
    assert example["columns"] == ["user_id", *segmenter.features]


def test_second_repro_reruns_nothing_and_status_is_clean(repo):
    path, env = repo["path"], repo["env"]
    assert changed_stages(path, env) == {"source"}
    again = run(["dvc", "repro"], path, env)
    assert stages_ran(again.stdout + again.stderr) == {"source"}
    assert not (path / "mlflow.db").exists()  # track did not run: the copy has no store yet


def test_experiment_reruns_cluster_onwards_and_adds_one_run(repo):
    path, env = repo["path"], repo["env"]
    assert run(["git", "status", "--porcelain"], path, env).stdout == ""  # as committed
    out = run(["dvc", "exp", "run", "-n", "k6", "-S", "cluster.k=6"], path, env)
    assert stages_ran(out.stdout + out.stderr) == {
        "source",
        "cluster",
        "compare",
        "ab_test",
        "report",
        "track",
    }
    (k6,) = mlflow_runs(path)
    assert k6.data.tags["dvc_exp_name"] == "k6"
    assert k6.data.params["cluster.k"] == "6" and k6.info.run_name == "k6"


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
    assert not cohort.exists()  # DVC removed the output before the stage ran
    run(["dvc", "checkout"], path, env)
    assert cohort.read_bytes() == before
    assert changed_stages(path, env) == {"source"}


def test_postgres_source_requeries_every_repro_and_skips_generate(repo, postgres, pg_schema):
    """With TRAVELTIDE_DB_URL: generate writes placeholders, extract re-queries on every repro,
    and stages after it rerun only when the cohort changed (here it is byte-identical)."""
    path, env = repo["path"], repo["env"]
    cohort = path / "data/interim/cohort.parquet"
    embedded_cohort = cohort.read_bytes()
    url = schema_url(postgres, pg_schema)
    run(["traveltide", "db", "load", "--url", url, "--schema", pg_schema], path, env)
    pg_env = {**env, "TRAVELTIDE_DB_URL": url}

    first = stages_ran(run(["dvc", "repro"], path, pg_env).stdout)
    assert {"source", "generate", "extract"} <= first
    # the cohort did not change, so nothing that reads only the cohort reran; stages that read
    # the planted personas (ground truth, empty for an external source) did, once
    assert first.isdisjoint({"clean", "features", "segment_rules", "compare"}), first
    assert (path / "data/raw/traveltide/NOT_GENERATED.txt").exists()
    assert not (path / "data/raw/traveltide/sessions.parquet").exists()
    assert cohort.read_bytes() == embedded_cohort  # same SQL, same cohort, same bytes

    second = run(["dvc", "repro"], path, pg_env)
    assert stages_ran(second.stdout + second.stderr) == {"source", "extract"}

    back = run(["dvc", "repro"], path, env)  # URL unset: the run-cache restores generate
    # everything is restored from the run-cache but track, which is never run-cached: the
    # restored state gets its own MLflow run
    assert stages_ran(back.stdout + back.stderr) == {"source", "track"}
    assert (path / "data/raw/traveltide/sessions.parquet").exists()
    assert cohort.read_bytes() == embedded_cohort
    assert changed_stages(path, env) == {"source"}
