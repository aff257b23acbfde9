"""Session and trip ids, '<user_id>-<32 hex digits>', built as byte blocks (no Python strings)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

_HEX4 = np.frombuffer(
    b"".join(f"{i:04x}".encode() for i in range(65_536)), dtype="uint32"
)  # 16-bit value -> its 4 hex digits, as one uint32 of ASCII bytes


def hex32(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random ids of 32 lowercase hex digits, as an (n, 32) uint8 array of ASCII codes."""
    raw = rng.bit_generator.random_raw(2 * n).astype("uint64")  # 128 random bits per id
    return _HEX4[raw.view("uint16")].view("uint8").reshape(n, 32)


def _digit_counts(values: np.ndarray) -> np.ndarray:
    """Number of decimal digits of positive integers."""
    counts = np.ones(len(values), dtype="int64")
    for power in range(1, 19):
        counts += values >= 10**power
    return counts


def compose_ids(
    user_ids: np.ndarray, hexchars: np.ndarray, valid: np.ndarray | None = None
) -> pd.Series:
    """str column '<user_id>-<32 hex>' (NULL where not valid) built from byte blocks.

    Rows must be grouped by non-decreasing user_id (true for every table here), so rows with
    the same number of digits form a few contiguous blocks that are filled as 2-D arrays.
    `hexchars` holds one row per valid row.
    """
    ids = user_ids if valid is None else user_ids[valid]
    if len(ids) and np.any(np.diff(ids) < 0):
        raise ValueError("compose_ids needs rows grouped by non-decreasing user_id")
    ndig = _digit_counts(ids)
    data = np.empty(int((ndig + 33).sum()), dtype="uint8")
    cuts = np.concatenate([[0], np.flatnonzero(np.diff(ndig)) + 1, [len(ids)]])
    pos = 0
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        d = int(ndig[a])
        block = data[pos : pos + (b - a) * (d + 33)].reshape(b - a, d + 33)
        for j in range(d):
            block[:, j] = (ids[a:b] // 10 ** (d - 1 - j)) % 10 + ord("0")
        block[:, d] = ord("-")
        block[:, d + 1 :] = hexchars[a:b]
        pos += (b - a) * (d + 33)
    row_len = ndig + 33
    bitmap = None
    null_count = 0
    if valid is not None:
        full = np.zeros(len(user_ids), dtype="int64")
        full[valid] = row_len
        row_len = full
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        null_count = int((~valid).sum())
    offsets = np.concatenate([[0], np.cumsum(row_len)]).astype("int64")
    arr = pa.LargeStringArray.from_buffers(
        len(user_ids), pa.py_buffer(offsets), pa.py_buffer(data), bitmap, null_count
    )
    return pd.Series(arr, dtype="str")
