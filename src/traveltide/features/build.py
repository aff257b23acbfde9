"""The feature table: one row per user of the cleaned cohort sessions, every feature of CATALOG,
computed in SQL on the configured engine.

Session, trip and user modules define each feature once, as SQL over per-user sums of the
session rows (`rows_sql`: one row per session with its derived values). This module sums them
per user (`sums_sql`, `sets_sql`, `spread_sql`), adds the features that combine them (recency,
rates; `table_sql`) and the RFM scores (`features.scores`: cut-offs read off every user, so the
table is written range by range), checks the written table and summarises it. A value that is
undefined for a user (an average over no trips, a share of no sessions) is 0, never NULL: the
count features say how many trips there were. A NULL in a column a feature needs (e.g. seats
of a booked flight) is not skipped: it reaches the table and `check_finite` stops the stage
naming the feature and a user, before the table replaces the old one.

On DuckDB the per-user sums run on one thread over the rows sorted by user, start and session:
they add in that order, so the table is byte-identical for the same sessions in any row order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traveltide.config import FeaturesConfig
from traveltide.engines.base import Engine, user_ranges
from traveltide.errors import DataError
from traveltide.features import sessions, trips, users
from traveltide.features.catalog import CATALOG, FEATURE_NAMES, GROUPS
from traveltide.features.scores import SCORES, cutoffs_sql, rank_limits, score_sql
from traveltide.features.sql import double, ratio, strict
from traveltide.geo import AIRPORTS, haversine_km

if TYPE_CHECKING:  # pandas only for the frame API below: the stage never imports it
    import pandas as pd

ORDER = "user_id, session_start, session_id"
USERS_PER_PART = 1_100_000  # DuckDB computes the per-user tables per range of user ids
_MAX = "1.7976931348623157e308"  # the largest double: NaN and infinities compare above it


def combined_features(reference: dt.date) -> dict[str, str]:
    """The features built from other modules' sums."""
    ref_day = (reference - dt.date(1970, 1, 1)).days
    per_km = ratio("ads_sum", "km_sum")
    return {
        "recency_days": f"{double(ref_day)} - floor(last_us / 1e6 / {double(86_400.0)})",
        "cancellation_rate": ratio("cancelled", "trips + cancelled"),
        "ads_per_km": per_km,
        "bargain_hunter_index": (
            f"({per_km}) * ({ratio('offers_f', 'not_cancel')}) * ({ratio('amount_f', 'amounts_f')})"
        ),
    }


def definitions(reference: dt.date) -> dict[str, str]:
    """Every feature's SQL, by name (the RFM scores and their sum are added last)."""
    found = {
        **sessions.FEATURES,
        **trips.FEATURES,
        **users.features(reference),
        **combined_features(reference),
    }
    return {name: found[name] for name in FEATURE_NAMES if name in found}


def _chain(steps: dict[str, str], source: str) -> str:
    """CTEs adding one column each, in order, so a step may use the ones before it."""
    ctes, previous = [], source
    for i, (name, expression) in enumerate(steps.items()):
        ctes.append(f"step{i} AS (SELECT *, {expression} AS {name} FROM {previous})")
        previous = f"step{i}"
    return ",\n".join(ctes) + f",\nlast_step AS (SELECT * FROM {previous})"


def rows_sql(source: str = "sessions") -> str:
    """Each cleaned session of the view `source` with its session, trip and lookup values."""
    picked = ", ".join(f"s.{c}" for c in sessions.REQUIRED_COLUMNS)
    derived = ", ".join(f"{e} AS {n}" for n, e in sessions.ROWS.items())
    values = ", ".join(f"{e} AS {n}" for n, e in trips.VALUES.items())
    return f"""
WITH firsts AS ({sessions.FIRSTS.replace("FROM sessions", f"FROM {source}")}),
base AS (
  SELECT {picked}, d.km AS km_one, a.country AS dest_country, f.first_key
  FROM {source} s
  LEFT JOIN distances d ON d.lat1 = s.home_airport_lat AND d.lon1 = s.home_airport_lon
    AND d.lat2 = s.destination_airport_lat AND d.lon2 = s.destination_airport_lon
  LEFT JOIN airports a ON a.iata = s.destination_airport
  LEFT JOIN firsts f ON f.first_trip = s.trip_id
),
derived AS (SELECT *, {derived} FROM base),
{_chain(trips.FLAGS, "derived")}
SELECT *, {values} FROM last_step
"""


