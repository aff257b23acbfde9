"""Each physical type a DBA may use, read as its logical type: hand-made Arrow columns shaped as
ADBC's PostgreSQL driver returns them (its field metadata; numeric as an opaque extension type
over the decimal text), and as DuckDB returns them (plain Arrow types, no metadata)."""

from __future__ import annotations

import datetime as dt
import decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from traveltide.errors import DataError
from traveltide.sources.physical_types import (
    TARGETS,
    Column,
    normalise_table,
    to_bool,
    to_date,
    to_decimal,
    to_frame,
    to_int,
    to_text,
    to_timestamp,
)

NUMERIC = pa.opaque(pa.string(), "numeric", "PostgreSQL")


def pg_field(name: str, kind: pa.DataType, pg_type: str, typmod: int = -1) -> pa.Field:
    """A field as ADBC's PostgreSQL driver describes it (probed on PostgreSQL 15, ADBC 1.x)."""
    meta = {b"POSTGRESQL:type": pg_type.encode()}
    if pg_type == "numeric":
        meta |= {b"ADBC:postgresql:typname": b"numeric", b"POSTGRESQL:typmod": str(typmod).encode()}
    return pa.field(name, kind, metadata=meta)


def numeric(texts: list[str | None], typmod: int = -1) -> tuple[pa.ChunkedArray, Column]:
    """A numeric column as ADBC hands it over: the decimal text inside the opaque type."""
    storage = pa.array(texts, pa.string())
    values = pa.chunked_array([pa.ExtensionArray.from_storage(NUMERIC, storage)])
    return values, Column("t.c", pg_field("c", NUMERIC, "numeric", typmod))


def column(values: list, kind: pa.DataType, pg_type: str | None = None) -> tuple:
    """A column of `kind`, with PostgreSQL's metadata when `pg_type` is given (else DuckDB's)."""
    field = pg_field("c", kind, pg_type) if pg_type else pa.field("c", kind)
    return pa.chunked_array([pa.array(values, kind)]), Column("t.c", field)


def floats(values: pa.ChunkedArray) -> list[float | None]:
    assert values.type == pa.float64()
    return values.to_pylist()


def same_doubles(got: list[float], want: list[float]) -> None:
    """Bit for bit: 0.1 and 0.1 + 1 ulp are different values."""
    assert np.array(got, dtype="float64").view("int64").tolist() == (
        np.array(want, dtype="float64").view("int64").tolist()
    )


# ------------------------------------------------------------------ decimal --


def random_decimals(n: int, seed: int = 0) -> list[str]:
    """Decimal texts of every scale 0..12 and magnitude 1e-6..1e9, signs mixed."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        digits = int(rng.integers(1, 16))
        unscaled = int(rng.integers(0, 10**digits)) * (1 if rng.random() < 0.7 else -1)
        scale = int(rng.integers(0, 13))
        out.append(str(decimal.Decimal(unscaled).scaleb(-scale)))
    return out


def test_numeric_text_parses_correctly_rounded():
    texts = [*random_decimals(5000), "40.6398", "-73.7781", "0.1000", "21548.04", "1E+3"]
    values, col = numeric([*texts, None])
    got = floats(to_decimal(values, col))
    assert got[-1] is None
    same_doubles(got[:-1], [float(t) for t in texts])  # Python's float(): correctly rounded


def test_numeric_with_precision_and_scale_reads_the_same():
    values, col = numeric(["40.6398", "0.1000", "-0.0500"], typmod=589832)  # numeric(9,4)
    same_doubles(floats(to_decimal(values, col)), [40.6398, 0.1, -0.05])


def test_decimal128_goes_through_its_text_not_a_division():
    """DuckDB's DECIMAL: Arrow's own cast divides and gets -73.77810000000001."""
    texts = ["-73.7781", "40.6398", "151.1753", *random_decimals(2000, seed=1)]
    exact = [decimal.Decimal(t) for t in texts]
    values, col = column(exact, pa.decimal128(38, 12))
    same_doubles(floats(to_decimal(values, col)), [float(d) for d in exact])


def test_float4_reads_as_its_shortest_decimal():
    values, col = column([40.6398, -73.7781, 0.05, 21548.04, None], pa.float32(), "float4")
    assert floats(to_decimal(values, col)) == [40.6398, -73.7781, 0.05, 21548.04, None]
    assert pa.array([40.6398], pa.float32()).cast(pa.float64())[0].as_py() != 40.6398


def test_float4_is_exact_for_six_significant_digits():
    rng = np.random.default_rng(2)
    texts = [f"{m:.5e}" for m in rng.uniform(-1e6, 1e6, 3000)]  # 6 significant digits
    values, col = column([float(t) for t in texts], pa.float32(), "float4")
    same_doubles(floats(to_decimal(values, col)), [float(t) for t in texts])


def test_float4_with_seven_digits_is_exact_unless_a_neighbour_shares_the_float4():
    """With 7 significant digits no reading can do better: it is exact wherever the stored
    decimal is the only 7-digit decimal that rounds to its float4."""
    rng = np.random.default_rng(3)
    digits = rng.integers(1_000_000, 10_000_000, 5000)
    exponents = rng.integers(-8, 6, 5000)
    texts = [f"{d}e{e}" for d, e in zip(digits, exponents, strict=True)]
    values, col = column([float(t) for t in texts], pa.float32(), "float4")
    got = floats(to_decimal(values, col))
    shared = 0
    for text, value, d, e in zip(texts, got, digits, exponents, strict=True):
        mine = np.float32(float(text))
        neighbours = (np.float32(float(f"{d + step}e{e}")) for step in (-1, 1))
        if any(n == mine for n in neighbours):
            shared += 1
        else:
            assert value == float(text), text
    assert shared < len(texts) // 10  # most 7-digit decimals have a float4 of their own


def test_float8_and_integers_become_float64_unchanged():
    doubles = [0.1, 40.63980000000001, -1e-300, None]
    values, col = column(doubles, pa.float64(), "float8")
    assert floats(to_decimal(values, col)) == doubles
    for kind, pg in ((pa.int16(), "int2"), (pa.int32(), "int4"), (pa.int64(), "int8")):
        values, col = column([148, -2, None], kind, pg)
        assert floats(to_decimal(values, col)) == [148.0, -2.0, None]


def test_text_in_a_decimal_column_names_column_and_value():
    values, col = column([None, "n/a", "40.6"], pa.string(), "text")
    col = Column("users.home_airport_lat", col.field)
    with pytest.raises(DataError) as err:
        to_decimal(values, col)
    assert str(err.value) == "users.home_airport_lat: expected decimal, got text value 'n/a'"


def test_text_holding_numbers_is_still_the_wrong_type():
    """Only numeric's own text is parsed: a text column is a schema error even when it parses."""
    values, col = column(["40.6398"], pa.string(), "varchar")
    with pytest.raises(DataError, match=r"t.c: expected decimal, got varchar value '40.6398'"):
        to_decimal(values, col)
    values, col = column(["40.6398"], pa.string())  # DuckDB VARCHAR
    with pytest.raises(DataError, match=r"t.c: expected decimal, got string value '40.6398'"):
        to_decimal(values, col)


