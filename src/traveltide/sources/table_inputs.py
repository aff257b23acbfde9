"""The four tables to load, as chunked Arrow readers: from DataFrames, Parquet or CSV exports.

Every reader checks its columns against `schema.TABLES` first (a missing or unexpected column
names the file and column) and then yields the rows in chunks, never a whole table at once.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from traveltide.errors import DataError
from traveltide.io import row_groups
from traveltide.schema import TABLES, LogicalType

ARROW_TYPES: dict[LogicalType, pa.DataType] = {
    "int": pa.int64(),
    "decimal": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "text": pa.large_string(),
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
        yield from row_groups(reader, rows, reader.schema)

    return chunks