def sums_sql(rows: str = "feature_rows") -> str:
    """Per-user sums and counts (table `user_sums`) of the view `rows`, over the rows sorted by
    user, start and session: run on one thread, the floating-point sums add in that order."""
    sums = {**sessions.AGGREGATES, **trips.AGGREGATES, **users.AGGREGATES}
    aggregates = ",\n  ".join(f"{e} AS {n}" for n, e in sums.items())
    return f"""
SELECT user_id,
  {aggregates}
FROM (SELECT * FROM {rows} ORDER BY {ORDER}) ordered
GROUP BY user_id
"""


def sets_sql(rows: str = "feature_rows") -> str:
    """Per-user medians and distinct counts (table `user_sets`): their order does not matter."""
    sets = ",\n  ".join(f"{e} AS {n}" for n, e in {**sessions.SETS, **trips.SETS}.items())
    return f"SELECT user_id AS set_user,\n  {sets}\nFROM {rows} GROUP BY user_id"


def spread_sql(rows: str = "feature_rows", sums: str = "user_sums") -> str:
    """Each user's sum of squared deviations of trip lead days from their mean (`lead_ss`)."""
    return f"""
SELECT user_id AS spread_user, {strict("sum", "dev * dev")} AS lead_ss
FROM (
  SELECT r.user_id, r.session_start, r.session_id, r.lead - a.lead_sum / a.trips AS dev
  FROM {rows} r JOIN {sums} a ON a.user_id = r.user_id
  WHERE r.is_trip
  ORDER BY r.{ORDER.replace(", ", ", r.")}
) deviations
GROUP BY user_id
"""


def joined_sql(part: int) -> str:
    """Range `part`'s per-user sums, sets and spread, one row per user."""
    return f"""
  SELECT s.*, t.*, CASE WHEN sp.spread_user IS NULL THEN 0.0 ELSE sp.lead_ss END AS lead_ss
  FROM user_sums_{part} s
  JOIN user_sets_{part} t ON t.set_user = s.user_id
  LEFT JOIN user_spread_{part} sp ON sp.spread_user = s.user_id"""


def ranked_sql(reference: dt.date, parts: Sequence[int]) -> str:
    """The columns the RFM scores rank, for the users of every range."""
    found = definitions(reference)
    ranked = ", ".join(f"CAST({found[c]} AS DOUBLE) AS {c}" for c, _ in SCORES.values())
    return " UNION ALL ".join(f"SELECT {ranked} FROM ({joined_sql(i)}) joined" for i in parts)


def rfm_scores(engine: Engine, reference: dt.date, parts: Sequence[int]) -> dict[str, str]:
    """Each RFM score as SQL over the feature columns, its cut-offs read off every user."""
    engine.table("ranked", ranked_sql(reference, parts))
    limits = rank_limits(int(engine.rows("SELECT count(*) FROM ranked")[0][0]))
    at: dict[str, dict[int, float]] = {name: {} for name in SCORES}
    for name, position, value in engine.rows(cutoffs_sql(SCORES, limits, "ranked")):
        at[name][int(position)] = value
    return {name: score_sql(*SCORES[name], limits, at[name]) for name in SCORES}


