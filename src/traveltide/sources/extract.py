"""Elena's cohort: the one SQL query that runs unchanged on DuckDB and on PostgreSQL.

Sessions that start after `cohort.session_start_after`, of users with more than
`cohort.min_sessions` such sessions, left-joined to users, flights and hotels. Values are
bound parameters, never formatted into the SQL text; only column names from the fixed schema
are spliced in.

On the real schema PostgreSQL runs the very text DuckDB runs. Only where a PostgreSQL table
lacks the index its rows are read by (`indexed_keys`) does that one join take its plain form;
all forms return the same rows (tested).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import adbc_driver_manager
import duckdb
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from traveltide.config import CohortConfig
from traveltide.errors import DataError, SourceError, first_line, first_line_of
from traveltide.schema import NULLABLE, PRIMARY_KEYS, TABLES, LogicalType
from traveltide.sources.db import Source, make_engine
from traveltide.sources.physical_types import normalise_table, to_frame

log = logging.getLogger(__name__)

_JOINED: dict[str, str] = {"users": "user_id", "flights": "trip_id", "hotels": "trip_id"}
_ALIAS = {"sessions": "s", "users": "u", "flights": "f", "hotels": "h"}
# The column each table is read by: sessions by cohort user, the others by their primary key.
LOOKUP_KEYS: dict[str, str] = {"sessions": "user_id", **_JOINED}
EVERY_LOOKUP = frozenset(LOOKUP_KEYS)  # the query DuckDB runs, and PostgreSQL on the real schema


def cohort_columns() -> dict[str, tuple[str, LogicalType]]:
    """Output column -> (source table, logical type): sessions first, join keys not repeated."""
    columns: dict[str, tuple[str, LogicalType]] = {}
    for table, cols in TABLES.items():
        for name, logical in cols.items():
            if table in _JOINED and name == _JOINED[table]:
                continue
            columns[name] = (table, logical)
    return columns


def keyed_join(table: str, *, lookup: bool) -> str:
    """The LEFT JOIN of users, flights or hotels to the cohort's sessions, on its key.

    `lookup` writes it as a LATERAL subquery behind `OFFSET 0`, which PostgreSQL cannot flatten
    into a join: it must fetch each session's row by the key, through the key's index. The
    plain join leaves the choice to the planner, and the planner cannot estimate
    `HAVING COUNT(*) > n`: it expects several times the cohort's sessions and hash-joins the
    whole users, flights and hotels tables, most of the query's time at full scale. The rows
    are the same either way, and DuckDB plans both alike.
    """
    alias, key = _ALIAS[table], LOOKUP_KEYS[table]
    if lookup:
        return (
            f"LEFT JOIN LATERAL (SELECT * FROM {table} {alias} "
            f"WHERE {alias}.{key} = s.{key} OFFSET 0) {alias} ON true"
        )
    return f"LEFT JOIN {table} {alias} ON {alias}.{key} = s.{key}"


def cohort_sessions(*, lookup: bool) -> str:
    """FROM the cohort's sessions: each cohort user's read through the user_id index
    (`lookup`, as in `keyed_join`), or all recent sessions joined to the cohort users."""
    if lookup:
        return (
            "FROM cohort_users c\n"
            "JOIN LATERAL (SELECT * FROM sessions s WHERE s.user_id = c.user_id "
            "AND s.session_start > :start_after OFFSET 0) s ON true"
        )
    return "FROM sessions s\nJOIN cohort_users c ON c.user_id = s.user_id"


def cohort_sql(lookups: Collection[str] = EVERY_LOOKUP) -> sa.TextClause:
    """The cohort query with bound :start_after and :min_sessions.

    `lookups`: the tables read by key (`keyed_join`, `cohort_sessions`); all of them unless a
    PostgreSQL table has no index led by its key column, where a lookup per row would scan
    the table each time (`indexed_keys`).
    """
    select = ",\n  ".join(f"{_ALIAS[t]}.{c}" for c, (t, _) in cohort_columns().items())
    joins = "\n".join(keyed_join(table, lookup=table in lookups) for table in _JOINED)
    return sa.text(
        f"""
