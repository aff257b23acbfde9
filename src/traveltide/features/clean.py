"""Cleaning the cohort's sessions: duplicates, cancellations, invalid nights, reversed times,
long-tailed outliers.

Each rule is a small function returning the repaired frame and how many rows it touched, so
data_quality.json can account for every change. Inputs are never modified in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from traveltide.config import CleanConfig, OutlierCaps
from traveltide.errors import DataError

_DAY = pd.Timedelta(hours=24)


@dataclass(frozen=True)
class DataQuality:
    """Rows each cleaning rule touched (metrics/data_quality.json)."""

    sessions_in: int
    sessions_out: int
    duplicate_sessions_dropped: int
    session_times_swapped: int
    cancellation_sessions: int
    cancelled_trips: int
    hotel_rows: int
    nights_invalid: int
    hotel_times_swapped: int
    nights_recomputed: int
    nights_clamped: int
    outlier_method: str
    outliers_capped: dict[str, int]
    outlier_cap_values: dict[str, float | None]


def drop_duplicate_sessions(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Keep the first row of each session_id (a re-sent event must not count twice)."""
    keep = ~df["session_id"].duplicated(keep="first")
    return df.loc[keep].reset_index(drop=True), int((~keep).sum())


def swap_reversed_session_times(
    df: pd.DataFrame, *, policy: str = "swap"
) -> tuple[pd.DataFrame, int]:
    """Swap session_start/session_end where the end is before the start (policy `error`: stop)."""
    rev = (df["session_end"] < df["session_start"]).fillna(False).to_numpy(bool)
    if policy == "error" and rev.any():
        first = df.loc[rev, "session_id"].iloc[0]
        raise DataError(
            f"sessions: session_end before session_start in {int(rev.sum()):,} cohort sessions "
            f"(first session_id {first}); clean.reversed_times: swap repairs them"
        )
    out = df.copy()
    out.loc[rev, ["session_start", "session_end"]] = df.loc[
        rev, ["session_end", "session_start"]
    ].to_numpy()
    return out, int(rev.sum())


def mark_cancellations(df: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    """A trip is cancelled when any of its sessions has cancellation = true."""
    is_cancel = df["cancellation"].fillna(False).astype(bool)
    cancelled = set(df.loc[is_cancel & df["trip_id"].notna(), "trip_id"])
    out = df.assign(
        cancellation=is_cancel.to_numpy(),
        trip_cancelled=df["trip_id"].isin(cancelled).to_numpy(),
    )
    return out, int(is_cancel.sum()), len(cancelled)


def fix_nights(df: pd.DataFrame, *, policy: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """Repair hotel nights <= 0.

    recompute: swap reversed check-in/check-out, take floor(duration / 24 h) and clamp what is
    still <= 0 to 1 (a one-night stay checked in at 15:00 and out at 11:00 floors to 0);
    clamp: set every nights <= 0 to 1.
    """
    has_hotel = df["nights"].notna()
    invalid = (has_hotel & (df["nights"] <= 0)).to_numpy(bool)
    nights = df["nights"].astype("Int64").copy()
    check_in, check_out = df["check_in_time"], df["check_out_time"]
    swapped = (has_hotel & (check_out < check_in)).fillna(False).to_numpy(bool)
    recomputed = 0
    if policy == "recompute":
        check_in = df["check_in_time"].where(~swapped, df["check_out_time"])
        check_out = df["check_out_time"].where(~swapped, df["check_in_time"])
        floor_days = ((check_out - check_in) // _DAY).astype("Int64")
        use = invalid & (floor_days > 0).fillna(False).to_numpy(bool)
        nights[use] = floor_days[use]
        recomputed = int(use.sum())
    else:
        swapped = np.zeros(len(df), dtype=bool)
    still = (has_hotel & (nights <= 0)).fillna(False).to_numpy(bool)
    nights[still] = 1
    out = df.assign(nights=nights, check_in_time=check_in, check_out_time=check_out)
    counts = {
        "hotel_rows": int(has_hotel.sum()),
        "nights_invalid": int(invalid.sum()),
        "hotel_times_swapped": int(swapped.sum()),
        "nights_recomputed": recomputed,
        "nights_clamped": int(still.sum()),
    }
    return out, counts


def outlier_cap(values: pd.Series, caps: OutlierCaps) -> float | None:
    """The cap for one column: its quantile, or p75 + factor x IQR; None for no values or `none`.

    Integer columns get a whole-number cap (rounded down) so their dtype survives capping.
    """
    present = values.dropna().astype("float64")
    if caps.method == "none" or present.empty:
        return None
    if caps.method == "percentile":
        cap = float(present.quantile(caps.quantile))
    else:
        q1, q3 = present.quantile([0.25, 0.75])
        cap = float(q3 + caps.iqr_factor * (q3 - q1))
    return float(np.floor(cap)) if pd.api.types.is_integer_dtype(values.dtype) else cap


def cap_outliers(
    df: pd.DataFrame, caps: OutlierCaps
) -> tuple[pd.DataFrame, dict[str, int], dict[str, float | None]]:
    """Winsorise each configured column at its cap; count the rows lowered per column."""
    missing = [c for c in caps.columns if c not in df.columns]
    if missing:
        raise DataError(f"clean.outlier_caps.columns: no column {', '.join(missing)} in the cohort")
    out, counts, values = df.copy(), {}, {}
    for column in caps.columns:
        if not pd.api.types.is_numeric_dtype(df[column].dtype):
            raise DataError(
                f"clean.outlier_caps.columns: {column} is {df[column].dtype}, not numeric"
            )
        cap = outlier_cap(df[column], caps)
        values[column] = cap
        above = (df[column] > cap).fillna(False).to_numpy(bool) if cap is not None else []
        counts[column] = int(np.sum(above))
        if counts[column]:
            out.loc[above, column] = cap
    return out, counts, values


def clean_sessions(cohort: pd.DataFrame, config: CleanConfig) -> tuple[pd.DataFrame, DataQuality]:
    """Apply every cleaning rule in order; return the cleaned sessions and the counts."""
    df, dups = drop_duplicate_sessions(cohort) if config.drop_duplicate_sessions else (cohort, 0)
    df, swapped = swap_reversed_session_times(df, policy=config.reversed_times)
    df, cancel_sessions, cancelled_trips = mark_cancellations(df)
    df, nights = fix_nights(df, policy=config.nights_policy)
    df, capped, cap_values = cap_outliers(df, config.outlier_caps)
    df = df.assign(
        session_seconds=(df["session_end"] - df["session_start"]).dt.total_seconds(),
        is_booking=(df["trip_id"].notna() & ~df["cancellation"]).to_numpy(),
    )
    quality = DataQuality(
        sessions_in=len(cohort),
        sessions_out=len(df),
        duplicate_sessions_dropped=dups,
        session_times_swapped=swapped,
        cancellation_sessions=cancel_sessions,
        cancelled_trips=cancelled_trips,
        **nights,
        outlier_method=config.outlier_caps.method,
        outliers_capped=capped,
        outlier_cap_values=cap_values,
    )
    return df, quality
