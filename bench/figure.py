"""What every figure shares: its result record, the context a measurement runs in, medians."""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scratch import Scratch

GB = 1e9


@dataclass
class Figure:
    """One measured figure: the value as shown, its target, pass/fail, and every sample."""

    id: str
    label: str
    value: str
    target: str
    passed: bool | None
    samples: dict[str, list[float]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """The clone and options every figure is measured with, and what figures share: the cold
    runs' per-stage timings, and the wide-cohort runs by scale (wide and scaling reuse them)."""

    scratch: Scratch
    runs: int
    scale: float
    pg_url: str
    log: Callable[[str], None]
    stage_table: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    wide_cache: dict[float, dict[str, list[float]]] = field(default_factory=dict)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def load_average() -> float:
    return os.getloadavg()[0]


def stage_seconds(timings: dict[str, dict[str, Any]], ran: set[str] | None = None) -> float:
    """Wall seconds inside the stage processes (their timing files), of the stages in `ran`
    (all by default); the rest of a `dvc` command's time is DVC's own."""
    return sum(t["wall_s"] for name, t in timings.items() if ran is None or name in ran)
