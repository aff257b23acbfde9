"""Shared by the experiment tests: A/B tables with exact counts per arm, and ab_test params."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from traveltide.config import read_params

ROOT = Path(__file__).resolve().parents[3]

TableMaker = Callable[..., pd.DataFrame]
ParamsMaker = Callable[..., dict]


def table_with_counts(counts: dict[str, tuple[int, int]], *, seed: int = 0) -> pd.DataFrame:
    """Rows with exact (n, conversions) per arm; converters get lognormal revenue."""
    rng = np.random.default_rng(seed)
    parts, start = [], 0
    for arm, (n, x) in counts.items():
        converted = np.zeros(n, dtype=bool)
        converted[:x] = True
        rng.shuffle(converted)
        revenue = np.where(converted, rng.lognormal(5.7, 0.3, n), 0.0)
        parts.append(
            pd.DataFrame(
                {
                    "user_id": np.arange(start, start + n),
                    "group": arm,
                    "converted": converted,
                    "revenue": revenue,
                }
            )
        )
        start += n
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="session")
def make_table() -> TableMaker:
    """``make_table({"A": (n, conversions), ...}, seed=0)``: an analysis table."""
    return table_with_counts


def params_with(**changes) -> dict:
    """params.yaml with ab_test keys changed (``plan__power=0.9`` sets ab_test.plan.power)."""
    params = read_params(ROOT / "params.yaml")
    block = params["ab_test"]
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        target = block
        for parent in parents:
            target = target[parent]
        target[key] = value
    return params


@pytest.fixture(scope="session")
def ab_params() -> ParamsMaker:
    """``ab_params(outcomes="data/campaign/results.csv", ...)``: the shipped params, changed."""
    return params_with
