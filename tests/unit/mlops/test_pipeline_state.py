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
    stage_metrics,
    timing_metrics,
)
from traveltide.mlops.tracking import flatten_metrics
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


def test_timing_metrics_of_successful_stages_flatten_to_numbers(tmp_path):
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


def test_stage_metrics_hold_every_metrics_file_and_the_timings_but_tracks_own(tmp_path):
    metrics, timings = tmp_path / "metrics", tmp_path / "timings"
    metrics.mkdir()
    (metrics / "cluster.json").write_text('{"k": 3, "algorithm": "kmeans"}')
    (metrics / "ab_test.json").write_text('{"verdict_winner": "B"}')
    (metrics / "notes.txt").write_text("not a metrics file")
    write_timing(timing("cluster", "ok", 3.0), timings)
    write_timing(timing("track", "ok", 20.0), timings)  # track's previous run
    got = stage_metrics(metrics, timings)
    assert list(got) == ["ab_test", "cluster", "timing"]
    assert got["cluster"] == {"k": 3, "algorithm": "kmeans"}
    assert set(got["timing"]) == {"cluster"}
    assert stage_metrics(metrics, tmp_path / "none")["timing"] == {}


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
    for folder in (outputs.plots, outputs.exports / "nested"):
        folder.mkdir(parents=True)
    for name in ("b.png", "a.png", "a.csv"):
        (outputs.plots / name).write_bytes(b"")
    for name in ("segments.csv", "brief.json"):
        (outputs.exports / name).write_text("x")
    assert outputs.artifacts() == [
        outputs.report,
        outputs.plots / "a.png",
        outputs.plots / "b.png",
        outputs.k_selection,
        outputs.profiles,
        outputs.clusters,
        outputs.rules,
        outputs.contingency,
        outputs.ab_arms,
        outputs.exports / "brief.json",
        outputs.exports / "segments.csv",
    ]
