"""What the clean and features stages ask of a query engine: Parquet files in, SQL over them,
one Parquet file out.

The stages write each query once, in DuckDB's SQL (`traveltide.features`). DuckDB runs it as
written (`engines.duck`); Spark runs sqlglot's translation of it (`engines.spark`,
`engines.dialect`). An engine never holds a table in Python: small answers (counts, caps, the
checks) come back as rows, tables go from Parquet to Parquet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

ColumnKind = Literal["int", "float", "bool", "timestamp", "date", "string", "other"]

# Type names as DuckDB and Spark spell them (lower case), by the kind the queries care about.
_KIND_PREFIXES: tuple[tuple[str, ColumnKind], ...] = (
    ("timestamp", "timestamp"),
    ("date", "date"),
    ("bool", "bool"),
    ("double", "float"),
    ("float", "float"),
    ("real", "float"),
    ("decimal", "float"),
    ("varchar", "string"),
    ("string", "string"),
    ("char", "string"),
    ("text", "string"),
)
_INTEGERS = frozenset(
    [
        "tinyint",
        "smallint",
        "int",
        "integer",
        "bigint",
        "hugeint",
        "long",
        "short",
        "byte",
        "utinyint",
        "usmallint",
        "uinteger",
        "ubigint",
        "uhugeint",
    ]
)

# Called with the name of a view over a written file before it replaces its target.
Check = Callable[[str], None]
Queries = str | Sequence[str]  # one query, or several whose rows follow one another


def column_kind(type_name: str) -> ColumnKind:
    """The kind of an engine's column type: `BIGINT` and `bigint` are int, `DOUBLE` float, ...

    >>> column_kind("TIMESTAMP WITH TIME ZONE"), column_kind("decimal(10,2)"), column_kind("int")
    ('timestamp', 'float', 'int')
    """
    name = type_name.strip().lower()
    if name in _INTEGERS:
        return "int"
    return next((kind for prefix, kind in _KIND_PREFIXES if name.startswith(prefix)), "other")


def sql_string(value: str) -> str:
    """`value` as a SQL string literal (a file path in `read_parquet('...')`)."""
    return "'" + value.replace("'", "''") + "'"


def user_ranges(first: int, last: int, size: int) -> list[tuple[int, int]]:
    """[first, last] in consecutive ranges of at most `size` user ids.

    >>> user_ranges(1, 10, 4)
    [(1, 4), (5, 8), (9, 10)]
    """
    return [(lo, min(lo + size - 1, last)) for lo in range(first, last + 1, size)]


class Engine(Protocol):
    """A query engine the stages can run their SQL on (DuckDB's dialect, see the module doc)."""

    name: str

    def load(self, view: str, path: Path, *, what: str) -> dict[str, ColumnKind]:
        """Make the Parquet file `path` queryable as `view`; its columns and their kinds.

        A missing file is a DataError naming `what` should have made it."""
        ...

    def lookup(self, view: str, columns: dict[str, str], rows: Sequence[tuple[Any, ...]]) -> None:
        """A small table `view` from Python rows; `columns` maps names to DuckDB types."""
        ...

    def view(self, name: str, sql: str) -> None:
        """Name a query, for the queries that follow."""
        ...

    def table(self, name: str, sql: str, *, serial: bool = False) -> None:
        """Compute a query once, as `name`, for the queries that follow (an intermediate result
        several of them read). `serial` as in `write`."""
        ...

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of a query with a small answer."""
        ...

    def write(
        self, sql: Queries, target: Path, *, serial: bool = False, check: Check | None = None
    ):
        """The query's rows as one Parquet file `target` (zstd), in the query's ORDER BY; for
        several queries (of one schema), the rows of each in turn.

        The file appears whole or not at all: it is written beside `target`, `check` runs on a
        view of it, and only then does it replace `target`. `serial`: run on one thread, so that
        floating-point sums add in the order the query sorts its rows in (DuckDB; Spark cannot
        promise an order and ignores it)."""
        ...

    def close(self) -> None: ...
