"""What the report stage costs: its command from DIR's dvc.lock, run `--runs` times with every
output sent to a temporary folder (DIR's own outputs untouched), and the medians printed: wall
seconds, CPU seconds of the process, and the stage's own split into start-up and work (its
timing file). DIR is a built repository, e.g. a scratch clone after `dvc repro`.

    python bench/report_stage.py --repo /tmp/clone [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

OUTPUTS = ("--plots", "--plot-data", "--report", "--exports")


def report_command(repo: Path, out: Path) -> list[str]:
    """The report stage's command as dvc.lock ran it, its outputs moved under `out`."""
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    words = shlex.split(lock["stages"]["report"]["cmd"])
    for i, word in enumerate(words[:-1]):
        if word in OUTPUTS:
            words[i + 1] = str(out / Path(words[i + 1]).name)
    return [sys.executable if words[0] == "python" else words[0], *words[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    walls, cpus, startups = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        timings = Path(tmp) / "timings"
        env = {**os.environ, "TRAVELTIDE_TIMINGS_DIR": str(timings)}
        for run in range(args.runs):
            out = Path(tmp) / f"run{run}"
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(report_command(args.repo, out), cwd=args.repo, env=env, check=True)
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            timing = timings / "report.json"
            if timing.exists():
                startups.append(json.loads(timing.read_text()).get("startup_s") or 0.0)
    print(f"report stage, {args.runs} runs in {args.repo}")
    print(f"  wall     median {statistics.median(walls):6.2f} s  (min {min(walls):.2f})")
    print(f"  CPU      median {statistics.median(cpus):6.2f} s")
    if startups:
        print(f"  start-up median {statistics.median(startups):6.2f} s (imports, from its timing)")


if __name__ == "__main__":
    main()