WITH cohort_users AS (
  SELECT user_id
  FROM sessions
  WHERE session_start > :start_after
  GROUP BY user_id
  HAVING COUNT(*) > :min_sessions
)
SELECT
  {select}
{cohort_sessions(lookup="sessions" in lookups)}
{joins}
WHERE s.session_start > :start_after
ORDER BY s.user_id, s.session_start, s.session_id
"""
    )


def cohort_bind_params(config: CohortConfig) -> dict[str, object]:
    start = dt.datetime.combine(config.session_start_after, dt.time())
    return {"start_after": start, "min_sessions": int(config.min_sessions)}


@dataclass(frozen=True)
class CohortSummary:
    """Headline figures of the extracted cohort (metrics/extract.json)."""

    users: int
    sessions: int
    distinct_trips: int
    browse_only_sessions: int
    cancellation_sessions: int
    first_session: str
    last_session: str


def summarise(cohort: pd.DataFrame) -> CohortSummary:
    return CohortSummary(
        users=int(cohort["user_id"].nunique()),
        sessions=len(cohort),
        distinct_trips=int(cohort["trip_id"].nunique()),
        browse_only_sessions=int(cohort["trip_id"].isna().sum()),
        cancellation_sessions=int(cohort["cancellation"].fillna(False).astype(bool).sum()),
        first_session=str(cohort["session_start"].min()),
        last_session=str(cohort["session_start"].max()),
    )


def _check_tables(conn: sa.Connection, source: Source) -> None:
    """Each source table exists and has every schema column; else name the table and column."""
    for table, cols in TABLES.items():
        try:
            result = conn.execute(sa.text(f"SELECT * FROM {table} LIMIT 0"))
        except sa_exc.DBAPIError as exc:
            conn.rollback()
            raise DataError(
                f"source {source.label}: table '{table}' not found or unreadable"
            ) from exc
        present = set(result.keys())
        for col, logical in cols.items():
            if col not in present:
                raise DataError(
                    f"source {source.label}: table '{table}' has no column '{col}' ({logical})"
                )


def indexed_keys(conn: sa.Connection) -> set[str]:
    """The tables with a usable index led by their lookup column (`LOOKUP_KEYS`).

    The schema makes users', flights' and hotels' keys primary keys, so normally those three,
    and sessions when it has an index led by user_id (`traveltide db load` makes one). A table
    without one is joined whole instead of read by key (`cohort_sql`): slower at scale, never a
    scan per row; a warning names it. Names resolve through the search_path, as the query's.
    """
    pairs = ", ".join(f"('{table}', '{key}')" for table, key in LOOKUP_KEYS.items())
    found = {
        row[0]
        for row in conn.execute(
            sa.text(
                f"SELECT t.name FROM (VALUES {pairs}) AS t(name, key) "
                "JOIN pg_index i ON i.indrelid = to_regclass(t.name) "
                "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
                "WHERE a.attname = t.key AND i.indisvalid AND i.indpred IS NULL"
            )
        )
    }
    for table, key in LOOKUP_KEYS.items():
        if table not in found:
            log.warning(
                "%s has no index led by %s: joined whole, not read by key (slower at scale)",
                table,
                key,
            )
    return found


def normalise(rows: pa.Table) -> pd.DataFrame:
    """One dtype per logical type, whichever database answered and whichever physical type it
    declared (numeric, real, char(n), timestamptz, ...: `physical_types`); a column that cannot
    be read as its logical type is a DataError naming table.column and a sample value."""
    return to_frame(normalise_table(rows, cohort_columns()))


def _table_columns(table: str) -> list[str]:
    return [c for c, (t, _) in cohort_columns().items() if t == table]


def check_conflicting_duplicates(df: pd.DataFrame) -> None:
    """A session_id repeated with different values means a duplicated key in some table.

    Identical repeats are left to clean (`clean.drop_duplicate_sessions`, counted); repeats
    that disagree (two users rows for one user_id, two flights for one trip_id, ...) would
    silently pick one version, so they stop the run naming the table, key and column.
    """
    repeated = df[df["session_id"].duplicated(keep=False)]
    if repeated.empty:
        return
    varying = repeated.groupby("session_id", sort=True).nunique(dropna=False) > 1
    for table in ("sessions", "users", "flights", "hotels"):
        cols = [c for c in _table_columns(table) if c in varying.columns]
        hit = varying[cols].any(axis=1)
        if hit.any():
            session = hit[hit].index[0]
            column = next(c for c in cols if varying.at[session, c])
            row = repeated.loc[repeated["session_id"] == session].iloc[0]
            key = PRIMARY_KEYS[table]
            value = row["session_id"] if table == "sessions" else row[_JOINED.get(table, key)]
            value = value.item() if hasattr(value, "item") else value  # numpy scalar -> plain
            raise DataError(
                f"{table}: duplicate primary key {key} {value!r} with different values "
                f"(column {column}); {int(hit.sum())} cohort session(s) affected"
            )


def check_required_values(df: pd.DataFrame) -> None:
    """Required columns hold a value wherever their table's row exists (see schema.NULLABLE).

    users must exist for every session; a flights or hotels row exists when any of its columns
    is non-NULL after the LEFT JOIN.
    """
    for table in ("sessions", "users", "flights", "hotels"):
        cols = _table_columns(table)
        present = df[cols].notna().any(axis=1)
        if table == "users" and not present.all():
            first = df.loc[~present].iloc[0]
            raise DataError(
                f"users: no row for user_id {int(first['user_id'])} of the cohort "
                f"({int((~present).sum())} sessions without a users row)"
            )
        for col in cols:
            if col in NULLABLE[table]:
                continue
            missing = present & df[col].isna()
            if missing.any():
                first = df.loc[missing, "session_id"].iloc[0]
                raise DataError(
                    f"{table}.{col} is NULL in {int(missing.sum()):,} of {int(present.sum()):,} "
                    f"cohort rows that have a {table} row (first session_id {first})"
                )


# Per session, read-only: timestamps compare in UTC (a timestamptz column against the cohort's
# boundary, which is a timestamp, compares at the session's TimeZone), and no JIT: compiling
# this plan costs more than it saves (only where the setting exists, PG 11+).
SESSION_SETTINGS = (
    "SELECT set_config('TimeZone', 'UTC', false) UNION ALL "
    "SELECT set_config('jit', 'off', false) WHERE current_setting('jit', true) IS NOT NULL"
)


def numbered_query(
    dialect: sa.Dialect, params: dict[str, object], lookups: Collection[str] = EVERY_LOOKUP
) -> tuple[str, list[object]]:
    """The cohort SQL with numbered placeholders ($1, $2: the style of DuckDB and of ADBC's
    PostgreSQL driver) and its arguments in that order. Values stay bound, never spliced in."""
    compiled = cohort_sql(lookups).compile(dialect=dialect)
    bound = compiled.construct_params(params)
    order = compiled.positiontup or []  # set for positional paramstyles, as both dialects use
    return str(compiled), [bound[name] for name in order]


def libpq_uri(url: str) -> str:
    """A SQLAlchemy URL (`postgresql+psycopg2://...`) as the plain URI libpq (ADBC) reads.

    Query values are percent-encoded: SQLAlchemy writes a space as '+', which libpq keeps, so
    `options=-csearch_path=x -cTimeZone=UTC` would reach the server as one setting.
    """
    parsed = sa.make_url(url).set(drivername="postgresql")
    base = parsed.set(query={}).render_as_string(hide_password=False)
    pairs = [
        (key, value)
        for key, given in parsed.query.items()
        for value in (given if isinstance(given, tuple) else (given,))
    ]
    return f"{base}?{urlencode(pairs, quote_via=quote)}" if pairs else base


def read_cohort(
    conn: sa.Connection,
    source: Source,
    params: dict[str, object],
    lookups: Collection[str] = EVERY_LOOKUP,
) -> pa.Table:
    """The cohort query's rows as Arrow, the same SQL text on either database.

    `lookups`: the tables read by key (`cohort_sql`). Extract passes all of them to DuckDB,
    and to PostgreSQL those `indexed_keys` found (all four on a database `db load` made).

    Both databases hand over result columns whole as Arrow, never a Python object per value
    (as `pd.read_sql` does, minutes and gigabytes for the full-scale cohort): DuckDB directly,
    PostgreSQL through ADBC's libpq driver (binary COPY). Both sessions compare timestamps in
    UTC. `normalise` gives both one dtype per logical type, so the cohort file is
    byte-identical whichever database answered.
    """
    if source.url is None:
        sql, args = numbered_query(conn.dialect, params, lookups)
        duck: Any = conn.connection.driver_connection  # duckdb-engine's DuckDB connection
        duck.execute("SET TimeZone = 'UTC'")
        return duck.execute(sql, args).to_arrow_table()
    with pg_cohort_cursor(source.url, params, lookups) as cursor:
        return cursor.fetch_arrow_table()


@contextmanager
def pg_cohort_cursor(
    url: str, params: dict[str, object], lookups: Collection[str]
) -> Iterator[Any]:
    """An ADBC cursor on PostgreSQL that has run the cohort query in the UTC session
    (SESSION_SETTINGS), open while the block fetches its rows, whole or as a stream."""
    import adbc_driver_postgresql.dbapi as adbc
    from sqlalchemy.dialects import postgresql

    sql, args = numbered_query(postgresql.dialect(paramstyle="numeric_dollar"), params, lookups)
    with adbc.connect(libpq_uri(url)) as pg, pg.cursor() as cursor:
        cursor.execute(SESSION_SETTINGS)
        cursor.fetchall()
        cursor.execute(sql, args)
        yield cursor


def driver_reason(exc: Exception, secret: str | None) -> str:
    """The one line that says what went wrong. ADBC's libpq messages quote the whole SQL text
    first (`Failed to execute query '<SQL>': <reason>`), so the quote is dropped."""
    if isinstance(exc, adbc_driver_manager.Error):
        return (
            first_line_of(re.sub(r" '[^']*'", "", str(exc), count=1), secret) or type(exc).__name__
        )
    return first_line(exc, secret)


@contextmanager
def cohort_query(
    source: Source, config: CohortConfig
) -> Iterator[tuple[sa.Connection, dict[str, object], Collection[str]]]:
    """A connection to `source` with its tables checked, the cohort query's bind params and
    the lookups it may use, open while the block runs; a driver error inside the block is a
    SourceError naming the database (never its password)."""
    secret = None if source.url is None else sa.make_url(source.url).password
    engine = make_engine(source)
    try:
        with engine.connect() as conn:
            _check_tables(conn, source)
            lookups = EVERY_LOOKUP if source.is_embedded else indexed_keys(conn)
            yield conn, cohort_bind_params(config), lookups
    except (sa_exc.DBAPIError, duckdb.Error, adbc_driver_manager.Error) as exc:
        # Driver errors (the server gone mid-query, say) run to many lines: report the first.
        raise SourceError(f"source {source.label}: {driver_reason(exc, secret)}") from exc
    finally:
        engine.dispose()


def extract_cohort(source: Source, config: CohortConfig) -> pd.DataFrame:
    """Run the cohort query on `source`; errors name the database (never its password)."""
    with cohort_query(source, config) as (conn, params, lookups):
        rows = read_cohort(conn, source, params, lookups)
    if rows.num_rows == 0:
        raise DataError(
            f"cohort is empty: no user has more than {config.min_sessions} sessions after "
            f"{config.session_start_after} (params cohort.min_sessions, "
            "cohort.session_start_after)"
        )
    df = normalise(rows)
    try:
        check_conflicting_duplicates(df)
        check_required_values(df)
    except DataError as exc:
        raise DataError(f"source {source.label}: {exc}") from exc
    log.info(
        "extracted %d sessions of %d users from %s", len(df), df["user_id"].nunique(), source.label
    )
    return df
