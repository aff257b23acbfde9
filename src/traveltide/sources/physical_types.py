"""Whatever physical type a database holds a column in, read as the schema's logical type.

A DBA may declare a logical type of FACTS.md with any of several physical types: a decimal as
numeric, numeric(p,s), double precision or real; an int as smallint, integer or bigint; text as
text, varchar(n) or char(n); a timestamp with or without time zone. Each logical type has one
function here that takes the column as the database handed it over (an Arrow array and its
field, on which ADBC's PostgreSQL driver names the server's type under `POSTGRESQL:type`) and
returns the one Arrow type of that logical type (`TARGETS`). DuckDB's and PostgreSQL's results
go through the same functions, so the cohort is the same whichever database answered. A column
that cannot be read as its logical type (text in a decimal column, a fraction in an int column)
is a one-line DataError naming table.column, the physical type and a sample value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from traveltide.errors import DataError
from traveltide.schema import LogicalType

PG_TYPE_KEY = b"POSTGRESQL:type"  # the field metadata ADBC's PostgreSQL driver attaches

TARGETS: dict[LogicalType, pa.DataType] = {
    "int": pa.int64(),
    "decimal": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.timestamp("us"),  # as the embedded cohort has always held dates
    "timestamp": pa.timestamp("us"),
    "text": pa.string(),
}
_PANDAS = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


@dataclass(frozen=True)
class Column:
    """One result column: `table.column` for errors, and the field the database returned."""

    where: str
    field: pa.Field

    @property
    def physical(self) -> str:
        """The server's type name when the driver says it (`numeric`, `bpchar`), else Arrow's."""
        meta = self.field.metadata or {}
        if PG_TYPE_KEY in meta:
            return meta[PG_TYPE_KEY].decode()
        kind = self.field.type
        return str(getattr(kind, "type_name", None) or kind)


Values: TypeAlias = pa.ChunkedArray
Converter: TypeAlias = Callable[[Values, Column], Values]


def plain(values: Values) -> Values:
    """The values without an extension wrapper (ADBC's opaque `numeric` holds decimal strings)
    or dictionary encoding (DuckDB's ENUM)."""
    kind = values.type
    if isinstance(kind, pa.BaseExtensionType):
        chunks = [chunk.storage for chunk in values.chunks]
        values = pa.chunked_array(chunks, type=kind.storage_type)
    if pa.types.is_dictionary(values.type):
        values = pc.cast(values, values.type.value_type)
    return values


def mismatch(values: Values, column: Column, logical: LogicalType, bad: object = None) -> DataError:
    """`table.column: expected <logical>, got <physical> value <sample>`."""
    if bad is None:
        present = pc.drop_null(values)
        bad = present[0].as_py() if len(present) else None
    sample = "" if bad is None else f" value {bad!r}"
    return DataError(f"{column.where}: expected {logical}, got {column.physical}{sample}")


def _first_failing(values: Values, target: pa.DataType) -> object:
    """The first value (in order of appearance) that does not cast to `target`."""
    for value in pc.unique(pc.drop_null(values)).to_pylist():
        try:
            pc.cast(pa.array([value], type=values.type), target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return value
    return None


def _cast(values: Values, target: pa.DataType, column: Column, logical: LogicalType) -> Values:
    """A checked cast: a value that does not fit is a DataError naming it."""
    try:
        return pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise mismatch(values, column, logical, _first_failing(values, target)) from None


def _is_numeric_text(values: Values, column: Column) -> bool:
    """PostgreSQL numeric reaches Arrow as its decimal text (an opaque extension type)."""
    return pa.types.is_string(values.type) and column.physical == "numeric"


def to_decimal(values: Values, column: Column) -> Values:
    """float64 from double, real, numeric, numeric(p,s) or an integer type.

    Decimals (Arrow decimal128 or PostgreSQL's numeric text) are parsed from their decimal
    text, which rounds correctly (dividing the unscaled integer need not: -73.7781 became
    -73.77810000000001). A real (float4) is read through its shortest decimal representation,
    so a float4 holding 40.6398 gives the double 40.6398, not 40.639801025390625: exact
    whenever the decimal that was stored had at most 6 significant digits, and for 7 unless
    two 7-digit decimals share one float4.
    """
    raw = plain(values)
    kind = raw.type
    if kind == pa.float64() or pa.types.is_null(kind):
        return pc.cast(raw, pa.float64())
    if pa.types.is_floating(kind):
        shortest = pc.cast(pc.cast(raw, pa.float32()), pa.string())
        return pc.cast(shortest, pa.float64())
    if pa.types.is_integer(kind):
        return _cast(raw, pa.float64(), column, "decimal")
    if pa.types.is_decimal(kind):
        return pc.cast(pc.cast(raw, pa.string()), pa.float64())
    if _is_numeric_text(raw, column):
        return _cast(raw, pa.float64(), column, "decimal")
    raise mismatch(raw, column, "decimal")


def to_int(values: Values, column: Column) -> Values:
    """int64 from smallint, integer, bigint, or a whole-valued numeric or float column."""
    raw = plain(values)
    kind = raw.type
    if pa.types.is_integer(kind) or pa.types.is_null(kind):
        return _cast(raw, pa.int64(), column, "int")
    if _is_numeric_text(raw, column):
        try:
            return pc.cast(raw, pa.int64())  # "12" parses directly; "12.0" takes the float path
        except pa.ArrowInvalid:
            pass
    elif not (pa.types.is_floating(kind) or pa.types.is_decimal(kind)):
        raise mismatch(raw, column, "int")
    whole = to_decimal(raw, column)
    try:
        return pc.cast(whole, pa.int64())  # a safe cast: a fraction raises, never truncates
    except pa.ArrowInvalid:
        fraction = pc.fill_null(pc.not_equal(pc.floor(whole), whole), False)
        shown = pc.filter(raw, fraction)  # the value as the database holds it: '12.5'
        bad = shown[0].as_py() if len(shown) else _first_failing(whole, pa.int64())
        raise mismatch(raw, column, "int", bad) from None


def to_bool(values: Values, column: Column) -> Values:
    """boolean only: 0/1 or 't'/'f' in another type is a wrong type, not a guess."""
    raw = plain(values)
    if pa.types.is_boolean(raw.type) or pa.types.is_null(raw.type):
        return pc.cast(raw, pa.bool_())
    raise mismatch(raw, column, "bool")


def _utc_wall_time(raw: Values) -> Values:
    """timestamp[us] without zone: a zoned instant as its UTC wall time (Arrow stores instants
    in UTC, and dropping the zone keeps them); finer units are truncated to microseconds,
    PostgreSQL's resolution."""
    return pc.cast(raw, pa.timestamp("us"), safe=False)


def to_timestamp(values: Values, column: Column) -> Values:
    """timestamp[us] from timestamp or timestamptz (its UTC wall time), or a date at midnight."""
    raw = plain(values)
    kind = raw.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_null(kind):
        return _utc_wall_time(raw)
    raise mismatch(raw, column, "timestamp")


def to_date(values: Values, column: Column) -> Values:
    """A date (or a timestamp standing for one) as timestamp[us], as the cohort holds dates."""
    raw = plain(values)
    kind = raw.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_null(kind):
        return _utc_wall_time(raw)
    raise mismatch(raw, column, "date")


def to_text(values: Values, column: Column) -> Values:
    """string from text, varchar(n) or char(n); char(n) (`bpchar`) loses its blank padding,
    which PostgreSQL itself ignores in comparisons. Trailing blanks of other types are data."""
    raw = plain(values)
    kind = raw.type
    textual = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
    if not (any(test(kind) for test in textual) or pa.types.is_null(kind)):
        raise mismatch(raw, column, "text")
    text = pc.cast(raw, pa.string())
    return pc.utf8_rtrim(text, characters=" ") if column.physical == "bpchar" else text


CONVERTERS: dict[LogicalType, Converter] = {
    "int": to_int,
    "decimal": to_decimal,
    "bool": to_bool,
    "date": to_date,
    "timestamp": to_timestamp,
    "text": to_text,
}


def normalise_table(table: pa.Table, columns: Mapping[str, tuple[str, LogicalType]]) -> pa.Table:
    """`columns` (name -> (source table, logical type)) of `table`, in that order, each as its
    logical type's Arrow type (`TARGETS`)."""
    arrays, fields = [], []
    for name, (source, logical) in columns.items():
        if name not in table.column_names:
            raise DataError(f"{source}: missing column '{name}' (expected {logical})")
        field = table.schema.field(name)
        arrays.append(CONVERTERS[logical](table.column(name), Column(f"{source}.{name}", field)))
        fields.append(pa.field(name, TARGETS[logical]))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def to_frame(table: pa.Table) -> pd.DataFrame:
    """A normalised table as pandas: Int64 and boolean (NULL-aware), float64 (NaN for NULL),
    datetime64[us], and text as Python strings with None for NULL."""
    out: dict[str, pd.Series] = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_string(col.type):
            out[name] = pd.Series(col.to_numpy(), dtype=object, name=name)
        else:
            out[name] = col.to_pandas(types_mapper=_PANDAS.get)
    return pd.DataFrame(out)
