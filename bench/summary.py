"""The printed result of a bench: the machine line, the table of figures against their targets,
and the cold run's cost per stage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from figure import Figure, median


def table(figures: list[Figure], runs: int) -> str:
    lines = [
        f"| figure | median of {runs} | target | result |",
        "|---|---|---|---|",
    ]
    for f in figures:
        result = {True: "pass", False: "FAIL", None: "-"}[f.passed]
        lines.append(f"| {f.label} | {f.value} | {f.target} | {result} |")
    return "\n".join(lines)


def stage_lines(stages: dict[str, dict[str, list[float]]], order: Sequence[str]) -> str:
    if not stages:
        return "(no per-stage timings: the cloned code predates timings/)"
    lines = [
        "| stage | wall s | start-up s | CPU s | peak RSS GB |",
        "|---|---|---|---|---|",
    ]
    for name in sorted(stages, key=lambda n: order.index(n) if n in order else len(order)):
        row = stages[name]
        lines.append(
            f"| {name} | {median(row['wall_s']):.1f} | {median(row['startup_s']):.2f} | "
            f"{median(row['cpu_s']):.1f} | {median(row['peak_rss_gb']):.2f} |"
        )
    return "\n".join(lines)


def print_summary(
    report: dict[str, Any],
    shown: list[Figure],
    stage_table: dict[str, dict[str, list[float]]],
    order: Sequence[str],
    outside: Sequence[float],
) -> None:
    """The bench's closing lines on stdout (`report` is the results file's content)."""
    m, loads, scale, runs = (
        report["machine"],
        report["load_average"],
        report["scale"],
        report["runs"],
    )
    print()
    print(
        f"{m['cpus']} cores ({m['cpu_model']}, {m['cpu_vector']}), {m['memory_gib']} GiB; "
        f"fixed Python loop "
        f"{m['python_loop_s']:.3f} s; {report['source']}; scale {scale:g}; {runs} runs"
    )
    print(f"load average {loads['start']:.2f} at start, {loads['end']:.2f} at end")
    if scale != 1.0:
        print(f"scale {scale:g}: the targets are for scale 1.0, so pass/fail is indicative only")
    print(table(shown, runs))
    print()
    print("per stage, cold `dvc repro` (medians):")
    print(stage_lines(stage_table, order))
    if outside:
        print(f"DVC itself, outside the stage processes: {median(outside):.1f} s of the cold run")
