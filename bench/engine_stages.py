"""The clean and features stages' wall time and peak memory, medians of `--runs` runs, for a
cohort file and each source tree given (e.g. the committed code and the work tree).

    python bench/engine_stages.py --cohort data/interim/cohort.parquet --src .=src --runs 3
    python bench/engine_stages.py --cohort wide.parquet --src before=/tmp/old/src --src after=src

Every run is a fresh `python stages/<stage>.py` (as DVC runs it) in a scratch folder with this
repository's params.yaml, `engine.name` set by `--engine`; the stage scripts come from beside
each source tree. Runs of the trees alternate, so a busy machine slows each alike.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGES = {
    "clean": ("--cohort {cohort} --sessions {dir}/s.parquet --metrics {dir}/q.json"),
    "features": (
        "--sessions {dir}/s.parquet --features {dir}/f.parquet --catalog {dir}/c.csv "
        "--metrics {dir}/m.json"
    ),
}


def run_stage(src: Path, stage: str, cohort: Path, folder: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS in GB of the stage process (os.wait4: this child alone)."""
    args = STAGES[stage].format(cohort=cohort, dir=folder).split()
    env = {**os.environ, "PYTHONPATH": str(src), "TRAVELTIDE_LOG_LEVEL": "WARNING"}
    log = folder / f"{stage}.log"
    start = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(src.parent / "stages" / f"{stage}.py"), *args],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=out,
        )
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{stage} failed ({src}):\n{log.read_text()}")
    return wall, usage.ru_maxrss / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cohort", type=Path, required=True, help="extract's cohort (Parquet)")
    parser.add_argument("--src", action="append", required=True, help="NAME=path/to/src")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
    args = parser.parse_args()
    trees = dict(item.split("=", 1) for item in args.src)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    if "engine" in params:
        params["engine"]["name"] = args.engine
    walls: dict[tuple[str, str], list[float]] = {}
    peaks: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.runs):
        for name, src in trees.items():
            with tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp:
                folder = Path(tmp)
                (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
                for stage in STAGES:
                    wall, peak = run_stage(
                        Path(src).resolve(), stage, args.cohort.resolve(), folder
                    )
                    walls.setdefault((name, stage), []).append(wall)
                    peaks.setdefault((name, stage), []).append(peak)
                shutil.rmtree(folder, ignore_errors=True)
    print(f"cohort {args.cohort} ({args.engine}), medians of {args.runs} runs:")
    for name in trees:
        each = {stage: statistics.median(walls[(name, stage)]) for stage in STAGES}
        parts = ", ".join(
            f"{stage} {s:.2f} s ({statistics.median(peaks[(name, stage)]):.2f} GB)"
            for stage, s in each.items()
        )
        print(f"  {name:>10}: {parts}; clean+features {sum(each.values()):.2f} s")


if __name__ == "__main__":
    main()
