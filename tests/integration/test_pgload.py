"""Loading TravelTide into the real PostgreSQL server: types, keys, parity, errors, CLI."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from support import pg_query, schema_url, write_csvs
from traveltide.config import CohortConfig
from traveltide.errors import DataError
from traveltide.geo import haversine_km
from traveltide.schema import PRIMARY_KEYS, TABLES
from traveltide.sources.db import Source, driver_url, make_engine
from traveltide.sources.extract import (
    LOOKUP_KEYS,
    cohort_bind_params,
    cohort_sql,
    extract_cohort,
    indexed_keys,
)
from traveltide.sources.pg_sql import PG_TYPES
from traveltide.sources.pgload import load_tables
from traveltide.sources.table_inputs import (
    csv_input,
    database_input,
    frames_input,
    parquet_input,
)

CONFIG = CohortConfig(dt.date(2023, 1, 4), 7)
TRAVELTIDE = Path(sys.executable).parent / "traveltide"
INFO_SCHEMA_TYPES = {"timestamp": "timestamp without time zone"}


query = pg_query


def count_rows(url: str, schema: str, table: str) -> int:
    return query(url, f'SELECT count(*) FROM "{schema}"."{table}"')[0][0]


def frames_of(db) -> dict[str, pd.DataFrame]:
    return {t: getattr(db, t) for t in TABLES}


def test_load_small_database(postgres, pg_schema, small_db):
    result = load_tables(postgres, database_input(small_db), schema=pg_schema, progress=False)
    for table in TABLES:
        expected = len(getattr(small_db, table))
        assert result.rows[table] == expected
        assert count_rows(postgres, pg_schema, table) == expected

    keys = query(
        postgres,
        "SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc "
        "JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name "
        "AND kcu.table_schema = tc.table_schema "
        "WHERE tc.table_schema = :s AND tc.constraint_type = 'PRIMARY KEY'",
        s=pg_schema,
    )
    assert dict(keys) == PRIMARY_KEYS

    types = query(
        postgres,
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = :s ORDER BY table_name, ordinal_position",
        s=pg_schema,
    )
    got = {(t, c): d for t, c, d in types}
    want = {
        (t, c): INFO_SCHEMA_TYPES.get(logical, PG_TYPES[logical])
        for t, cols in TABLES.items()
        for c, logical in cols.items()
    }
    assert got == want

    indexed = {
        row[0]
        for row in query(
            postgres,
            "SELECT indexdef FROM pg_indexes WHERE schemaname = :s AND tablename = 'sessions'",
            s=pg_schema,
        )
    }
    for cols in ("(user_id, session_start)", "(session_start)", "(trip_id)"):
        assert any(cols in d for d in indexed), cols


def test_haversine_distance_matches_geo(postgres, pg_schema, small_db):
    load_tables(postgres, database_input(small_db), schema=pg_schema, progress=False)
    rows = query(
        postgres,
        f"SELECT u.home_airport_lat, u.home_airport_lon, f.destination_airport_lat, "
        f"f.destination_airport_lon, "
        f'"{pg_schema}".haversine_distance(u.home_airport_lat, u.home_airport_lon, '
        f"f.destination_airport_lat, f.destination_airport_lon) "
        f'FROM "{pg_schema}".flights f JOIN "{pg_schema}".users u '
        f"ON u.user_id = split_part(f.trip_id, '-', 1)::int "
        f"ORDER BY f.trip_id LIMIT 40",
    )
    assert len(rows) == 40
    lat1, lon1, lat2, lon2, km = (np.array(c, dtype="float64") for c in zip(*rows, strict=True))
    assert km == pytest.approx(haversine_km(lat1, lon1, lat2, lon2), rel=1e-12, abs=1e-9)
    assert km.max() > 1000
    fixed = query(
        postgres,
        f'SELECT "{pg_schema}".haversine_distance(40.6413, -73.7781, 51.4700, -0.4543), '
        f'"{pg_schema}".haversine_distance(10, 20, 10, 20), '
        f'"{pg_schema}".haversine_distance(0, 0, 0, 180), '
        f'"{pg_schema}".haversine_distance(NULL, 0, 0, 0)',
    )[0]
    assert fixed[0] == pytest.approx(float(haversine_km(40.6413, -73.7781, 51.4700, -0.4543)))
    assert fixed[1] == 0.0
    assert fixed[2] == pytest.approx(float(haversine_km(0, 0, 0, 180)))
    assert fixed[3] is None
    volatility = query(
        postgres,
        "SELECT p.provolatile, l.lanname FROM pg_proc p JOIN pg_namespace n "
        "ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang "
        "WHERE n.nspname = :s AND p.proname = 'haversine_distance'",
        s=pg_schema,
    )
    assert volatility == [("i", "sql")]


def test_cohort_on_postgres_equals_embedded(postgres, pg_schema, small_db, embedded_source):
    load_tables(postgres, database_input(small_db), schema=pg_schema, progress=False)
    on_pg = extract_cohort(Source(schema_url(postgres, pg_schema)), CONFIG)
    embedded = extract_cohort(embedded_source, CONFIG)
    assert on_pg["user_id"].nunique() > 50
    pd.testing.assert_frame_equal(on_pg, embedded, check_exact=True)


def found_keys(url: str) -> set[str]:
    engine = make_engine(Source(url))
    try:
        with engine.connect() as conn:
            return indexed_keys(conn)
    finally:
        engine.dispose()


def test_tables_are_read_by_key_through_their_indexes(postgres, pg_schema, small_db):
    """The loaded tables have every index the lookup form needs, and the plan uses them: no
    table is scanned whole per cohort row, and flights, hotels, users are read by primary key."""
    load_tables(postgres, database_input(small_db), schema=pg_schema, progress=False)
    url = schema_url(postgres, pg_schema)
    assert found_keys(url) == set(LOOKUP_KEYS)
    sql = "EXPLAIN (COSTS OFF) " + cohort_sql().text
    plan = "\n".join(row[0] for row in query(url, sql, **cohort_bind_params(CONFIG)))
    for table in ("users", "flights", "hotels"):
        assert f"Index Scan using {table}_pkey on {table}" in plan, plan
        assert f"Seq Scan on {table}" not in plan, plan


def test_tables_without_key_indexes_are_joined_whole(
    postgres, pg_schema, small_db, embedded_source, caplog
):
    """Without flights' primary key and sessions' user_id index, those two are joined whole
    (a lookup per row would scan them each time): a warning names them, the rows are the same."""
    load_tables(postgres, database_input(small_db), schema=pg_schema, progress=False)
    engine = sa.create_engine(driver_url(postgres))
    with engine.begin() as conn:
        conn.exec_driver_sql(f'ALTER TABLE "{pg_schema}".flights DROP CONSTRAINT flights_pkey')
        conn.exec_driver_sql(f'DROP INDEX "{pg_schema}".sessions_user_id_session_start_idx')
    engine.dispose()
    url = schema_url(postgres, pg_schema)
    with caplog.at_level("WARNING", logger="traveltide.sources.extract"):
        assert found_keys(url) == {"users", "hotels"}
        on_pg = extract_cohort(Source(url), CONFIG)
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "flights has no index led by trip_id" in warned
    assert "sessions has no index led by user_id" in warned
    pd.testing.assert_frame_equal(on_pg, extract_cohort(embedded_source, CONFIG), check_exact=True)


def test_search_path_option_reaches_the_server(postgres, pg_schema, small_db):
    load_tables(postgres, database_input(small_db), schema=pg_schema, progress=False)
    url = schema_url(postgres, pg_schema)
    assert query(url, "SHOW search_path") == [(pg_schema,)]
    assert query(url, "SELECT count(*) FROM users") == [(len(small_db.users),)]


def test_csv_exports_load_like_the_generated_tables(
    postgres, pg_schema, small_db, embedded_source, tmp_path
):
    frames = frames_of(small_db)
    users = frames["users"].astype({"married": object})
    users["married"] = np.where(frames["users"]["married"], "t", "f")  # psql's export style
    frames["users"] = users
    folder = write_csvs(frames, tmp_path / "csv")
    result = load_tables(postgres, csv_input(folder), schema=pg_schema, progress=False)
    assert result.rows == {t: len(getattr(small_db, t)) for t in TABLES}
    on_pg = extract_cohort(Source(schema_url(postgres, pg_schema)), CONFIG)
    pd.testing.assert_frame_equal(on_pg, extract_cohort(embedded_source, CONFIG))
    null_trips = query(
        postgres, f'SELECT count(*) FROM "{pg_schema}".sessions WHERE trip_id IS NULL'
    )[0][0]
    assert null_trips == int(small_db.sessions["trip_id"].isna().sum()) > 0


def test_parquet_folder_loads(postgres, pg_schema, small_db, embedded_source):
    inputs = parquet_input(embedded_source.embedded_dir)
    result = load_tables(postgres, inputs, schema=pg_schema, chunk_rows=30_000, progress=False)
    assert result.rows == {t: len(getattr(small_db, t)) for t in TABLES}


def test_refuses_to_overwrite_and_replace_works(postgres, pg_schema, small_db):
    load_tables(postgres, database_input(small_db), schema=pg_schema, progress=False)
    fewer = frames_of(small_db)
    fewer["users"] = fewer["users"].iloc[:100]
    with pytest.raises(DataError) as err:
        load_tables(postgres, frames_input(fewer), schema=pg_schema, progress=False)
    assert str(err.value) == (
        f"table 'users' already exists in postgresql at 127.0.0.1:5432/test "
        f"(schema {pg_schema}); use --replace"
    )
    assert count_rows(postgres, pg_schema, "users") == len(small_db.users)
    load_tables(postgres, frames_input(fewer), schema=pg_schema, replace=True, progress=False)
    assert count_rows(postgres, pg_schema, "users") == 100
    assert count_rows(postgres, pg_schema, "sessions") == len(small_db.sessions)


def test_failure_leaves_nothing_half_loaded(postgres, pg_schema, small_db):
    dup = frames_of(small_db)
    dup["sessions"] = pd.concat([dup["sessions"], dup["sessions"].iloc[[5]]], ignore_index=True)
    with pytest.raises(DataError, match=r"sessions: primary key session_id.*duplicated"):
        load_tables(postgres, frames_input(dup), schema=pg_schema, progress=False)
    assert query(postgres, "SELECT 1 FROM pg_namespace WHERE nspname = :s", s=pg_schema) == []

    load_tables(postgres, database_input(small_db), schema=pg_schema, progress=False)
    with pytest.raises(DataError):
        load_tables(postgres, frames_input(dup), schema=pg_schema, replace=True, progress=False)
    assert count_rows(postgres, pg_schema, "sessions") == len(small_db.sessions)


def test_bad_csv_value_names_table_row_and_column(postgres, pg_schema, small_db, tmp_path):
    frames = frames_of(small_db)
    hotels = frames["hotels"].astype({"rooms": object})
    hotels.loc[20, "rooms"] = "two"
    frames["hotels"] = hotels
    inputs = csv_input(write_csvs(frames, tmp_path / "csv"))
    with pytest.raises(DataError) as err:
        load_tables(postgres, inputs, schema=pg_schema, chunk_rows=7, progress=False)
    message = str(err.value)
    assert message.startswith("hotels: invalid input syntax for type integer")
    assert "(row 21, column rooms)" in message and "\n" not in message


# --------------------------------------------------------------------- CLI --


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "TRAVELTIDE_DB_URL"}
    full_env.update(env or {})
    return subprocess.run(
        [str(TRAVELTIDE), "db", "load", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def test_cli_loads_then_refuses_in_one_line(postgres, pg_schema, small_db, embedded_source):
    folder = str(embedded_source.embedded_dir)
    ok = run_cli(
        "--url", postgres, "--from-parquet", folder, "--schema", pg_schema, "--types", "real"
    )
    assert ok.returncode == 0, ok.stderr
    assert f"users {len(small_db.users):,}" in ok.stdout
    assert f"(schema {pg_schema}, real types)" in ok.stdout
    assert count_rows(postgres, pg_schema, "hotels") == len(small_db.hotels)
    numeric = query(
        postgres,
        "SELECT data_type FROM information_schema.columns WHERE table_schema = :s "
        "AND table_name = 'flights' AND column_name = 'base_fare_usd'",
        s=pg_schema,
    )
    assert numeric == [("numeric",)]

    again = run_cli(
        "--from-parquet", folder, "--schema", pg_schema, env={"TRAVELTIDE_DB_URL": postgres}
    )
    assert again.returncode == 1
    assert again.stderr.splitlines() == [
        f"error: db: table 'users' already exists in postgresql at 127.0.0.1:5432/test "
        f"(schema {pg_schema}); use --replace"
    ]
    replaced = run_cli(
        "--url", postgres, "--from-parquet", folder, "--schema", pg_schema, "--replace"
    )
    assert replaced.returncode == 0, replaced.stderr


def test_cli_errors_are_one_line(embedded_source, tmp_path):
    folder = str(embedded_source.embedded_dir)
    bad = run_cli(
        "--from-parquet",
        folder,
        env={"TRAVELTIDE_DB_URL": "postgresql://bob:s3cret@127.0.0.1:1/tt"},
    )
    assert bad.returncode == 1
    lines = bad.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: db: cannot connect to postgresql at ")
    assert "127.0.0.1:1/tt" in lines[0] and "s3cret" not in bad.stderr + bad.stdout

    no_url = run_cli("--from-parquet", folder)
    assert no_url.returncode == 1 and "TRAVELTIDE_DB_URL" in no_url.stderr

    unknown = run_cli("--url", "postgresql://x@127.0.0.1:1/tt", "--types", "wide")
    assert unknown.returncode == 2 and "invalid choice: 'wide'" in unknown.stderr

    missing = run_cli("--url", "postgresql://x@127.0.0.1:1/tt", "--from-csv", str(tmp_path))
    assert missing.returncode == 1
    assert missing.stderr.splitlines() == [
        f"error: db: {tmp_path / 'users.csv'}: no such file "
        "(expected users, sessions, flights, hotels as CSV)"
    ]
