import pandas as pd

from traveltide.clean import clean_sessions, fix_nights
from traveltide.config import CleanConfig

T = pd.Timestamp


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
    df, q = clean_sessions(sessions(), CleanConfig("recompute", True))
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
    clean_sessions(df, CleanConfig("recompute", True))
    pd.testing.assert_frame_equal(df, before)
