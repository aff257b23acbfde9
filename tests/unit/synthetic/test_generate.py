"""The synthetic TravelTide generator: schema, determinism, ids, NULL rules, quirks, cohort."""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest

from traveltide.config import GenerateConfig
from traveltide.errors import ConfigError
from traveltide.geo import AIRPORTS, destinations, haversine_km, home_airports
from traveltide.schema import TABLES, validate_columns
from traveltide.synthetic import generate as gen
from traveltide.synthetic.fidelity import fidelity

SMALL = GenerateConfig(seed=42, scale=0.02)
ID_PATTERN = re.compile(r"^(\d+)-[0-9a-f]{32}$")
DTYPE_KIND = {"int": "i", "decimal": "f", "bool": "b", "date": "M", "timestamp": "M"}


@pytest.fixture(scope="module")
def db() -> gen.SyntheticDatabase:
    return gen.generate(SMALL)


@pytest.fixture(scope="module")
def moderate() -> tuple[gen.SyntheticDatabase, float]:
    config = GenerateConfig(seed=7, scale=0.05)
    return gen.generate(config), config.scale


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize("table", list(TABLES))
def test_columns_and_dtypes_match_schema(db: gen.SyntheticDatabase, table: str) -> None:
    frame = getattr(db, table)
    assert list(frame.columns) == list(TABLES[table])
    validate_columns(frame, table, TABLES[table])
    for column, logical in TABLES[table].items():
        dtype = frame[column].dtype
        if logical == "text":
            assert pd.api.types.is_string_dtype(dtype), (table, column, dtype)
        else:
            assert dtype.kind == DTYPE_KIND[logical], (table, column, dtype)
            if logical in ("int", "decimal"):
                assert dtype.itemsize == 8, (table, column, dtype)
            if logical == "bool":
                assert dtype == np.dtype(bool), (table, column, dtype)


def test_sizes_scale_with_config(db: gen.SyntheticDatabase) -> None:
    n = round(gen.REAL_USERS * SMALL.scale)
    assert len(db.users) == n
    assert db.users["user_id"].is_unique and db.users["user_id"].is_monotonic_increasing
    # about 5.3 sessions and 1.9 flights / hotels per user, as in the real database
    assert 5.1 < len(db.sessions) / n < 5.5
    assert 1.8 < len(db.flights) / n < 1.95
    assert 1.8 < len(db.hotels) / n < 1.97


def test_timestamps_have_whole_seconds_and_dates_are_midnight(db: gen.SyntheticDatabase) -> None:
    assert (db.sessions["session_start"].dt.microsecond == 0).all()
    assert (db.users["sign_up_date"] == db.users["sign_up_date"].dt.normalize()).all()
    assert (db.users["birthdate"] == db.users["birthdate"].dt.normalize()).all()


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_frames(db: gen.SyntheticDatabase) -> None:
    again = gen.generate(SMALL)
    for name in ("users", "sessions", "flights", "hotels", "personas"):
        pd.testing.assert_frame_equal(getattr(db, name), getattr(again, name))


def test_different_seed_gives_different_frames(db: gen.SyntheticDatabase) -> None:
    other = gen.generate(GenerateConfig(seed=43, scale=SMALL.scale))
    assert not db.sessions["session_id"].equals(other.sessions["session_id"])
    assert not db.users["birthdate"].equals(other.users["birthdate"])


@pytest.mark.parametrize(
    "config",
    [
        GenerateConfig(seed=-1),
        GenerateConfig(scale=0.0),
        GenerateConfig(scale=1e-6),
        GenerateConfig(scale=float("nan")),
    ],
)
def test_invalid_config_is_a_config_error(config: GenerateConfig) -> None:
    with pytest.raises(ConfigError):
        gen.generate(config)


# --------------------------------------------------------------------------- ids


def _prefix(ids: pd.Series) -> pd.Series:
    return ids.str.extract(ID_PATTERN.pattern, expand=False).astype("int64")


def test_session_ids_are_user_prefixed_hex_and_unique(db: gen.SyntheticDatabase) -> None:
    s = db.sessions
    assert s["session_id"].str.fullmatch(ID_PATTERN.pattern).all()
    assert s["session_id"].is_unique
    assert (_prefix(s["session_id"]) == s["user_id"]).all()


def test_trip_ids_are_user_prefixed_hex(db: gen.SyntheticDatabase) -> None:
    s = db.sessions[db.sessions["trip_id"].notna()]
    assert s["trip_id"].str.fullmatch(ID_PATTERN.pattern).all()
    assert (_prefix(s["trip_id"]) == s["user_id"]).all()
    assert db.flights["trip_id"].is_unique and db.hotels["trip_id"].is_unique
    booked = set(s.loc[~s["cancellation"], "trip_id"])
    assert set(db.flights["trip_id"]) <= booked and set(db.hotels["trip_id"]) <= booked
    assert not set(db.sessions["session_id"]) & booked


