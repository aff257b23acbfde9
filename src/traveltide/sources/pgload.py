"""Load the four TravelTide tables into PostgreSQL, typed and indexed like the real database.

The tables come from the generated database (a `SyntheticDatabase` or the embedded Parquet
folder) or from CSV exports of the real tables (`traveltide.sources.table_inputs`). The loader
creates the tables in one of the type sets of `traveltide.sources.pg_sql` (today's double
precision, the real schema's numeric, or a space-saving DBA's real/smallint/char(n)/timestamptz),
streams the rows with COPY in chunks (an in-memory CSV per chunk, written by pyarrow; the
server parses the text into whichever type), then adds the primary keys, the indexes the cohort
query uses and the `haversine_distance` SQL function. Everything runs in one transaction: a
failure leaves the database as it was.
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg2
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from psycopg2.extensions import cursor as PgCursor
from sqlalchemy import exc as sa_exc
from tqdm import tqdm

from traveltide.errors import ConfigError, DataError, SourceError, first_line
from traveltide.schema import PRIMARY_KEYS, TABLES
from traveltide.sources.db import database_label, driver_url
from traveltide.sources.pg_sql import (
    TYPE_SETS,
    TypeSet,
    copy_sql,
    create_table_sql,
    haversine_sql,
    index_sql,
    primary_key_sql,
    qualified,
    quote_ident,
)
from traveltide.sources.table_inputs import TableInput

log = logging.getLogger(__name__)

CHUNK_ROWS = 200_000
CONNECT_TIMEOUT_S = 10


@dataclass(frozen=True)
class LoadResult:
    """What a load did: where (never a password), in which type set, row counts per table,
    wall time."""

    target: str
    schema: str
    rows: dict[str, int]
    seconds: float
    types: TypeSet = "standard"


def csv_bytes(chunk: pa.Table) -> bytes:
    """One chunk as headerless CSV: every value quoted, NULL unquoted, so '' stays ''."""
    buf = io.BytesIO()
    options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    pacsv.write_csv(chunk, buf, options)
    return buf.getvalue()


def _connect(url: str) -> tuple[Any, str]:
    """A psycopg2 connection behind SQLAlchemy's pool proxy (transaction open, autocommit off)
    and the target's label."""
    parsed = driver_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(f"db load needs a PostgreSQL URL, got '{parsed.get_backend_name()}'")
    label = database_label(url)
    connect_args = (
        {} if "connect_timeout" in parsed.query else {"connect_timeout": CONNECT_TIMEOUT_S}
    )
    try:
        engine = sa.create_engine(parsed, poolclass=sa.pool.NullPool, connect_args=connect_args)
        conn = engine.raw_connection()
    except (sa_exc.DBAPIError, psycopg2.Error) as exc:  # raw_connection raises the driver's
        raise SourceError(f"cannot connect to {label}: {first_line(exc, parsed.password)}") from exc
    except Exception as exc:  # noqa: BLE001 - missing driver, malformed URL
        raise ConfigError(f"cannot use {label}: {type(exc).__name__}") from exc
    return conn, label


def existing_tables(cursor: PgCursor, schema: str) -> list[str]:
    """Which of the four table names are already taken in `schema`, in schema.TABLES order."""
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = ANY(%s)",
        (schema, list(TABLES)),
    )
    taken = {row[0] for row in cursor.fetchall()}
    return [t for t in TABLES if t in taken]


