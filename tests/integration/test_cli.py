"""`traveltide`: every command listed with one line of help, and exit codes scripts can trust."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_repo import clean_env
from support import mlflow_run
from traveltide import cli

COMMANDS = ("mlflow-init", "score", "register", "runs", "sweep-wait", "report", "db")


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
    [
        ("mlflow-init",),
        ("score",),
        ("register",),
        ("runs",),
        ("sweep-wait",),
        ("report",),
        ("db",),
        ("db", "load"),
    ],
)
def test_each_command_has_its_own_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main([*command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: traveltide {' '.join(command)} ")
    description = out.split("\n\n")[1]  # the line under `usage:`
    assert description[0].isupper() and description.rstrip().endswith("."), out
    # every option says what it is (argparse prints an option without help alone on its line,
    # the next line being the next option, where a long option's help goes on the next line)
    lines = out.split("options:\n", 1)[1].splitlines() + [""]
    bare = [
        line.split()[0]
        for line, after in zip(lines, lines[1:], strict=False)
        if re.fullmatch(r"  -[-\w]+(?: [A-Z_]+)?", line) and not after.startswith(" " * 6)
    ]
    assert bare == [], f"options without help: {bare}"


def test_register_finds_the_workspace_state_without_a_run_file(capsys):
    with pytest.raises(SystemExit):
        cli.main(["register", "--help"])
    out = capsys.readouterr().out
    assert "--run-file" not in out and "workspace's pipeline state" in out


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


@pytest.fixture(scope="module")
def logged(store):
    """One run (with the metric cluster.silhouette) in the store, a dvc.lock of another state,
    and a feature table to score: what the commands' bad-input cases need."""
    import pandas as pd

    from traveltide.mlops.store import resolve_target

    folder = store[0]
    target = resolve_target({"DVC_ROOT": str(folder)}, cwd=folder)
    tags = {"dvc_lock_md5": "1" * 32}
    mlflow_run(target, "cli-test", name="exp-a", metrics={"cluster.silhouette": 0.3}, tags=tags)
    (folder / "state.lock").write_text("schema: '2.0'\nstages:\n  extract:\n    cmd: x\n")
    pd.DataFrame({"user_id": [1], "bags": [1.0]}).to_parquet(folder / "users.parquet")
    return folder


@pytest.fixture
def in_store(logged, monkeypatch):
    folder = logged
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
        (
            ["register"],
            "error: register: dvc.lock: cannot read (No such file or directory); run `dvc repro`",
        ),
        (
            ["register", "--dvc-lock", "state.lock"],
            "error: register: no run of this workspace's pipeline state (dvc.lock digest ",
        ),
        (
            ["score", "--input", "users.parquet", "--model", "models:/traveltide-segmenter/1"],
            "error: score: models:/traveltide-segmenter/1: no model is registered as "
            "'traveltide-segmenter' in sqlite:///",
        ),
        (
            ["runs", "--metric", "cluster.silhoutte"],
            "error: runs: no run logged a metric "
            "cluster.silhoutte (did you mean cluster.silhouette?)",
        ),
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
    header, row = capsys.readouterr().out.splitlines()
    assert header == "run,started,cluster.silhouette" and row.endswith(",0.3")


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
