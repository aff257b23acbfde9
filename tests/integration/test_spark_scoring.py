"""Scoring every user on Spark (traveltide.engines.scoring through engines.dialect): the labels
DuckDB's query gives, which are the segmenter's predict (tests/unit/engines/test_scoring.py)."""

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from cluster_cases import CONFIG
from support import SIGNALS
from traveltide.config import SparkConfig
from traveltide.engines.duck import DuckDBEngine
from traveltide.engines.scoring import score_file
from traveltide.engines.spark import SparkEngine
from traveltide.io import read_parquet, write_parquet
from traveltide.segment.clustering import fit_segmenter

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "engines"))
from test_scoring import skewed_users  # noqa: E402

pytest.importorskip("pyspark")

# `slow`: about a minute of a JVM, and the cluster stage does not score on the engine yet
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_spark_assigns_the_clusters_duckdb_assigns(tmp_path):
    table = skewed_users()
    config = replace(CONFIG, stability_resamples=0, transform="log1p_scaled", pca=3)
    segmenter = fit_segmenter(table, config, SIGNALS).segmenter
    features = tmp_path / "features.parquet"
    write_parquet(table, features)
    got = {}
    for name, engine in (("duckdb", DuckDBEngine()), ("spark", SparkEngine(SparkConfig()))):
        try:
            score_file(engine, segmenter, features, tmp_path / f"{name}.parquet")
        finally:
            engine.close()
        got[name] = read_parquet(tmp_path / f"{name}.parquet", what=name)
    for column in ("user_id", "cluster", "cluster_name", "perk"):
        assert got["spark"][column].tolist() == got["duckdb"][column].tolist()
