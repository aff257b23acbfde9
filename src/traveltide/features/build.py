"""The feature table: one row per user of the cleaned cohort sessions, every feature of CATALOG.

Session, trip and user features come from their own modules; this one joins them, adds the
features that combine them (recency and RFM scores, rates), checks and summarises the table.
A value that is undefined for a user (an average over no trips, a share of no sessions) is 0,
never NaN: the count features say how many trips there were. A NULL in a column a feature
needs (e.g. seats of a booked flight) is not skipped: it reaches the table as NaN and
`check_finite` stops the stage naming the feature and a user.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from traveltide.config import FeaturesConfig
from traveltide.errors import DataError
from traveltide.features.arrays import ratio
from traveltide.features.catalog import CATALOG, FEATURE_NAMES, GROUPS
from traveltide.features.sessions import prepare_sessions, session_features
from traveltide.features.trips import trip_features, trip_table
from traveltide.features.users import demographic_features


def _quintile(values: pd.Series, *, ascending: bool = True) -> pd.Series:
    """Score 1..5 by rank quintile; ties share their minimum rank so the score is deterministic."""
    ranks = values.rank(method="min", ascending=ascending, pct=True)
    return np.ceil(ranks * 5).clip(1, 5).astype("int64")


def build_features(sessions: pd.DataFrame, config: FeaturesConfig) -> pd.DataFrame:
    """The feature table: `user_id` then CATALOG's features, sorted by user_id, no NaN/inf."""
    s = prepare_sessions(sessions)
    last_day = s["session_start"].max()
    if pd.Timestamp(config.reference_date) < last_day.normalize():
        raise DataError(
            f"features.reference_date {config.reference_date} is before the last session "
            f"({last_day.date()}): recency, age and tenure must be anchored after the data"
        )
    sess = session_features(s)
    trips = trip_features(trip_table(s), sess.index)
    users = s.drop_duplicates("user_id").set_index("user_id")
    demo = demographic_features(users, config.reference_date)
    f = pd.concat([sess, trips, demo], axis=1)
    ref_day = float(np.datetime64(config.reference_date, "D").astype("int64"))
    f["recency_days"] = ref_day - f["last_session_day"]
    f["cancellation_rate"] = ratio(f["n_cancelled_trips"], f["n_trips"] + f["n_cancelled_trips"])
    f["ads_per_km"] = ratio(f["ads_usd"], f["total_km"])
    f["bargain_hunter_index"] = (
        f["ads_per_km"] * f["flight_discount_share"] * f["avg_flight_discount"]
    )
    f["recency_score"] = _quintile(f["recency_days"], ascending=False)
    f["frequency_score"] = _quintile(f["n_trips"].astype("float64"))
    f["monetary_score"] = _quintile(f["total_spend_usd"])
    f["rfm_score"] = f["recency_score"] + f["frequency_score"] + f["monetary_score"]
    table = f[list(FEATURE_NAMES)].astype("float64") + 0.0  # + 0.0 turns -0.0 into 0.0
    table.index.name = "user_id"
    table = table.reset_index()
    table["user_id"] = table["user_id"].astype("int64")
    check_finite(table)
    return table


def check_finite(table: pd.DataFrame) -> None:
    """Every feature is a finite number; else name the feature(s), a user_id and how many."""
    values = table[list(FEATURE_NAMES)].to_numpy(float)
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    cols = np.flatnonzero(bad.any(axis=0))
    col = int(cols[0])
    rows = np.flatnonzero(bad[:, col])
    others = [FEATURE_NAMES[c] for c in cols[1:]]
    also = f"; also NaN or infinite: {', '.join(others)}" if others else ""
    raise DataError(
        f"features: '{FEATURE_NAMES[col]}' is NaN or infinite for {len(rows)} user(s), "
        f"e.g. user_id {int(table['user_id'].iloc[rows[0]])} (a NULL in a column it needs)"
        f"{also}"
    )


def feature_metrics(table: pd.DataFrame) -> dict[str, Any]:
    """metrics/features.json: size, users without trips, share of zero values per group.

    `constant_features` lists features with one value for every user: they carry no
    information for clustering in this cohort.
    """
    values = table[list(FEATURE_NAMES)]
    zero = values.eq(0.0).mean()
    by_group = {
        group: round(float(zero[[f.name for f in CATALOG if f.group == group]].mean()), 6)
        for group in GROUPS
    }
    constant = [name for name in FEATURE_NAMES if values[name].nunique() <= 1]
    return {
        "n_users": len(table),
        "n_features": len(FEATURE_NAMES),
        "n_users_without_trips": int((values["n_trips"] == 0).sum()),
        "zero_share": by_group,
        "constant_features": constant,
    }
