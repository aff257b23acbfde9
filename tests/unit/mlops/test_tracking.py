import hashlib
from pathlib import Path

import pytest

from traveltide.errors import DataError, TrackingError
from traveltide.mlops.tracking import (
    dvc_digest,
    dvc_out_hashes,
    flatten_metrics,
    log_pipeline_run,
    metric_tags,
    resolve_target,
    run_tags,
    store_uri,
    timing_metrics,
)
from traveltide.sources.source import redact_url
from traveltide.timings import StageTiming, write_timing


def test_store_resolves_to_dvc_root_even_from_a_temp_copy(tmp_path):
    copy = tmp_path / "repo" / ".dvc" / "tmp" / "exps" / "abc"
    target = resolve_target({"DVC_ROOT": str(tmp_path / "repo")}, cwd=copy)
    assert target.tracking_uri == f"sqlite:///{tmp_path / 'repo' / 'mlflow.db'}"
    assert target.artifact_location == (tmp_path / "repo" / "mlartifacts").as_uri()
    assert resolve_target({}, cwd=copy).tracking_uri.endswith("exps/abc/mlflow.db")


def test_env_uri_wins_and_passwords_are_masked(tmp_path):
    uri = "postgresql://u:s3cret@localhost:5432/mlflow"
    target = resolve_target({"MLFLOW_TRACKING_URI": uri}, cwd=tmp_path)
    # psycopg2 is the installed driver; SQLAlchemy 2.1 would pick psycopg 3 for postgresql://
    assert target.tracking_uri == "postgresql+psycopg2://u:s3cret@localhost:5432/mlflow"
    assert "s3cret" not in target.label and ":***@" in target.label
    assert redact_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.parametrize(
    ("uri", "locked", "artifacts_here"),
    [
        (None, True, True),  # the default SQLite file: one writer at a time
        ("sqlite:////elsewhere/mlflow.db", True, True),
        ("postgresql+psycopg2://u@db:5432/mlflow", False, True),  # the database serialises
        ("mysql+pymysql://u@db/mlflow", False, True),
        ("http://127.0.0.1:5000", False, False),  # the server stores artifacts
        ("https://mlflow.example.com", False, False),
    ],
)
def test_lock_only_local_stores_and_let_a_server_place_artifacts(
    tmp_path, uri, locked, artifacts_here
):
    env = {"DVC_ROOT": str(tmp_path)} | ({"MLFLOW_TRACKING_URI": uri} if uri else {})
    target = resolve_target(env, cwd=tmp_path / "elsewhere")
    assert target.lock_path == (tmp_path / ".mlflow.lock" if locked else None)
    expected = (tmp_path / "mlartifacts").as_uri() if artifacts_here else None
    assert target.artifact_location == expected
    assert store_uri(uri or "sqlite:///x.db") == (uri or "sqlite:///x.db")  # only postgresql://


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


def test_dvc_out_hashes_reads_every_stage_output(tmp_path):
    lock = tmp_path / "dvc.lock"
    lock.write_text(
        """schema: '2.0'
stages:
  extract:
    cmd: python stages/extract.py
    deps:
    - path: data/raw/traveltide
      md5: 11111111111111111111111111111111.dir
    outs:
    - path: data/interim/cohort.parquet
      hash: md5
      md5: 38789afc4b752e0ada9ba63e000150b1
      size: 10
  features:
    outs:
    - path: data/features/user_features.parquet
      md5: '33333333333333333333333333333333'  # DVC quotes all-digit hashes
"""
    )
    assert dvc_out_hashes(lock) == {
        "data/interim/cohort.parquet": "38789afc4b752e0ada9ba63e000150b1",
        "data/features/user_features.parquet": "33333333333333333333333333333333",
    }
    assert dvc_out_hashes(tmp_path / "missing.lock") == {}
    lock.write_text("stages: [unclosed")
    with pytest.raises(DataError, match="dvc.lock: not valid YAML"):
        dvc_out_hashes(lock)


def test_dvc_digest_is_the_md5_dvc_records_and_flags_a_stale_lock(tmp_path, caplog, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table = Path("data/features/user_features.parquet")
    table.parent.mkdir(parents=True)
    table.write_bytes(b"some parquet bytes")
    md5 = hashlib.md5(b"some parquet bytes").hexdigest()
    assert dvc_digest(table, {table.as_posix(): md5}) == md5
    assert dvc_digest(table, {}) == md5
    with caplog.at_level("WARNING"):
        assert dvc_digest(table, {table.as_posix(): "0" * 32}) == md5
    assert "dvc.lock records md5 " + "0" * 32 in caplog.text


def test_timing_metrics_of_successful_stages_flatten_to_numbers(tmp_path):
    def timing(stage, status, wall):
        return StageTiming(
            stage=stage,
            status=status,
            started_at="2024-01-01T00:00:00+00:00",
            wall_s=wall,
            startup_s=None,
            run_s=wall - 0.5,
            cpu_s=2 * wall,
            peak_rss_bytes=250_000_000,
        )

    write_timing(timing("cluster", "ok", 3.0), tmp_path)
    write_timing(timing("extract", "failed", 9.0), tmp_path)
    (tmp_path / "broken.json").write_text("{not json")
    flat = flatten_metrics({"timing": timing_metrics(tmp_path)})
    assert flat == {
        "timing.cluster.wall_s": 3.0,
        "timing.cluster.run_s": 2.5,
        "timing.cluster.cpu_s": 6.0,
        "timing.cluster.peak_rss_mb": 250.0,
    }
    assert timing_metrics(tmp_path / "none") == {}


def test_metric_tags_keep_the_text_that_flatten_metrics_drops():
    groups = {
        "ab_test": {
            "verdict_winner": "B",
            "verdict_reason": "B converts above C and above A",
            "B_vs_C_lift_abs": 0.04,
            "comparisons": ["A_vs_C", "B_vs_C"],
            "error": None,
            "note": "",
        },
        "cluster": {"algorithm": "gmm", "cluster_names": {"0": "high avg_bags"}, "k": 5},
        "segment_rules": {"thresholds": [{"feature": "avg_bags"}]},  # not text: left out
    }
    tags = metric_tags(groups)
    assert tags == {
        "ab_test.verdict_winner": "B",
        "ab_test.verdict_reason": "B converts above C and above A",
        "ab_test.comparisons": "A_vs_C, B_vs_C",
        "cluster.algorithm": "gmm",
        "cluster.cluster_names.0": "high avg_bags",
    }
    numbers = flatten_metrics(groups)
    assert set(tags).isdisjoint(numbers)  # a name is either a metric or a tag
    assert len(metric_tags({"r": "x" * 9000})["r"]) <= 8000  # MLflow's tag value limit


def test_run_tags_name_the_experiment_its_baseline_and_the_lock(tmp_path):
    import subprocess

    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\n")
    subprocess.run(
        ["git", "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty",
         "-m", "x"],
        cwd=tmp_path, check=True,
    )  # fmt: skip
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    lock_md5 = hashlib.md5(b"schema: '2.0'\n").hexdigest()
    queued = run_tags({"DVC_EXP_NAME": "sappy-ruin", "DVC_EXP_BASELINE_REV": "a" * 40}, tmp_path)
    assert queued == {
        "dvc_exp_name": "sappy-ruin",
        "dvc_baseline_rev": "a" * 40,
        "git_commit": head,
        "dvc_lock_md5": lock_md5,
    }
    plain = run_tags({}, tmp_path)  # dvc repro: the workspace, on top of HEAD
    assert plain["dvc_exp_name"] == "workspace" and plain["dvc_baseline_rev"] == head


def test_two_writers_creating_the_experiment_at_once_share_it(tmp_path):
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS

    from traveltide.mlops.tracking import _experiment_id

    class RacedClient:
        """The other writer creates the experiment between our lookup and our create."""

        def __init__(self):
            self.lookups = 0

        def get_experiment_by_name(self, name):
            self.lookups += 1
            return None if self.lookups == 1 else type("Exp", (), {"experiment_id": "7"})()

        def create_experiment(self, name, artifact_location=None):
            raise MlflowException(
                f"Experiment(name={name}) already exists.", RESOURCE_ALREADY_EXISTS
            )

    target = resolve_target({"DVC_ROOT": str(tmp_path)}, cwd=tmp_path)
    assert _experiment_id(RacedClient(), "t", target) == "7"


def test_unreachable_database_store_fails_fast_in_one_line(tmp_path):
    import time

    target = resolve_target(
        {"MLFLOW_TRACKING_URI": "postgresql://u:pw1@127.0.0.1:1/mlflow", "DVC_ROOT": str(tmp_path)},
        cwd=tmp_path,
    )
    start = time.monotonic()
    with pytest.raises(TrackingError) as failed:
        log_pipeline_run(
            target=target, experiment="t", params={}, metrics={}, tags={}, artifacts=[],
            candidates=[],
        )  # fmt: skip
    assert time.monotonic() - start < 10  # MLflow alone retries for about two minutes
    message = str(failed.value)
    assert message.startswith("MLflow store postgresql+psycopg2://u:***@127.0.0.1:1/mlflow ")
    assert "\n" not in message and "pw1" not in message
    assert not (tmp_path / ".mlflow.lock").exists()  # a database store takes no file lock


def test_runs_table_has_one_row_per_experiment_and_the_params_that_differ(tmp_path):
    import math

    from traveltide.mlops.tracking import runs_table

    target = resolve_target({"DVC_ROOT": str(tmp_path)}, cwd=tmp_path)
    grid = [("exp-a", "3", "standard", 0.31), ("exp-b", "4", "standard", 0.42)]
    grid += [("exp-c", "4", "robust", 0.27)]
    for name, k, scaler, silhouette in grid:
        log_pipeline_run(
            target=target,
            experiment="t",
            params={"cluster.k": k, "cluster.scaler": scaler, "generate.seed": "42"},
            metrics={"cluster.silhouette": silhouette, "cluster.k": float(k)},
            tags={"dvc_exp_name": name, "ab_test.verdict_winner": f"win-{name}"},
            artifacts=[],
            candidates=[{"k": 2, "silhouette": 0.1}, {"k": 3, "silhouette": 0.2}],  # nested
        )
    table = runs_table(target, "t", metrics=("cluster.silhouette", "cluster.k", "compare.ari"))
    assert table["run"].tolist() == ["exp-c", "exp-b", "exp-a"]  # newest first, no candidates
    assert list(table.columns) == [
        "run",
        "started",
        "cluster.k",  # the param; generate.seed is the same everywhere, so not shown
        "cluster.scaler",
        "cluster.silhouette",
        "metric:cluster.k",  # the metric of the same name
        "compare.ari",
        "verdict",
    ]
    assert table["cluster.silhouette"].tolist() == [0.27, 0.42, 0.31]
    assert table["verdict"].tolist() == ["win-exp-c", "win-exp-b", "win-exp-a"]
    assert all(math.isnan(x) for x in table["compare.ari"])  # not logged: NaN, not an error

    best = runs_table(target, "t", names=["exp-a", "exp-b"], sort="cluster.silhouette")
    assert best["run"].tolist() == ["exp-b", "exp-a"]
    assert "cluster.scaler" not in best.columns  # both standard
    with pytest.raises(TrackingError, match="no run named exp-z in experiment 't'"):
        runs_table(target, "t", names=["exp-a", "exp-z"])
    with pytest.raises(TrackingError, match="no experiment 'other'"):
        runs_table(target, "other")
