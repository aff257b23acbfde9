"""The cohort's ground truth written as it streams from the personas file, a row group at a time
(`truth.cohort_truth` holds both tables whole: at ten times TravelTide's size, 10M users, that
is gigabytes).

The generator writes the personas in user_id order, so the cohort's rows come out sorted as
they are read and a repeated user is adjacent to itself. The file has the bytes
`io.write_parquet(truth.cohort_truth(...))` gives (tested), and the same errors. A personas file
not sorted by user_id (never made by the generator) is read whole, by `truth.cohort_truth`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from traveltide.errors import DataError
from traveltide.io import atomic_path, read_parquet, row_groups, write_parquet
from traveltide.sources.cohort_file import ROW_GROUP, _Writer
from traveltide.sources.truth import ID, cohort_truth

BATCH = 262_144  # rows of the personas file read at a time


def _sorted(file: pq.ParquetFile) -> bool:
    """Whether the file's user_id column never decreases (read one column at a time)."""
    last = None
    for batch in file.iter_batches(batch_size=BATCH, columns=[ID]):
        ids = batch.column(0).to_numpy()
        if len(ids) and ((last is not None and ids[0] < last) or np.any(np.diff(ids) < 0)):
            return False
        last = ids[-1] if len(ids) else last
    return True


def _matching(file: pq.ParquetFile, users: np.ndarray, found: list[np.ndarray]) -> Iterator:
    """The file's batches cut to the rows of `users` (sorted); their ids go to `found`."""
    for batch in file.iter_batches(batch_size=BATCH):
        ids = batch.column(ID).to_numpy()
        at = np.minimum(np.searchsorted(users, ids), len(users) - 1)
        keep = users[at] == ids
        if keep.any():
            found.append(ids[keep])
            yield batch.filter(pa.array(keep))


def _check(found: np.ndarray, users: np.ndarray) -> None:
    """`truth.cohort_truth`'s checks: one row per user, a row for every user."""
    twice = found[1:][np.diff(found) == 0]
    if len(twice):
        user = int(twice[0])
        raise DataError(f"personas: user_id {user} has {int((found == user).sum())} rows")
    if len(found) != len(users):
        missing = np.setdiff1d(users, found)
        raise DataError(
            f"personas: {len(missing)} of the cohort's {len(users)} users have no row "
            f"(first user_id {int(missing[0])}); run `dvc repro -f generate`"
        )


def truth_file(personas: Path, users: pd.Series, target: Path, *, known: bool) -> None:
    """The personas of `users` (sorted unique user ids) into `target`, sorted by user_id, when
    the truth is `known` (the embedded source); else no rows, the same columns and types."""
    if not Path(personas).exists():
        read_parquet(personas, what="generate's personas")  # its one-line error
    file = pq.ParquetFile(personas)
    if ID not in file.schema_arrow.names:
        raise DataError(f"personas: no column {ID}; run `dvc repro -f generate`")
    if not known:
        write_parquet(file.schema_arrow.empty_table().to_pandas(), target)
        return
    if not _sorted(file):
        frame = read_parquet(personas, what="generate's personas")
        write_parquet(cohort_truth(frame, users, known=True), target)
        return
    ids = np.asarray(users, dtype="int64")
    if not len(ids):
        write_parquet(file.schema_arrow.empty_table().to_pandas(), target)
        return
    found: list[np.ndarray] = []
    with atomic_path(target) as tmp:
        writer = _Writer(tmp)
        try:
            stream = pa.RecordBatchReader.from_batches(
                file.schema_arrow, _matching(file, ids, found)
            )
            for group in row_groups(stream, ROW_GROUP, stream.schema):
                writer.append(group.to_pandas())
        finally:
            writer.close()
        _check(np.concatenate(found) if found else np.array([], dtype="int64"), ids)
