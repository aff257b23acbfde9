"""The cleaning rules, run as the stage runs them (SQL on DuckDB), on small hand-made cohorts."""

import numpy as np
import pandas as pd
import pytest

from traveltide.config import CleanConfig, OutlierCaps
from traveltide.errors import DataError
from traveltide.features.clean import clean_sessions

T = pd.Timestamp
NO_CAPS = OutlierCaps(columns=())


def sessions() -> pd.DataFrame:
    """Five sessions: a duplicate, a reversed session, a booked-then-cancelled trip, bad nights."""
    return pd.DataFrame(
        {
            "session_id": ["1-a", "1-a", "1-b", "1-c", "2-d"],
            "user_id": pd.array([1, 1, 1, 1, 2], dtype="Int64"),
            "trip_id": [None, None, "1-t", "1-t", "2-u"],
            "session_start": [T("2023-02-01 10:00")] * 2
            + [T("2023-02-02 10:00"), T("2023-02-03 10:05"), T("2023-02-04 10:00")],
            "session_end": [T("2023-02-01 10:01")] * 2
            + [T("2023-02-02 10:02"), T("2023-02-03 10:00"), T("2023-02-04 10:03")],
            "cancellation": pd.array([False, False, False, True, False], dtype="boolean"),
            "nights": pd.array([None, None, 0, 0, -1], dtype="Int64"),
            "check_in_time": [
                pd.NaT,
                pd.NaT,
                T("2023-03-01 15:00"),
                T("2023-03-01 15:00"),
                T("2023-03-08 11:00"),
            ],
            "check_out_time": [
                pd.NaT,
                pd.NaT,
                T("2023-03-02 11:00"),
                T("2023-03-02 11:00"),
                T("2023-03-05 15:00"),
            ],
        }
    )


def test_counts_every_rule_and_repairs():
    df, q = clean_sessions(sessions(), CleanConfig("recompute", True, NO_CAPS))
    assert (q.sessions_in, q.sessions_out, q.duplicate_sessions_dropped) == (5, 4, 1)
    assert q.session_times_swapped == 1
    assert (q.cancellation_sessions, q.cancelled_trips) == (1, 1)
    assert df.loc[df["trip_id"] == "1-t", "trip_cancelled"].all()
    assert not df.loc[df["trip_id"] == "2-u", "trip_cancelled"].any()
    assert (df["session_seconds"] > 0).all()
    # 1-t: 15:00 -> 11:00 next day floors to 0 and is clamped; 2-u is reversed, swapped: 2 days
    assert q.nights_invalid == 3 and q.hotel_times_swapped == 1
    assert q.nights_recomputed == 1 and q.nights_clamped == 2
    assert df.loc[df["trip_id"] == "2-u", "nights"].item() == 2
    u = df.loc[df["trip_id"] == "2-u"].iloc[0]
    assert u["check_in_time"] < u["check_out_time"]
    assert (df["nights"].dropna() >= 1).all()
    assert df["is_booking"].tolist() == [False, True, False, True]
    # the cohort's columns in their order, then clean's, sorted by user, start and session
    assert list(df.columns) == [
        *sessions().columns,
        "trip_cancelled",
        "session_seconds",
        "is_booking",
    ]
    assert df["session_id"].tolist() == ["1-a", "1-b", "1-c", "2-d"]
    assert df["nights"].dtype == "Int64" and df["cancellation"].dtype == "boolean"


def test_clamp_policy_does_not_recompute():
    df, q = clean_sessions(sessions(), CleanConfig("clamp", True, NO_CAPS))
    assert q.nights_recomputed == 0 and q.nights_clamped == 3 and q.hotel_times_swapped == 0
    assert df["nights"].dropna().tolist() == [1, 1, 1]
    u = df.loc[df["trip_id"] == "2-u"].iloc[0]
    assert u["check_in_time"] > u["check_out_time"]  # left as it was


def test_keeps_repeats_when_asked():
    df, q = clean_sessions(sessions(), CleanConfig("recompute", False, NO_CAPS))
    assert q.sessions_out == 5 and q.duplicate_sessions_dropped == 0
    assert df["session_id"].tolist() == ["1-a", "1-a", "1-b", "1-c", "2-d"]


def test_input_is_not_modified():
    df = sessions()
    before = df.copy()
    clean_sessions(df, CleanConfig("recompute", True, NO_CAPS))
    pd.testing.assert_frame_equal(df, before)


