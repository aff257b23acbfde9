"""The machine a bench ran on: its size, CPU, and a fixed loop as a yardstick of its speed."""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any


def python_loop_seconds(repeats: int = 5) -> float:
    """Median time of a fixed pure-Python loop: how fast this machine's core is today.

    Machines of one size can differ (another host, a busy neighbour): with this figure beside
    each run, a slower machine can be told apart from a slower commit.
    """
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        sum(i * i for i in range(2_000_000))
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 3)


def machine() -> dict[str, Any]:
    mem, cpu = 0, ""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    with open("/proc/cpuinfo") as f:
        info = f.read().splitlines()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), ""
    )
    flags = next(
        (set(line.split(":", 1)[1].split()) for line in info if line.startswith("flags")), set()
    )
    # the widest vector unit: numpy and OpenBLAS pick their code paths by it
    # (docs/decisions.md, cross-CPU determinism)
    vector = next((name for name in ("avx512f", "avx2", "sse4_2") if name in flags), "none")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "cpu_vector": vector,
        "memory_gib": round(mem / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_loop_s": python_loop_seconds(),
    }
