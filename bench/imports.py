"""Start-up cost of each stage: what importing its modules costs before any work is done.

DVC starts a fresh Python for every stage, so a stage pays its imports on every run, even when it
has little to do. For each `stages/*.py` this runs the script's top-level imports alone,
`--runs` times in fresh processes, and prints the median wall and CPU seconds above a bare
interpreter plus the heaviest packages (`python -X importtime`: self times summed per package).

Some imports happen later, inside the stage's work (compare imports scikit-learn when it runs,
track's unpickling of the segmenter does, MLflow imports its SQL store on first use). `--repo DIR`
measures those too: it runs the given stages' commands (from DIR's dvc.lock) again in DIR, a
built repository, under `-X importtime`, and prints every second spent importing against the
stage's own wall time (its timing file). The stages rewrite their outputs with the same bytes,
and track logs one more MLflow run there, so use a scratch clone. `-X importtime` adds its own
bookkeeping, so the import share it gives is a little high.

    python bench/imports.py [--runs 5] [--top 4]
    python bench/imports.py --repo /tmp/clone [--runs 3] [--stages cluster,track]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_code(script: Path) -> str:
    """The script's top-level statements up to its last import, as one program: the imports,
    and before them the garbage collector switched off as when DVC runs the script (`-c` runs
    as `__main__`; see traveltide.stage)."""
    source = script.read_text()
    body = ast.parse(source).body
    last = max(i for i, node in enumerate(body) if isinstance(node, ast.Import | ast.ImportFrom))
    return "\n".join(ast.get_source_segment(source, node) for node in body[: last + 1])


def run(args: list[str], *, importtime: bool = False, cwd: Path = ROOT) -> tuple[float, float, str]:
    """Wall and CPU (user + system) seconds of a fresh interpreter given `args` (`-c CODE`, or a
    script and its options) in `cwd`, and its stderr. CPU time is the steadier figure on a
    shared machine: waiting for a core is not counted."""
    env = {**os.environ, "PYTHONPATH": str(cwd / "src")}
    flags = ["-X", "importtime"] if importtime else []
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *flags, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed:\n{' '.join(args)}\n{stderr[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, stderr


def heaviest(stderr: str, top: int) -> list[tuple[str, float]]:
    """Packages by import seconds: the self time of every module, summed per top-level name
    (so scipy.stats counts for scipy, wherever it was first imported)."""
    found: dict[str, float] = {}
    for match in LINE.finditer(stderr):
        root = match.group(4).split(".")[0]
        found[root] = found.get(root, 0.0) + int(match.group(1)) / 1e6
    return sorted(found.items(), key=lambda kv: -kv[1])[:top]


def import_seconds(stderr: str) -> float:
    """Every second spent importing (the self times of all modules, ours included)."""
    return sum(int(match.group(1)) for match in LINE.finditer(stderr)) / 1e6


def whole_stages(repo: Path, stages: list[str], runs: int, top: int) -> None:
    """Import seconds over each stage's whole run against its wall seconds, medians of `runs`."""
    commands = _read_lock(repo)
    unknown = [stage for stage in stages if stage not in commands]
    if unknown:
        raise SystemExit(f"error: {repo / 'dvc.lock'}: no stage {', '.join(map(repr, unknown))}")
    print(
        f"whole stage runs in {repo} under -X importtime, medians of {runs}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print("| stage | wall s | imports s | share | heaviest packages (s) |")
    print("|---|---|---|---|---|")
    total_wall = total_imports = 0.0
    for stage in stages:
        argv = shlex.split(commands[stage])[1:]  # the command without its leading `python`
        samples = []
        for _ in range(runs):
            stderr = run(argv, importtime=True, cwd=repo)[2]
            timing = json.loads((repo / "timings" / f"{stage}.json").read_text())
            samples.append((timing["wall_s"], import_seconds(stderr)))
        wall = statistics.median(s[0] for s in samples)
        imports = statistics.median(s[1] for s in samples)
        total_wall, total_imports = total_wall + wall, total_imports + imports
        heavy = heaviest(stderr, top + 1)  # of the last run
        shown = ", ".join(f"{n} {s:.2f}" for n, s in heavy if n != "traveltide")
        print(
            f"| {stage} | {wall:.2f} | {imports:.2f} | {imports / wall:.0%} | {shown} |", flush=True
        )
    print(f"| all | {total_wall:.2f} | {total_imports:.2f} | {total_imports / total_wall:.0%} | |")


def _read_lock(repo: Path) -> dict[str, str]:
    """Each stage's resolved command, from the repository's dvc.lock."""
    path = repo / "dvc.lock"
    if not path.is_file():
        raise SystemExit(f"error: {path}: not found (run `dvc repro` in {repo} first)")
    return {
        name: stage["cmd"] for name, stage in yaml.safe_load(path.read_text())["stages"].items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=4)
    parser.add_argument("--repo", type=Path, help="a built repository: time whole stage runs")
    parser.add_argument(
        "--stages",
        default="cluster,compare,ab_test,report,track",
        help="with --repo: stages to run (default: an experiment's path)",
    )
    args = parser.parse_args()
    if args.repo is not None:
        whole_stages(args.repo.resolve(), args.stages.split(","), args.runs, args.top)
        return
    bare = [run(["-c", "pass"])[:2] for _ in range(args.runs)]
    bare_wall = statistics.median(b[0] for b in bare)
    bare_cpu = statistics.median(b[1] for b in bare)
    print(
        f"bare interpreter: {bare_wall:.3f} s wall, {bare_cpu:.3f} s CPU "
        f"(median of {args.runs}); load average {os.getloadavg()[0]:.2f}"
    )
    print("| stage | imports: wall s | CPU s | heaviest packages (s, -X importtime) |")
    print("|---|---|---|---|")
    for script in sorted((ROOT / "stages").glob("*.py")):
        code = import_code(script)
        runs = [run(["-c", code])[:2] for _ in range(args.runs)]
        wall = statistics.median(r[0] for r in runs) - bare_wall
        cpu = statistics.median(r[1] for r in runs) - bare_cpu
        heavy = heaviest(run(["-c", code], importtime=True)[2], args.top + 1)
        shown = ", ".join(f"{n} {s:.2f}" for n, s in heavy if n != "traveltide")
        print(f"| {script.stem} | {wall:.2f} | {cpu:.2f} | {shown} |", flush=True)


if __name__ == "__main__":
    main()
