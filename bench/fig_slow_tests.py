"""The slow-tests figure: the tests marked `slow`, which `make test` and CI leave out."""

from __future__ import annotations

import re

from figure import Context, Figure


def fig_slow_tests(ctx: Context) -> Figure:
    """The tests marked `slow` (full scale, or long: the 8-experiment queue): run once, in the
    scratch clone, on both cores like `make test`."""
    s = ctx.scratch
    s.restore()
    run = s.run(
        "python", "-m", "pytest", "-m", "slow", "-q", "-p", "no:cacheprovider", "-n", "2",
        "--dist", "loadfile", check=False,
    )  # fmt: skip
    summary = next(
        (
            line
            for line in reversed(run.text().splitlines())
            if re.search(r"\d+ (passed|failed)", line)
        ),
        f"pytest exited {run.code} (no summary line)",
    )
    ctx.log(f"  slow tests: {summary.strip('= ')} ({run.seconds:.0f} s), log {run.log}")
    return Figure(
        "slow",
        "tests marked slow (`pytest -m slow`)",
        summary.strip("= "),
        "all pass",
        run.code == 0,
        {"seconds": [run.seconds]},
    )