def table_sql(reference: dt.date, scores: dict[str, str], part: int) -> str:
    """Range `part` of the feature table: `user_id`, then CATALOG's features, by user_id."""
    features = ",\n    ".join(
        f"CAST({e} AS DOUBLE) AS {n}" for n, e in definitions(reference).items()
    )
    scored = ", ".join(f"CAST({scores[n]} AS DOUBLE) AS {n}" for n in SCORES)
    final = ",\n  ".join(f"CASE WHEN {n} = 0 THEN 0.0 ELSE {n} END AS {n}" for n in FEATURE_NAMES)
    return f"""
WITH joined AS ({joined_sql(part)}
),
feat AS (
  SELECT CAST(user_id AS BIGINT) AS user_id,
    {features}
  FROM joined
),
scored AS (SELECT *, {scored} FROM feat),
table_ AS (
  SELECT *, recency_score + frequency_score + monetary_score AS rfm_score FROM scored
)
SELECT user_id,
  {final}
FROM table_
ORDER BY user_id
"""


def load_lookups(engine: Engine) -> None:
    """`distances` (km of each home/destination pair in the sessions, by geo.haversine_km: the
    production database's formula, the same bits on every CPU) and `airports` (countries)."""
    import numpy as np

    pairs = engine.rows(
        "SELECT DISTINCT home_airport_lat, home_airport_lon, destination_airport_lat, "
        "destination_airport_lon FROM sessions WHERE home_airport_lat IS NOT NULL AND "
        "home_airport_lon IS NOT NULL AND destination_airport_lat IS NOT NULL AND "
        "destination_airport_lon IS NOT NULL ORDER BY 1, 2, 3, 4"
    )
    coords = np.array(pairs, dtype="float64").reshape(-1, 4)
    km = haversine_km(coords[:, 0], coords[:, 1], coords[:, 2], coords[:, 3])
    engine.lookup(
        "distances",
        {"lat1": "DOUBLE", "lon1": "DOUBLE", "lat2": "DOUBLE", "lon2": "DOUBLE", "km": "DOUBLE"},
        [(*map(float, pair), float(k)) for pair, k in zip(pairs, km, strict=True)],
    )
    engine.lookup(
        "airports",
        {"iata": "VARCHAR", "country": "VARCHAR"},
        [(a.iata, a.country) for a in AIRPORTS],
    )


def check_input(engine: Engine, path: Path, config: FeaturesConfig) -> tuple[int, int]:
    """Clean's sessions as `sessions`: every column features read, keys set, dates anchored;
    the smallest and largest user_id."""
    kinds = engine.load("sessions", path, what="clean's sessions")
    missing = [c for c in sessions.REQUIRED_COLUMNS if c not in kinds]
    if missing:
        raise DataError(f"features: clean's sessions lack column(s) {', '.join(missing)}")
    n, *keys, last = engine.rows(
        "SELECT count(*), count(user_id), count(session_start), count(session_id), "
        "max(session_start) FROM sessions"
    )[0]
    if not n:
        raise DataError("features: the cleaned cohort has no sessions")
    for key, count in zip(("user_id", "session_start", "session_id"), keys, strict=True):
        if count < n:
            raise DataError(f"features: clean's sessions have a NULL {key}")
    lo, hi = engine.rows("SELECT min(user_id), max(user_id) FROM sessions")[0]
    if config.reference_date < last.date():
        raise DataError(
            f"features.reference_date {config.reference_date} is before the last session "
            f"({last.date()}): recency, age and tenure must be anchored after the data"
        )
    return int(lo), int(hi)


def per_user_tables(engine: Engine, first: int, last: int) -> list[int]:
    """`user_sums_i`, `user_sets_i` and `user_spread_i` of the sessions of users
    `first`..`last`, per range i (the list returned).

    On DuckDB the ranges hold USERS_PER_PART user ids each: each range's rows are sorted apart
    (30M rows sorted at once spilled several GB at scale 10), and since a trip belongs to one
    user (its id starts with the user's) and the sums run per user in the same order, the
    tables equal those of one pass. Spark distributes one pass (one range).
    """
    parts = user_ranges(first, last, USERS_PER_PART) if engine.name == "duckdb" else [None]
    for i, part in enumerate(parts):
        source = "sessions" if part is None else f"sessions_{i}"
        if part is not None:
            engine.view(
                source, f"SELECT * FROM sessions WHERE user_id BETWEEN {part[0]} AND {part[1]}"
            )
        engine.view(f"feature_rows_{i}", rows_sql(source))
        engine.table(f"user_sums_{i}", sums_sql(f"feature_rows_{i}"), serial=True)
        engine.table(f"user_sets_{i}", sets_sql(f"feature_rows_{i}"))
        spread = spread_sql(f"feature_rows_{i}", f"user_sums_{i}")
        engine.table(f"user_spread_{i}", spread, serial=True)
    return list(range(len(parts)))


