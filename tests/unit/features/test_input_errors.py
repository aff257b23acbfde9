"""NULLs a feature needs and broken inputs stop the stage with a one-line DataError."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from feature_cases import CONFIG, cleaned, tiny_rows
from traveltide.config import FeaturesConfig
from traveltide.engines.duck import DuckDBEngine
from traveltide.errors import DataError
from traveltide.features.build import build_features, check_finite, features_file
from traveltide.features.catalog import FEATURE_NAMES
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


def finite_check(table: pd.DataFrame, tmp_path) -> None:
    write_parquet(table, tmp_path / "t.parquet")
    engine = DuckDBEngine()
    try:
        engine.load("t", tmp_path / "t.parquet", what="a test")
        check_finite(engine, "t")
    finally:
        engine.close()


def test_check_finite_names_feature_and_a_user(tmp_path):
    table = pd.DataFrame({"user_id": [7, 8, 9], **{n: [0.0, 0.0, 0.0] for n in FEATURE_NAMES}})
    finite_check(table, tmp_path)
    table.loc[1, "avg_km"] = np.inf
    table.loc[2, "avg_km"] = np.nan
    table.loc[2, "age_years"] = np.nan
    with pytest.raises(DataError) as err:
        finite_check(table, tmp_path)
    assert "'avg_km'" in str(err.value) and "2 user(s)" in str(err.value)
    assert "user_id 8" in str(err.value) and "age_years" in str(err.value)


def test_input_errors_are_data_errors(tmp_path):
    sessions = cleaned(tiny_rows())
    engine = DuckDBEngine()
    with pytest.raises(DataError, match="missing input"):
        features_file(engine, tmp_path / "nope.parquet", tmp_path / "f.parquet", CONFIG)
    engine.close()
    with pytest.raises(DataError, match=r"lack column\(s\) rooms"):
        build_features(sessions.drop(columns="rooms"), CONFIG)
    with pytest.raises(DataError, match="no sessions"):
        build_features(sessions.iloc[:0], CONFIG)
    with pytest.raises(DataError, match="lack column.*page_clicks"):
        build_features(sessions.drop(columns="page_clicks"), CONFIG)
    with pytest.raises(DataError, match="reference_date 2023-05-01 is before"):
        build_features(sessions, FeaturesConfig(reference_date=dt.date(2023, 5, 1)))
    with pytest.raises(DataError, match="NULL user_id"):
        build_features(sessions.assign(user_id=pd.array([None, *range(8)], dtype="Int64")), CONFIG)


def test_a_failed_check_replaces_no_output(tmp_path):
    """The table is checked before it replaces the old one: a NULL leaves the old file."""
    rows = tiny_rows()
    rows[3] = {**rows[3], "seats": None}
    write_parquet(cleaned(rows), tmp_path / "s.parquet")
    (tmp_path / "f.parquet").write_bytes(b"old")
    engine = DuckDBEngine()
    try:
        with pytest.raises(DataError, match="avg_fare_per_seat_usd"):
            features_file(engine, tmp_path / "s.parquet", tmp_path / "f.parquet", CONFIG)
    finally:
        engine.close()
    assert (tmp_path / "f.parquet").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.parquet", "s.parquet"]
