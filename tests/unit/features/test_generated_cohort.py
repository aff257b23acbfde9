"""A generated cohort: the table is byte-identical in any row order and equals independent
computations with plain pandas, scikit-learn, scipy and dateutil."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dateutil.relativedelta import relativedelta
from sklearn.metrics.pairwise import haversine_distances

from feature_cases import CONFIG, REF, scores
from traveltide.config import CleanConfig, CohortConfig
from traveltide.engines.base import user_ranges
from traveltide.features import build
from traveltide.features.build import build_features
from traveltide.features.clean import clean_sessions
from traveltide.geo import AIRPORTS
from traveltide.io import write_parquet
from traveltide.sources.extract import extract_cohort


@pytest.fixture(scope="module")
def cohort(embedded_source) -> pd.DataFrame:
    raw = extract_cohort(embedded_source, CohortConfig(min_sessions=7))
    return clean_sessions(raw, CleanConfig())[0]


def parquet_bytes(df: pd.DataFrame, tmp_path: Path, name: str) -> bytes:
    write_parquet(df, tmp_path / name)
    return (tmp_path / name).read_bytes()


def test_byte_identical_for_the_same_sessions_in_any_order(cohort, tmp_path):
    first = build_features(cohort, CONFIG)
    again = build_features(cohort, CONFIG)
    shuffled = cohort.sample(frac=1.0, random_state=3).reset_index(drop=True)
    other = build_features(shuffled, CONFIG)
    assert first["user_id"].is_monotonic_increasing
    ref = parquet_bytes(first, tmp_path, "a.parquet")
    assert ref == parquet_bytes(again, tmp_path, "b.parquet")
    assert ref == parquet_bytes(other, tmp_path, "c.parquet")


def test_byte_identical_when_duckdb_computes_the_users_in_ranges(cohort, tmp_path, monkeypatch):
    """Per range of user ids (as at scale 10) the table has the bytes of one pass."""
    whole = parquet_bytes(build_features(cohort, CONFIG), tmp_path, "whole.parquet")
    users = cohort["user_id"]
    span = int(users.max() - users.min()) + 1
    monkeypatch.setattr(build, "USERS_PER_PART", span // 7 + 1)  # seven ranges
    assert len(user_ranges(int(users.min()), int(users.max()), build.USERS_PER_PART)) == 7
    parts = parquet_bytes(build_features(cohort, CONFIG), tmp_path, "parts.parquet")
    assert parts == whole


def test_generated_cohort_against_independent_computations(cohort):
    table = build_features(cohort, CONFIG).set_index("user_id")
    assert len(table) > 50
    by_user = cohort.groupby("user_id")
    pd.testing.assert_series_equal(
        table["n_sessions"], by_user.size().astype(float), check_names=False, check_index=False
    )
    pd.testing.assert_series_equal(
        table["avg_page_clicks"],
        by_user["page_clicks"].agg(lambda c: float(np.mean(c.to_numpy(float)))).astype(float),
        check_names=False,
        check_index=False,
    )
    # trips: one per trip_id booked by a non-cancellation session, unless any session cancels it
    cancelled = set(cohort.loc[cohort["cancellation"], "trip_id"].dropna())
    trips = {}
    for row in cohort[cohort["trip_id"].notna() & ~cohort["cancellation"]].itertuples():
        if row.trip_id not in cancelled:
            trips[row.trip_id] = row
    n_trips = pd.Series([r.user_id for r in trips.values()]).value_counts()
    assert (table["n_trips"] == n_trips.reindex(table.index, fill_value=0)).all()
    # distance with scikit-learn's haversine, doubled for round trips
    km = pd.Series(0.0, index=table.index)
    for r in trips.values():
        if r.flight_booked and pd.notna(r.base_fare_usd):
            rad = np.radians(
                [
                    [r.home_airport_lat, r.home_airport_lon],
                    [r.destination_airport_lat, r.destination_airport_lon],
                ]
            )
            d = haversine_distances(rad)[0, 1] * 6371.0
            km[r.user_id] += d * (1 if pd.isna(r.return_time) else 2)
    np.testing.assert_allclose(table["total_km"], km, rtol=1e-9)
    # lead days, gaps between trips, destinations and abroad share, one user at a time
    per_user: dict[int, list] = {}
    for r in trips.values():
        per_user.setdefault(r.user_id, []).append(r)
    assert len(per_user) > 20
    country = {a.iata: a.country for a in AIRPORTS}
    for user, rows in per_user.items():
        flies = [bool(r.flight_booked) and pd.notna(r.base_fare_usd) for r in rows]
        lead = [
            ((r.departure_time if f else r.check_in_time) - r.session_start).total_seconds()
            / 86_400
            for r, f in zip(rows, flies, strict=True)
        ]
        booked = sorted(r.session_start for r in rows)
        gap = (booked[-1] - booked[0]).total_seconds() / 86_400 / max(len(rows) - 1, 1)
        cities = {
            (r.destination if f else r.hotel_name.split(" - ")[-1]).strip().lower()
            for r, f in zip(rows, flies, strict=True)
        }
        abroad = [
            country[r.destination_airport] != r.home_country
            for r, f in zip(rows, flies, strict=True)
            if f
        ]
        got = table.loc[user]
        assert got["std_lead_days"] == pytest.approx(np.std(lead), rel=1e-9, abs=1e-9)
        assert got["avg_days_between_trips"] == pytest.approx(gap, rel=1e-9, abs=1e-9)
        assert got["n_destinations"] == len(cities)
        assert got["international_share"] == pytest.approx(np.mean(abroad) if abroad else 0.0)
    # age with dateutil, recency score with scipy
    users = cohort.drop_duplicates("user_id").set_index("user_id").loc[table.index]
    age = [relativedelta(REF, b.date()).years for b in users["birthdate"]]
    assert table["age_years"].tolist() == age
    assert table["recency_score"].astype(int).tolist() == scores(
        table["recency_days"].tolist(), higher_is_better=False
    )
    assert table["monetary_score"].astype(int).tolist() == scores(table["total_spend_usd"])
    assert set(np.unique(table["rfm_score"])) <= set(range(3, 16))
    # conversion rate straight from the flags
    conv = by_user.apply(lambda g: (g["trip_id"].notna() & ~g["cancellation"]).mean())
    np.testing.assert_allclose(table["conversion_rate"], conv.to_numpy(), rtol=1e-12)
