"""Vectorised random draws: ragged pmfs by group and proportional splits."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pmf_table(rows: Sequence[Sequence[float]]) -> np.ndarray:
    """Cumulative probabilities of ragged pmfs, padded to one width, each row ending in 1."""
    width = max(len(r) for r in rows)
    table = np.zeros((len(rows), width))
    for i, row in enumerate(rows):
        table[i, : len(row)] = np.asarray(row) / np.sum(row)
    cum = np.cumsum(table, axis=1)
    cum[:, -1] = 1.0
    return cum


def draw_pmf(rng: np.random.Generator, cum: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Index drawn from row `group[i]` of a cumulative pmf table, for every i."""
    # Row g of the table shifted by g is one increasing sequence; a draw u from row g is
    # the number of row-g entries <= u, i.e. a single searchsorted of u + g.
    width = cum.shape[1]
    stacked = (cum + np.arange(len(cum))[:, None]).ravel()
    u = rng.random(len(group)) + group
    return np.searchsorted(stacked, u, side="right") - group * width


def split_counts(total: int, weights: Sequence[float]) -> np.ndarray:
    """Integer counts proportional to weights summing exactly to total (largest remainder)."""
    w = np.asarray(weights, dtype="float64")
    raw = total * w / w.sum()
    counts = np.floor(raw).astype("int64")
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts
