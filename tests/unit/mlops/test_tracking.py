"""One pipeline run in MLflow: metrics and their text as tags, run tags, nested candidates."""

import hashlib
from pathlib import Path

from traveltide.mlops.store import resolve_target
from traveltide.mlops.tracking import flatten_metrics, log_pipeline_run, metric_tags, run_tags


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


def test_a_model_pickle_naming_traveltide_tracking_still_loads():
    """MLflow models logged before the sub-packages pickle `traveltide.tracking.SegmenterModel`;
    the alias module keeps `load_logged_segmenter`'s class check true for them."""
    import pickle

    from traveltide.mlops.model import SegmenterModel

    new = pickle.dumps(SegmenterModel(), protocol=0)
    now = b"ctraveltide.mlops.model\nSegmenterModel\n"
    assert now in new
    loaded = pickle.loads(new.replace(now, b"ctraveltide.tracking\nSegmenterModel\n"))
    assert isinstance(loaded, SegmenterModel)
