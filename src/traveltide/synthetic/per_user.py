"""Per-user figures of Elena's cohort (FACTS.md's per-user table): count distributions and more.

Counts are of each cohort user's cohort sessions: how many have a trip_id, flight_booked,
cancellation; how many sessions the user has; the correlations across users of the number of
trip sessions with flight, hotel and flight-discounted sessions and with the average page
clicks; and that average's mean, sd, median and max.

A distribution is compared with FACTS by its total variation distance (TVD, half the summed
absolute differences of the shares). A database of n users drawn from the real distribution
itself has an expected TVD of about sum_j sqrt(p_j (1 - p_j) / n) / sqrt(2 pi) (the mean of
half-normal errors per bin); its 99.9% quantile stays below four times that (multinomial
simulation, 3 to 8 bins, 120 to 6,000 users), which is the tolerance's noise floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

MAX_TVD = 0.05  # the tolerance of every per-user distribution at full scale
TVD_NOISE_FLOOR = 4.0  # times the expected TVD of a sample of the real distribution

# FACTS.md's shares, in per cent, of the real cohort's 5,998 users; the last bin is open.
TARGETS: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "per_user_trip_sessions": (
        ("0", "1", "2", "3", "4", "5", "6", "7+"),
        (7.6, 14.3, 22.0, 23.6, 18.3, 9.8, 3.6, 0.8),
    ),
    "per_user_flight_sessions": (
        ("0", "1", "2", "3", "4", "5", "6", "7+"),
        (13.5, 17.1, 23.4, 21.9, 14.9, 6.7, 2.2, 0.4),
    ),
    "per_user_cancellation_sessions": (("0", "1", "2+"), (90.1, 9.7, 0.3)),
    "per_user_sessions": (("8", "9", "10", "11+"), (81.8, 16.0, 2.0, 0.1)),
}
FIRST_BIN = {"per_user_sessions": 8}  # the other distributions start at 0
# Correlations across users of the trip sessions with another per-user count, and tolerances.
CORRELATIONS: dict[str, tuple[str, float, float]] = {
    "per_user_corr_trips_flights": ("flight_sessions", 0.92, 0.03),
    "per_user_corr_trips_hotels": ("hotel_sessions", 0.94, 0.03),
    "per_user_corr_trips_clicks": ("mean_page_clicks", 0.47, 0.10),
    "per_user_corr_trips_flight_discounts": ("flight_discount_sessions", 0.04, 0.10),
}


@dataclass(frozen=True)
class FidelityDistribution:
    """One per-user distribution of FACTS.md: target and database shares per bin, and TVD."""

    name: str
    bins: tuple[str, ...]
    target: tuple[float, ...]  # FACTS' shares, normalised to sum to 1
    value: tuple[float, ...]  # the database's shares of its cohort users
    users: int
    tvd: float
    tolerance: float
    ok: bool


def per_user_counts(cohort: pd.DataFrame) -> pd.DataFrame:
    """One row per cohort user: session counts by kind and the average page clicks."""
    users = cohort["user_id"]
    counts = {
        "sessions": cohort["session_start"].notna(),
        "trip_sessions": cohort["trip_id"].notna(),
        "flight_sessions": cohort["flight_booked"],
        "hotel_sessions": cohort["hotel_booked"],
        "cancellation_sessions": cohort["cancellation"],
        "flight_discount_sessions": cohort["flight_discount"],
    }
    frame = pd.DataFrame({k: v.astype("int64") for k, v in counts.items()})
    frame["page_clicks"] = cohort["page_clicks"].astype("float64")
    out = frame.groupby(users.to_numpy(), sort=True).sum()
    out["mean_page_clicks"] = out.pop("page_clicks") / out["sessions"]
    return out


def tvd(p: np.ndarray, q: np.ndarray) -> float:
    """Total variation distance of two distributions over the same bins."""
    return float(0.5 * np.abs(np.asarray(p) - np.asarray(q)).sum())


def expected_tvd(target: np.ndarray, n: int) -> float:
    """Expected TVD of the shares of n draws from `target` (normal approximation per bin)."""
    p = np.asarray(target, dtype="float64")
    return float(np.sqrt(p * (1.0 - p) / max(n, 1)).sum() / math.sqrt(2.0 * math.pi))


def shares(counts: np.ndarray, first: int, bins: int) -> np.ndarray:
    """Shares of counts first, first + 1, ..., the last bin holding everything above."""
    if len(counts) == 0:
        return np.full(bins, np.nan)
    index = np.clip(np.asarray(counts, dtype="int64") - first, 0, bins - 1)
    return np.bincount(index, minlength=bins) / len(counts)


def distributions(per_user: pd.DataFrame) -> list[FidelityDistribution]:
    """Each per-user distribution of FACTS.md against the database's cohort users."""
    out = []
    n = len(per_user)
    for name, (bins, percent) in TARGETS.items():
        target = np.asarray(percent) / np.sum(percent)
        column = name.removeprefix("per_user_")
        value = shares(per_user[column].to_numpy(), FIRST_BIN.get(name, 0), len(bins))
        distance = tvd(target, value) if n else float("nan")
        tolerance = max(MAX_TVD, TVD_NOISE_FLOOR * expected_tvd(target, n))
        ok = bool(np.isfinite(distance) and distance <= tolerance)
        target_shares, value_shares = tuple(target.tolist()), tuple(value.tolist())
        out.append(
            FidelityDistribution(
                name, bins, target_shares, value_shares, n, distance, tolerance, ok
            )
        )
    return out


def correlation(x: pd.Series, y: pd.Series) -> float:
    """Pearson correlation; NaN with fewer than 3 users or a constant column."""
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x.to_numpy("float64"), y.to_numpy("float64"))[0, 1])
