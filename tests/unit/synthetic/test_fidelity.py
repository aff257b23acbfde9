"""fidelity(): each FACTS.md figure recomputed from the tables, on known data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from traveltide.config import GenerateConfig
from traveltide.schema import TABLES
from traveltide.synthetic.fidelity import (
    FidelityFigure,
    fidelity,
    fidelity_frame,
    fidelity_report,
)
from traveltide.synthetic.generate import SyntheticDatabase, generate


def _empty(table: str) -> pd.DataFrame:
    """An empty frame with the table's columns and plausible dtypes."""
    dtypes = {
        "int": "int64",
        "decimal": "float64",
        "bool": "bool",
        "text": "str",
        "date": "datetime64[us]",
        "timestamp": "datetime64[us]",
    }
    return pd.DataFrame({c: pd.Series(dtype=dtypes[t]) for c, t in TABLES[table].items()})


def _hand_made() -> SyntheticDatabase:
    """User 1: 8 sessions after the cut-off (one books a flight+hotel, one cancels it).
    User 2: 7 sessions after it plus one exactly at the cut-off (not after it)."""
    rows = []
    for user, starts in (
        (1, pd.date_range("2023-02-01", periods=8, freq="7D")),
        (2, [pd.Timestamp("2023-01-04"), *pd.date_range("2023-02-01", periods=7, freq="7D")]),
    ):
        for i, start in enumerate(starts):
            rows.append(
                {
                    "session_id": f"{user}-{i:032x}",
                    "user_id": user,
                    "trip_id": None,
                    "session_start": start,
                    "session_end": start + pd.Timedelta(seconds=60),
                    "flight_discount": False,
                    "hotel_discount": False,
                    "flight_discount_amount": np.nan,
                    "hotel_discount_amount": np.nan,
                    "flight_booked": False,
                    "hotel_booked": False,
                    "page_clicks": 10,
                    "cancellation": False,
                }
            )
    trip = "1-" + "f" * 32
    rows[1].update(
        trip_id=trip,
        flight_booked=True,
        hotel_booked=True,
        flight_discount=True,
        flight_discount_amount=0.1,
    )
    rows[2].update(
        trip_id=trip,
        flight_booked=True,
        hotel_booked=True,
        cancellation=True,
        flight_discount=True,
        hotel_discount=True,
    )
    sessions = pd.DataFrame(rows)[list(TABLES["sessions"])]
    users = pd.DataFrame(
        {
            "user_id": [1, 2],
            "birthdate": pd.to_datetime(["1980-01-01", "2006-05-01"]),
            "gender": ["F", "M"],
            "married": [True, False],
            "has_children": [False, False],
            "home_country": ["usa", "canada"],
            "home_city": ["new york", "toronto"],
            "home_airport": ["JFK", "YYZ"],
            "home_airport_lat": [40.64, 43.68],
            "home_airport_lon": [-73.78, -79.62],
            "sign_up_date": pd.to_datetime(["2022-01-01", "2022-06-01"]),
        }
    )
    flights = pd.DataFrame(
        {
            "trip_id": [trip],
            "origin_airport": ["JFK"],
            "destination": ["london"],
            "destination_airport": ["LHR"],
            "seats": [2],
            "return_flight_booked": [False],
            "departure_time": pd.to_datetime(["2023-03-01 10:00"]),
            "return_time": [pd.NaT],
            "checked_bags": [1],
            "trip_airline": ["British Airways"],
            "destination_airport_lat": [51.47],
            "destination_airport_lon": [-0.45],
            "base_fare_usd": [800.0],
        }
    )
    hotels = pd.DataFrame(
        {
            "trip_id": [trip],
            "hotel_name": ["Hilton - london"],
            "nights": [0],
            "rooms": [1],
            "check_in_time": pd.to_datetime(["2023-03-01 15:00"]),
            "check_out_time": pd.to_datetime(["2023-03-02 11:00"]),
            "hotel_per_room_usd": [200.0],
        }
    )
    personas = pd.DataFrame({"user_id": [1, 2], "persona": ["couple", "dreamer"]})
    return SyntheticDatabase(users, sessions, flights, hotels, personas)


def _by_name(figures: list[FidelityFigure]) -> dict[str, FidelityFigure]:
    return {f.name: f for f in figures}


