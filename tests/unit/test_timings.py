"""Per-stage timing files: written by run_stage on success and failure, atomic, readable, untracked.

The stage runs as a real process (as DVC runs it), and its figures are checked against what the
parent measures independently: wall time with a clock, peak memory with wait4's rusage.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import yaml

from traveltide import timings
from traveltide.timings import StageTiming, read_timings, write_timing

ROOT = Path(__file__).resolve().parents[2]

STAGE_SCRIPT = textwrap.dedent(
    """
    import gc

    if __name__ == "__main__":  # as every stages/*.py begins
        gc.disable()

    import json
    import os
    import time

    time.sleep(0.3)  # stands for slow imports: counted as start-up, before run_stage

    import numpy as np

    from traveltide.errors import DataError
    from traveltide.stage import run_stage


    def main(params, paths):
        mode = os.environ["PROBE_MODE"]  # params.yaml holds only the pipeline's blocks
        if mode == "memory":
            block = np.ones(300 * 2**20 // 8)  # 300 MiB, touched
            paths.out.write_text(str(block.sum()))
        elif mode == "sleep":
            time.sleep(0.4)
            paths.out.write_text("slept")
        elif mode == "collector":
            state = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
            paths.out.write_text(json.dumps(state))
        elif mode == "data_error":
            raise DataError("probe.parquet: missing column 'user_id'")
        else:
            raise RuntimeError("a bug\\nsecond line")


    if __name__ == "__main__":
        run_stage("probe", main, ["out"])
        print("frozen objects:", gc.get_freeze_count())
    """
)


def run_probe(repo: Path, mode: str) -> tuple[subprocess.CompletedProcess, float, int]:
    """Run the probe stage in `repo`; returns the process, its wall seconds and wait4 peak RSS."""
    (repo / "params.yaml").write_text((ROOT / "params.yaml").read_text())  # run_stage checks it
    env = {k: v for k, v in os.environ.items() if k not in (timings.ENV_DIR, "DVC_EXP_NAME")}
    env["PROBE_MODE"] = mode
    env["PYTHONPATH"] = str(ROOT / "src")
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "probe.py", "--out", "out.txt"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # wait4 reaps the child itself; read its pipes afterwards (they are small)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    return done, wall, usage.ru_maxrss * 1024


@pytest.fixture
def repo(tmp_path) -> Path:
    """A folder shaped like a DVC repository, run from a subfolder to check the root lookup."""
    (tmp_path / ".dvc").mkdir()
    work = tmp_path / "stages"
    work.mkdir()
    (work / "probe.py").write_text(STAGE_SCRIPT)
    return work


def load(repo: Path) -> dict:
    return json.loads((repo.parent / "timings" / "probe.json").read_text())


def test_success_records_wall_startup_and_peak_memory(repo):
    proc, wall, rss = run_probe(repo, "memory")
    assert proc.returncode == 0, proc.stderr
    data = load(repo)
    assert data["status"] == "ok" and data["error"] is None
    # the 300 MiB array: measured by the stage and, independently, by the parent's wait4
    assert data["peak_rss_bytes"] >= 300 * 2**20
    assert abs(data["peak_rss_bytes"] - rss) <= 0.05 * rss
    # the 0.3 s sleep before run_stage is start-up; the whole fits inside the parent's clock
    assert data["startup_s"] >= 0.3
    assert data["wall_s"] == pytest.approx(data["startup_s"] + data["run_s"], abs=0.002)
    assert data["wall_s"] <= wall + 0.02
    assert 0 < data["cpu_s"] <= 2 * 2 * wall  # two cores at most, generous for rounding
    # one summary line on stderr
    assert "probe: ok," in proc.stderr


def test_process_exits_without_final_collections(repo):
    """run_stage freezes the heap: the interpreter's exit then skips collecting what the
    imports made (the gc.freeze in traveltide.stage; docs/decisions.md says why)."""
    proc, _, _ = run_probe(repo, "sleep")
    assert proc.returncode == 0, proc.stderr
    frozen = int(proc.stdout.split("frozen objects:")[1])
    assert frozen > 10_000  # numpy and the traveltide modules alone make more


def test_main_runs_collecting_with_the_imports_frozen(repo):
    """The script stopped the collector for its imports; run_stage froze what they made and
    turned collecting back on for the stage's own work."""
    proc, _, _ = run_probe(repo, "collector")
    assert proc.returncode == 0, proc.stderr
    state = json.loads((repo / "out.txt").read_text())
    assert state["enabled"] is True
    assert state["frozen"] > 10_000  # numpy and the traveltide modules alone make more


@pytest.mark.parametrize("script", sorted((ROOT / "stages").glob("*.py")), ids=lambda p: p.stem)
def test_stage_script_stops_the_collector_before_any_other_import(script):
    """What run_stage freezes is only what the imports made if nothing came before."""
    after_docstring = ast.parse(script.read_text()).body[1:3]
    assert [ast.unparse(node) for node in after_docstring] == [
        "import gc",
        "if __name__ == '__main__':\n    gc.disable()",
    ]


def test_run_time_covers_main(repo):
    proc, wall, _ = run_probe(repo, "sleep")
    assert proc.returncode == 0, proc.stderr
    data = load(repo)
    assert 0.4 <= data["run_s"] <= wall
    assert data["cpu_s"] < data["wall_s"]  # sleeping costs no CPU


def test_contract_error_still_writes_timing_marked_failed(repo):
    proc, _, _ = run_probe(repo, "data_error")
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert errors == ["error: probe: probe.parquet: missing column 'user_id'"]
    data = load(repo)
    assert data["status"] == "failed"
    assert data["error"] == "probe.parquet: missing column 'user_id'"


def test_bug_still_writes_timing_and_keeps_the_traceback(repo):
    proc, _, _ = run_probe(repo, "bug")
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr
    data = load(repo)
    assert data["status"] == "failed" and data["error"] == "RuntimeError: a bug"


def test_read_timings_round_trip_and_skips_bad_files(repo, tmp_path):
    run_probe(repo, "sleep")
    folder = repo.parent / "timings"
    (folder / "broken.json").write_text("{not json")
    (folder / "notes.txt").write_text("ignored")
    read = read_timings(folder)
    assert set(read) == {"probe"}
    probe = read["probe"]
    assert isinstance(probe, StageTiming)
    assert asdict(probe) == load(repo)
    assert read_timings(tmp_path / "nowhere") == {}


def timing(**changes) -> StageTiming:
    base = StageTiming(
        stage="cluster",
        status="ok",
        started_at="2024-01-01T00:00:00.000+00:00",
        wall_s=2.0,
        startup_s=0.5,
        run_s=1.5,
        cpu_s=3.0,
        peak_rss_bytes=10**9,
    )
    return replace(base, **changes)


def test_write_is_atomic_old_file_survives_a_failed_write(tmp_path, monkeypatch):
    target = write_timing(timing(wall_s=2.0), tmp_path)
    before = target.read_bytes()

    def broken(_obj):
        raise OSError("disk full")

    monkeypatch.setattr(timings, "to_json", broken)
    assert write_timing(timing(wall_s=9.0), tmp_path) is None  # logged, never raised
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["cluster.json"]  # no temporary left


def test_unknown_keys_of_a_newer_file_are_ignored(tmp_path):
    data = {**asdict(timing()), "gpu_s": 1.0}
    (tmp_path / "cluster.json").write_text(json.dumps(data))
    assert read_timings(tmp_path)["cluster"] == timing()


def test_env_folder_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(timings.ENV_DIR, str(tmp_path / "elsewhere"))
    assert timings.timings_dir() == tmp_path / "elsewhere"


def test_timings_are_gitignored_and_no_dvc_output():
    proc = subprocess.run(
        ["git", "check-ignore", "-q", "timings/cluster.json"], cwd=ROOT, capture_output=True
    )
    assert proc.returncode == 0, "timings/ must be in .gitignore"
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    paths = {k: str(v) for block in spec.get("vars", []) for k, v in block.get("paths", {}).items()}
    for name, stage in spec["stages"].items():
        for kind in ("deps", "outs", "metrics", "plots"):
            for item in stage.get(kind, []):
                path = next(iter(item)) if isinstance(item, dict) else str(item)
                path = re.sub(r"\$\{paths\.(\w+)\}", lambda m: paths[m.group(1)], path)
                assert not path.startswith(("timings", "./timings")), (name, kind, path)
