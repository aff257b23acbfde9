"""Start-up cost of each stage: what importing its modules costs before any work is done.

DVC starts a fresh Python for every stage, so a stage pays its imports on every run, even when it
has little to do. For each `stages/*.py` this runs the script's top-level imports alone,
`--runs` times in fresh processes, and prints the median wall and CPU seconds above a bare
interpreter plus the heaviest packages (`python -X importtime`: self times summed per package).

    python bench/imports.py [--runs 5] [--top 4]
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

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


def run(code: str, *, importtime: bool = False) -> tuple[float, float, str]:
    """Wall and CPU (user + system) seconds of a fresh interpreter running `code`, and its
    stderr. CPU time is the steadier figure on a shared machine: waiting for a core is not
    counted."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    flags = ["-X", "importtime"] if importtime else []
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *flags, "-c", code],
        cwd=ROOT,
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
        raise SystemExit(f"imports failed:\n{code}\n{stderr[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, stderr


def heaviest(stderr: str, top: int) -> list[tuple[str, float]]:
    """Packages by import seconds: the self time of every module, summed per top-level name
    (so scipy.stats counts for scipy, wherever it was first imported)."""
    found: dict[str, float] = {}
    for match in LINE.finditer(stderr):
        root = match.group(4).split(".")[0]
        found[root] = found.get(root, 0.0) + int(match.group(1)) / 1e6
    return sorted(found.items(), key=lambda kv: -kv[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=4)
    args = parser.parse_args()
    bare = [run("pass")[:2] for _ in range(args.runs)]
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
        runs = [run(code)[:2] for _ in range(args.runs)]
        wall = statistics.median(r[0] for r in runs) - bare_wall
        cpu = statistics.median(r[1] for r in runs) - bare_cpu
        heavy = heaviest(run(code, importtime=True)[2], args.top + 1)
        shown = ", ".join(f"{n} {s:.2f}" for n, s in heavy if n != "traveltide")
        print(f"| {script.stem} | {wall:.2f} | {cpu:.2f} | {shown} |", flush=True)


if __name__ == "__main__":
    main()
