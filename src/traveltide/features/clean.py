"""Cleaning the cohort's sessions: duplicates, reversed times, cancellations, invalid nights,
long-tailed outliers; one SQL query per step, run by the configured engine.

`repair_sql` states the rules, `caps_sql` learns the outlier caps from the repaired rows,
`quality_sql` counts what every rule touched (data_quality.json) and `cleaned_sql` writes the
rows sorted by user, start and session. `clean_file` runs them in that order; the rows are
written only after every check passed, so a failure replaces no output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traveltide.config import CleanConfig, OutlierCaps
from traveltide.engines.base import ColumnKind, Engine
from traveltide.errors import DataError
from traveltide.features.sql import DAY_US, columns, double, flag

if TYPE_CHECKING:  # pandas only for the frame API below: the stage never imports it
    import pandas as pd

# Columns the rules read; the cohort's other columns pass through unchanged.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "session_id",
    "user_id",
    "trip_id",
    "session_start",
    "session_end",
    "cancellation",
    "nights",
    "check_in_time",
    "check_out_time",
)
ADDED_COLUMNS: tuple[str, ...] = ("trip_cancelled", "session_seconds", "is_booking")
ORDER = "user_id, session_start, session_id"


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


def repair_sql(names: list[str], config: CleanConfig, *, duplicates: bool = True) -> str:
    """The cohort (view `cohort`, columns `names`) with every repair but the caps, plus
    `trip_cancelled` and the flags `quality_sql` counts (names starting with `_`).

    `duplicates`: whether the cohort repeats a session_id; without, the costly step that
    drops repeats is left out (it would keep every row)."""
    listed = ", ".join(names)
    rows = f"SELECT {listed} FROM cohort"
    if config.drop_duplicate_sessions and duplicates:  # extract's repeats are identical rows
        rows = (
            f"SELECT {listed} FROM (SELECT {listed}, row_number() OVER "
            f"(PARTITION BY session_id ORDER BY {ORDER}) AS _copy FROM cohort) WHERE _copy = 1"
        )
    recompute = config.nights_policy == "recompute"
    hotel_reversed = "nights IS NOT NULL AND coalesce(check_out_time < check_in_time, false)"
    swap = {
        "session_start": "CASE WHEN _reversed THEN session_end ELSE session_start END",
        "session_end": "CASE WHEN _reversed THEN session_start ELSE session_end END",
        "cancellation": flag("cancellation"),
        "nights": "CAST(CASE WHEN _clamped THEN 1 ELSE _nights END AS BIGINT)",
    }
    if recompute:  # nights are recomputed from the stay, so the stay is put the right way round
        swap["check_in_time"] = (
            "CASE WHEN _hotel_reversed THEN check_out_time ELSE check_in_time END"
        )
        swap["check_out_time"] = (
            "CASE WHEN _hotel_reversed THEN check_in_time ELSE check_out_time END"
        )
    floor_days = (
        f"(epoch_us(check_out_time) - epoch_us(check_in_time)) // {DAY_US}" if recompute else "NULL"
    )
    return f"""
WITH rows AS ({rows}),
flagged AS (
  SELECT *,
    coalesce(session_end < session_start, false) AS _reversed,
    {hotel_reversed if recompute else "false"} AS _hotel_reversed,
    nights IS NOT NULL AND nights <= 0 AS _invalid
  FROM rows
),
stays AS (
  SELECT *,
    CASE WHEN _hotel_reversed THEN (epoch_us(check_in_time) - epoch_us(check_out_time)) // {DAY_US}
         ELSE {floor_days} END AS _days
  FROM flagged
),
nights AS (
  SELECT *,
    _invalid AND coalesce(_days > 0, false) AS _recomputed,
    CASE WHEN _invalid AND coalesce(_days > 0, false) THEN _days ELSE nights END AS _nights
  FROM stays
),
clamped AS (SELECT *, _nights IS NOT NULL AND _nights <= 0 AS _clamped FROM nights),
cancelled AS (  -- from the cohort itself: a repeated row repeats its trip
  SELECT DISTINCT trip_id AS _trip FROM cohort
  WHERE coalesce(cancellation, false) AND trip_id IS NOT NULL
)
SELECT
  {columns(names, swap)},
  c._trip IS NOT NULL AS trip_cancelled,
  _reversed, _hotel_reversed, _invalid, _recomputed, _clamped
