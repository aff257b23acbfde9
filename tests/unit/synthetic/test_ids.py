"""Session and trip ids: '<user_id>-<32 hex>', unique, NULL where a session has no trip."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from traveltide.synthetic.generate import SyntheticDatabase
from traveltide.synthetic.ids import compose_ids

ID_PATTERN = re.compile(r"^(\d+)-[0-9a-f]{32}$")


def _prefix(ids: pd.Series) -> pd.Series:
    return ids.str.extract(ID_PATTERN.pattern, expand=False).astype("int64")


def test_session_ids_are_user_prefixed_hex_and_unique(db: SyntheticDatabase) -> None:
    s = db.sessions
    assert s["session_id"].str.fullmatch(ID_PATTERN.pattern).all()
    assert s["session_id"].is_unique
    assert (_prefix(s["session_id"]) == s["user_id"]).all()


def test_trip_ids_are_user_prefixed_hex(db: SyntheticDatabase) -> None:
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
    ids = compose_ids(users, hexchars, valid)
    assert ids.isna().tolist() == [False, True, False, True, False]
    assert ids.dropna().tolist() == [f"{u}-{'a' * 32}" for u in (7, 42, 1234567)]
    with pytest.raises(ValueError, match="non-decreasing"):
        compose_ids(np.array([2, 1]), np.zeros((2, 32), dtype="uint8"))
