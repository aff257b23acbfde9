"""DuckDB, the default engine: in process, over the Parquet files, on every core.

Outputs are byte-identical for the same input whatever the number of threads (tested): rows
are written in the query's ORDER BY, which the queries make a total order, and a `serial`
write (the feature table) runs on one thread, so each user's floating-point sums add in the
order the query sorts the rows in, not in the order threads happen to finish.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from traveltide.engines.base import Check, ColumnKind, Queries, column_kind, sql_string
from traveltide.engines.errors import engine_error
from traveltide.errors import DataError
from traveltide.io import atomic_path, row_groups

ROW_GROUP = 131_072  # rows per Parquet row group: a few tens of MB of memory while writing
# DuckDB's working memory (its default is 80% of RAM); beyond it, it spills to `_spill`.
# With pyarrow's writer and Python around it a stage stays under 4 GB at generate.scale 10.
MEMORY_LIMIT = "2GB"


def _literal(value: Any) -> str:
    """A Python value as an exact SQL literal (floats in exponent form: DOUBLE, not DECIMAL)."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return sql_string(value)
    if isinstance(value, float):
        text = repr(value)
        return text if "e" in text or "n" in text else f"{text}e0"
    return str(int(value))


class DuckDBEngine:
    """An in-memory DuckDB database; it spills to a private temporary folder when it must."""

    name = "duckdb"

    def __init__(self) -> None:
        import duckdb

        self._error: type[BaseException] = duckdb.Error
        # DuckDB's default spill folder is `.tmp` in the working directory: the repository.
        self._spill = tempfile.mkdtemp(prefix="traveltide-duckdb-")
        config: dict[str, Any] = {"temp_directory": self._spill, "memory_limit": MEMORY_LIMIT}
        self.con = duckdb.connect(config=config)
        self._inputs: dict[str, str] = {}  # view -> the file it reads, for error messages

    def _run(self, sql: str, doing: str) -> Any:
        try:
            return self.con.execute(sql)
        except self._error as exc:
            raise engine_error(self.name, doing, str(exc), self._reading(doing)) from None

    def _reading(self, doing: str) -> list[str]:
        return [path for path in self._inputs.values() if path not in doing]

    def load(self, view: str, path: Path, *, what: str) -> dict[str, ColumnKind]:
        path = Path(path)
        if not path.exists():
            raise DataError(f"{path}: missing input ({what}); run `dvc repro` to rebuild it")
        doing = f"reading {path}"
        self._inputs[view] = str(path)
        self._run(
            f"CREATE OR REPLACE TEMP VIEW {view} AS "
            f"SELECT * FROM read_parquet({sql_string(str(path))})",
            doing,
        )
        described = self._run(f"DESCRIBE {view}", doing).fetchall()
        return {row[0]: column_kind(row[1]) for row in described}

    def lookup(self, view: str, columns: dict[str, str], rows: Sequence[tuple[Any, ...]]) -> None:
        """Inserted as SQL literals, a thousand rows at a time (executemany and pyarrow's
        array constructors would import pandas, a second of every stage's start)."""
        names = ", ".join(f"{name} {kind}" for name, kind in columns.items())
        self._run(f"CREATE OR REPLACE TEMP TABLE {view} ({names})", f"making {view}")
        for start in range(0, len(rows), 1000):
            values = ", ".join(
                "(" + ", ".join(_literal(v) for v in row) + ")"
                for row in rows[start : start + 1000]
            )
            self._run(f"INSERT INTO {view} VALUES {values}", f"making {view}")

    def view(self, name: str, sql: str) -> None:
        self._run(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}", f"defining {name}")

    def table(self, name: str, sql: str, *, serial: bool = False) -> None:
        with self._threads_for(serial):
            self._run(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", f"computing {name}")

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self._run(sql, "querying").fetchall()

    @contextmanager
    def _threads_for(self, serial: bool) -> Iterator[None]:
        if not serial:
            yield
            return
        (threads,) = self._run("SELECT current_setting('threads')", "setting threads").fetchone()
        self._run("SET threads = 1", "setting threads")
        try:
            yield
        finally:
            self._run(f"SET threads = {int(threads)}", "setting threads")

    def write(
        self, sql: Queries, target: Path, *, serial: bool = False, check: Check | None = None
    ):
        """Streamed through Arrow into pyarrow's Parquet writer (about twice as fast as DuckDB's
        COPY), in row groups of ROW_GROUP rows: the file's bytes do not depend on threads, nor
        on how the rows are split into queries."""
        import pyarrow.parquet as pq

        target = Path(target)
        doing = f"writing {target}"
        queries = [sql] if isinstance(sql, str) else list(sql)
        with atomic_path(target) as tmp:
            with self._threads_for(serial):
                first = self._reader(queries[0], doing)
                writer = pq.ParquetWriter(tmp, first.schema, compression="zstd")
                try:
                    readers = itertools.chain(
                        [first], (self._reader(q, doing) for q in queries[1:])
                    )
                    batches = (b for r in readers for b in self._batches(r, doing))
                    for table in row_groups(batches, ROW_GROUP, first.schema):
                        # one chunk per column: Parquet's pages follow the chunks, so a group
                        # cut from two queries' batches would otherwise change the bytes
                        writer.write_table(table.combine_chunks(), row_group_size=ROW_GROUP)
                finally:
                    writer.close()
            if check is not None:
                self.view("written", f"SELECT * FROM read_parquet({sql_string(str(tmp))})")
                check("written")

    def _reader(self, sql: str, doing: str) -> Any:
        """The query's answer as an Arrow stream of ROW_GROUP-row batches."""
        return self._run(sql, doing).to_arrow_reader(ROW_GROUP)

    def _batches(self, reader: Any, doing: str) -> Iterator[Any]:
        """The reader's batches; a query that fails while streaming is one line too."""
        import pyarrow as pa

        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (self._error, pa.ArrowException) as exc:
                raise engine_error(self.name, doing, str(exc), self._reading(doing)) from None
            yield batch

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self._spill, ignore_errors=True)
