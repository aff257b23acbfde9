"""The embedded engine over tables typed as a DBA might type them: the same cohort, byte for byte.

The PostgreSQL variants (numeric, real, char(n), timestamptz, views) run against the real
server in tests/integration/test_pg_types.py; this is the same check on DuckDB, whose results
go through the same conversions."""

from __future__ import annotations

import datetime as dt
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from traveltide.config import CohortConfig
from traveltide.errors import DataError
from traveltide.io import write_parquet
from traveltide.schema import TABLES
from traveltide.sources.db import Source
from traveltide.sources.extract import extract_cohort

CONFIG = CohortConfig(dt.date(2023, 1, 4), 7)

# The physical type of each column that is not the generator's own; every other column of a
# logical type takes PHYSICAL[logical].
PHYSICAL: dict[str, pa.DataType] = {
    "int": pa.int16(),
    "decimal": pa.float32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "text": pa.large_string(),
    "date": pa.date32(),
    "bool": pa.bool_(),
}
BY_COLUMN: dict[tuple[str, str], pa.DataType] = {
    ("users", "user_id"): pa.int32(),
    ("sessions", "user_id"): pa.int64(),
    ("users", "home_airport_lat"): pa.decimal128(9, 4),
    ("users", "home_airport_lon"): pa.decimal128(9, 4),
    ("flights", "base_fare_usd"): pa.decimal128(12, 2),
    ("hotels", "hotel_per_room_usd"): pa.int32(),  # integer valued (FACTS.md)
    ("hotels", "check_in_time"): pa.timestamp("ns"),
    ("users", "home_country"): pa.dictionary(pa.int8(), pa.string()),  # DuckDB reads an ENUM-like
}


def retyped(frame, table: str) -> pa.Table:
    arrow = pa.Table.from_pandas(frame[list(TABLES[table])], preserve_index=False)
    columns = []
    for name, logical in TABLES[table].items():
        kind = BY_COLUMN.get((table, name), PHYSICAL[logical])
        values = arrow.column(name)
        if pa.types.is_timestamp(kind) and kind.tz:
            values = values.cast(pa.timestamp("us")).cast(kind)  # the wall time read as UTC
        elif pa.types.is_decimal(kind):
            values = values.cast(pa.float64()).cast(pa.string()).cast(kind)
        elif pa.types.is_dictionary(kind):
            values = values.cast(pa.string()).dictionary_encode()
        else:
            values = values.cast(kind)
        columns.append(values)
    return pa.table(columns, names=list(TABLES[table]))


def cohort_bytes(source: Source, tmp_path, name: str) -> bytes:
    path = tmp_path / f"{name}.parquet"
    write_parquet(extract_cohort(source, CONFIG), path)
    return path.read_bytes()


def test_dba_types_give_the_same_cohort_bytes(small_db, embedded_source, tmp_path):
    folder = tmp_path / "typed"
    folder.mkdir()
    for table in TABLES:
        typed = retyped(getattr(small_db, table), table)
        pq.write_table(typed, folder / f"{table}.parquet")
    kinds = pq.read_schema(folder / "users.parquet")
    assert pa.types.is_decimal(kinds.field("home_airport_lat").type)
    sessions = pq.read_schema(folder / "sessions.parquet")
    assert sessions.field("session_start").type.tz == "UTC"
    assert sessions.field("flight_discount_amount").type == pa.float32()
    got = cohort_bytes(Source(None, folder), tmp_path, "typed")
    assert got == cohort_bytes(embedded_source, tmp_path, "embedded")


def test_text_in_a_decimal_column_stops_with_its_value(small_db, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    for table in TABLES:
        frame = getattr(small_db, table)
        if table == "users":
            frame = frame.assign(home_airport_lat=frame["home_airport_lat"].map(str))
            frame.loc[frame.index[0], "home_airport_lat"] = "n/a"
        sink = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
        (folder / f"{table}.parquet").write_bytes(sink.getvalue())
    with pytest.raises(
        DataError, match=r"^users.home_airport_lat: expected decimal, got string value '"
    ):
        extract_cohort(Source(None, folder), CONFIG)
