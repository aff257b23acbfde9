"""Every feature of the tiny cohort equals its hand-computed value; users without trips get 0."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from feature_cases import expected_tiny, sk_km, tiny_features
from traveltide.engines.duck import DuckDBEngine
from traveltide.features.build import feature_metrics
from traveltide.features.catalog import CATALOG, FEATURE_NAMES, GROUPS
from traveltide.geo import haversine_km
from traveltide.io import write_parquet


@pytest.fixture(scope="module")
def tiny() -> pd.DataFrame:
    return tiny_features()


@pytest.mark.parametrize("user", [1, 2, 3])
def test_hand_computed_values(tiny, user):
    expected = expected_tiny()[user]
    assert set(expected) == set(FEATURE_NAMES)  # every feature is checked by hand
    got = tiny.loc[user]
    wrong = {
        name: (float(got[name]), value)
        for name, value in expected.items()
        if not math.isclose(got[name], value, rel_tol=1e-9, abs_tol=1e-9)
    }
    assert not wrong


def test_haversine_against_scikit_learn_and_a_published_distance():
    got = float(haversine_km(40.6413, -73.7781, 51.4700, -0.4543))
    assert got == pytest.approx(sk_km("JFK", "LHR"), rel=1e-12)
    # JFK-LAX great-circle distance: 2,475 statute miles = 3,983 km (published figure)
    assert float(haversine_km(40.6413, -73.7781, 33.9416, -118.4085)) == pytest.approx(
        3983, rel=0.005
    )
    assert np.isnan(haversine_km(np.nan, 0.0, 0.0, 0.0))


def test_zero_trip_user_gets_zeros_not_nan(tiny):
    row = tiny.loc[2]
    assert np.isfinite(tiny.to_numpy()).all()
    for f in CATALOG:
        if f.group == "transactions":
            assert row[f.name] == 0.0, f.name


def test_feature_metrics(tiny, tmp_path):
    table = tiny.reset_index()
    write_parquet(table, tmp_path / "t.parquet")
    engine = DuckDBEngine()
    engine.load("t", tmp_path / "t.parquet", what="a test")
    m = feature_metrics(engine, "t")
    engine.close()
    assert m["n_users"] == 3 and m["n_features"] == len(FEATURE_NAMES)
    assert m["n_users_without_trips"] == 2
    for group in GROUPS:
        cols = [f.name for f in CATALOG if f.group == group]
        assert m["zero_share"][group] == pytest.approx(
            float((table[cols].to_numpy() == 0).mean()), abs=1e-6
        )
    assert m["constant_features"] == [n for n in FEATURE_NAMES if table[n].nunique() == 1]
