"""The sweep figure: the same queued experiments on two workers against one."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from fig_repro import other_ks
from figure import Context, Figure, median
from scratch import BenchError, Scratch

SWEEP_SIZE = 8

# A finished experiment's ref: refs/exps/<baseline sha, split 2/38>/<name>. The queue's own
# refs (refs/exps/celery/stash while tasks wait, refs/exps/exec/...) must not count: the
# stash ref would end a -j 1 batch while its last experiment still runs.
EXP_REF = re.compile(r"refs/exps/[0-9a-f]{2}/[0-9a-f]{38}/[^/]+")


def exp_ref_count(s: Scratch) -> int:
    refs = s.quiet("git", "for-each-ref", "--format=%(refname)", "refs/exps").split()
    return sum(bool(EXP_REF.fullmatch(ref)) for ref in refs)


def queue_workers(repo: Path) -> list[int]:
    """PIDs of `dvc exp queue-worker` processes working for this clone."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if b"queue-worker" in cmdline and cwd.startswith(str(repo)):
            pids.append(int(proc.name))
    return pids


def run_queue(
    s: Scratch, values: list[int], jobs: int, log: Callable[[str], None]
) -> tuple[float, int]:
    """Queue one experiment per k, start `jobs` workers; seconds until the last one's ref,
    and how many experiments failed."""
    shutil.rmtree(s.repo / ".dvc" / "cache" / "runs", ignore_errors=True)
    before = exp_ref_count(s)
    s.run("dvc", "exp", "run", "--queue", "-S", "cluster.k=" + ",".join(map(str, values)))
    start = time.perf_counter()
    s.run("dvc", "queue", "start", "-j", str(jobs))
    idle_since = None
    while exp_ref_count(s) < before + len(values):
        time.sleep(0.5)
        if queue_workers(s.repo):
            idle_since = None
            continue
        idle_since = idle_since or time.perf_counter()
        if time.perf_counter() - idle_since > 30:  # workers gone, experiments missing
            status = s.run("dvc", "queue", "status", check=False).text()
            raise BenchError(f"queue -j {jobs}: workers exited early:\n{status}")
    seconds = time.perf_counter() - start
    for _ in range(120):  # workers stop 10 s after the queue empties; never overlap batches
        if not queue_workers(s.repo):
            break
        time.sleep(0.5)
    failed = s.run("dvc", "queue", "status").text().count("Failed")
    # Every batch starts from the same state: finished queue entries and experiment refs
    # pile up otherwise and slow every later batch
    s.run("dvc", "queue", "remove", "--all")
    s.run("dvc", "exp", "remove", "--all-commits")
    log(f"  sweep -j {jobs}: {seconds:.1f} s" + (f", {failed} FAILED" if failed else ""))
    return seconds, failed


def fig_sweep(ctx: Context) -> Figure:
    s = ctx.scratch
    values = other_ks(int(s.params()["cluster"]["k"]), SWEEP_SIZE)
    s.run("traveltide", "mlflow-init")
    parallel: list[float] = []
    serial: list[float] = []
    failed = 0
    for i in range(ctx.runs):
        # ABBA order: a first batch pays warm-up (page cache, new temp repositories), so
        # -j 2 and -j 1 take turns going first
        for jobs in (2, 1) if i % 2 == 0 else (1, 2):
            seconds, failures = run_queue(s, values, jobs, ctx.log)
            (parallel if jobs == 2 else serial).append(seconds)
            failed += failures
    ratio = median(serial) / median(parallel)
    return Figure(
        "sweep",
        f"{SWEEP_SIZE}-experiment sweep, -j 2 vs -j 1",
        f"{median(parallel):.1f} s vs {median(serial):.1f} s = {ratio:.2f}x faster",
        ">= 1.6x faster",
        ratio >= 1.6 and failed == 0,
        {"j2_s": parallel, "j1_s": serial},
        {"k_values": values, "failed": failed},
    )
