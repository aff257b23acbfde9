import datetime as dt
import itertools

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

from traveltide.config import CohortConfig
from traveltide.errors import DataError, SourceError
from traveltide.io import write_parquet
from traveltide.sources.db import Source, make_engine
from traveltide.sources.extract import (
    LOOKUP_KEYS,
    cohort_bind_params,
    cohort_columns,
    cohort_sql,
    driver_reason,
    extract_cohort,
    libpq_uri,
    normalise,
    read_cohort,
)
from traveltide.sources.source import redact_url

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


def test_duckdb_columnar_fetch_equals_read_sql(embedded_source):
    """DuckDB hands over whole columns as Arrow: after normalising, the same frame as pandas'
    row-by-row `read_sql` of the same query (Python objects per value), values and dtypes."""
    engine = make_engine(embedded_source)
    try:
        with engine.connect() as conn:
            params = cohort_bind_params(CONFIG)
            fast = read_cohort(conn, embedded_source, params)
            slow = pd.read_sql(cohort_sql(), conn, params=params)
    finally:
        engine.dispose()
    assert len(fast) == len(slow) > 100
    assert isinstance(fast, pa.Table)
    slow_arrow = pa.Table.from_pandas(slow, preserve_index=False)
    pd.testing.assert_frame_equal(normalise(fast), normalise(slow_arrow), check_exact=True)


def test_every_join_form_gives_the_same_cohort(embedded_source):
    """Each table read by key (LATERAL ... OFFSET 0) or joined whole: 16 forms, the same rows.
    PostgreSQL gets the lookup form for the tables it has key indexes on (`indexed_keys`)."""
    engine = make_engine(embedded_source)
    params = cohort_bind_params(CONFIG)
    try:
        with engine.connect() as conn:
            frames = {
                lookups: normalise(read_cohort(conn, embedded_source, params, lookups))
                for n in range(len(LOOKUP_KEYS) + 1)
                for lookups in itertools.combinations(LOOKUP_KEYS, n)
            }
    finally:
        engine.dispose()
    assert len(frames) == 16
    first = frames[()]
    assert len(first) > 100 and first["origin_airport"].notna().any()
    for lookups, frame in frames.items():
        pd.testing.assert_frame_equal(frame, first, check_exact=True, obj=str(lookups))


def test_lookup_form_is_fenced_and_the_plain_form_is_not():
    full, plain = cohort_sql().text, cohort_sql(()).text
    assert full.count("OFFSET 0") == 4 and "LATERAL" not in plain
    assert "FROM cohort_users c" in full and "FROM sessions s" in plain


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
    assert "hunter2" not in redact_url(url)


@pytest.mark.parametrize(
    ("user", "database", "expected"),
    [
        ("tt_no_such_role", "test", 'role "tt_no_such_role" does not exist'),
        ("postgres", "tt_no_such_db", 'database "tt_no_such_db" does not exist'),
    ],
)
def test_rejected_credentials_are_one_line_without_password(postgres, user, database, expected):
    """The real server refuses the login (this server trusts local passwords, so the refusals
    we can provoke are an unknown role and an unknown database)."""
    server = sa.make_url(postgres)
    url = f"postgresql://{user}:S3cr3t-pw@{server.host}:{server.port}/{database}"
    with pytest.raises(SourceError) as err:
        extract_cohort(Source(url), CONFIG)
    message = str(err.value)
    assert "\n" not in message and expected in message
    assert f"{server.host}:{server.port}/{database}" in message
    assert "S3cr3t-pw" not in message and "***" in message


def faulty_source(small_db, folder, **tables: pd.DataFrame) -> Source:
    """The small database with some tables replaced."""
    for table in ("users", "sessions", "flights", "hotels"):
        write_parquet(tables.get(table, getattr(small_db, table)), folder / f"{table}.parquet")
    return Source(None, folder)


def a_cohort_trip(small_db, table: str) -> str:
    cohort = reference_cohort(small_db, CONFIG)
    trips = set(cohort["trip_id"].dropna()) & set(getattr(small_db, table)["trip_id"])
    return sorted(trips)[0]


