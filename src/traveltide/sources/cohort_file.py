"""Extract's cohort streamed from the database into its Parquet file, a row group at a time.

`extract.extract_cohort` returns the cohort as one frame; at ten times TravelTide's size
(30.8M sessions for the wide cohort) that frame alone outgrows a 4 GB budget. Here the query's
answer arrives as Arrow batches (DuckDB's record batch reader, ADBC's binary COPY stream), each
group of ROW_GROUP rows is normalised (`extract.normalise`), checked and appended to the file,
so memory is a group's whatever the cohort's size. The file has the bytes
`io.write_parquet(extract_cohort(...))` gives (tested), and the same checks and errors: the
required-values counts add up over groups, and the repeated session ids (adjacent, since the
query sorts by user, start and session) are read back for `check_conflicting_duplicates`.
The embedded DuckDB runs the query per range of user ids (`_by_user_range`), so it never sorts
the whole cohort at once. The file replaces its target only when the `with` block around it
ends without an error.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from traveltide.config import CohortConfig, EngineConfig
from traveltide.engines.base import user_ranges
from traveltide.errors import DataError
from traveltide.io import atomic_path, row_groups
from traveltide.schema import NULLABLE
from traveltide.sources.db import Source
from traveltide.sources.extract import (
    CohortSummary,
    _table_columns,
    check_conflicting_duplicates,
    cohort_query,
    normalise,
    numbered_query,
    pg_cohort_cursor,
)
from traveltide.sources.spark_extract import spark_batches

log = logging.getLogger(__name__)

ROW_GROUP = 1_048_576  # pyarrow's default row group: what `io.write_parquet` writes
DUCKDB_MEMORY = "400MB"  # the embedded database's working memory; it spills beyond it
USERS_PER_PART = 1_100_000  # the embedded query runs per range of user ids (scale 1: one)


@dataclass
class _Missing:
    """NULLs of one required column (or users rows missing), over the groups so far."""

    count: int = 0
    first: Any = None


@dataclass
class Tally:
    """What the checks and the summary need of the groups written so far."""

    rows: int = 0
    present: dict[str, int] = field(default_factory=dict)
    missing: dict[str, _Missing] = field(default_factory=dict)

    def add(self, df: pd.DataFrame) -> None:
        """Count one group's rows, its tables' rows and its required values that are NULL
        (`extract.check_required_values`, whose order and messages `check` keeps)."""
        self.rows += len(df)
        for table in ("sessions", "users", "flights", "hotels"):
            cols = _table_columns(table)
            present = df[cols].notna().any(axis=1)
            self.present[table] = self.present.get(table, 0) + int(present.sum())
            if table == "users":
                self._count("users", ~present, df["user_id"])
            for col in cols:
                if col not in NULLABLE[table]:
                    self._count(f"{table}.{col}", present & df[col].isna(), df["session_id"])

    def _count(self, key: str, hit: pd.Series, ids: pd.Series) -> None:
        seen = self.missing.setdefault(key, _Missing())
        n = int(hit.sum())
        if n and seen.first is None:
            seen.first = ids[hit].iloc[0]
        seen.count += n

    def check(self) -> None:
        """The first required value missing, as `extract.check_required_values` says it."""
        for table in ("sessions", "users", "flights", "hotels"):
            users = self.missing.get("users", _Missing())
            if table == "users" and users.count:
                raise DataError(
                    f"users: no row for user_id {int(users.first)} of the cohort "
                    f"({users.count} sessions without a users row)"
                )
            for col in _table_columns(table):
                seen = self.missing.get(f"{table}.{col}")
                if seen is not None and seen.count:
                    raise DataError(
                        f"{table}.{col} is NULL in {seen.count:,} of {self.present[table]:,} "
                        f"cohort rows that have a {table} row (first session_id {seen.first})"
                    )


def _by_user_range(duck: Any, sessions: Path, sql: str, args: list[object]) -> pa.RecordBatchReader:
    """The embedded query run once per range of USERS_PER_PART user ids, `sessions` narrowed
    to the range (Parquet statistics skip the rest of the file: the generator writes it in
    user order). The query sorts by user first, so the parts follow one another in its order,
    and each sorts a part's rows, not the whole cohort's (at scale 10, 30M rows spilled).
    """
    path = str(sessions.resolve()).replace("'", "''")
    bounds = duck.execute(f"SELECT min(user_id), max(user_id) FROM read_parquet('{path}')")
    first, last = bounds.fetchone()
    parts = user_ranges(int(first or 0), int(last or 0), USERS_PER_PART)

    def part(lo: int, hi: int) -> pa.RecordBatchReader:
        duck.execute(
            f"CREATE OR REPLACE VIEW sessions AS SELECT * FROM read_parquet('{path}') "
            f"WHERE user_id BETWEEN {lo} AND {hi}"
        )
        return duck.execute(sql, args).fetch_record_batch(ROW_GROUP)

    head = part(*parts[0])

    def batches() -> Iterator[pa.RecordBatch]:
        yield from head
        for lo, hi in parts[1:]:
            yield from part(lo, hi)

    return pa.RecordBatchReader.from_batches(head.schema, batches())


@contextmanager
def cohort_batches(
    conn: sa.Connection, source: Source, params: dict[str, object], lookups: Collection[str]
) -> Iterator[pa.RecordBatchReader]:
    """The cohort query's rows as a stream of Arrow batches (`extract.read_cohort`'s query and
    sessions), open while the block runs. The embedded DuckDB works in DUCKDB_MEMORY and
    spills to a private temporary folder."""
    if source.url is None:
        sql, args = numbered_query(conn.dialect, params, lookups)
        duck: Any = conn.connection.driver_connection
        with tempfile.TemporaryDirectory(prefix="traveltide-extract-") as spill:
            duck.execute("SET TimeZone = 'UTC'")
            duck.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
            duck.execute(f"SET temp_directory = '{spill}'")
            yield _by_user_range(duck, source.embedded_dir / "sessions.parquet", sql, args)
        return
    with pg_cohort_cursor(source.url, params, lookups) as cursor:
        yield cursor.fetch_record_batch()


class _Writer:
    """Frames appended as row groups, with the first frame's schema (pandas metadata too)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.schema: pa.Schema | None = None
        self.writer: pq.ParquetWriter | None = None

    def append(self, df: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(df, schema=self.schema, preserve_index=False)
        if self.writer is None:
            self.schema = table.schema
            self.writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        else:
            table = table.replace_schema_metadata(self.schema.metadata if self.schema else None)
        self.writer.write_table(table, row_group_size=ROW_GROUP)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def repeated_sessions(path: Path) -> pd.DataFrame:
    """The rows of the written file whose session_id appears more than once."""
    file = str(path).replace("'", "''")
    con = duckdb.connect()
    try:
        ids = [
            row[0]
            for row in con.execute(
                f"SELECT session_id FROM read_parquet('{file}') GROUP BY 1 HAVING count(*) > 1"
            ).fetchall()
        ]
    finally:
        con.close()
    if not ids:
        return pd.DataFrame()
    return pq.read_table(path, filters=[("session_id", "in", ids)]).to_pandas()


def summary_of(path: Path) -> tuple[CohortSummary, pd.Series]:
    """The cohort's headline figures (`extract.summarise`) and its user ids, sorted, from the
    written file (DuckDB over Parquet: a column at a time)."""
    file = str(path).replace("'", "''")
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
        row = con.execute(
            "SELECT count(DISTINCT user_id), count(*), count(DISTINCT trip_id), "
            "count(*) FILTER (WHERE trip_id IS NULL), "
            "count(*) FILTER (WHERE coalesce(cancellation, false)), "
            f"min(session_start), max(session_start) FROM read_parquet('{file}')"
        ).fetchone()
        assert row is not None  # an aggregate has one row
        users, sessions, trips, browse, cancels, first, last = row
        ids = con.execute(
            f"SELECT DISTINCT user_id FROM read_parquet('{file}') ORDER BY 1"
        ).fetchnumpy()["user_id"]
    finally:
        con.close()
    figures = CohortSummary(
        int(users), int(sessions), int(trips), int(browse), int(cancels), str(first), str(last)
    )
    return figures, pd.Series(ids, name="user_id")


@dataclass(frozen=True)
class Extracted:
    """The cohort file's figures and its users, while the file waits to replace its target."""

    summary: CohortSummary
    users: pd.Series


def _write_groups(batches: AbstractContextManager[pa.RecordBatchReader], tmp: Path) -> Tally:
    """Normalise, count and append the stream's rows, a row group at a time."""
    tally = Tally()
    writer = _Writer(tmp)
    try:
        with batches as reader:
            for group in row_groups(reader, ROW_GROUP, reader.schema):
                df = normalise(group)
                tally.add(df)
                writer.append(df)
    finally:
        writer.close()
    return tally


def _from_database(source: Source, config: CohortConfig, tmp: Path) -> Tally:
    """The query on the source's own database (DuckDB over the Parquet files, PostgreSQL)."""
    with cohort_query(source, config) as (conn, params, lookups):
        return _write_groups(cohort_batches(conn, source, params, lookups), tmp)


@contextmanager
def cohort_file(
    source: Source, config: CohortConfig, target: Path, engine: EngineConfig | None = None
) -> Iterator[Extracted]:
    """Stream the cohort into `target`: checked, it replaces `target` when the block ends
    without an error (the block writes what goes with it, e.g. the truth and the metrics).
    With `engine.name: spark` the query runs on Spark (`spark_extract`)."""
    with atomic_path(target) as tmp:
        if engine is not None and engine.name == "spark":
            tally = _write_groups(spark_batches(engine, source, config, tmp.parent), tmp)
        else:
            tally = _from_database(source, config, tmp)
        if tally.rows == 0:
            raise DataError(
                f"cohort is empty: no user has more than {config.min_sessions} sessions after "
                f"{config.session_start_after} (params cohort.min_sessions, "
                "cohort.session_start_after)"
            )
        try:
            repeated = repeated_sessions(tmp)
            if len(repeated):
                check_conflicting_duplicates(repeated)
            tally.check()
        except DataError as exc:
            raise DataError(f"source {source.label}: {exc}") from exc
        summary, users = summary_of(tmp)
        log.info(
            "extracted %d sessions of %d users from %s", tally.rows, summary.users, source.label
        )
        yield Extracted(summary, users)
