"""The PostgreSQL statements of `traveltide db load`, checked as text (no server needed)."""

import pytest

from traveltide.cli import build_parser
from traveltide.schema import PRIMARY_KEYS, TABLES
from traveltide.sources.pg_sql import (
    INDEXES,
    PG_TYPES,
    TYPE_SETS,
    column_type,
    copy_sql,
    create_table_sql,
    index_sql,
    primary_key_sql,
    quote_ident,
)


def test_ddl_types_follow_the_schema():
    ddl = create_table_sql("sessions", "s1")
    assert ddl.startswith('CREATE TABLE "s1"."sessions"')
    for col, logical in TABLES["sessions"].items():
        assert f'"{col}" {PG_TYPES[logical]}' in ddl


def test_identifiers_are_quoted_so_any_schema_name_is_safe():
    assert quote_ident('we"ird') == '"we""ird"'
    key = PRIMARY_KEYS["users"]
    assert primary_key_sql("users", 'a"b') == (
        f'ALTER TABLE "a""b"."users" ADD CONSTRAINT "users_pkey" PRIMARY KEY ("{key}")'
    )


def test_one_index_per_entry_named_after_its_columns():
    statements = index_sql("s1")
    assert len(statements) == sum(len(indexes) for indexes in INDEXES.values())
    assert (
        'CREATE INDEX "sessions_user_id_session_start_idx" ON "s1"."sessions" '
        '("user_id", "session_start")'
    ) in statements


def test_copy_lists_the_columns_in_schema_order_and_freezes():
    sql = copy_sql("hotels", "s1")
    columns = ", ".join(f'"{c}"' for c in TABLES["hotels"])
    assert sql == f'COPY "s1"."hotels" ({columns}) FROM STDIN WITH (FORMAT csv, FREEZE)'


def test_type_sets_cover_every_column():
    for types in TYPE_SETS:
        for table, cols in TABLES.items():
            ddl = create_table_sql(table, "s1", types)
            for col in cols:
                assert f'"{col}" {column_type(table, col, types)}' in ddl


def test_standard_is_the_default_and_real_is_the_real_schema():
    assert create_table_sql("users", "s1") == create_table_sql("users", "s1", "standard")
    decimals = [(t, c) for t, cols in TABLES.items() for c, lt in cols.items() if lt == "decimal"]
    assert len(decimals) == 8
    assert {column_type(t, c, "standard") for t, c in decimals} == {"double precision"}
    assert {column_type(t, c, "real") for t, c in decimals} == {"numeric"}
    assert {column_type(t, c, "narrow") for t, c in decimals} == {"real"}
    assert column_type("sessions", "session_start", "real") == "timestamp"
    assert column_type("users", "birthdate", "real") == "date"
    assert column_type("sessions", "page_clicks", "real") == "integer"


def test_narrow_keeps_ids_wide_enough_and_codes_fixed():
    assert column_type("sessions", "page_clicks", "narrow") == "smallint"
    assert column_type("users", "user_id", "narrow") == "integer"  # a million users
    assert column_type("sessions", "user_id", "narrow") == "integer"
    assert column_type("users", "home_airport", "narrow") == "char(3)"
    assert column_type("users", "home_country", "narrow") == "char(6)"
    assert column_type("sessions", "session_start", "narrow") == "timestamptz"
    assert column_type("sessions", "session_id", "narrow") == "varchar(64)"


def test_cli_offers_exactly_the_type_sets(capsys):
    parser = build_parser()
    for types in TYPE_SETS:
        assert parser.parse_args(["db", "load", "--types", types]).types == types
    assert parser.parse_args(["db", "load"]).types == "standard"
    with pytest.raises(SystemExit):
        parser.parse_args(["db", "load", "--help"])
    assert "--types {" + ",".join(TYPE_SETS) + "}" in capsys.readouterr().out
