"""generate(): schema and dtypes, sizes, determinism, config checks, the full-scale run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from traveltide.config import GenerateConfig
from traveltide.errors import ConfigError
from traveltide.schema import TABLES, validate_columns
from traveltide.synthetic.fidelity import fidelity
from traveltide.synthetic.generate import REAL_USERS, SyntheticDatabase, generate

DTYPE_KIND = {"int": "i", "decimal": "f", "bool": "b", "date": "M", "timestamp": "M"}


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize("table", list(TABLES))
def test_columns_and_dtypes_match_schema(db: SyntheticDatabase, table: str) -> None:
    frame = getattr(db, table)
    assert list(frame.columns) == list(TABLES[table])
    validate_columns(frame, table, TABLES[table])
    for column, logical in TABLES[table].items():
        dtype = frame[column].dtype
        if logical == "text":
            assert pd.api.types.is_string_dtype(dtype), (table, column, dtype)
        else:
            assert dtype.kind == DTYPE_KIND[logical], (table, column, dtype)
            if logical in ("int", "decimal"):
                assert dtype.itemsize == 8, (table, column, dtype)
            if logical == "bool":
                assert dtype == np.dtype(bool), (table, column, dtype)


def test_sizes_scale_with_config(db: SyntheticDatabase, small_config: GenerateConfig) -> None:
    n = round(REAL_USERS * small_config.scale)
    assert len(db.users) == n
    assert db.users["user_id"].is_unique and db.users["user_id"].is_monotonic_increasing
    # about 5.3 sessions and 1.9 flights / hotels per user, as in the real database
    assert 5.1 < len(db.sessions) / n < 5.5
    assert 1.8 < len(db.flights) / n < 1.95
    assert 1.8 < len(db.hotels) / n < 1.97


def test_timestamps_have_whole_seconds_and_dates_are_midnight(db: SyntheticDatabase) -> None:
    assert (db.sessions["session_start"].dt.microsecond == 0).all()
    assert (db.users["sign_up_date"] == db.users["sign_up_date"].dt.normalize()).all()
    assert (db.users["birthdate"] == db.users["birthdate"].dt.normalize()).all()


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_frames(
    db: SyntheticDatabase, small_config: GenerateConfig
) -> None:
    again = generate(small_config)
    for name in ("users", "sessions", "flights", "hotels", "personas"):
        pd.testing.assert_frame_equal(getattr(db, name), getattr(again, name))


def test_different_seed_gives_different_frames(
    db: SyntheticDatabase, small_config: GenerateConfig
) -> None:
    other = generate(GenerateConfig(seed=43, scale=small_config.scale))
    assert not db.sessions["session_id"].equals(other.sessions["session_id"])
    assert not db.users["birthdate"].equals(other.users["birthdate"])


@pytest.mark.parametrize(
    "config",
    [
        GenerateConfig(seed=-1),
        GenerateConfig(scale=0.0),
        GenerateConfig(scale=1e-6),
        GenerateConfig(scale=float("nan")),
    ],
)
def test_invalid_config_is_a_config_error(config: GenerateConfig) -> None:
    with pytest.raises(ConfigError):
        generate(config)


# --------------------------------------------------------------------------- full scale


@pytest.mark.slow
def test_full_scale_matches_facts() -> None:
    """Every FACTS.md figure at the real size (the generator's speed is `make bench`'s)."""
    db = generate(GenerateConfig())
    bad = [f for f in fidelity(db) if not f.ok]
    assert not bad, bad