def test_compose_ids_handles_nulls_and_digit_widths() -> None:
    users = np.array([7, 7, 42, 1234567, 1234567])
    valid = np.array([True, False, True, False, True])
    hexchars = np.full((3, 32), ord("a"), dtype="uint8")
    ids = gen._compose_ids(users, hexchars, valid)
    assert ids.isna().tolist() == [False, True, False, True, False]
    assert ids.dropna().tolist() == [f"{u}-{'a' * 32}" for u in (7, 42, 1234567)]
    with pytest.raises(ValueError, match="non-decreasing"):
        gen._compose_ids(np.array([2, 1]), np.zeros((2, 32), dtype="uint8"))


# --------------------------------------------------------------------------- NULL rules


def test_trip_id_is_null_exactly_for_browse_only_sessions(db: gen.SyntheticDatabase) -> None:
    s = db.sessions
    browse = ~s["flight_booked"] & ~s["hotel_booked"] & ~s["cancellation"]
    assert (s["trip_id"].isna() == browse).all()
    assert 0.53 < browse.mean() < 0.61  # FACTS: 57% of sessions have no trip_id


def test_discount_amounts_null_without_discount_or_on_cancellation(
    db: gen.SyntheticDatabase,
) -> None:
    s = db.sessions
    for kind in ("flight", "hotel"):
        has_amount = s[f"{kind}_discount_amount"].notna()
        assert (has_amount == (s[f"{kind}_discount"] & ~s["cancellation"])).all()
        amounts = s[f"{kind}_discount_amount"].dropna()
        assert amounts.between(0.05, 0.6).all()
        assert np.allclose(amounts * 20, np.round(amounts * 20))  # steps of 0.05


def test_return_time_null_exactly_for_one_way_flights(db: gen.SyntheticDatabase) -> None:
    f = db.flights
    assert (f["return_time"].isna() == ~f["return_flight_booked"]).all()
    assert 0.02 < (~f["return_flight_booked"]).mean() < 0.08
    two_way = f[f["return_flight_booked"]]
    assert (two_way["return_time"] > two_way["departure_time"]).all()


def test_persona_table_is_separate_and_covers_every_user(db: gen.SyntheticDatabase) -> None:
    p = db.personas
    assert list(p.columns) == ["user_id", "persona"]
    assert p["user_id"].tolist() == db.users["user_id"].tolist()
    assert set(p["persona"]) == set(gen.PERSONAS)
    for table in TABLES:
        assert "persona" not in getattr(db, table).columns
    assert set(gen.PERSONA_PERK) == set(gen.PERSONAS)
    assert set(gen.PERSONA_PERK.values()) == set(gen.PERKS)  # every perk has a persona


# --------------------------------------------------------------------------- cancellations


def test_cancellation_repeats_an_earlier_booking_of_the_same_user(
    db: gen.SyntheticDatabase,
) -> None:
    s = db.sessions
    cancels = s[s["cancellation"]]
    assert len(cancels) > 0
    assert cancels["trip_id"].notna().all() and cancels["trip_id"].is_unique
    assert (cancels["flight_booked"] & cancels["hotel_booked"]).all()
    assert (cancels["flight_discount"] & cancels["hotel_discount"]).all()
    assert cancels[["flight_discount_amount", "hotel_discount_amount"]].isna().all().all()
    bookings = s[s["trip_id"].notna() & ~s["cancellation"]]
    assert bookings["trip_id"].is_unique
    joined = cancels.merge(bookings, on="trip_id", suffixes=("", "_booking"))
    assert len(joined) == len(cancels)
    assert (joined["user_id"] == joined["user_id_booking"]).all()
    assert (joined["session_start"] > joined["session_start_booking"]).all()
    starts = (
        joined[["trip_id", "session_start"]]
        .merge(db.flights[["trip_id", "departure_time"]], on="trip_id", how="left")
        .merge(db.hotels[["trip_id", "check_in_time"]], on="trip_id", how="left")
    )
    trip_start = starts["departure_time"].fillna(starts["check_in_time"])
    assert (starts["session_start"] < trip_start).mean() > 0.97  # hotels may be reversed
    assert 0.03 < len(cancels) / len(bookings) < 0.05  # FACTS: about 4% of trips


# --------------------------------------------------------------------------- hotel quirks


def test_nights_follow_the_floor_rule_with_real_quirks(db: gen.SyntheticDatabase) -> None:
    h = db.hotels
    span = h["check_out_time"] - h["check_in_time"]
    floor = np.floor(span.dt.total_seconds() / 86_400)
    assert 0.88 < (floor == h["nights"]).mean() < 0.94  # FACTS: about 91%
    assert 0.06 < (h["nights"] <= 0).mean() < 0.13  # FACTS: about 9%
    reversed_ = span < pd.Timedelta(0)
    assert 0.008 < reversed_.mean() < 0.025  # FACTS: about 1.6%
    assert 0.003 < (h["nights"] < 0).mean() < 0.01  # FACTS: 0.63% of the whole table
    assert h["nights"].min() >= -2
    ordinary = h[~reversed_]
    assert (ordinary["check_out_time"].dt.hour == 11).all()
    assert (ordinary["check_in_time"].dt.hour >= 12).all()
    assert (h["hotel_per_room_usd"] % 1 == 0).all()
    assert h["hotel_name"].str.fullmatch(r".+ - [a-z .]+").all()


