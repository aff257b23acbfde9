import numpy as np
import pandas as pd
import pytest

from traveltide.config import CleanConfig, OutlierCaps
from traveltide.errors import DataError
from traveltide.features.clean import cap_outliers, clean_sessions, fix_nights

T = pd.Timestamp
NO_CAPS = OutlierCaps(columns=())


def sessions() -> pd.DataFrame:
    """Five sessions: a duplicate, a reversed session, a booked-then-cancelled trip, bad nights."""
    return pd.DataFrame(
        {
            "session_id": ["1-a", "1-a", "1-b", "1-c", "2-d"],
            "user_id": [1, 1, 1, 1, 2],
            "trip_id": [None, None, "1-t", "1-t", "2-u"],
            "session_start": [T("2023-02-01 10:00")] * 2
            + [T("2023-02-02 10:00"), T("2023-02-03 10:05"), T("2023-02-04 10:00")],
            "session_end": [T("2023-02-01 10:01")] * 2
            + [T("2023-02-02 10:02"), T("2023-02-03 10:00"), T("2023-02-04 10:03")],
            "cancellation": [False, False, False, True, False],
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
    assert (df["nights"].dropna() >= 1).all()
    assert df["is_booking"].tolist() == [False, True, False, True]


def test_clamp_policy_does_not_recompute():
    out, counts = fix_nights(sessions(), policy="clamp")
    assert counts["nights_recomputed"] == 0 and counts["nights_clamped"] == 3
    assert out["nights"].dropna().tolist() == [1, 1, 1]


def test_input_is_not_modified():
    df = sessions()
    before = df.copy()
    clean_sessions(df, CleanConfig("recompute", True, NO_CAPS))
    pd.testing.assert_frame_equal(df, before)


def long_tail() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    fares = rng.lognormal(6, 1, 1_000)
    fares[::7] = np.nan  # sessions without a flight
    return pd.DataFrame(
        {
            "base_fare_usd": fares,
            "page_clicks": pd.array(rng.geometric(0.05, 1_000), dtype="Int64"),
        }
    )


def test_percentile_caps_match_numpy_and_count_rows():
    df = long_tail()
    caps = OutlierCaps("percentile", 0.95, 3.0, ("base_fare_usd", "page_clicks"))
    out, counts, values = cap_outliers(df, caps)
    fares = df["base_fare_usd"].dropna().to_numpy()
    cap = np.quantile(fares, 0.95)
    assert values["base_fare_usd"] == pytest.approx(cap)
    assert counts["base_fare_usd"] == int((fares > cap).sum()) > 0
    assert out["base_fare_usd"].max() == pytest.approx(cap)
    assert out["base_fare_usd"].isna().sum() == df["base_fare_usd"].isna().sum()
    below = df["base_fare_usd"] <= cap
    assert out.loc[below, "base_fare_usd"].equals(df.loc[below, "base_fare_usd"])
    # integer columns keep a whole-number cap and their dtype
    assert values["page_clicks"] == np.floor(np.quantile(df["page_clicks"].to_numpy(float), 0.95))
    assert out["page_clicks"].dtype == df["page_clicks"].dtype


def test_iqr_caps_and_none_policy():
    df = long_tail()
    fares = df["base_fare_usd"].dropna()
    q1, q3 = np.quantile(fares, [0.25, 0.75])
    _, counts, values = cap_outliers(df, OutlierCaps("iqr", 0.99, 1.5, ("base_fare_usd",)))
    assert values["base_fare_usd"] == pytest.approx(q3 + 1.5 * (q3 - q1))
    assert counts["base_fare_usd"] == int((fares > q3 + 1.5 * (q3 - q1)).sum())
    out, counts, values = cap_outliers(df, OutlierCaps("none", 0.99, 1.5, ("base_fare_usd",)))
    assert counts == {"base_fare_usd": 0} and values == {"base_fare_usd": None}
    assert out.equals(df)


def test_cap_columns_must_exist_and_be_numeric():
    df = long_tail().assign(airline="x")
    with pytest.raises(DataError, match=r"clean.outlier_caps.columns: no column fare_usd"):
        cap_outliers(df, OutlierCaps(columns=("fare_usd",)))
    with pytest.raises(DataError, match=r"airline is .*not numeric"):
        cap_outliers(df, OutlierCaps(columns=("airline",)))


def test_reversed_times_policy_error_names_the_session():
    config = CleanConfig("recompute", True, NO_CAPS, reversed_times="error")
    with pytest.raises(DataError, match=r"session_end before session_start in 1 .*1-c"):
        clean_sessions(sessions(), config)
