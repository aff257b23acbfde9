"""The stage runner checks every params block before a stage's own work: a bad value anywhere
stops whichever stage DVC runs first, before it writes (there is no always-run stage)."""

from __future__ import annotations

import errno
import sys
from pathlib import Path

import pytest
import yaml

from traveltide import stage, timings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(timings.ENV_DIR, str(tmp_path / "timings"))
    monkeypatch.setattr(sys, "argv", ["probe.py", "--out", "out.txt"])
    return tmp_path


def write_params(folder: Path, change) -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    change(params)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["cluster"].update(k=1), "params.yaml: cluster.k must be >= 2, got 1"),
        (lambda p: p["cluster"].update(kk=5), "params.yaml: unknown key cluster.kk (did you mean"),
        (lambda p: p.pop("track"), "params.yaml: missing or malformed block 'track'"),
        (
            lambda p: p["source"].update(url="postgresql://u:pw@h/db"),
            "params.yaml: source.url holds a password",
        ),
    ],
    ids=["value", "unknown_key", "missing_block", "password"],
)
def test_a_bad_param_of_any_block_stops_any_stage_before_main(workspace, capsys, change, message):
    write_params(workspace, change)
    called = []
    with pytest.raises(SystemExit) as done:
        stage.run_stage("features", lambda params, paths: called.append(paths), ["out"])
    assert done.value.code == 1 and called == []
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and errors[0].startswith(f"error: features: {message}"), errors


def test_valid_params_reach_main(workspace):
    write_params(workspace, lambda p: None)
    seen = []
    stage.run_stage("features", lambda params, paths: seen.append((params, paths.out)), ["out"])
    assert seen[0][0]["cluster"]["k"] and seen[0][1] == Path("out.txt")


@pytest.mark.parametrize(
    "exc",
    [
        OSError(errno.ENOSPC, "No space left on device", "data/ab/.users.parquet.x.tmp"),
        # pyarrow's write errors carry the reason in the text only
        OSError("Error writing bytes to file. Detail: [errno 28] No space left on device"),
    ],
    ids=["errno", "pyarrow"],
)
def test_a_full_disk_is_one_line(workspace, capsys, exc):
    write_params(workspace, lambda p: None)

    def main(params, paths):
        raise exc

    with pytest.raises(SystemExit) as done:
        stage.run_stage("ab_test", main, ["out"])
    assert done.value.code == 1
    (line,) = capsys.readouterr().err.strip().splitlines()[:1]
    assert line.startswith("error: ab_test: no space left to write its outputs (")
    assert "No space left on device" in line and line.endswith("; free some, then `dvc repro`")


def test_another_os_error_keeps_its_traceback(workspace):
    write_params(workspace, lambda p: None)

    def main(params, paths):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "x")

    with pytest.raises(FileNotFoundError):
        stage.run_stage("ab_test", main, ["out"])
