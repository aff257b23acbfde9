"""bench/imports.py: reading `python -X importtime` output, and its --repo mode's bad input."""

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def imports():
    spec = importlib.util.spec_from_file_location("bench_imports", ROOT / "bench" / "imports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def importtime():
    """Real `-X importtime` output of a fresh interpreter, and the process's wall seconds."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import email.parser, json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stderr, time.perf_counter() - start


def cumulative(stderr: str, module: str) -> float:
    """The cumulative seconds of one module's line."""
    for line in stderr.splitlines():
        fields = line.split("|")
        if len(fields) == 3 and fields[2].strip() == module:
            return int(fields[1]) / 1e6
    raise AssertionError(f"{module} not in the output")


def test_import_seconds_covers_every_import_and_no_more(imports, importtime):
    stderr, wall = importtime
    total = imports.import_seconds(stderr)
    # self times summed over all modules: at least each top-level import's cumulative time,
    # at least both together (neither contains the other), and less than the whole process
    assert total >= cumulative(stderr, "email.parser") + cumulative(stderr, "json") - 1e-6
    assert total < wall


def test_heaviest_sums_self_times_per_package(imports, importtime):
    stderr, _ = importtime
    ranked = dict(imports.heaviest(stderr, 10_000))
    assert "email" in ranked and "json" in ranked
    assert sum(ranked.values()) == pytest.approx(imports.import_seconds(stderr), abs=1e-6)
    assert list(ranked.values()) == sorted(ranked.values(), reverse=True)


def test_repo_without_lock_is_one_line_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "imports.py"), "--repo", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert (
        proc.stderr.strip()
        == f"error: {tmp_path / 'dvc.lock'}: not found (run `dvc repro` in {tmp_path} first)"
    )


def test_unknown_stage_is_one_line_error(tmp_path):
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\nstages:\n  cluster:\n    cmd: python x.py\n")
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "imports.py"),
            "--repo",
            str(tmp_path),
            "--stages",
            "cluster,clusterr,trak",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert proc.stderr.strip() == f"error: {tmp_path / 'dvc.lock'}: no stage 'clusterr', 'trak'"