def long_tail() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    fares = rng.lognormal(6, 1, 1_000)
    fares[::7] = np.nan  # sessions without a flight
    start = T("2023-02-01") + pd.to_timedelta(np.arange(1_000), unit="min")
    return pd.DataFrame(
        {
            "session_id": [f"1-{i:04d}" for i in range(1_000)],
            "user_id": pd.array(np.arange(1_000) // 10, dtype="Int64"),
            "trip_id": [None] * 1_000,
            "session_start": start,
            "session_end": start + pd.Timedelta(seconds=30),
            "cancellation": pd.array([False] * 1_000, dtype="boolean"),
            "nights": pd.array([None] * 1_000, dtype="Int64"),
            "check_in_time": pd.Series([pd.NaT] * 1_000, dtype="datetime64[us]"),
            "check_out_time": pd.Series([pd.NaT] * 1_000, dtype="datetime64[us]"),
            "base_fare_usd": fares,
            "page_clicks": pd.array(rng.geometric(0.05, 1_000), dtype="Int64"),
            "airline": "x",
        }
    )


def test_percentile_caps_match_numpy_and_count_rows():
    df = long_tail()
    caps = OutlierCaps("percentile", 0.95, 3.0, ("base_fare_usd", "page_clicks"))
    out, q = clean_sessions(df, CleanConfig(outlier_caps=caps))
    fares = df["base_fare_usd"].dropna().to_numpy()
    cap = np.quantile(fares, 0.95)
    assert q.outlier_cap_values["base_fare_usd"] == pytest.approx(cap, rel=1e-15)
    assert q.outliers_capped["base_fare_usd"] == int((fares > cap).sum()) > 0
    assert out["base_fare_usd"].max() == pytest.approx(cap, rel=1e-15)
    assert out["base_fare_usd"].isna().sum() == df["base_fare_usd"].isna().sum()
    below = (df["base_fare_usd"] <= cap).to_numpy()
    assert (out["base_fare_usd"].to_numpy()[below] == df["base_fare_usd"].to_numpy()[below]).all()
    # integer columns keep a whole-number cap and their type
    clicks = df["page_clicks"].to_numpy(float)
    assert q.outlier_cap_values["page_clicks"] == np.floor(np.quantile(clicks, 0.95))
    assert q.outliers_capped["page_clicks"] == int(
        (clicks > np.floor(np.quantile(clicks, 0.95))).sum()
    )
    assert out["page_clicks"].dtype == "Int64"


def test_iqr_caps_and_none_policy():
    df = long_tail()
    fares = df["base_fare_usd"].dropna()
    q1, q3 = np.quantile(fares, [0.25, 0.75])
    _, q = clean_sessions(
        df, CleanConfig(outlier_caps=OutlierCaps("iqr", 0.99, 1.5, ("base_fare_usd",)))
    )
    assert q.outlier_cap_values["base_fare_usd"] == pytest.approx(q3 + 1.5 * (q3 - q1), rel=1e-14)
    assert q.outliers_capped["base_fare_usd"] == int((fares > q3 + 1.5 * (q3 - q1)).sum())
    none = OutlierCaps("none", 0.99, 1.5, ("base_fare_usd",))
    out, q = clean_sessions(df, CleanConfig(outlier_caps=none))
    assert q.outliers_capped == {"base_fare_usd": 0} and q.outlier_cap_values == {
        "base_fare_usd": None
    }
    np.testing.assert_array_equal(out["base_fare_usd"], df["base_fare_usd"])


def test_cap_columns_must_exist_and_be_numeric():
    df = long_tail()
    with pytest.raises(DataError, match=r"clean.outlier_caps.columns: no column fare_usd"):
        clean_sessions(df, CleanConfig(outlier_caps=OutlierCaps(columns=("fare_usd",))))
    with pytest.raises(DataError, match=r"airline is string, not numeric"):
        clean_sessions(df, CleanConfig(outlier_caps=OutlierCaps(columns=("airline",))))


def test_a_missing_column_is_named():
    with pytest.raises(DataError, match=r"the cohort lacks column\(s\) nights, check_in_time"):
        clean_sessions(sessions().drop(columns=["nights", "check_in_time"]), CleanConfig())


def test_reversed_times_policy_error_names_the_session():
    config = CleanConfig("recompute", True, NO_CAPS, reversed_times="error")
    with pytest.raises(DataError, match=r"session_end before session_start in 1 .*1-c"):
        clean_sessions(sessions(), config)
