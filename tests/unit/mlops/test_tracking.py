"""One pipeline run in MLflow: the few metrics that compare configurations, a description of
what changed, artifacts in folders, no nested runs, a model-training experiment."""

import subprocess
from pathlib import Path

import pytest
import yaml

from traveltide.mlops.state import pipeline_digest
from traveltide.mlops.store import resolve_target
from traveltide.mlops.tracking import (
    KIND,
    KIND_TAG,
    MAX_METRICS,
    NOTE_TAG,
    Artifact,
    baseline_params,
    key_metrics,
    log_pipeline_run,
    run_description,
    run_tags,
)


@pytest.fixture(scope="module")
def stage_metrics() -> dict:
    """The DVC metrics files as the stages write them: the A/B stage's own run on the report
    tests' tables (hundreds of numbers), cluster and compare as their writers shape them."""
    from report_inputs import ab_figures

    ab = ab_figures()["figures"]
    return {
        "cluster": {
            "k": 7,
            "silhouette": 0.25,
            "calinski_harabasz": 1325.6,
            "davies_bouldin": 1.85,
            "stability": 0.99,
            "truth_ari": None,
            "noise_share": 0.0,
            "smallest_share": 0.087,
        },
        "compare": {
            "ari": 0.52,
            "ami": 0.65,
            "nmi": 0.65,
            "fowlkes_mallows": 0.61,
            "perk_agreement": 0.77,
        },  # fmt: skip
        "ab_test": {k: v for k, v in ab.items() if isinstance(v, int | float | None)},
    }


def test_a_run_logs_at_most_forty_metrics_grouped_by_what_they_compare(stage_metrics):
    assert len(stage_metrics["ab_test"]) > 300  # what a run used to log, and more
    metrics = key_metrics(stage_metrics)
    assert len(metrics) <= MAX_METRICS == 40
    groups = {name.split("/")[0] for name in metrics}
    assert groups == {"cluster", "compare", "ab_test", "policy"}
    assert "cluster/truth_ari" not in metrics  # null: not a number
    assert metrics["cluster/silhouette"] == 0.25 and metrics["compare/ari"] == 0.52
    ab = stage_metrics["ab_test"]
    for key in ("A_vs_C", "B_vs_C", "B_vs_A_triggered"):
        assert metrics[f"ab_test/{key}_decision_effect"] == ab[f"{key}_decision_effect"]
        assert f"ab_test/{key}_decision_p_adj" in metrics
    assert metrics["policy/clusters_net_value"] == ab["policy_clusters_net_value"]
    assert not any("fidelity" in n or "timing" in n or "data_quality" in n for n in metrics)


def test_logs_one_run_without_nested_runs_and_opens_as_training(tmp_path):
    target = resolve_target({"DVC_ROOT": str(tmp_path)}, cwd=tmp_path)
    report = tmp_path / "report.html"
    report.write_text("<html></html>")
    table = tmp_path / "k_selection.csv"
    table.write_text("k,silhouette\n2,0.3\n3,0.4\n")
    record = log_pipeline_run(
        target=target,
        experiment="t",
        params={"cluster.k": "5"},
        metrics={"compare/ari": 0.5},
        tags={"dvc_exp_name": "exp-1", "git_commit": "abc"},
        artifacts=[Artifact(report, "report"), Artifact(table, "tables")],
        description="**exp-1**: `cluster.k` 7 → 5",
        documents={"timings.json": {"cluster": {"wall_s": 3.0}}},
    )
    import mlflow

    mlflow.set_tracking_uri(target.tracking_uri)
    client = mlflow.MlflowClient()
    run = client.get_run(record.run_id)
    assert run.data.params["cluster.k"] == "5" and run.data.metrics == {"compare/ari": 0.5}
    assert run.data.tags["dvc_exp_name"] == "exp-1" and run.info.run_name == "exp-1"
    assert run.data.tags[NOTE_TAG] == "**exp-1**: `cluster.k` 7 → 5"
    assert client.get_experiment(record.experiment_id).tags[KIND_TAG] == KIND
    runs = client.search_runs([record.experiment_id])
    assert [r.info.run_id for r in runs] == [record.run_id]  # no nested candidate runs
    listed = {a.path for a in client.list_artifacts(record.run_id)}
    assert listed == {"report", "tables", "timings.json"}
    assert [a.path for a in client.list_artifacts(record.run_id, "tables")] == [
        "tables/k_selection.csv"
    ]
    artifacts = Path(run.info.artifact_uri.removeprefix("file://"))
    assert (artifacts / "report" / "report.html").exists()
    assert str(artifacts).startswith(str(tmp_path / "mlartifacts"))
    assert record.url == (
        f"http://127.0.0.1:5000/#/experiments/{record.experiment_id}/runs/{record.run_id}"
        "?workflowType=machine_learning"
    )


def test_too_many_metrics_are_refused(tmp_path):
    target = resolve_target({"DVC_ROOT": str(tmp_path)}, cwd=tmp_path)
    with pytest.raises(ValueError, match="at most 40"):
        log_pipeline_run(
            target=target,
            experiment="t",
            params={},
            metrics={f"m/{i}": float(i) for i in range(41)},
            tags={},
            artifacts=[],
        )


def test_the_description_names_the_params_that_changed():
    base = {"cluster": {"k": 7, "algorithm": "kmeans"}, "ab_test": {"seed": 42}}
    new = {"cluster": {"k": 5, "algorithm": "kmeans"}, "ab_test": {"seed": 42, "extra": 1}}
    text = run_description(new, base, name="malar-rues", baseline_rev="a1b2c3d4e5")
    assert text.startswith("**malar-rues**: DVC experiment. Params changed from its baseline")
    assert "a1b2c3d" in text and "- `cluster.k`: 7 → 5" in text
    assert "- `ab_test.extra`: (absent) → 1" in text and "algorithm" not in text
    same = run_description(base, base, name="workspace", baseline_rev="a1b2c3d4e5")
    assert same == (
        "**workspace**: the workspace with the params of its baseline commit a1b2c3d: "
        "nothing changed."
    )
    assert "could not be read" in run_description(new, None, name="x", baseline_rev="")


def test_baseline_params_come_from_the_baseline_commit(tmp_path):
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.email=a@b", "-c", "user.name=a", *args],
            cwd=tmp_path, check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip

    git("init", "-q")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"cluster": {"k": 7}}))
    git("add", "params.yaml")
    git("commit", "-q", "-m", "base")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"cluster": {"k": 5}}))  # `-S`
    assert baseline_params(tmp_path, git("rev-parse", "HEAD")) == {"cluster": {"k": 7}}
    assert baseline_params(tmp_path, "0" * 40) is None


def test_run_tags_name_the_experiment_its_baseline_and_the_lock(tmp_path):
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
    lock_md5 = pipeline_digest(tmp_path / "dvc.lock")  # every stage but track: none here
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
