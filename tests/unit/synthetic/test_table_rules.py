"""The real tables' rules in the generated ones: NULL rules, cancellations, hotel nights quirks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from traveltide.synthetic.generate import SyntheticDatabase

# --------------------------------------------------------------------------- NULL rules


def test_trip_id_is_null_exactly_for_browse_only_sessions(db: SyntheticDatabase) -> None:
    s = db.sessions
    browse = ~s["flight_booked"] & ~s["hotel_booked"] & ~s["cancellation"]
    assert (s["trip_id"].isna() == browse).all()
    assert 0.53 < browse.mean() < 0.61  # FACTS: 57% of sessions have no trip_id


def test_discount_amounts_null_without_discount_or_on_cancellation(
    db: SyntheticDatabase,
) -> None:
    s = db.sessions
    for kind in ("flight", "hotel"):
        has_amount = s[f"{kind}_discount_amount"].notna()
        assert (has_amount == (s[f"{kind}_discount"] & ~s["cancellation"])).all()
        amounts = s[f"{kind}_discount_amount"].dropna()
        assert amounts.between(0.05, 0.6).all()
        assert np.allclose(amounts * 20, np.round(amounts * 20))  # steps of 0.05


def test_return_time_null_exactly_for_one_way_flights(db: SyntheticDatabase) -> None:
    f = db.flights
    assert (f["return_time"].isna() == ~f["return_flight_booked"]).all()
    assert 0.02 < (~f["return_flight_booked"]).mean() < 0.08
    two_way = f[f["return_flight_booked"]]
    assert (two_way["return_time"] > two_way["departure_time"]).all()


# --------------------------------------------------------------------------- cancellations


def test_cancellation_repeats_an_earlier_booking_of_the_same_user(
    db: SyntheticDatabase,
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


def test_nights_follow_the_floor_rule_with_real_quirks(db: SyntheticDatabase) -> None:
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
