"""Scale 1 vs scale 10, DuckDB vs Spark: wall time and peak memory of every stage from generate
to cluster, on the wide cohort (`cohort.min_sessions: 0`), one table with the ratios.

    python bench/scale.py                                   # scales 1 and 10, DuckDB
    python bench/scale.py --engines duckdb,spark --runs 3   # both engines, medians of 3
    python bench/scale.py --scales 0.1,1 --workdir /tmp/scale-smoke

Each scale gets a folder under `--workdir` with this work tree's params.yaml (the scale and the
wide cohort set, `engine.name` per engine). Every stage is a fresh `python stages/<stage>.py`
with dvc.yaml's command and paths, as DVC runs it, from this work tree's `stages/` and `src/`
(DVC itself is left out: hashing tens of GB of outputs is not the stages' cost). generate
runs once per scale (not at all with `--keep-database` and a database there); the other stages
run `--runs` times per engine, engines alternating (on Spark: extract, clean, features and
cluster, which scores the users outside its fit sample there; select_k is Python whatever the
engine). Peak RSS is the stage process tree's
largest process (wait4) or its process tree's RSS summed (sampled; counts Spark's JVM), the
larger. `--cap-gb` caps each stage's address space, so a stage that outgrows it fails (shown
as failed) instead of the machine. Samples go to `<workdir>/scale.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
ONCE = ("generate",)  # always the same Python, whatever the engine
STAGES = ("extract", "clean", "features", "select_k", "cluster")
ON_SPARK = ("extract", "clean", "features", "cluster")  # what `engine.name: spark` runs there
GB = 1e9


@dataclass(frozen=True)
class Sample:
    scale: float
    engine: str
    stage: str
    seconds: float
    peak_rss_gb: float


def stage_commands(dvc_yaml: Path) -> dict[str, str]:
    """Each stage's command with dvc.yaml's `${paths.*}` filled in."""
    spec = yaml.safe_load(dvc_yaml.read_text())
    paths = spec["vars"][0]["paths"]

    def fill(cmd: str) -> str:
        return re.sub(r"\$\{paths\.(\w+)\}", lambda m: str(paths[m.group(1)]), cmd)

    return {name: fill(stage["cmd"]) for name, stage in spec["stages"].items()}


def write_params(folder: Path, tree: Path, scale: float, engine: str, min_sessions: int) -> None:
    """The tree's params.yaml with the scale, the cohort and the engine set."""
    params = yaml.safe_load((tree / "params.yaml").read_text())
    params["generate"]["scale"] = scale
    params["cohort"]["min_sessions"] = min_sessions
    params["engine"]["name"] = engine
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def run(
    folder: Path, stage: str, cmd: str, tree: Path = ROOT, cap_gb: float | None = None
) -> tuple[float, float]:
    """Wall seconds and peak RSS (GB) of one stage process of `tree`'s stages/ and src/, its
    log in `folder/logs/`; a failed stage's peak is NaN (its log's last lines are printed)."""
    args = cmd.split()
    assert args[0] == "python" and args[1].startswith("stages/"), cmd
    argv = [sys.executable, str(tree / args[1]), *args[2:]]
    for out in args[2:]:  # the stage's output folders, as DVC would make them
        if "/" in out and not out.startswith("-"):
            (folder / out).parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "TRAVELTIDE_LOG_LEVEL": "INFO"}
    log = folder / "logs" / f"{stage}.log"
    log.parent.mkdir(exist_ok=True)
    start = time.perf_counter()
    with log.open("a") as sink:
        sink.write(f"$ {cmd}\n")
        sink.flush()
        proc = subprocess.Popen(
            argv, cwd=folder, env=env, stdout=sink, stderr=sink, preexec_fn=_limit(cap_gb)
        )
        status, usage, tree = _wait(proc.pid)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        tail = "\n".join(log.read_text().splitlines()[-3:])
        print(f"  {stage} failed in {folder}:\n{tail}")
        return seconds, float("nan")
    return seconds, max(usage.ru_maxrss * 1024, tree) / GB


def _wait(pid: int) -> tuple[int, Any, int]:
    """Wait for the stage: its exit status, its rusage, and the largest sum of RSS its process
    tree reached (sampled every 0.2 s: counts a JVM the stage never reaps, as Spark's)."""
    import psutil

    tree = 0
    root = psutil.Process(pid)
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage, tree
        try:
            procs = [root, *root.children(recursive=True)]
            tree = max(tree, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)


def _limit(cap_gb: float | None):
    """A pre-exec hook capping the stage's address space (protects a shared machine)."""
    if cap_gb is None:
        return None
    size = int(cap_gb * GB)
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (size, size))


