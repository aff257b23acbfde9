"""The PostgreSQL statements of `traveltide db load`, checked as text (no server needed)."""

from traveltide.schema import PRIMARY_KEYS, TABLES
from traveltide.sources.pg_sql import (
    INDEXES,
    PG_TYPES,
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
