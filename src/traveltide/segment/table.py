"""The feature table as the clustering reads it: a column, a sample of rows or a batch of rows
at a time, from a Parquet file or from a frame in memory.

The select_k, cluster and benchmark stages fit on a seeded sample and label every user batch by
batch, so no process holds the table of all users (ten times TravelTide's wide cohort is
10M users x 66 features, 5.3 GB as doubles). A frame in memory answers the same questions, so
the library and its tests keep passing frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from traveltide.errors import DataError
from traveltide.io import read_parquet

# Rows per batch when every user is labelled: 66 doubles x 131,072 rows = 69 MB; a multiple of
# scikit-learn's 256-row prediction chunks, so a batch boundary never splits one of them.
BATCH_ROWS = 131_072


class UserTable(Protocol):
    """One row per user: `user_id` and numeric features, in a fixed row order."""

    @property
    def n_rows(self) -> int: ...

    @property
    def columns(self) -> list[str]: ...

    def column(self, name: str) -> np.ndarray:
        """One column of every row, in its own dtype."""
        ...

    def take(self, names: list[str], rows: np.ndarray) -> np.ndarray:
        """The float values of `names` at the sorted row positions `rows`."""
        ...

    def batches(self, names: list[str], size: int | None = None) -> Iterator[np.ndarray]:
        """The float values of `names` for every row, up to `size` (default `BATCH_ROWS`)
        consecutive rows at a time."""
        ...


@dataclass(frozen=True)
class FrameTable:
    """A feature table already in memory."""

    frame: pd.DataFrame

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def column(self, name: str) -> np.ndarray:
        return self.frame[name].to_numpy()

    def take(self, names: list[str], rows: np.ndarray) -> np.ndarray:
        return self.frame[names].to_numpy(float)[rows]

    def batches(self, names: list[str], size: int | None = None) -> Iterator[np.ndarray]:
        values, size = self.frame[names], size or BATCH_ROWS
        for start in range(0, len(values), size):
            yield values.iloc[start : start + size].to_numpy(float)


def _floats(batch: pa.RecordBatch | pa.Table, names: list[str]) -> np.ndarray:
    """The columns `names` of an Arrow batch as one float matrix (NULL becomes NaN)."""
    out = np.empty((batch.num_rows, len(names)))
    for j, name in enumerate(names):
        try:
            values = pc.cast(batch.column(name), pa.float64())
        except pa.ArrowException as exc:
            raise DataError(f"features: feature '{name}' is not numeric ({exc})") from exc
        out[:, j] = values.to_numpy(zero_copy_only=False)
    return out


@dataclass(frozen=True)
class FileTable:
    """A feature table in a Parquet file, read a column, a row group or a batch at a time."""

    path: Path
    what: str = "features' user table"

    def _file(self) -> pq.ParquetFile:
        try:
            return pq.ParquetFile(self.path)
        except FileNotFoundError as exc:
            raise DataError(
                f"{self.path}: missing input ({self.what}); run `dvc repro` to rebuild it"
            ) from exc
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{self.path}: not a readable Parquet file ({exc})") from exc

    @cached_property  # read once from the footer: the fit asks for them again and again
    def n_rows(self) -> int:
        return int(self._file().metadata.num_rows)

    @cached_property
    def columns(self) -> list[str]:
        return list(self._file().schema_arrow.names)

    def column(self, name: str) -> np.ndarray:
        table = self._file().read(columns=[name])
        return table.column(0).to_pandas().to_numpy()

    def take(self, names: list[str], rows: np.ndarray) -> np.ndarray:
        """Reads only the row groups that hold one of `rows`."""
        source = self._file()
        out = np.empty((len(rows), len(names)))
        start, filled = 0, 0
        for group in range(source.metadata.num_row_groups):
            stop = start + source.metadata.row_group(group).num_rows
            lo, hi = np.searchsorted(rows, [start, stop])
            if hi > lo:
                values = _floats(source.read_row_group(group, columns=names), names)
                out[filled : filled + hi - lo] = values[rows[lo:hi] - start]
                filled += hi - lo
            start = stop
        if filled != len(rows):
            raise DataError(f"{self.path}: {len(rows)} rows asked, {filled} found")
        return out

    def batches(self, names: list[str], size: int | None = None) -> Iterator[np.ndarray]:
        for batch in self._file().iter_batches(batch_size=size or BATCH_ROWS, columns=names):
            yield _floats(batch, names)


def as_table(features: pd.DataFrame | UserTable) -> UserTable:
    """A frame in memory, or a table read from its file a piece at a time, as it is."""
    return FrameTable(features) if isinstance(features, pd.DataFrame) else features


def check_table(table: UserTable, names: list[str]) -> None:
    """Every value of the feature columns `names` is finite (one column at a time in memory);
    else name the first bad feature and how many users have it so."""
    for name in names:
        try:
            bad = int((~np.isfinite(table.column(name).astype(float))).sum())
        except (TypeError, ValueError) as exc:
            raise DataError(f"features: feature '{name}' is not numeric ({exc})") from exc
        if bad:
            raise DataError(f"features: feature '{name}' is NaN or infinite for {bad} rows")


def read_personas(path: Path) -> pd.DataFrame:
    """user_id and persona of extract's cohort truth (empty for an external source); the
    persona as a categorical (a code per user, not a string)."""
    what = "extract's cohort truth (empty for an external source)"
    if not Path(path).exists():
        return read_parquet(path, what=what)  # its one-line error
    names = FileTable(path, what).columns
    columns = [c for c in ("user_id", "persona") if c in names]
    dictionary = ["persona"] if "persona" in columns else None
    return pq.read_table(path, columns=columns, read_dictionary=dictionary).to_pandas()