def test_known_values_on_a_hand_made_database() -> None:
    f = _by_name(fidelity(_hand_made(), scale=1e-6))
    assert f["users_rows"].value == 2
    assert f["sessions_rows"].value == 16
    assert f["sessions_after_cutoff"].value == 15  # 2023-01-04 00:00 is not after it
    assert f["cohort_users"].value == 1
    assert f["cohort_sessions"].value == 8
    assert f["cohort_distinct_trips"].value == 1
    assert f["cohort_cancellation_sessions"].value == 1
    assert f["cohort_browse_only_sessions"].value == 6
    assert f["cohort_booking_sessions"].value == 1
    assert f["cohort_users_never_booked"].value == 0
    assert f["booking_mix_flight_and_hotel"].value == 1.0
    assert f["one_way_share"].value == 1.0
    assert f["seats_mean"].value == 2.0  # booking and cancellation rows join the flight
    assert f["nights_nonpositive_share"].value == 1.0
    assert f["nights_equal_floor_share"].value == 1.0
    assert f["flight_discount_amount_share"].value == pytest.approx(1 / 8)
    assert f["users_born_2006"].value == 1
    assert f["cohort_last_session_days_vs_2023-07-28"].value < 0
    # per user: user 1 has 8 sessions, 2 with the trip (booking, cancellation), 10 clicks each
    assert f["per_user_page_clicks_mean"].value == 10.0
    assert f["per_user_page_clicks_max"].value == 10.0
    assert np.isnan(f["per_user_corr_trips_flights"].value)  # one user: undefined, not ok
    assert not f["per_user_corr_trips_flights"].ok
    report = fidelity_report(_hand_made(), scale=1e-6)
    found = {d.name: d for d in report.distributions}
    assert found["per_user_sessions"].value == (1.0, 0.0, 0.0, 0.0)
    assert found["per_user_trip_sessions"].value[2] == 1.0
    assert found["per_user_cancellation_sessions"].value == (0.0, 1.0, 0.0)
    for d in report.distributions:  # each distribution is also a figure: its TVD
        assert f[f"{d.name}_tvd"].value == d.tvd and f[f"{d.name}_tvd"].ok == d.ok


def test_cohort_boundary_and_threshold_are_parameters() -> None:
    db = _hand_made()
    inclusive = _by_name(fidelity(db, session_start_after="2023-01-03", scale=1e-6))
    assert inclusive["cohort_users"].value == 2  # user 2's session on 01-04 now counts
    lower = _by_name(fidelity(db, min_sessions=6, scale=1e-6))
    assert lower["cohort_users"].value == 2
    higher = _by_name(fidelity(db, min_sessions=8, scale=1e-6))
    assert higher["cohort_users"].value == 0


def test_targets_scale_and_ok_follows_tolerance() -> None:
    f = _by_name(fidelity(_hand_made(), scale=0.5))
    assert f["users_rows"].target == pytest.approx(1_020_926 * 0.5)
    assert not f["users_rows"].ok  # 2 users are far from half a million
    assert f["cohort_sessions_per_user_mean"].target == 8.2  # a mean does not scale
    for fig in f.values():
        assert fig.ok == bool(abs(fig.value - fig.target) <= fig.tolerance + 1e-9)


def test_figure_is_frozen_and_frame_has_one_row_per_figure() -> None:
    figures = fidelity(_hand_made(), scale=1e-6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        figures[0].value = 0.0  # type: ignore[misc]
    frame = fidelity_frame(figures)
    assert list(frame.columns) == ["name", "target", "value", "tolerance", "ok"]
    assert frame["name"].is_unique and len(frame) == len(figures)


def test_empty_database_gives_figures_not_errors() -> None:
    db = SyntheticDatabase(*(_empty(t) for t in TABLES), pd.DataFrame())
    f = _by_name(fidelity(db, scale=1e-6))
    assert f["cohort_users"].value == 0
    assert not f["cohort_sessions_per_user_median"].ok  # NaN is never ok


def test_generated_database_passes_and_a_broken_one_fails() -> None:
    scale = 0.02
    db = generate(GenerateConfig(seed=3, scale=scale))
    f = _by_name(fidelity(db, scale=scale))
    for name in (
        "users_rows",
        "sessions_rows",
        "cohort_users",
        "cohort_booking_sessions",
        "nights_equal_floor_share",
        "gender_f_share",
        "cohort_sessions_per_user_median",
        "per_user_trip_sessions_tvd",
        "per_user_flight_sessions_tvd",
        "per_user_corr_trips_flights",
        "per_user_page_clicks_median",
    ):
        assert f[name].ok, f[name]
    no_cancel = db.sessions.assign(cancellation=False)
    broken = _by_name(fidelity(dataclasses.replace(db, sessions=no_cancel), scale=scale))
    assert not broken["cohort_cancellation_sessions"].ok
    assert not broken["cancellations_2023"].ok
    assert not broken["per_user_cancellation_sessions_tvd"].ok
    no_flight = db.sessions.assign(flight_booked=False)
    broken = _by_name(fidelity(dataclasses.replace(db, sessions=no_flight), scale=scale))
    assert not broken["per_user_flight_sessions_tvd"].ok
    assert not broken["per_user_corr_trips_flights"].ok
