"""The SQL of the features: each catalog feature defined once, no name shadowing a column, and
the building blocks' semantics checked on DuckDB."""

from __future__ import annotations

import io
import random

import pandas as pd
import pytest

from traveltide.engines.duck import DuckDBEngine
from traveltide.features import build, sessions, trips, users
from traveltide.features.catalog import FEATURE_NAMES, catalog_csv, catalog_frame
from traveltide.features.clean import ADDED_COLUMNS, REQUIRED_COLUMNS
from traveltide.features.sql import double, ratio, strict
from traveltide.sources.extract import cohort_columns

REF = pd.Timestamp("2024-08-19").date()


@pytest.fixture(scope="module")
def duck():
    engine = DuckDBEngine()
    yield engine
    engine.close()


def test_every_feature_is_defined_once():
    defined = list(build.definitions(REF)) + [*build.SCORES, "rfm_score"]
    assert sorted(defined) == sorted(FEATURE_NAMES) and len(set(defined)) == len(defined)
    modules = [sessions.FEATURES, trips.FEATURES, users.features(REF), build.combined_features(REF)]
    assert sum(len(m) for m in modules) == len(build.definitions(REF))


def test_no_derived_value_shadows_a_column():
    """A per-row value named like a column of clean's sessions would be read instead of it
    (it happened: `hotel_discount`, the flag and the amount)."""
    columns = set(cohort_columns()) | set(ADDED_COLUMNS) | {"km_one", "dest_country", "first_key"}
    derived = [*sessions.ROWS, *trips.FLAGS, *trips.VALUES]
    assert not set(derived) & columns and len(set(derived)) == len(derived)
    aggregates = [
        *sessions.AGGREGATES,
        *sessions.SETS,
        *trips.AGGREGATES,
        *trips.SETS,
        *users.AGGREGATES,
    ]
    assert len(set(aggregates)) == len(aggregates)
    assert set(sessions.REQUIRED_COLUMNS) <= set(cohort_columns()) | set(ADDED_COLUMNS)
    assert set(REQUIRED_COLUMNS) <= set(cohort_columns())


def test_ratio_and_strict_semantics(duck):
    rows = duck.rows(
        f"SELECT {ratio('n', 'd')} FROM (VALUES (1.0, 4.0), (3.0, 0.0), (NULL, 0.0), "
        "(2.0, NULL)) t(n, d)"
    )
    assert [r[0] for r in rows] == [0.25, 0.0, None, None]
    sums = duck.rows(
        f"SELECT g, {strict('sum', 'x')} FROM (VALUES (1, 1.0), (1, 2.0), (2, 1.0), (2, NULL)) "
        "t(g, x) GROUP BY g ORDER BY g"
    )
    assert sums == [(1, 3.0), (2, None)]


def test_double_literals_read_back_exactly(duck):
    rng = random.Random(5)
    values = [rng.uniform(-1e6, 1e6) for _ in range(200)] + [1e-300, 2.0**-1074, 1e300, 0.1]
    got = duck.rows("SELECT " + ", ".join(double(v) for v in values))[0]
    assert list(got) == values
    with pytest.raises(ValueError):
        double(float("nan"))


def test_catalog_csv_is_pandas_csv():
    expected = io.StringIO()
    catalog_frame().to_csv(expected, index=False, lineterminator="\n")
    assert catalog_csv() == expected.getvalue()
