import datetime as dt

import pandas as pd
import pytest

from traveltide.config import CohortConfig
from traveltide.db import Source, redact
from traveltide.errors import DataError, SourceError
from traveltide.extract import cohort_columns, extract_cohort
from traveltide.io import write_parquet

CONFIG = CohortConfig(dt.date(2023, 1, 4), 7)


def reference_cohort(db, config: CohortConfig) -> pd.DataFrame:
    """The cohort computed with pandas, independently of the SQL."""
    s = db.sessions[db.sessions["session_start"] > pd.Timestamp(config.session_start_after)]
    counts = s.groupby("user_id").size()
    keep = s[s["user_id"].isin(counts[counts > config.min_sessions].index)]
    return keep.sort_values(["user_id", "session_start", "session_id"]).reset_index(drop=True)


def test_sql_cohort_equals_pandas_reference(small_db, embedded_source):
    got = extract_cohort(embedded_source, CONFIG)
    ref = reference_cohort(small_db, CONFIG)
    assert list(got.columns) == list(cohort_columns())
    assert got["session_id"].tolist() == ref["session_id"].tolist()
    assert got["user_id"].nunique() > 50
    flights = small_db.flights.set_index("trip_id")
    booked = got.dropna(subset=["origin_airport"]).set_index("trip_id")
    expected = flights.loc[booked.index, "base_fare_usd"].to_numpy()
    assert booked["base_fare_usd"].to_numpy() == pytest.approx(expected)


def test_boundary_is_a_parameter(embedded_source):
    later = extract_cohort(embedded_source, CohortConfig(dt.date(2023, 2, 1), 7))
    base = extract_cohort(embedded_source, CONFIG)
    assert later["user_id"].nunique() < base["user_id"].nunique()
    assert (later["session_start"] > pd.Timestamp("2023-02-01")).all()


def test_empty_cohort_is_a_clear_error(embedded_source):
    with pytest.raises(DataError, match="cohort is empty.*cohort.min_sessions"):
        extract_cohort(embedded_source, CohortConfig(dt.date(2023, 1, 4), 1000))


def test_missing_table_and_column_are_named(small_db, tmp_path):
    folder = tmp_path / "db"
    for table in ("users", "sessions", "flights"):
        write_parquet(getattr(small_db, table), folder / f"{table}.parquet")
    with pytest.raises(Exception, match="hotels.parquet"):
        extract_cohort(Source(None, folder), CONFIG)
    write_parquet(small_db.hotels.drop(columns="nights"), folder / "hotels.parquet")
    with pytest.raises(DataError, match="table 'hotels' has no column 'nights'"):
        extract_cohort(Source(None, folder), CONFIG)


def test_wrong_column_type_is_named(small_db, tmp_path):
    folder = tmp_path / "db"
    for table in ("users", "flights", "hotels"):
        write_parquet(getattr(small_db, table), folder / f"{table}.parquet")
    bad = small_db.sessions.assign(page_clicks=small_db.sessions["page_clicks"].astype(str))
    write_parquet(bad, folder / "sessions.parquet")
    with pytest.raises(DataError, match=r"sessions.page_clicks: expected int"):
        extract_cohort(Source(None, folder), CONFIG)


def test_unreachable_database_names_host_not_password():
    url = "postgresql://alice:hunter2@127.0.0.1:1/traveltide"
    with pytest.raises(SourceError) as err:
        extract_cohort(Source(url), CONFIG)
    message = str(err.value)
    assert "127.0.0.1" in message and "traveltide" in message and "hunter2" not in message
    assert "hunter2" not in redact(url)
