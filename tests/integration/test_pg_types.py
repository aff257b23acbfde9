"""A TravelTide database made by other tools, on the real server: every type set `db load` can
create, views in another schema, a read-only role, sessions in another time zone. Each gives
the cohort byte for byte as the embedded database does."""

from __future__ import annotations

import datetime as dt
import uuid

import adbc_driver_postgresql.dbapi as adbc
import pyarrow as pa
import pytest
import sqlalchemy as sa

from support import pg_query
from traveltide.config import CohortConfig
from traveltide.errors import DataError
from traveltide.io import write_parquet
from traveltide.schema import TABLES
from traveltide.sources.db import Source, driver_url
from traveltide.sources.extract import extract_cohort, libpq_uri
from traveltide.sources.pg_sql import TYPE_SETS, column_type, qualified, quote_ident
from traveltide.sources.pgload import load_tables
from traveltide.sources.table_inputs import database_input

CONFIG = CohortConfig(dt.date(2023, 1, 4), 7)
# Sessions whose TimeZone is not UTC: the loader and extract must not depend on it (the test
# server runs in UTC, so without these the time-zone handling could not fail here).
LOAD_ZONE, READ_ZONE = "Asia/Kolkata", "America/New_York"
# How information_schema spells the type names pg_sql writes
SPELLED = {
    "varchar": "character varying",
    "char": "character",
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
}
# The view schema: over the `real` tables, every column cast as another DBA would have it,
# in reverse column order
VIEW_CASTS = {"int": "bigint", "decimal": "numeric(14,6)", "text": "varchar(200)"}


def with_options(url: str, *settings: str) -> str:
    """`url` with libpq options `-c name=value` for each setting."""
    options = " ".join(f"-c{s}" for s in settings)
    return sa.make_url(url).update_query_dict({"options": options}).render_as_string(False)


def reading(url: str, schema: str) -> Source:
    """A source reading `schema` through a session in READ_ZONE."""
    return Source(with_options(url, f"search_path={schema}", f"TimeZone={READ_ZONE}"))


def execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(driver_url(url))
    try:
        with engine.begin() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def view_sql(view_schema: str, base_schema: str, table: str) -> str:
    cols = [
        f"{quote_ident(c)}::{VIEW_CASTS[logical]} AS {quote_ident(c)}"
        if logical in VIEW_CASTS
        else quote_ident(c)
        for c, logical in reversed(TABLES[table].items())
    ]
    return (
        f"CREATE VIEW {qualified(view_schema, table)} AS SELECT {', '.join(cols)} "
        f"FROM {qualified(base_schema, table)}"
    )


@pytest.fixture(scope="module")
def schemas(postgres, small_db):
    """One schema per type set, loaded through a session in LOAD_ZONE, and a schema of views
    over the `real` one; all dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    names = {types: f"tt_types_{types}_{tag}" for types in TYPE_SETS}
    names["views"] = f"tt_types_views_{tag}"
    try:
        for types in TYPE_SETS:
            load_tables(
                with_options(postgres, f"TimeZone={LOAD_ZONE}"),
                database_input(small_db),
                schema=names[types],
                types=types,
                progress=False,
            )
        views = names["views"]
        execute(
            postgres,
            f"CREATE SCHEMA {quote_ident(views)}",
            *(view_sql(views, names["real"], table) for table in TABLES),
        )
        yield names
    finally:
        execute(
            postgres, *(f"DROP SCHEMA IF EXISTS {quote_ident(n)} CASCADE" for n in names.values())
        )


@pytest.fixture(scope="module")
def embedded_bytes(embedded_source, tmp_path_factory) -> bytes:
    return cohort_bytes(embedded_source, tmp_path_factory.mktemp("embedded"))


def cohort_bytes(source: Source, folder) -> bytes:
    path = folder / "cohort.parquet"
    write_parquet(extract_cohort(source, CONFIG), path)
    return path.read_bytes()


def declared_types(url: str, schema: str) -> dict[tuple[str, str], str]:
    rows = pg_query(
        url,
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :s AND c.relkind IN ('r', 'v') AND a.attnum > 0 "
        "AND NOT a.attisdropped",
        s=schema,
    )
    return {(table, col): kind for table, col, kind in rows}


def spelled(physical: str) -> str:
    name, paren, rest = physical.partition("(")
    return SPELLED.get(name, name) + paren + rest


@pytest.mark.parametrize("types", list(TYPE_SETS))
def test_each_type_set_is_created_as_declared(postgres, schemas, types):
    want = {
        (table, col): spelled(column_type(table, col, types))
        for table, cols in TABLES.items()
        for col in cols
    }
    assert declared_types(postgres, schemas[types]) == want


def test_the_type_sets_cover_what_the_issue_names(postgres, schemas):
    """numeric, real, smallint, bigint, varchar(n), char(n), timestamptz: all met below."""
    met = {
        kind for schema in schemas.values() for kind in declared_types(postgres, schema).values()
    }
    for kind in (
        "numeric",
        "numeric(14,6)",
        "double precision",
        "real",
        "smallint",
        "integer",
        "bigint",
        "text",
        "character varying(64)",
        "character(6)",
        "timestamp without time zone",
        "timestamp with time zone",
        "date",
        "boolean",
    ):
        assert kind in met, kind


@pytest.mark.parametrize("variant", [*TYPE_SETS, "views"])
def test_cohort_is_byte_identical_to_the_embedded_one(
    postgres, schemas, embedded_bytes, variant, tmp_path
):
    got = cohort_bytes(reading(postgres, schemas[variant]), tmp_path)
    assert got == embedded_bytes


def test_padding_of_char_n_is_stored_and_stripped(postgres, schemas):
    """The narrow set's home_country char(6) really pads 'usa' (so the strip is exercised)."""
    schema = quote_ident(schemas["narrow"])
    padded = pg_query(
        postgres, f"SELECT DISTINCT home_country::bytea FROM {schema}.users ORDER BY 1"
    )
    assert [bytes(row[0]) for row in padded] == [b"canada", b"usa   "]