def _schema_exists(cursor: PgCursor, schema: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
    return cursor.fetchone() is not None


_COPY_CONTEXT = re.compile(r"line (\d+)(?:, column (\w+))?")


def copy_error_where(context: str | None, offset: int) -> str:
    """' (row N, column c)' from a COPY error's CONTEXT, N counted over the whole table."""
    match = _COPY_CONTEXT.search(context or "")
    if not match:
        return ""
    where = f"row {offset + int(match.group(1))}"
    return f" ({where}, column {match.group(2)})" if match.group(2) else f" ({where})"


def _copy_table(
    cursor: PgCursor, item: TableInput, schema: str, chunk_rows: int, bar: bool | None
) -> int:
    """COPY one table chunk by chunk; returns its row count."""
    sql = copy_sql(item.name, schema)
    loaded = 0
    with tqdm(
        total=item.rows, desc=item.name, unit="rows", unit_scale=True, disable=bar, leave=False
    ) as progress:
        for chunk in item.chunks(chunk_rows):
            try:
                cursor.copy_expert(sql, io.BytesIO(csv_bytes(chunk)))
            except Exception as exc:
                diag = getattr(exc, "diag", None)
                where = copy_error_where(getattr(diag, "context", None), loaded)
                exc.add_note(f"traveltide-where:{where}")
                raise
            loaded += chunk.num_rows
            progress.update(chunk.num_rows)
    return loaded


def load_tables(
    url: str,
    inputs: Mapping[str, TableInput],
    *,
    schema: str = "public",
    replace: bool = False,
    types: TypeSet = "standard",
    chunk_rows: int = CHUNK_ROWS,
    progress: bool | None = None,
) -> LoadResult:
    """Create and fill the four tables in `schema` of the PostgreSQL database at `url`.

    `types`: the physical types (`pg_sql.TYPE_SETS`). Timestamps are written as UTC wall
    times, so a timestamptz column holds the instants the embedded database's timestamps name
    in UTC, whatever the server's TimeZone. Refuses to overwrite existing tables unless
    `replace`. One transaction: on any error nothing is left behind. `progress`: a tqdm bar
    per table; None shows it on a terminal only.
    """
    if types not in TYPE_SETS:
        raise ConfigError(f"types must be one of {', '.join(TYPE_SETS)}, got {types!r}")
    if set(inputs) != set(TABLES):
        raise ConfigError(f"load needs exactly the tables {', '.join(TABLES)}")
    if not schema:
        raise ConfigError("schema name is empty")
    if chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be positive, got {chunk_rows}")
    t0 = time.perf_counter()
    conn, label = _connect(url)
    secret = driver_url(url).password
    where_ = f"{label} (schema {schema})"
    disable = None if progress is None else not progress
    step = "checking tables"
    rows: dict[str, int] = {}
    try:
        with conn.cursor() as cur:
            cur.execute("SET LOCAL TimeZone = 'UTC'")  # this transaction only
            taken = existing_tables(cur, schema)
            if taken and not replace:
                raise DataError(f"table '{taken[0]}' already exists in {where_}; use --replace")
            if not _schema_exists(cur, schema):
                step = "creating schema"
                cur.execute(f"CREATE SCHEMA {quote_ident(schema)}")
            for table in taken:
                step = f"dropping {table}"
                cur.execute(f"DROP TABLE {qualified(schema, table)}")
            for table in TABLES:
                step = table
                started = time.perf_counter()
                cur.execute(create_table_sql(table, schema, types))
                rows[table] = _copy_table(cur, inputs[table], schema, chunk_rows, disable)
                log.info(
                    "copied %s: %d rows in %.1f s",
                    table,
                    rows[table],
                    time.perf_counter() - started,
                )
            started = time.perf_counter()
            for table in TABLES:
                step = f"{table}: primary key {PRIMARY_KEYS[table]}"
                cur.execute(primary_key_sql(table, schema))
            step = "creating indexes"
            for statement in index_sql(schema):
                cur.execute(statement)
            step = "creating haversine_distance"
            cur.execute(haversine_sql(schema))
            step = "analyzing"
            for table in TABLES:
                cur.execute(f"ANALYZE {qualified(schema, table)}")
            log.info("keys, indexes and statistics in %.1f s", time.perf_counter() - started)
        conn.commit()
    except psycopg2.Error as exc:
        conn.rollback()
        raise _load_error(exc, step, where_, secret) from exc
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()
    seconds = time.perf_counter() - t0
    log.info("loaded %s rows into %s in %.1f s", f"{sum(rows.values()):,}", where_, seconds)
    return LoadResult(target=label, schema=schema, rows=rows, seconds=seconds, types=types)


def _load_error(exc: BaseException, step: str, where_: str, secret: str | None) -> Exception:
    """One line for a failed load: bad data is a DataError, anything else a SourceError."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) or first_line(exc, secret)
    detail = getattr(diag, "message_detail", None)
    notes = [n for n in getattr(exc, "__notes__", []) if n.startswith("traveltide-where:")]
    where = notes[0].removeprefix("traveltide-where:") if notes else ""
    message = f"{step}: {primary}{where}" + (f": {detail}" if detail else "")
    message = " ".join(message.split())
    if secret:
        message = message.replace(secret, "***")
    if isinstance(exc, psycopg2.DataError | psycopg2.IntegrityError):
        return DataError(message)
    return SourceError(f"{where_}: {message}")
