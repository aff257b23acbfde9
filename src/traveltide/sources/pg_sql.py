"""The PostgreSQL statements that create and fill the four tables, in one of three type sets.

Columns come from `schema.TABLES`, so the DDL cannot drift from the generator and the extract
checks; each logical type becomes a physical type of the chosen set (`TYPE_SETS`), the ways a
DBA may declare the same tables. Identifiers are quoted, so any schema name is safe in the SQL.
"""

from __future__ import annotations

from typing import Literal

from traveltide.schema import PRIMARY_KEYS, TABLES, LogicalType

TypeSet = Literal["standard", "real", "narrow"]

# standard: float64 end to end, the same values as the embedded database
PG_TYPES: dict[LogicalType, str] = {
    "int": "integer",
    "decimal": "double precision",
    "bool": "boolean",
    "date": "date",
    "timestamp": "timestamp",
    "text": "text",
}
# real: the real TravelTide schema (FACTS.md), whose decimals PostgreSQL stores as numeric
REAL_TYPES: dict[LogicalType, str] = {**PG_TYPES, "decimal": "numeric"}
# narrow: what a space-saving DBA picks: float4, smallint, bounded text, timestamptz ...
NARROW_TYPES: dict[LogicalType, str] = {
    **PG_TYPES,
    "int": "smallint",
    "decimal": "real",
    "timestamp": "timestamptz",
    "text": "varchar(64)",
}
# ... and, column by column, integer where smallint cannot hold the values, char(n) for
# fixed-width codes (home_country char(6) pads 'usa' with blanks), room for long names
NARROW_COLUMNS: dict[tuple[str, str], str] = {
    ("users", "user_id"): "integer",
    ("sessions", "user_id"): "integer",
    ("users", "gender"): "char(1)",
    ("users", "home_country"): "char(6)",
    ("users", "home_airport"): "char(3)",
    ("flights", "origin_airport"): "char(3)",
    ("flights", "destination_airport"): "char(3)",
    ("hotels", "hotel_name"): "varchar(128)",
}
TYPE_SETS: dict[TypeSet, tuple[dict[LogicalType, str], dict[tuple[str, str], str]]] = {
    "standard": (PG_TYPES, {}),
    "real": (REAL_TYPES, {}),
    "narrow": (NARROW_TYPES, NARROW_COLUMNS),
}


def column_type(table: str, column: str, types: TypeSet = "standard") -> str:
    """The physical type of one column in the type set `types`."""
    by_logical, by_column = TYPE_SETS[types]
    return by_column.get((table, column), by_logical[TABLES[table][column]])


# The indexes the cohort query uses beyond the primary keys, each a tuple of columns.
# (user_id, session_start) serves both the cohort count (an index-only scan: COPY FREEZE
# leaves the pages all-visible) and the reading of each cohort user's sessions (extract's
# `cohort_sessions`).
INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "sessions": (("user_id", "session_start"), ("session_start",), ("trip_id",))
}


def quote_ident(name: str) -> str:
    """A PostgreSQL identifier, quoted so any schema name is safe in SQL text."""
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def create_table_sql(table: str, schema: str = "public", types: TypeSet = "standard") -> str:
    """CREATE TABLE for one source table: columns from schema.TABLES, types from `types`."""
    cols = ",\n  ".join(
        f"{quote_ident(col)} {column_type(table, col, types)}" for col in TABLES[table]
    )
    return f"CREATE TABLE {qualified(schema, table)} (\n  {cols}\n)"


def primary_key_sql(table: str, schema: str = "public") -> str:
    """The primary key, added after COPY (faster than maintaining it row by row)."""
    key = quote_ident(PRIMARY_KEYS[table])
    name = quote_ident(f"{table}_pkey")
    return f"ALTER TABLE {qualified(schema, table)} ADD CONSTRAINT {name} PRIMARY KEY ({key})"


def index_sql(schema: str = "public") -> list[str]:
    """CREATE INDEX for each of `INDEXES` (named `<table>_<columns>_idx`)."""
    return [
        f"CREATE INDEX {quote_ident('_'.join((table, *cols, 'idx')))} "
        f"ON {qualified(schema, table)} ({', '.join(quote_ident(c) for c in cols)})"
        for table, indexes in INDEXES.items()
        for cols in indexes
    ]


def haversine_sql(schema: str = "public") -> str:
    """`haversine_distance(lat1, lon1, lat2, lon2)` in km, the same formula as geo.haversine_km.

    Plain SQL, IMMUTABLE; STRICT because least()/greatest() (the clamp against rounding just
    past 1 for antipodes) ignore NULLs, and a NULL coordinate must give NULL, not 0.
    """
    return f"""CREATE OR REPLACE FUNCTION {qualified(schema, "haversine_distance")}(
  lat1 double precision, lon1 double precision, lat2 double precision, lon2 double precision
) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
  SELECT 2.0 * 6371.0 * asin(sqrt(least(1.0, greatest(0.0,
    sin((radians(lat2) - radians(lat1)) / 2.0) ^ 2
    + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2.0) ^ 2))))
$$"""


def copy_sql(table: str, schema: str = "public") -> str:
    """COPY ... FROM STDIN for the CSV that `pgload.csv_bytes` writes (unquoted empty = NULL).

    FREEZE (the table is created in the same transaction) writes the rows frozen and, from
    PostgreSQL 14, marks the pages all-visible, so index-only scans need no VACUUM first.
    """
    cols = ", ".join(quote_ident(c) for c in TABLES[table])
    return f"COPY {qualified(schema, table)} ({cols}) FROM STDIN WITH (FORMAT csv, FREEZE)"
