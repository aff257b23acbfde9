"""Extract's cohort streamed into its file a row group at a time (traveltide.sources.cohort_file):
the bytes `write_parquet(extract_cohort(...))` gives, the same figures, the same errors, and a
failure replaces nothing."""

import datetime as dt

import pandas as pd
import pytest

from traveltide.config import CohortConfig
from traveltide.errors import DataError
from traveltide.io import read_parquet, write_parquet
from traveltide.sources import cohort_file as streaming
from traveltide.sources.extract import extract_cohort, summarise

CONFIG = CohortConfig(dt.date(2023, 1, 4), 7)
WIDE = CohortConfig(dt.date(2023, 1, 4), 0)


def streamed(source, target, config=CONFIG):
    with streaming.cohort_file(source, config, target) as cohort:
        return cohort


@pytest.mark.parametrize("config", [CONFIG, WIDE], ids=["cohort", "wide"])
def test_the_file_is_write_parquet_of_the_frame(embedded_source, tmp_path, config):
    frame = extract_cohort(embedded_source, config)
    write_parquet(frame, tmp_path / "frame.parquet")
    cohort = streamed(embedded_source, tmp_path / "streamed.parquet", config)
    assert (tmp_path / "streamed.parquet").read_bytes() == (tmp_path / "frame.parquet").read_bytes()
    assert cohort.summary == summarise(frame)
    assert cohort.users.tolist() == sorted(frame["user_id"].unique().tolist())


def test_small_groups_and_query_parts_give_the_same_rows(embedded_source, tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "ROW_GROUP", 997)
    monkeypatch.setattr(streaming, "USERS_PER_PART", 5001)  # the query runs in several parts
    frame = extract_cohort(embedded_source, WIDE)
    cohort = streamed(embedded_source, tmp_path / "c.parquet", WIDE)
    write_parquet(frame, tmp_path / "frame.parquet")
    got = read_parquet(tmp_path / "c.parquet", what="cohort")
    expected = read_parquet(tmp_path / "frame.parquet", what="cohort")
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert cohort.summary == summarise(frame)


def broken(small_db, folder, **tables):
    from traveltide.sources.db import Source

    for table in ("users", "sessions", "flights", "hotels"):
        write_parquet(tables.get(table, getattr(small_db, table)), folder / f"{table}.parquet")
    return Source(None, folder)


def test_errors_are_extract_cohorts_and_replace_nothing(small_db, tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "ROW_GROUP", 500)  # the faults fall in several groups
    monkeypatch.setattr(streaming, "USERS_PER_PART", 4777)  # ... and parts of the query
    cohort = extract_cohort(broken(small_db, tmp_path / "ok"), CONFIG)
    users, sessions = small_db.users, small_db.sessions.copy()
    user = int(cohort["user_id"].iloc[-1])
    twin = users[users["user_id"] == int(cohort["user_id"].iloc[0])].assign(gender="X")
    hit = sessions["session_id"].isin(set(cohort["session_id"])) & (sessions.index % 3 == 0)
    sessions["page_clicks"] = sessions["page_clicks"].astype("Int64").mask(hit)
    cases = {
        "missing": {"users": users[users["user_id"] != user]},
        "twin": {"users": pd.concat([users, twin])},
        "null": {"sessions": sessions},
    }
    target = tmp_path / "cohort.parquet"
    target.write_bytes(b"previous")
    for name, tables in cases.items():
        source = broken(small_db, tmp_path / name, **tables)
        with pytest.raises(DataError) as expected:
            extract_cohort(source, CONFIG)
        with pytest.raises(DataError) as got:
            streamed(source, target)
        assert str(got.value) == str(expected.value), name
        assert target.read_bytes() == b"previous"
    with pytest.raises(DataError, match="cohort is empty"):
        streamed(broken(small_db, tmp_path / "ok"), target, CohortConfig(dt.date(2023, 1, 4), 99))
    assert target.read_bytes() == b"previous"