# --------------------------------------------------------------------------- cohort


COHORT_FIGURES = (
    "users_rows",
    "sessions_rows",
    "flights_rows",
    "hotels_rows",
    "sessions_after_cutoff",
    "cohort_users",
    "cohort_sessions",
    "cohort_sessions_per_user_mean",
    "cohort_sessions_per_user_median",
    "cohort_distinct_trips",
    "cohort_cancellation_sessions",
    "cohort_browse_only_sessions",
    "cohort_users_with_cancellation",
    "cohort_booking_sessions",
    "cohort_users_never_booked",
    "booking_mix_flight_and_hotel",
    "booking_mix_hotel_only",
    "booking_mix_flight_only",
    "flight_booked_share",
    "hotel_booked_share",
    "both_booked_share",
    "cohort_last_session_days_vs_2023-07-28",
)


def test_cohort_figures_scale_with_the_database(
    moderate: tuple[gen.SyntheticDatabase, float],
) -> None:
    db, scale = moderate
    figures = {f.name: f for f in fidelity(db, scale=scale)}
    bad = [f for name in COHORT_FIGURES if not (f := figures[name]).ok]
    assert not bad, bad
    per_user = db.sessions[db.sessions["session_start"] > "2023-01-04"].groupby("user_id").size()
    cohort = per_user[per_user > 7]
    assert cohort.between(8, 12).all()
    assert abs(len(cohort) / (5_998 * scale) - 1) < 0.2


def test_personas_differ_in_behaviour(moderate: tuple[gen.SyntheticDatabase, float]) -> None:
    db, _ = moderate
    s = db.sessions.merge(db.personas, on="user_id")
    trips = s[s["trip_id"].notna() & ~s["cancellation"]]
    seats = trips.merge(db.flights, on="trip_id").groupby("persona")["seats"].mean()
    assert seats["family"] > 2.5 and seats["couple"] == 2 and seats["business"] == 1
    conversion = trips.groupby("persona").size() / s.groupby("persona").size()
    assert conversion["business"] > 1.5 * conversion["senior"] > 10 * conversion["dreamer"]
    deal_share = trips.groupby("persona")["flight_discount"].mean()
    assert deal_share["budget_hunter"] > 0.9 > 0.2 > deal_share["luxury"]
    cancel = s.groupby("persona")["cancellation"].sum()
    assert cancel["business"] > cancel.drop("business").sum()
    ages = db.users.merge(db.personas, on="user_id").groupby("persona")["birthdate"].median()
    assert ages["senior"] < ages["luxury"] < ages["business"] < ages["budget_hunter"]


# --------------------------------------------------------------------------- helpers, geo


def test_systematic_picks_floor_or_ceil_of_the_expected_count() -> None:
    rng = np.random.default_rng(0)
    owner = np.repeat(np.arange(1000), 8)
    picks = gen._systematic(rng, owner, np.full(len(owner), 0.3), 1000)
    counts = np.bincount(owner, weights=picks)
    assert set(np.unique(counts)) <= {2.0, 3.0}
    assert abs(counts.mean() - 2.4) < 0.05


def test_draw_pmf_matches_probabilities() -> None:
    cum = gen._pmf_table([(0.0, 1.0), (0.2, 0.3, 0.5)])
    group = np.repeat([0, 1], 50_000)
    draws = gen._draw_pmf(np.random.default_rng(1), cum, group)
    assert (draws[:50_000] == 1).all()
    shares = np.bincount(draws[50_000:], minlength=3) / 50_000
    assert np.allclose(shares, [0.2, 0.3, 0.5], atol=0.01)


def test_haversine_known_distances_and_vectorised() -> None:
    jfk_lhr = haversine_km(40.6413, -73.7781, 51.4700, -0.4543)
    assert abs(float(jfk_lhr) - 5540) < 5
    lat = np.array([40.6413, 33.9416])
    lon = np.array([-73.7781, -118.4085])
    out = haversine_km(lat, lon, lat[::-1], lon[::-1])
    assert out.shape == (2,) and abs(out[0] - 3983) < 10 and out[0] == out[1]
    assert haversine_km(10.0, 20.0, 10.0, 20.0) == 0.0


def test_airport_table_is_consistent() -> None:
    codes = [a.iata for a in AIRPORTS]
    assert len(codes) == len(set(codes)) and all(re.fullmatch(r"[A-Z]{3}", c) for c in codes)
    assert {a.country for a in home_airports()} == {"usa", "canada"}
    cities = [a.city for a in destinations()]
    assert len(cities) == len(set(cities))
    assert {"london", "paris", "cancun", "tokyo"} <= set(cities)
    assert all(-90 <= a.lat <= 90 and -180 <= a.lon <= 180 for a in AIRPORTS)


# --------------------------------------------------------------------------- full scale


@pytest.mark.slow
def test_full_scale_matches_facts_fast_enough() -> None:
    start = time.perf_counter()
    db = gen.generate(GenerateConfig())
    elapsed = time.perf_counter() - start
    assert elapsed < 30
    bad = [f for f in fidelity(db) if not f.ok]
    assert not bad, bad
