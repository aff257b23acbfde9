"""The same clean, feature and scoring queries on DuckDB and on Spark (local[2]) give the same
tables.

One Spark session serves the whole module (its start costs several seconds). Cleaned sessions
and features must agree row for row, floats within 1e-9 relative: Spark adds each user's
floating-point sums in an order of its own, so the last bits may differ. The data-quality
counts agree exactly; the outlier caps are interpolated quantiles, compared to the 10 digits
data_quality.json holds (the engines' interpolation can differ in the last bit). Every user
scored on Spark gets the cluster the segmenter's predict gives.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cluster_cases import CONFIG as CLUSTER
from feature_cases import CONFIG, cleaned, cohort_frame, tiny_rows
from support import SIGNALS
from traveltide.config import CleanConfig, CohortConfig, OutlierCaps, SparkConfig
from traveltide.engines.duck import DuckDBEngine
from traveltide.engines.scoring import engine_labels
from traveltide.features.build import features_file
from traveltide.features.catalog import FEATURE_NAMES
from traveltide.features.clean import clean_file
from traveltide.io import json_safe, write_parquet
from traveltide.segment.clustering import fit_segmenter
from traveltide.segment.table import FileTable
from traveltide.sources.extract import extract_cohort

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "engines"))
from test_scoring import skewed_users  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def spark():
    from traveltide.engines.spark import SparkEngine

    engine = SparkEngine(SparkConfig(master="local[2]", conf={"spark.driver.memory": "1g"}))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def duck():
    engine = DuckDBEngine()
    yield engine
    engine.close()


def hand_made() -> list[dict]:
    """The tiny feature cohort (tests/feature_cases.py) with a repeated session and a session
    that ends before it starts, its users renumbered past the generated ones."""
    rows = [dict(r) for r in tiny_rows()]
    rows.append(dict(rows[0]))
    rows[1]["session_end"] = rows[1]["session_start"] - pd.Timedelta(seconds=5)
    for row in rows:
        row["user_id"] += 10**9
        row["session_id"] = f"{row['user_id']}-{row['session_id']}"
    return rows


@pytest.fixture(scope="module")
def cohort(embedded_source, tmp_path_factory) -> Path:
    """Extract's cohort of the small generated database and the hand-made rows, as the clean
    stage reads it: both engines' results are compared in one run (each query costs Spark
    about a second whatever its size)."""
    path = tmp_path_factory.mktemp("parity") / "cohort.parquet"
    generated = extract_cohort(embedded_source, CohortConfig(min_sessions=7))
    frame = pd.concat([generated, cohort_frame(hand_made())], ignore_index=True)
    write_parquet(frame.astype(generated.dtypes.to_dict()), path)
    return path


def assert_same_rows(duck_path: Path, spark_path: Path) -> None:
    """Equal column names, types as pandas reads them, and values row for row (1e-9)."""
    a, b = pd.read_parquet(duck_path), pd.read_parquet(spark_path)
    assert list(a.columns) == list(b.columns) and len(a) == len(b) > 0
    for column in a.columns:
        x, y = a[column], b[column]
        assert x.dtype == y.dtype, column
        if x.dtype.kind == "f":
            np.testing.assert_allclose(y, x, rtol=1e-9, atol=0, equal_nan=True, err_msg=column)
        else:
            assert x.equals(y), column


def run_both(duck, spark, run, folder: Path) -> tuple[Path, Path, object, object]:
    """`run(engine, target)` on each engine; the two outputs and results."""
    paths = folder / "duckdb.parquet", folder / "spark.parquet"
    return (*paths, run(duck, paths[0]), run(spark, paths[1]))


def test_clean_and_features(duck, spark, cohort, tmp_path):
    config = CleanConfig()
    d_sessions, s_sessions, d_quality, s_quality = run_both(
        duck, spark, lambda e, t: clean_file(e, cohort, t, config), tmp_path
    )
    assert json_safe(asdict(d_quality)) == json_safe(asdict(s_quality))
    assert d_quality.nights_invalid > 0 and d_quality.cancelled_trips > 0  # the rules did work
    assert d_quality.duplicate_sessions_dropped == 1 and d_quality.session_times_swapped == 1
    assert_same_rows(d_sessions, s_sessions)
    # features from the same cleaned sessions
    d_features, s_features = tmp_path / "df.parquet", tmp_path / "sf.parquet"
    d_metrics = features_file(duck, d_sessions, d_features, CONFIG)
    s_metrics = features_file(spark, d_sessions, s_features, CONFIG)
    assert d_metrics == s_metrics and d_metrics["n_users"] > 50
    assert_same_rows(d_features, s_features)
    table = pd.read_parquet(s_features)
    assert list(table.columns) == ["user_id", *FEATURE_NAMES]
    # the hand-made users keep their hand-computed values (users without trips among them)
    hand = table.set_index("user_id").loc[[10**9 + 1, 10**9 + 2, 10**9 + 3]]
    assert hand.loc[10**9 + 2, "n_trips"] == 0 and hand.loc[10**9 + 1, "n_cancelled_trips"] == 1


def test_clamp_policy_and_iqr_caps(duck, spark, tmp_path):
    rows = hand_made()
    stays = [r for r in rows if r.get("nights") is not None]
    stays[0]["nights"], stays[1]["nights"] = 0, -1
    stays[1]["check_in_time"], stays[1]["check_out_time"] = (
        stays[1]["check_out_time"],
        stays[1]["check_in_time"],
    )
    write_parquet(cohort_frame(rows), tmp_path / "cohort.parquet")
    caps = OutlierCaps("iqr", 0.99, 1.5, ("page_clicks", "base_fare_usd"))
    config = CleanConfig("clamp", True, caps)
    d, s, d_quality, s_quality = run_both(
        duck, spark, lambda e, t: clean_file(e, tmp_path / "cohort.parquet", t, config), tmp_path
    )
    assert (
        json_safe(asdict(d_quality)) == json_safe(asdict(s_quality))
        and d_quality.nights_clamped > 0
    )
    assert_same_rows(d, s)


def test_a_null_a_feature_needs_stops_spark_too(spark, tmp_path):
    from traveltide.errors import DataError

    rows = tiny_rows()
    rows[3] = {**rows[3], "seats": None}
    write_parquet(cleaned(rows), tmp_path / "s.parquet")
    with pytest.raises(DataError, match=r"'avg_fare_per_seat_usd' .* user_id 1"):
        features_file(spark, tmp_path / "s.parquet", tmp_path / "f.parquet", CONFIG)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.parquet"]


@pytest.mark.parametrize(
    "changes",
    [{"pca": 3}, {"algorithm": "gmm", "covariance_type": "full", "pca": 3}],
    ids=["kmeans-pca", "gmm"],
)
def test_the_cluster_fit_scores_users_on_spark(spark, tmp_path, changes):
    table = skewed_users(n=2500)
    features = tmp_path / "features.parquet"
    write_parquet(table, features)
    config = replace(CLUSTER, stability_resamples=0, fit_sample=600, **changes)

    def label(segmenter):
        return engine_labels(spark, segmenter, features, tmp_path)

    on_spark = fit_segmenter(FileTable(features), config, SIGNALS, label=label)
    in_process = fit_segmenter(table, config, SIGNALS)
    pd.testing.assert_frame_equal(on_spark.assignments, in_process.assignments)
