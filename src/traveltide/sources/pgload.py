"""Load the four TravelTide tables into PostgreSQL, typed and indexed like the real database.

The tables come from the generated database (a `SyntheticDatabase` or the embedded Parquet
folder) or from CSV exports of the real tables. The loader creates the tables from
`schema.TABLES` (so the DDL cannot drift from the generator and the extract checks), streams
the rows with COPY in chunks (an in-memory CSV per chunk, written by pyarrow), then adds the
primary keys, the indexes the cohort query uses and the `haversine_distance` SQL function.
Everything runs in one transaction: a failure leaves the database as it was.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import psycopg2
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from tqdm import tqdm

from traveltide.errors import ConfigError, DataError, SourceError, first_line
from traveltide.schema import PRIMARY_KEYS, TABLES, LogicalType
from traveltide.sources.db import database_label, driver_url

log = logging.getLogger(__name__)

CHUNK_ROWS = 200_000
CONNECT_TIMEOUT_S = 10

PG_TYPES: dict[LogicalType, str] = {
    "int": "integer",
    "decimal": "double precision",  # float64 end to end: same values as the embedded database
    "bool": "boolean",
    "date": "date",
    "timestamp": "timestamp",
    "text": "text",
}

ARROW_TYPES: dict[LogicalType, pa.DataType] = {
    "int": pa.int64(),
    "decimal": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "text": pa.large_string(),
}

# The indexes the cohort query uses beyond the primary keys, each a tuple of columns.
# (user_id, session_start) serves both the cohort count (an index-only scan: COPY FREEZE
# leaves the pages all-visible) and the reading of each cohort user's sessions (extract's
# `cohort_sessions`); at full scale the count went from 1.2 s to 0.6 s and the whole query,
# with the key lookups, from 1.4-1.5 s to 0.8-1.0 s.
INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "sessions": (("user_id", "session_start"), ("session_start",), ("trip_id",))
}

Chunks = Callable[[int], Iterator[pa.Table]]


@dataclass(frozen=True)
class TableInput:
    """One table to load: where it comes from, its row count if known, and its row chunks.

    `chunks(n)` yields tables of at most n rows with the schema's columns, in schema order.
    """

    name: str
    origin: str
    rows: int | None
    chunks: Chunks = field(repr=False)


@dataclass(frozen=True)
class LoadResult:
    """What a load did: where (never a password), row counts per table, wall time."""

    target: str
    schema: str
    rows: dict[str, int]
    seconds: float


# ---------------------------------------------------------------- DDL (pure) --


def quote_ident(name: str) -> str:
    """A PostgreSQL identifier, quoted so any schema name is safe in SQL text."""
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def create_table_sql(table: str, schema: str = "public") -> str:
    """CREATE TABLE for one source table, columns and types from schema.TABLES."""
    cols = ",\n  ".join(
        f"{quote_ident(col)} {PG_TYPES[logical]}" for col, logical in TABLES[table].items()
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
    """COPY ... FROM STDIN for the CSV that `csv_bytes` writes (unquoted empty = NULL).

    FREEZE (the table is created in the same transaction) writes the rows frozen and, from
    PostgreSQL 14, marks the pages all-visible, so index-only scans need no VACUUM first.
    """
    cols = ", ".join(quote_ident(c) for c in TABLES[table])
    return f"COPY {qualified(schema, table)} ({cols}) FROM STDIN WITH (FORMAT csv, FREEZE)"


# ------------------------------------------------------- chunks to CSV (pure) --


def csv_bytes(chunk: pa.Table) -> bytes:
    """One chunk as headerless CSV: every value quoted, NULL unquoted, so '' stays ''."""
    buf = io.BytesIO()
    options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    pacsv.write_csv(chunk, buf, options)
    return buf.getvalue()


def cast_chunk(chunk: pa.Table, table: str) -> pa.Table:
    """The chunk with one Arrow type per logical type; a value that cannot fit is a DataError."""
    arrays = []
    for col, logical in TABLES[table].items():
        try:
            arrays.append(chunk.column(col).cast(ARROW_TYPES[logical]))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataError(
                f"{table}.{col}: cannot store {chunk.column(col).type} as {logical}"
            ) from exc
    return pa.table(arrays, names=list(TABLES[table]))


def rebatch(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Regroup record batches of any size into tables of `rows` rows (the last may be short)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        while count >= rows:
            joined = pa.Table.from_batches(pending)
            yield joined.slice(0, rows)
            rest = joined.slice(rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)


# ----------------------------------------------------------------- sources --


def _require_columns(present: Iterable[str], table: str, origin: str) -> None:
    missing = [c for c in TABLES[table] if c not in set(present)]
    if missing:
        raise DataError(f"{origin}: missing column '{missing[0]}' ({TABLES[table][missing[0]]})")


def frames_input(frames: Mapping[str, pd.DataFrame]) -> dict[str, TableInput]:
    """The four tables from DataFrames (e.g. a SyntheticDatabase's)."""
    inputs = {}
    for table in TABLES:
        if table not in frames:
            raise DataError(f"no '{table}' table to load")
        df = frames[table]
        _require_columns(df.columns, table, f"table '{table}'")
        inputs[table] = TableInput(table, f"DataFrame {table}", len(df), _frame_chunks(df, table))
    return inputs


def _frame_chunks(df: pd.DataFrame, table: str) -> Chunks:
    cols = list(TABLES[table])

    def chunks(rows: int) -> Iterator[pa.Table]:
        for start in range(0, len(df), rows):
            part = pa.Table.from_pandas(df.iloc[start : start + rows][cols], preserve_index=False)
            yield cast_chunk(part, table)

    return chunks


def database_input(db: object) -> dict[str, TableInput]:
    """The four tables of a `generate.SyntheticDatabase`."""
    return frames_input({table: getattr(db, table) for table in TABLES})


def parquet_input(folder: Path) -> dict[str, TableInput]:
    """The embedded database: <folder>/<table>.parquet, read in batches (never whole)."""
    inputs = {}
    for table in TABLES:
        path = Path(folder) / f"{table}.parquet"
        if not path.is_file():
            raise DataError(f"{path}: no such file (run `dvc repro generate` or use --from-csv)")
        try:
            meta = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{path}: not a readable Parquet file") from exc
        _require_columns(meta.schema_arrow.names, table, path.name)
        inputs[table] = TableInput(
            table, str(path), meta.metadata.num_rows, _parquet_chunks(path, table)
        )
    return inputs


def _parquet_chunks(path: Path, table: str) -> Chunks:
    def chunks(rows: int) -> Iterator[pa.Table]:
        batches = pq.ParquetFile(path).iter_batches(batch_size=rows, columns=list(TABLES[table]))
        for batch in batches:
            yield cast_chunk(pa.Table.from_batches([batch]), table)

    return chunks


def read_csv_header(path: Path) -> list[str]:
    """The header row of a CSV file (a UTF-8 byte-order mark is ignored)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        try:
            return next(csv.reader(fh))
        except StopIteration:
            return []
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DataError(f"{path.name}: unreadable header ({exc})") from exc


def check_csv_header(header: list[str], table: str, filename: str) -> None:
    """The header has exactly the schema's columns, in any order; else name file and column."""
    expected = TABLES[table]
    seen: set[str] = set()
    for col in header:
        if col not in expected:
            raise DataError(f"{filename}: unexpected column '{col}' (not in table '{table}')")
        if col in seen:
            raise DataError(f"{filename}: duplicate column '{col}'")
        seen.add(col)
    _require_columns(header, table, filename)


def count_lines(path: Path) -> int:
    """Newlines in a file: the row count of a CSV, +1 for the header (for the progress bar)."""
    lines = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 24):
            lines += block.count(b"\n")
    return lines