def test_boolean_in_a_decimal_column_is_refused():
    values, col = column([True], pa.bool_(), "bool")
    with pytest.raises(DataError, match=r"t.c: expected decimal, got bool value True"):
        to_decimal(values, col)


# ---------------------------------------------------------------------- int --


def test_every_integer_width_becomes_int64():
    for kind, pg in ((pa.int16(), "int2"), (pa.int32(), "int4"), (pa.int64(), "int8")):
        values, col = column([566, -2, None], kind, pg)
        got = to_int(values, col)
        assert got.type == pa.int64() and got.to_pylist() == [566, -2, None]
    values, col = column([7, 8], pa.uint8())
    assert to_int(values, col).to_pylist() == [7, 8]


def test_whole_numerics_and_floats_become_int64():
    values, col = numeric(["12", "12.000", "-3", None, "1000000"])
    assert to_int(values, col).to_pylist() == [12, 12, -3, None, 1000000]
    values, col = column([2.0, None, -1.0], pa.float64(), "float8")
    assert to_int(values, col).to_pylist() == [2, None, -1]
    values, col = column([decimal.Decimal("804102")], pa.decimal128(10, 0))
    assert to_int(values, col).to_pylist() == [804102]


def test_a_fraction_in_an_int_column_names_the_value():
    values, col = numeric(["12", "12.5", "13.5"])
    col = Column("hotels.nights", col.field)
    with pytest.raises(DataError) as err:
        to_int(values, col)
    assert str(err.value) == "hotels.nights: expected int, got numeric value '12.5'"
    values, col = column([1.0, 2.5], pa.float64(), "float8")
    with pytest.raises(DataError, match=r"t.c: expected int, got float8 value 2.5"):
        to_int(values, col)


def test_text_and_booleans_in_an_int_column_are_refused():
    values, col = column(["12"], pa.string(), "text")
    with pytest.raises(DataError, match=r"t.c: expected int, got text value '12'"):
        to_int(values, col)
    values, col = column([True], pa.bool_())
    with pytest.raises(DataError, match=r"t.c: expected int, got bool value True"):
        to_int(values, col)


# --------------------------------------------------------------------- text --


def test_char_n_loses_its_padding_and_only_char_n():
    values, col = column(["usa   ", "canada", None], pa.string(), "bpchar")
    assert to_text(values, col).to_pylist() == ["usa", "canada", None]
    for pg in ("varchar", "text", None):
        values, col = column(["usa   ", " x "], pa.string(), pg)
        assert to_text(values, col).to_pylist() == ["usa   ", " x "], pg


def test_every_string_layout_becomes_string():
    values, col = column(["a", None], pa.large_string())
    assert to_text(values, col).type == pa.string()
    enum = pa.chunked_array([pa.array(["usa", "canada", "usa"]).dictionary_encode()])
    got = to_text(enum, Column("t.c", pa.field("c", enum.type)))
    assert got.type == pa.string() and got.to_pylist() == ["usa", "canada", "usa"]