def measure_scale(args: argparse.Namespace, scale: float, commands: dict[str, str]) -> list[Sample]:
    folder = args.workdir / f"scale-{scale:g}"
    folder.mkdir(parents=True, exist_ok=True)
    samples: list[Sample] = []

    def one(engine: str, stage: str) -> None:
        write_params(folder, args.tree, scale, engine, args.min_sessions)
        seconds, peak = run(folder, stage, commands[stage], args.tree, args.cap_gb)
        samples.append(Sample(scale, engine, stage, seconds, peak))
        load = os.getloadavg()[0]
        print(
            f"  scale {scale:g} {engine:>6} {stage:>9}: {seconds:7.1f} s {peak:5.2f} GB "
            f"(load {load:.1f})"
        )

    for stage in ONCE:
        if stage == "generate" and args.keep_database and (folder / "data/raw").exists():
            continue
        one("duckdb", stage)
    for _ in range(args.runs):
        for engine in args.engines:
            for stage in args.stages:
                if engine == "duckdb" or stage in ON_SPARK:
                    one(engine, stage)
    return samples


def table(samples: list[Sample], scales: list[float], engines: list[str]) -> str:
    """Median seconds and peak GB per stage, scale and engine; ratios largest/smallest scale
    and, at each scale, the other engines / DuckDB."""

    def cell(scale: float, engine: str, stage: str) -> tuple[float, float] | None:
        hits = [s for s in samples if (s.scale, s.stage) == (scale, stage)]
        hits = [s for s in hits if s.engine == engine or (stage in ONCE and s.engine == "duckdb")]
        if not hits:
            return None
        peaks = [s.peak_rss_gb for s in hits]
        peak = float("nan") if any(p != p for p in peaks) else max(peaks)  # NaN: failed
        return statistics.median(s.seconds for s in hits), peak

    stages = list(dict.fromkeys(s.stage for s in samples))
    cols = [(scale, engine) for engine in engines for scale in scales]
    head = ["stage", *(f"{e} x{s:g}" for s, e in cols)]
    lo, hi = min(scales), max(scales)
    head += [f"{e} x{hi:g}/x{lo:g}" for e in engines] if len(scales) > 1 else []
    head += [f"{e}/duckdb x{s:g}" for e in engines if e != "duckdb" for s in scales]
    rows = [head, ["---"] * len(head)]
    totals: dict[tuple[float, str], float] = {}
    for stage in [*stages, "extract+clean+features", "features+select_k+cluster"]:
        parts = tuple(stage.split("+"))
        row = [stage]
        secs: dict[tuple[float, str], float] = {}
        for scale, engine in cols:
            found = [cell(scale, engine, p) for p in parts]
            if any(f is None for f in found):
                row.append("")
                continue
            secs[(scale, engine)] = sum(f[0] for f in found if f)
            peaks = [f[1] for f in found if f]
            peak = float("nan") if any(p != p for p in peaks) else max(peaks)
            shown = "failed" if peak != peak else f"{peak:.2f} GB"
            row.append(f"{secs[(scale, engine)]:.1f} s, {shown}")
        if len(scales) > 1:
            for e in engines:
                ok = (hi, e) in secs and (lo, e) in secs
                row.append(f"{secs[(hi, e)] / secs[(lo, e)]:.1f}x" if ok else "")
        for e in engines:
            if e == "duckdb":
                continue
            for s in scales:
                ok = (s, e) in secs and (s, "duckdb") in secs
                row.append(f"{secs[(s, e)] / secs[(s, 'duckdb')]:.1f}x" if ok else "")
        totals.update(secs)
        rows.append(row)
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="1,10", help="generator scales, comma-separated")
    parser.add_argument("--engines", default="duckdb", help="duckdb,spark")
    parser.add_argument("--stages", default=",".join(STAGES), help="stages after generate")
    parser.add_argument("--runs", type=int, default=1, help="runs of the stages after generate")
    parser.add_argument("--min-sessions", type=int, default=0, help="cohort.min_sessions")
    parser.add_argument("--cap-gb", type=float, help="address-space cap of each stage (GB)")
    parser.add_argument("--tree", type=Path, default=ROOT, help="whose stages/ and src/ run")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/traveltide-scale"))
    parser.add_argument(
        "--keep-database", action="store_true", help="reuse a generated database of the scale"
    )
    args = parser.parse_args()
    args.engines = args.engines.split(",")
    args.stages = [s for s in args.stages.split(",") if s]
    args.workdir = args.workdir.resolve()
    if args.workdir == ROOT or ROOT.is_relative_to(args.workdir):
        raise SystemExit(f"--workdir {args.workdir} would contain the workspace")
    scales = [float(s) for s in args.scales.split(",")]
    args.tree = args.tree.resolve()
    commands = stage_commands(args.tree / "dvc.yaml")
    samples: list[Sample] = []
    for scale in scales:
        samples += measure_scale(args, scale, commands)
    args.workdir.mkdir(parents=True, exist_ok=True)
    (args.workdir / "scale.json").write_text(json.dumps([asdict(s) for s in samples], indent=1))
    print(f"\nwide cohort (cohort.min_sessions {args.min_sessions}), medians of {args.runs}:")
    print(table(samples, scales, args.engines))


if __name__ == "__main__":
    main()
