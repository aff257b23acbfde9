"""Table columns built straight from numpy arrays: timestamps, and strings from vocabulary codes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa


def timestamps(seconds: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """int64 seconds since the epoch -> datetime64[us], NaT where not valid."""
    out = seconds.astype("int64") * 1_000_000
    if valid is not None:
        out = np.where(valid, out, np.iinfo("int64").min)
    return out.view("datetime64[us]")


def strings(vocab: Sequence[str], codes: np.ndarray) -> pd.Series:
    """A pandas str column of vocab[codes], built in one pass without Python objects."""
    encoded = [v.encode() for v in vocab]
    lengths = np.array([len(e) for e in encoded], dtype="int64")
    matrix = np.zeros((len(encoded), max(lengths.max(), 1)), dtype="uint8")
    for i, e in enumerate(encoded):
        matrix[i, : len(e)] = np.frombuffer(e, dtype="uint8")
    row_len = lengths[codes]
    chars = matrix[codes]
    data = chars[np.arange(matrix.shape[1]) < row_len[:, None]]
    offsets = np.concatenate([[0], np.cumsum(row_len)]).astype("int64")
    arr = pa.LargeStringArray.from_buffers(
        len(codes), pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data))
    )
    return pd.Series(arr, dtype="str")