def test_numbers_in_a_text_column_are_refused():
    values, col = column([35], pa.int32(), "int4")
    with pytest.raises(DataError, match=r"t.c: expected text, got int4 value 35"):
        to_text(values, col)


# ------------------------------------------------------- timestamp and date --

WALL = dt.datetime(2023, 1, 4, 23, 30)


def test_timestamptz_reads_as_utc_wall_time():
    instant = WALL.replace(tzinfo=dt.UTC)
    values, col = column([instant, None], pa.timestamp("us", tz="UTC"), "timestamptz")
    got = to_timestamp(values, col)
    assert got.type == pa.timestamp("us") and got.to_pylist() == [WALL, None]
    berlin = pa.chunked_array([pa.array([instant], pa.timestamp("us", tz="Europe/Berlin"))])
    col = Column("t.c", pa.field("c", berlin.type))  # DuckDB: the session's zone
    assert to_timestamp(berlin, col).to_pylist() == [WALL]


def test_timestamp_keeps_its_wall_time_and_units_become_microseconds():
    values, col = column([WALL], pa.timestamp("us"), "timestamp")
    assert to_timestamp(values, col).to_pylist() == [WALL]
    nanos = pa.chunked_array([pa.array([pd.Timestamp(WALL).value + 999], pa.timestamp("ns"))])
    assert to_timestamp(nanos, Column("t.c", pa.field("c", nanos.type))).to_pylist() == [WALL]


def test_dates_become_midnight_timestamps():
    values, col = column([dt.date(2006, 5, 1), None], pa.date32(), "date")
    got = to_date(values, col)
    assert got.type == TARGETS["date"]
    assert got.to_pylist() == [dt.datetime(2006, 5, 1), None]


def test_text_in_time_columns_is_refused():
    values, col = column(["2023-01-04"], pa.string(), "text")
    with pytest.raises(DataError, match=r"t.c: expected date, got text value '2023-01-04'"):
        to_date(values, col)
    with pytest.raises(DataError, match=r"t.c: expected timestamp, got text"):
        to_timestamp(values, col)


# --------------------------------------------------------------------- bool --


def test_booleans_only():
    values, col = column([True, None, False], pa.bool_(), "bool")
    assert to_bool(values, col).to_pylist() == [True, None, False]
    values, col = column([0, 1], pa.int16(), "int2")
    with pytest.raises(DataError, match=r"t.c: expected bool, got int2 value 0"):
        to_bool(values, col)


def test_null_only_columns_take_the_target_type():
    nulls = pa.chunked_array([pa.nulls(2)])
    col = Column("t.c", pa.field("c", pa.null()))
    for convert, logical in (
        (to_int, "int"),
        (to_decimal, "decimal"),
        (to_bool, "bool"),
        (to_date, "date"),
        (to_timestamp, "timestamp"),
        (to_text, "text"),
    ):
        got = convert(nulls, col)
        assert got.type == TARGETS[logical] and got.null_count == 2


# ------------------------------------------------------------ whole tables --


def test_normalise_table_orders_columns_and_to_frame_gives_the_cohort_dtypes():
    lat, _ = numeric(["40.6398", None])
    table = pa.table(
        {
            "when": pa.array([WALL, None], pa.timestamp("us", tz="UTC")),
            "lat": lat.combine_chunks(),
            "n": pa.array([3, None], pa.int16()),
            "code": pa.array(["usa   ", None]),
            "flag": pa.array([True, None]),
        }
    )
    schema = pa.schema(
        [
            pg_field("when", table.schema.field("when").type, "timestamptz"),
            pg_field("lat", NUMERIC, "numeric"),
            pg_field("n", pa.int16(), "int2"),
            pg_field("code", pa.string(), "bpchar"),
            pg_field("flag", pa.bool_(), "bool"),
        ]
    )
    table = table.cast(schema)
    columns = {
        "code": ("users", "text"),
        "n": ("sessions", "int"),
        "lat": ("users", "decimal"),
        "flag": ("sessions", "bool"),
        "when": ("sessions", "timestamp"),
    }
    normal = normalise_table(table, columns)
    assert normal.column_names == list(columns)
    frame = to_frame(normal)
    assert frame.dtypes.astype(str).tolist() == [
        "object",
        "Int64",
        "float64",
        "boolean",
        "datetime64[us]",
    ]
    assert frame["code"].tolist() == ["usa", None]
    assert frame["lat"].iloc[0] == 40.6398 and np.isnan(frame["lat"].iloc[1])
    assert frame["n"].iloc[0] == 3 and frame["n"].isna().iloc[1]
    assert frame["when"].iloc[0] == pd.Timestamp(WALL)


def test_a_missing_column_is_named():
    with pytest.raises(DataError, match=r"users: missing column 'gender' \(expected text\)"):
        normalise_table(pa.table({"x": [1]}), {"gender": ("users", "text")})