def test_views_have_no_index_and_are_joined_whole(postgres, schemas, caplog):
    with caplog.at_level("WARNING", logger="traveltide.sources.extract"):
        extract_cohort(reading(postgres, schemas["views"]), CONFIG)
    warned = " ".join(r.getMessage() for r in caplog.records)
    for table in TABLES:
        assert f"{table} has no index led by" in warned


def test_a_read_only_role_extracts_the_same_cohort(postgres, schemas, embedded_bytes, tmp_path):
    """USAGE on the schema, SELECT on the four tables, every transaction read-only: extract
    creates nothing, so it runs as such a role."""
    role, schema = f"tt_reader_{uuid.uuid4().hex[:8]}", schemas["real"]
    tables = ", ".join(qualified(schema, t) for t in TABLES)
    execute(
        postgres,
        f"CREATE ROLE {role} LOGIN",
        f"GRANT USAGE ON SCHEMA {quote_ident(schema)} TO {role}",
        f"GRANT SELECT ON {tables} TO {role}",
        f"ALTER ROLE {role} SET default_transaction_read_only = on",
    )
    try:
        url = sa.make_url(postgres).set(username=role).render_as_string(hide_password=False)
        as_reader = with_options(url, f"search_path={schema}")
        with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
            pg_query(as_reader, "CREATE TEMP TABLE probe (x int)")
        with pytest.raises(sa.exc.DBAPIError, match="permission denied"):
            pg_query(as_reader, f"SELECT 1 FROM {qualified(schemas['standard'], 'users')}")
        assert cohort_bytes(reading(url, schema), tmp_path) == embedded_bytes
    finally:
        execute(postgres, f"DROP OWNED BY {role}", f"DROP ROLE {role}")


@pytest.mark.parametrize(
    ("column", "expression", "message"),
    [
        ("home_airport_lat", "'n/a'::text", "expected decimal, got text value 'n/a'"),
        ("home_airport_lat", "home_airport_lat::text", "expected decimal, got text value '"),
        ("home_country", "length(home_country)", "expected text, got int4 value "),
    ],
)
def test_a_wrong_type_is_one_line_naming_column_and_value(
    postgres, schemas, column, expression, message
):
    """Text in a decimal column is the wrong type, parsable or not; so is a number for text."""
    schema = f"{schemas['views']}_bad"
    cols = [expression + f" AS {column}" if c == column else c for c in TABLES["users"]]
    base = qualified(schemas["real"], "users")
    execute(
        postgres,
        f"CREATE SCHEMA {quote_ident(schema)}",
        f"CREATE VIEW {qualified(schema, 'users')} AS SELECT {', '.join(cols)} FROM {base}",
        *(
            f"CREATE VIEW {qualified(schema, t)} AS SELECT * FROM {qualified(schemas['real'], t)}"
            for t in TABLES
            if t != "users"
        ),
    )
    try:
        with pytest.raises(DataError) as err:
            extract_cohort(reading(postgres, schema), CONFIG)
    finally:
        execute(postgres, f"DROP SCHEMA {quote_ident(schema)} CASCADE")
    assert str(err.value).startswith(f"users.{column}: {message}")
    assert "\n" not in str(err.value)


def test_unit_test_fields_are_what_adbc_returns(postgres):
    """tests/unit/sources/test_physical_types.py builds its columns as ADBC hands them over:
    check that shape against the driver and server in use."""
    with adbc.connect(libpq_uri(postgres)) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT 40.6398::numeric(9,4) AS n, 40.6398::real AS r, 'usa'::char(6) AS c, "
            "'2023-01-04 10:00+02'::timestamptz AS t"
        )
        got = cursor.fetch_arrow_table()
    numeric = got.schema.field("n")
    assert numeric.type == pa.opaque(pa.string(), "numeric", "PostgreSQL")
    assert numeric.metadata == {
        b"ADBC:postgresql:typname": b"numeric",
        b"POSTGRESQL:type": b"numeric",
        b"POSTGRESQL:typmod": b"589832",
    }
    assert got.schema.field("r").type == pa.float32()
    assert got.schema.field("c").metadata == {b"POSTGRESQL:type": b"bpchar"}
    assert got.schema.field("t").type == pa.timestamp("us", tz="UTC")
    assert got.to_pylist()[0]["c"] == "usa   "