def test_conflicting_duplicate_keys_are_named(small_db, tmp_path):
    user = int(reference_cohort(small_db, CONFIG)["user_id"].iloc[0])
    users = small_db.users
    twin = users[users["user_id"] == user].assign(gender="X")
    source = faulty_source(small_db, tmp_path / "u", users=pd.concat([users, twin]))
    with pytest.raises(DataError, match=rf"users: duplicate primary key user_id {user} .*gender"):
        extract_cohort(source, CONFIG)

    trip = a_cohort_trip(small_db, "flights")
    flights = small_db.flights
    twin = flights[flights["trip_id"] == trip].assign(seats=99)
    source = faulty_source(small_db, tmp_path / "f", flights=pd.concat([flights, twin]))
    with pytest.raises(DataError, match=rf"flights: duplicate primary key trip_id '{trip}'.*seats"):
        extract_cohort(source, CONFIG)


def test_identical_duplicate_sessions_are_left_to_clean(small_db, tmp_path):
    sessions = small_db.sessions
    first = reference_cohort(small_db, CONFIG)["session_id"].iloc[0]
    twin = sessions[sessions["session_id"] == first]
    source = faulty_source(small_db, tmp_path / "s", sessions=pd.concat([sessions, twin]))
    got = extract_cohort(source, CONFIG)
    assert (got["session_id"] == first).sum() == 2


def test_null_in_a_required_column_is_named(small_db, tmp_path):
    cohort_ids = set(reference_cohort(small_db, CONFIG)["session_id"])
    sessions = small_db.sessions.copy()
    hit = sessions["session_id"].isin(cohort_ids) & (sessions.index % 3 == 0)
    sessions["page_clicks"] = sessions["page_clicks"].astype("Int64").mask(hit)
    source = faulty_source(small_db, tmp_path / "s", sessions=sessions)
    with pytest.raises(DataError, match=rf"sessions.page_clicks is NULL in {int(hit.sum()):,} of"):
        extract_cohort(source, CONFIG)

    trip = a_cohort_trip(small_db, "hotels")
    hotels = small_db.hotels.copy()
    hotels["rooms"] = hotels["rooms"].astype("Int64").mask(hotels["trip_id"] == trip)
    source = faulty_source(small_db, tmp_path / "h", hotels=hotels)
    with pytest.raises(DataError, match=r"hotels.rooms is NULL in [1-9]"):
        extract_cohort(source, CONFIG)


def test_session_without_a_user_is_named(small_db, tmp_path):
    user = int(reference_cohort(small_db, CONFIG)["user_id"].iloc[-1])
    users = small_db.users[small_db.users["user_id"] != user]
    source = faulty_source(small_db, tmp_path / "u", users=users)
    with pytest.raises(DataError, match=rf"users: no row for user_id {user} of the cohort"):
        extract_cohort(source, CONFIG)


def test_adbc_error_is_one_line_without_the_sql_or_password():
    """ADBC's libpq messages quote the whole multi-line SQL before the reason."""
    import adbc_driver_manager

    exc = adbc_driver_manager.OperationalError(
        "IO: [libpq] Failed to execute query 'SELECT\n  s.user_id\nFROM sessions s "
        "WHERE x > $1': server closed the connection unexpectedly (user tt, password s3cret)\n"
        "\tThis probably means the server terminated abnormally",
        status_code=adbc_driver_manager.AdbcStatusCode.IO,
    )
    assert driver_reason(exc, "s3cret") == (
        "IO: [libpq] Failed to execute query: server closed the connection unexpectedly "
        "(user tt, password ***)"
    )


def test_libpq_uri_encodes_spaces_so_libpq_reads_every_option():
    """libpq decodes %20 but keeps '+': two options joined by '+' would reach the server as one
    search_path. The URL itself parses back to what it was."""
    url = "postgresql+psycopg2://u:p%40ss@h:5/db?options=-csearch_path%3Dx+-cTimeZone%3DUTC&sslmode=require"
    got = libpq_uri(url)
    assert got == (
        "postgresql://u:p%40ss@h:5/db?options=-csearch_path%3Dx%20-cTimeZone%3DUTC&sslmode=require"
    )
    assert "+" not in got
    assert sa.make_url(got).query == sa.make_url(url).query
    assert libpq_uri("postgresql:///?service=tt") == "postgresql:///?service=tt"
    assert libpq_uri("postgresql://a@h/db") == "postgresql://a@h/db"