def check_finite(engine: Engine, view: str) -> None:
    """Every feature is a finite number; else name the feature(s), a user_id and how many."""
    bad = {n: f"NOT coalesce(abs({n}) <= {_MAX}, false)" for n in FEATURE_NAMES}
    counts = ", ".join(f"count_if({b}), min(CASE WHEN {b} THEN user_id END)" for b in bad.values())
    row = engine.rows(f"SELECT {counts} FROM {view}")[0]
    found = [(n, row[2 * i], row[2 * i + 1]) for i, n in enumerate(FEATURE_NAMES) if row[2 * i]]
    if not found:
        return
    name, users_bad, user = found[0]
    others = [n for n, _, _ in found[1:]]
    also = f"; also NaN or infinite: {', '.join(others)}" if others else ""
    raise DataError(
        f"features: '{name}' is NaN or infinite for {users_bad} user(s), "
        f"e.g. user_id {user} (a NULL in a column it needs){also}"
    )


def feature_metrics(engine: Engine, view: str) -> dict[str, Any]:
    """metrics/features.json: size, users without trips, share of zero values per group.

    `constant_features` lists features with one value for every user: they carry no
    information for clustering in this cohort.
    """
    # min = max, not count(DISTINCT): Spark expands the rows once per distinct aggregate
    parts = ", ".join(f"count_if({n} = 0), min({n}) = max({n})" for n in FEATURE_NAMES)
    n_users, no_trips, *row = engine.rows(
        f"SELECT count(*), count_if(n_trips = 0), {parts} FROM {view}"
    )[0]
    zero = {n: row[2 * i] / n_users for i, n in enumerate(FEATURE_NAMES)}
    by_group = {}
    for group in GROUPS:
        shares = [zero[f.name] for f in CATALOG if f.group == group]
        by_group[group] = round(sum(shares) / len(shares), 6)
    return {
        "n_users": int(n_users),
        "n_features": len(FEATURE_NAMES),
        "n_users_without_trips": int(no_trips),
        "zero_share": by_group,
        "constant_features": [n for i, n in enumerate(FEATURE_NAMES) if row[2 * i + 1]],
    }


def features_file(
    engine: Engine, sessions_path: Path, target: Path, config: FeaturesConfig
) -> dict[str, Any]:
    """Clean's sessions (Parquet) -> the feature table `target` (Parquet); its metrics."""
    first, last = check_input(engine, sessions_path, config)
    load_lookups(engine)
    parts = per_user_tables(engine, first, last)
    scores = rfm_scores(engine, config.reference_date, parts)
    metrics: dict[str, Any] = {}

    def check(view: str) -> None:
        check_finite(engine, view)
        metrics.update(feature_metrics(engine, view))

    queries = [table_sql(config.reference_date, scores, i) for i in parts]
    engine.write(queries, target, check=check)
    return metrics


def build_features(sessions_frame: pd.DataFrame, config: FeaturesConfig) -> pd.DataFrame:
    """The feature table of clean's sessions given as a frame (notebooks, tests): the stage's
    query on DuckDB (traveltide.features.frames)."""
    from traveltide.features.frames import run_on_frame

    table, _ = run_on_frame(sessions_frame, lambda e, s, t: features_file(e, s, t, config))
    return table.astype({"user_id": "int64"})
