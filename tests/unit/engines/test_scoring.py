"""Scoring every user inside the engine (traveltide.engines.scoring): the SQL assigns each user
the cluster the fitted segmenter's predict gives, label for label."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from cluster_cases import CONFIG
from support import BLOB_FEATURES, SIGNALS
from traveltide.config import EngineConfig
from traveltide.engines.duck import DuckDBEngine
from traveltide.engines.scoring import (
    argmin_sql,
    engine_labeller,
    engine_labels,
    scorable,
    score_file,
)
from traveltide.errors import DataError
from traveltide.io import read_parquet, write_parquet
from traveltide.segment.clustering import fit_segmenter
from traveltide.segment.segmenter import model_bytes
from traveltide.segment.table import FileTable


def skewed_users(n=3000, seed=3):
    """Right-skewed non-negative features in three groups, with zeros: what the skew transform
    logs and the scaler centres."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n)
    values = rng.lognormal(mean=group[:, None] * 0.8, sigma=0.9, size=(n, len(BLOB_FEATURES)))
    values[rng.random(values.shape) < 0.1] = 0.0
    table = pd.DataFrame(values, columns=BLOB_FEATURES)
    table.insert(0, "user_id", rng.permutation(n).astype("int64") + 10)
    return table


def scored(tmp_path, segmenter, table):
    features, target = tmp_path / "features.parquet", tmp_path / "clusters.parquet"
    write_parquet(table, features)
    engine = DuckDBEngine()
    try:
        score_file(engine, segmenter, features, target)
    finally:
        engine.close()
    return read_parquet(target, what="clusters")


@pytest.mark.parametrize(
    "changes",
    [
        {"transform": "log1p_scaled"},
        {"transform": "log1p", "scaler": "robust", "pca": 3},
        {"algorithm": "minibatch_kmeans", "transform": "none", "k": 4},
        {"algorithm": "agglomerative", "transform": "log1p_scaled", "pca": 0.9},
        {"algorithm": "gmm", "transform": "log1p_scaled", "covariance_type": "full"},
        {"algorithm": "gmm", "transform": "log1p", "covariance_type": "tied", "pca": 3},
        {"algorithm": "gmm", "transform": "none", "covariance_type": "diag", "k": 4},
        {"algorithm": "gmm", "transform": "log1p_scaled", "covariance_type": "spherical"},
    ],
    ids=[
        "kmeans",
        "robust-pca",
        "minibatch",
        "agglomerative",
        "gmm-full",
        "gmm-tied-pca",
        "gmm-diag",
        "gmm-spherical",
    ],
)
def test_engine_labels_equal_the_segmenters_predict(tmp_path, changes):
    table = skewed_users()
    config = replace(CONFIG, stability_resamples=0, fit_sample=1000, **changes)
    segmenter = fit_segmenter(table, config, SIGNALS).segmenter
    expected = segmenter.predict(table).assign(user_id=table["user_id"].to_numpy())
    expected = expected.sort_values("user_id", ignore_index=True)
    got = scored(tmp_path, segmenter, table)
    assert got["user_id"].tolist() == expected["user_id"].tolist()
    assert got["cluster"].tolist() == expected["cluster"].tolist()
    assert got["perk"].tolist() == expected["perk"].tolist()
    names = expected["cluster"].map(segmenter.names)
    assert got["cluster_name"].tolist() == names.tolist()
    assert str(got["cluster"].dtype) == "int64"


def test_a_nan_feature_or_an_unsupported_model_is_one_line(tmp_path):
    table = skewed_users(n=400)
    config = replace(CONFIG, stability_resamples=0, transform="log1p_scaled")
    segmenter = fit_segmenter(table, config, SIGNALS).segmenter
    with pytest.raises(DataError, match="1 users have a NULL, NaN or infinite feature"):
        scored(tmp_path, segmenter, table.assign(c=[np.nan] + [1.0] * (len(table) - 1)))
    with pytest.raises(DataError, match="missing feature column"):
        scored(tmp_path, segmenter, table.drop(columns="d"))
    quantile = fit_segmenter(table, replace(config, transform="quantile"), SIGNALS).segmenter
    with pytest.raises(DataError, match="transform quantile is not supported"):
        scored(tmp_path, quantile, table)
    assert scorable(quantile) == "cluster.transform quantile is not supported"
    hdbscan = fit_segmenter(table, replace(config, algorithm="hdbscan"), SIGNALS).segmenter
    assert scorable(hdbscan) is None


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm"])
def test_the_cluster_fit_labels_users_through_the_engine_as_in_process(tmp_path, algorithm):
    """fit_segmenter with a labeller scoring in an engine (DuckDB here; Spark in
    tests/integration/test_spark_parity.py) writes what labelling in process writes."""
    table = skewed_users(n=2500)
    features = tmp_path / "features.parquet"
    write_parquet(table, features)
    config = replace(CONFIG, stability_resamples=0, fit_sample=600, algorithm=algorithm)
    engine, calls = DuckDBEngine(), []

    def label(segmenter):
        calls.append(segmenter.algorithm)
        return engine_labels(engine, segmenter, features, tmp_path)

    try:
        via_engine = fit_segmenter(FileTable(features), config, SIGNALS, label=label)
    finally:
        engine.close()
    in_process = fit_segmenter(table, config, SIGNALS)
    assert calls == [algorithm]  # users outside the sample of 600 were scored by the engine
    pd.testing.assert_frame_equal(via_engine.assignments, in_process.assignments)
    assert model_bytes(via_engine.segmenter) == model_bytes(in_process.segmenter)


def test_on_duckdb_the_labeller_leaves_users_to_the_process(tmp_path):
    with engine_labeller(EngineConfig(), tmp_path / "features.parquet", tmp_path) as label:
        assert label(object()) is None


def test_argmin_takes_the_lower_index_on_ties():
    import duckdb

    sql = argmin_sql(["a", "b", "c"])
    rows = [(1.0, 1.0, 2.0), (3.0, 2.0, 2.0), (3.0, 2.0, 1.0), (0.5, 0.7, 0.5)]
    got = [
        duckdb.sql(f"SELECT {sql} FROM (SELECT {a} a, {b} b, {c} c)").fetchone()[0]
        for a, b, c in rows
    ]
    assert got == [0, 1, 2, 0]