FROM clamped LEFT JOIN cancelled c ON c._trip = clamped.trip_id
"""


def caps_sql(caps: OutlierCaps) -> str:
    """One row: the quantiles each cap needs, per column (`repaired`, see `outlier_caps`)."""
    probs = (caps.quantile,) if caps.method == "percentile" else (0.25, 0.75)
    quantiles = ", ".join(
        f"quantile_cont(CAST({column} AS DOUBLE), {double(p)})"
        for column in caps.columns
        for p in probs
    )
    return f"SELECT {quantiles} FROM repaired"


def outlier_caps(
    engine: Engine, caps: OutlierCaps, kinds: dict[str, ColumnKind]
) -> dict[str, float | None]:
    """Each column's cap: its quantile, or p75 + factor x IQR; None for no values or `none`.

    Integer columns get a whole-number cap (rounded down) so their type survives capping.
    """
    missing = [c for c in caps.columns if c not in kinds]
    if missing:
        raise DataError(f"clean.outlier_caps.columns: no column {', '.join(missing)} in the cohort")
    for column in caps.columns:
        if kinds[column] not in ("int", "float"):
            raise DataError(f"clean.outlier_caps.columns: {column} is {kinds[column]}, not numeric")
    if caps.method == "none" or not caps.columns:
        return {column: None for column in caps.columns}
    row = engine.rows(caps_sql(caps))[0]
    values: dict[str, float | None] = {}
    for i, column in enumerate(caps.columns):
        if caps.method == "percentile":
            cap = row[i]
        else:
            q1, q3 = row[2 * i], row[2 * i + 1]
            cap = None if q1 is None else float(q3 + caps.iqr_factor * (q3 - q1))
        if cap is not None and kinds[column] == "int":
            cap = math.floor(cap)
        values[column] = None if cap is None else float(cap)
    return values


def _capped(column: str, cap: float, kind: ColumnKind) -> str:
    limit = str(int(cap)) if kind == "int" else double(cap)
    return f"CASE WHEN {column} > {limit} THEN {limit} ELSE {column} END"


def quality_sql(cap_values: dict[str, float | None], kinds: dict[str, ColumnKind]) -> str:
    """One row of counts over `repaired`: every rule's, then the rows above each cap."""
    above = [
        f"count_if({c} > {str(int(v)) if kinds[c] == 'int' else double(v)})"
        for c, v in cap_values.items()
        if v is not None
    ]
    return f"""
SELECT count(*), count_if(_reversed), count_if(cancellation),
  count(DISTINCT CASE WHEN cancellation THEN trip_id END),
  count(nights), count_if(_invalid), count_if(_hotel_reversed), count_if(_recomputed),
  count_if(_clamped){"".join(", " + a for a in above)}
FROM repaired
"""


def cleaned_sql(names: list[str], cap_values: dict[str, float | None], kinds) -> str:
    """The cleaned sessions: the cohort's columns (capped), `trip_cancelled`, `session_seconds`
    and `is_booking`, sorted by user, start and session."""
    caps = {c: _capped(c, v, kinds[c]) for c, v in cap_values.items() if v is not None}
    return f"""
SELECT
  {columns(names, caps)},
  trip_cancelled,
  (epoch_us(session_end) - epoch_us(session_start)) / 1e6 AS session_seconds,
  trip_id IS NOT NULL AND NOT cancellation AS is_booking
FROM repaired
ORDER BY {ORDER}
"""


def _first_reversed() -> str:
    """The first reversed session in the cohort's order (its start is now in session_end)."""
    return (
        "SELECT session_id FROM repaired WHERE _reversed "
        "ORDER BY user_id, session_end, session_id LIMIT 1"
    )


def clean_file(engine: Engine, cohort: Path, target: Path, config: CleanConfig) -> DataQuality:
    """Clean extract's cohort (Parquet) into `target` (Parquet); the counts of every rule."""
    kinds = engine.load("cohort", cohort, what="extract's cohort")
    missing = [c for c in REQUIRED_COLUMNS if c not in kinds]
    if missing:
        raise DataError(f"clean: the cohort lacks column(s) {', '.join(missing)}")
    names = [n for n in kinds if n not in ADDED_COLUMNS]
    sessions_in, distinct = engine.rows("SELECT count(*), count(DISTINCT session_id) FROM cohort")[
        0
    ]
    engine.view("repaired", repair_sql(names, config, duplicates=distinct < sessions_in))
    caps = outlier_caps(engine, config.outlier_caps, kinds)
    counts: list[Any] = list(engine.rows(quality_sql(caps, kinds))[0])
    n, swapped, cancel_sessions, cancelled_trips, *nights = counts[:9]
    if swapped and config.reversed_times == "error":
        (first,) = engine.rows(_first_reversed())[0]
        raise DataError(
            f"sessions: session_end before session_start in {int(swapped):,} cohort sessions "
            f"(first session_id {first}); clean.reversed_times: swap repairs them"
        )
    above = iter(counts[9:])
    capped = {c: int(next(above)) if v is not None else 0 for c, v in caps.items()}
    engine.write(cleaned_sql(names, caps, kinds), target)
    hotel_rows, invalid, hotel_swapped, recomputed, clamped = (int(x) for x in nights)
    return DataQuality(
        sessions_in=int(sessions_in),
        sessions_out=int(n),
        duplicate_sessions_dropped=int(sessions_in) - int(n),
        session_times_swapped=int(swapped),
        cancellation_sessions=int(cancel_sessions),
        cancelled_trips=int(cancelled_trips),
        hotel_rows=hotel_rows,
        nights_invalid=invalid,
        hotel_times_swapped=hotel_swapped,
        nights_recomputed=recomputed,
        nights_clamped=clamped,
        outlier_method=config.outlier_caps.method,
        outliers_capped=capped,
        outlier_cap_values=caps,
    )


def clean_sessions(cohort: pd.DataFrame, config: CleanConfig) -> tuple[pd.DataFrame, DataQuality]:
    """Clean a cohort given as a frame (notebooks, tests): the stage's queries on DuckDB
    (traveltide.features.frames); the cleaned sessions and the counts."""
    from traveltide.features.frames import run_on_frame

    return run_on_frame(cohort, lambda e, s, t: clean_file(e, s, t, config))
