"""NULLs a feature needs and broken inputs stop the stage with a one-line DataError."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from feature_cases import CONFIG, cleaned, tiny_rows
from traveltide.config import FeaturesConfig
from traveltide.errors import DataError
from traveltide.features.build import build_features, check_finite
from traveltide.features.catalog import FEATURE_NAMES
from traveltide.features.sessions import read_sessions
from traveltide.io import write_parquet


def test_null_in_a_needed_column_names_feature_and_user():
    rows = tiny_rows()
    rows[3] = {**rows[3], "seats": None}  # user 1's flight to ORD
    with pytest.raises(DataError) as err:
        build_features(cleaned(rows), CONFIG)
    msg = str(err.value)
    assert "'avg_fare_per_seat_usd'" in msg and "avg_seats" in msg and "user_id 1" in msg


def test_null_clicks_and_null_discount_amount():
    rows = tiny_rows()
    rows[7] = {**rows[7], "page_clicks": None}  # user 2
    with pytest.raises(DataError, match=r"'total_page_clicks' .* user_id 2"):
        build_features(cleaned(rows), CONFIG)
    rows = tiny_rows()
    rows[1] = {**rows[1], "flight_discount_amount": None}  # flag set, amount unknown: 0
    got = build_features(cleaned(rows), CONFIG).set_index("user_id").loc[1]
    assert got["ads_usd"] == 0.0
    assert got["flight_spend_usd"] == pytest.approx(1300.0)
    assert got["flight_discount_share"] == pytest.approx(2 / 5)
    assert got["avg_flight_discount"] == pytest.approx(0.10)


def test_check_finite_names_feature_and_a_user():
    table = pd.DataFrame({"user_id": [7, 8, 9], **{n: [0.0, 0.0, 0.0] for n in FEATURE_NAMES}})
    check_finite(table)
    table.loc[1, "avg_km"] = np.inf
    table.loc[2, "avg_km"] = np.nan
    table.loc[2, "age_years"] = np.nan
    with pytest.raises(DataError) as err:
        check_finite(table)
    assert "'avg_km'" in str(err.value) and "2 user(s)" in str(err.value)
    assert "user_id 8" in str(err.value) and "age_years" in str(err.value)


def test_input_errors_are_data_errors(tmp_path):
    sessions = cleaned(tiny_rows())
    with pytest.raises(DataError, match="missing input"):
        read_sessions(tmp_path / "nope.parquet")
    write_parquet(sessions.drop(columns="rooms"), tmp_path / "s.parquet")
    with pytest.raises(DataError, match=r"lack column\(s\) rooms"):
        build_features(read_sessions(tmp_path / "s.parquet"), CONFIG)
    with pytest.raises(DataError, match="no sessions"):
        build_features(sessions.iloc[:0], CONFIG)
    with pytest.raises(DataError, match="lack column.*page_clicks"):
        build_features(sessions.drop(columns="page_clicks"), CONFIG)
    with pytest.raises(DataError, match="reference_date 2023-05-01 is before"):
        build_features(sessions, FeaturesConfig(reference_date=dt.date(2023, 5, 1)))
