"""Guardrails: harms a treatment must not show before its perks are recommended.

- ``cancellation_increase``: cancelled bookings per booking, treatment minus control (a
  ratio metric, delta method). No cancellation fees may make booking easy and cancelling
  free; the guardrail fails when the increase is shown above ``max_cancellation_increase``
  (the one-sided lower bound at alpha exceeds it).
- ``margin``: (revenue - perk cost) / revenue of the arm's bookings. A discount or a free
  night may cost more than it brings; the guardrail fails when the margin is shown below
  ``min_margin`` (the one-sided upper bound at alpha is under it).

A guardrail fails only on evidence, like a test: with few bookings it stays passing, and the
bound it was checked against is reported beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from traveltide.experiment.means import ratio_estimate

NAN = float("nan")


@dataclass(frozen=True)
class Guardrail:
    """One guardrail of one treatment arm: its value, the one-sided bound on the harmful
    side, the threshold, and whether it fails (``assessable`` False: no data for it)."""

    arm: str
    metric: str
    value: float
    bound: float
    threshold: float
    failing: bool
    assessable: bool


def _rows(frame: pd.DataFrame, arm: str) -> pd.DataFrame:
    return frame.loc[frame["group"].to_numpy() == arm]


def check_guardrails(
    frame: pd.DataFrame,
    treatments: Sequence[str],
    control: str,
    *,
    max_cancellation_increase: float,
    min_margin: float,
    alpha: float = 0.05,
) -> tuple[Guardrail, ...]:
    """Each treatment's guardrails, from the per-user table (group, converted, revenue,
    net_value and, when known, cancelled)."""
    z = float(stats.norm.ppf(1 - alpha))
    out = []
    base = _rows(frame, control)
    for arm in treatments:
        rows = _rows(frame, arm)
        value = bound = NAN
        if "cancelled" in frame:
            rt, vt = ratio_estimate(
                rows["cancelled"].to_numpy(float), rows["converted"].to_numpy(float)
            )
            rc, vc = ratio_estimate(
                base["cancelled"].to_numpy(float), base["converted"].to_numpy(float)
            )
            value, bound = rt - rc, rt - rc - z * math.sqrt(vt + vc)
        ok = math.isfinite(bound)
        out.append(
            Guardrail(
                arm,
                "cancellation_increase",
                value,
                bound,
                max_cancellation_increase,
                ok and bound > max_cancellation_increase,
                ok,
            )
        )
        margin, var = ratio_estimate(
            rows["net_value"].to_numpy(float), rows["revenue"].to_numpy(float)
        )
        upper = margin + z * math.sqrt(var) if math.isfinite(var) else NAN
        ok = bool(np.isfinite(upper))
        out.append(
            Guardrail(arm, "margin", margin, upper, min_margin, ok and upper < min_margin, ok)
        )
    return tuple(out)
