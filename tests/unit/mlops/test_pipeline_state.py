"""The track stage's work: what the workspace holds, gathered for one MLflow run (the run
itself, with its model: tests/integration/test_serving.py)."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from support import blob_users
from traveltide.errors import DataError
from traveltide.mlops.pipeline_state import (
    EXAMPLE_USERS,
    PipelineOutputs,
    input_example,
    metric_files,
    stage_timings,
    timing_metrics,
    verdict_tags,
)
from traveltide.timings import StageTiming, write_timing


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


def test_timings_of_successful_stages_but_tracks_own_go_to_one_document(tmp_path):
    write_timing(timing("cluster", "ok", 3.0), tmp_path)
    write_timing(timing("extract", "failed", 9.0), tmp_path)
    write_timing(timing("track", "ok", 20.0), tmp_path)  # track's previous run
    (tmp_path / "broken.json").write_text("{not json")
    assert timing_metrics(tmp_path)["cluster"] == {
        "wall_s": 3.0,
        "run_s": 2.5,
        "cpu_s": 6.0,
        "peak_rss_mb": 250.0,
    }
    assert set(stage_timings(tmp_path)) == {"cluster"}
    assert timing_metrics(tmp_path / "none") == {}


def test_metric_files_and_the_verdict_tag(tmp_path):
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "cluster.json").write_text('{"k": 3, "silhouette": 0.4}')
    (metrics / "notes.txt").write_text("not a metrics file")
    assert metric_files(metrics) == {"cluster": {"k": 3, "silhouette": 0.4}}
    summary = tmp_path / "summary.json"
    summary.write_text('{"verdict": {"winner": "B", "reason": "B beat C"}}')
    assert verdict_tags(summary) == {"ab_test.verdict_winner": "B"}
    assert verdict_tags(tmp_path / "missing.json") == {}


def test_input_example_is_the_first_users_with_their_id_first():
    users = blob_users(10)[0]
    example = input_example(users, ["discount", "bags"], source="features.parquet")
    assert example.columns.tolist() == ["user_id", "discount", "bags"]
    assert example["user_id"].tolist() == users["user_id"].head(EXAMPLE_USERS).tolist()
    assert (example.dtypes.iloc[1:] == "float64").all()
    broken = users.assign(bags=users["bags"].where(users.index != 1))
    with pytest.raises(DataError, match=r"features\.parquet: column bags has 1 missing"):
        input_example(broken, ["bags"], source="features.parquet")


def test_pipeline_outputs_come_from_stage_options_and_list_the_artifacts(tmp_path):
    options = {name: str(tmp_path / name) for name in PipelineOutputs.names()}
    outputs = PipelineOutputs.from_paths(SimpleNamespace(**options, run="data/run.json"))
    assert outputs.model == tmp_path / "model" and isinstance(outputs.report, Path)
    for folder in (outputs.plots, outputs.exports / "nested", outputs.summary_dir):
        folder.mkdir(parents=True)
    for name in ("b.png", "a.png", "a.csv"):
        (outputs.plots / name).write_bytes(b"")
    for name in ("segments.csv", "brief.json"):
        (outputs.exports / name).write_text("x")
    (outputs.summary_dir / "generator_fidelity.json").write_text("{}")
    by_folder = {(a.folder, a.path) for a in outputs.artifacts()}
    assert by_folder == {
        ("report", outputs.report),
        ("report/plots", outputs.plots / "a.png"),
        ("report/plots", outputs.plots / "b.png"),
        ("tables", outputs.k_selection),
        ("tables", outputs.benchmark),
        ("tables", outputs.profiles),
        ("tables", outputs.contingency),
        ("tables", outputs.clusters),
        ("tables", outputs.rules),
        ("ab", outputs.ab_arms),
        ("ab", outputs.policy_values),
        ("ab", outputs.ab_summary),
        ("exports", outputs.exports / "brief.json"),
        ("exports", outputs.exports / "segments.csv"),
        ("summary", outputs.summary_dir / "generator_fidelity.json"),
    }


def test_the_committed_lock_holds_the_run_file_a_fresh_run_writes(tmp_path):
    """A fresh clone's `dvc repro` leaves git clean only if dvc.lock's entry for track's run
    file is the md5 of the file track writes for that very lock (re-run track after a change
    that re-ran nothing downstream: `dvc repro -f -s track`)."""
    import hashlib

    import yaml

    from traveltide.io import write_json
    from traveltide.mlops.state import RunFile, pipeline_digest

    root = Path(__file__).resolve().parents[3]
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    (entry,) = lock["stages"]["track"]["outs"]
    experiment = yaml.safe_load((root / "params.yaml").read_text())["track"]["experiment"]
    written = tmp_path / "run.json"
    write_json(RunFile(experiment, pipeline_digest(root / "dvc.lock")).__dict__, written)
    assert entry["md5"] == hashlib.md5(written.read_bytes()).hexdigest()