def csv_input(folder: Path) -> dict[str, TableInput]:
    """CSV exports of the real tables: <folder>/<table>.csv with a header row.

    Values go to PostgreSQL as text, which parses them (so t/f, true/false, ISO dates all
    work); an unquoted empty field is NULL, a quoted one ("") an empty string.
    """
    inputs = {}
    for table in TABLES:
        path = Path(folder) / f"{table}.csv"
        if not path.is_file():
            raise DataError(f"{path}: no such file (expected {', '.join(TABLES)} as CSV)")
        header = read_csv_header(path)
        check_csv_header(header, table, path.name)
        rows = max(count_lines(path) - 1, 0)
        inputs[table] = TableInput(table, str(path), rows, _csv_chunks(path, table, header))
    return inputs


def _csv_chunks(path: Path, table: str, header: list[str]) -> Chunks:
    def chunks(rows: int) -> Iterator[pa.Table]:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.large_string() for c in header},
                include_columns=list(TABLES[table]),
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                null_values=[""],
            ),
        )
        yield from rebatch(reader, rows)

    return chunks


# ------------------------------------------------------------------ loading --


def _connect(url: str) -> tuple[object, str]:
    """A psycopg2 connection (transaction open, autocommit off) and the target's label."""
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


def existing_tables(cursor: object, schema: str) -> list[str]:
    """Which of the four table names are already taken in `schema`, in schema.TABLES order."""
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = ANY(%s)",
        (schema, list(TABLES)),
    )
    taken = {row[0] for row in cursor.fetchall()}
    return [t for t in TABLES if t in taken]


def _schema_exists(cursor: object, schema: str) -> bool:
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


def _copy_table(cursor: object, item: TableInput, schema: str, chunk_rows: int, bar: bool | None):
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
    chunk_rows: int = CHUNK_ROWS,
    progress: bool | None = None,
) -> LoadResult:
    """Create and fill the four tables in `schema` of the PostgreSQL database at `url`.

    Refuses to overwrite existing tables unless `replace`. One transaction: on any error
    nothing is left behind. `progress`: a tqdm bar per table; None shows it on a terminal only.
    """
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
                cur.execute(create_table_sql(table, schema))
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
    return LoadResult(target=label, schema=schema, rows=rows, seconds=seconds)


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
