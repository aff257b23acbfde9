"""`traveltide`: every command listed with one line of help, and exit codes scripts can trust."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_repo import clean_env
from traveltide import cli

COMMANDS = ("mlflow-init", "score", "register", "runs", "report", "db")


def traveltide(*args: str, cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "traveltide.cli", *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_help_lists_every_command_with_one_line_and_the_exit_codes(tmp_path):
    done = traveltide("--help", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    listed = dict(re.findall(r"^    ([a-z-]+)\s*\n?\s+(\S.*)$", done.stdout, flags=re.M))
    assert set(listed) == set(COMMANDS), done.stdout
    parser_commands = cli.build_parser()._subparsers._group_actions[0].choices  # noqa: SLF001
    assert set(parser_commands) == set(COMMANDS)  # nothing added without help, nothing stale
    assert "exit codes: 0 success; 1 bad input" in done.stdout and "130 interrupted" in done.stdout


@pytest.mark.parametrize(
    "command",
    [("mlflow-init",), ("score",), ("register",), ("runs",), ("report",), ("db",), ("db", "load")],
)
def test_each_command_has_its_own_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main([*command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: traveltide {' '.join(command)} ")
    description = out.split("\n\n")[1]  # the line under `usage:`
    assert description[0].isupper() and description.rstrip().endswith("."), out


@pytest.mark.parametrize(
    "argv",
    [
        [],  # no command
        ["bogus"],
        ["score"],  # --input is required
        ["register", "--run-id", "x", "--exp", "y"],  # mutually exclusive
        ["db"],  # no db command
        ["runs", "--sort"],  # missing value
    ],
)
def test_wrong_usage_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == 2
    assert capsys.readouterr().err.startswith("usage: traveltide")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A folder with params.yaml and an MLflow store initialised by a real `traveltide
    mlflow-init` (made once: a new SQLite store takes seconds to migrate)."""
    folder = tmp_path_factory.mktemp("cli")
    (folder / "params.yaml").write_text("track:\n  experiment: cli-test\n")
    return folder, traveltide(
        "mlflow-init", cwd=folder, env={**clean_env(), "DVC_ROOT": str(folder)}
    )


@pytest.fixture
def in_store(store, monkeypatch):
    folder = store[0]
    monkeypatch.chdir(folder)
    monkeypatch.setenv("DVC_ROOT", str(folder))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return folder


def test_success_is_0_and_bad_input_is_1_with_one_line(store):
    """Through a real process, as a script sees it: the exit status and stderr."""
    folder, ok = store
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("MLflow store ready: experiment 'cli-test' (id 1) in sqlite:///")
    failed = traveltide("score", "--input", "missing.parquet", cwd=folder)
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr == "error: score: missing.parquet: no such file\n"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["runs", "--exp", "nope"], "error: runs: no run named nope in experiment 'cli-test'"),
        (["mlflow-init", "--params", "none.yaml"], "error: mlflow-init: none.yaml: cannot read"),
        (["register"], "error: register: data/track/mlflow_run.json: missing input"),
        (["register", "--exp", "nope"], "error: register: no run named 'nope' in experiment"),
        (["score", "--input", "params.yaml"], "error: score: params.yaml: unsupported format"),
        (["report", "--output", "out"], "error: report: dvc.yaml: cannot read vars.paths"),
    ],
)
def test_bad_input_is_1_with_one_line(argv, expected, in_store, capsys):
    assert cli.main(argv) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), captured.err
    assert captured.out == ""


def test_runs_lists_the_store_as_csv(in_store, capsys):
    assert cli.main(["runs", "--csv", "--metric", "cluster.silhouette"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "run,started,cluster.silhouette"


def test_interrupted_is_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_runs", interrupted)
    assert cli.main(["runs"]) == 130
    assert capsys.readouterr().err.strip() == "error: runs: interrupted"


def test_report_without_pipeline_outputs_names_them(tmp_path, monkeypatch, capsys):
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "dvc.yaml").write_text((root / "dvc.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    assert cli.main(["report", "--output", "out"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: report: missing pipeline output(s) data/")
    assert "run `dvc repro` first" in err[0] and not (tmp_path / "out").exists()
