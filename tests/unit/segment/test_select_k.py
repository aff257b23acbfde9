"""select_k: its table depends only on K_SELECTION_PARAMS, and the select_k and cluster stages
together (the table written and read back) give what one fit_segmenter call gives."""

import json
import pickle
from dataclasses import fields, replace
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cluster_cases import blob_features, personas_of
from traveltide.config import ClusterConfig, PerksConfig
from traveltide.errors import DataError
from traveltide.io import (
    read_csv,
    read_parquet,
    write_bytes,
    write_csv,
    write_json,
    write_parquet,
)
from traveltide.segment.clustering import (
    K_SELECTION_PARAMS,
    fit_segmenter,
    for_k_selection,
    select_k,
)
from traveltide.segment.evaluation import K_TABLE_COLUMNS
from traveltide.segment.segmenter import model_bytes

ROOT = Path(__file__).resolve().parents[3]
PARAMS = {
    "cluster": {
        "algorithm": "kmeans",
        "k": "auto",
        "k_range": [2, 3, 4],
        "k_rule": "silhouette",
        "seed": 1,
        "n_init": 2,
        "features": "all",
        "transform": "log1p_scaled",
        "scaler": "robust",
        "max_correlation": None,  # the blobs share their means across features: keep all
        "pca": None,
        "silhouette_sample": 1000,
        "fit_sample": 20000,
        "stability_resamples": 2,
        "covariance_type": "full",
        "linkage": "ward",
        "eps": 0.5,
        "min_samples": 5,
        "min_cluster_size": 10,
    },
    "perks": {"signals": {"free_checked_bag": "bags", "exclusive_discounts": "discount"}},
}


def select_k_then_cluster(params: dict, folder: Path) -> None:
    """The select_k and cluster stages' work, through the files they write and read."""
    config = ClusterConfig.from_params(params)
    features = read_parquet(folder / "features.parquet", what="features")
    personas = read_parquet(folder / "personas.parquet", what="personas")
    write_csv(select_k(features, config, personas=personas), folder / "k_selection.csv")
    k_table = read_csv(folder / "k_selection.csv", what="k-selection table")
    signals = PerksConfig.from_params(params).signals
    result = fit_segmenter(features, config, signals, personas=personas, k_table=k_table)
    write_parquet(result.assignments, folder / "clusters.parquet")
    write_bytes(model_bytes(result.segmenter), folder / "segmenter.pkl")
    write_json(result.metrics(), folder / "cluster.json")
    write_json(result.summary(), folder / "cluster_summary.json")


@pytest.mark.parametrize("with_personas", [True, False])
def test_select_k_then_cluster_give_what_one_call_gives(tmp_path, with_personas):
    df, truth = blob_features()
    df.to_parquet(tmp_path / "features.parquet")
    personas = personas_of(df, truth) if with_personas else personas_of(df, truth).iloc[:0]
    personas.to_parquet(tmp_path / "personas.parquet")
    select_k_then_cluster(PARAMS, tmp_path)
    metrics = json.loads((tmp_path / "cluster_summary.json").read_text())
    assert metrics["k"] == 3 and metrics["k_requested"] == "auto"
    assert json.loads((tmp_path / "cluster.json").read_text())["k"] == 3
    assert (metrics["truth_ari"] is not None) == with_personas
    table = pd.read_csv(tmp_path / "k_selection.csv")
    assert table["k"].tolist() == [2, 3, 4]
    # The two stages give what one in-process call gives: the table and the same clusters.
    config = ClusterConfig.from_params(PARAMS)
    signals = PerksConfig.from_params(PARAMS).signals
    whole = fit_segmenter(df, config, signals, personas=personas)
    write_csv(whole.k_table, tmp_path / "whole.csv")  # the writer every stage uses
    assert (tmp_path / "whole.csv").read_bytes() == (tmp_path / "k_selection.csv").read_bytes()
    clusters = pd.read_parquet(tmp_path / "clusters.parquet")
    assert whole.assignments["cluster"].tolist() == clusters["cluster"].tolist()
    seg = pickle.loads((tmp_path / "segmenter.pkl").read_bytes())
    assert seg.predict(df)["cluster"].tolist() == clusters["cluster"].tolist()


def test_select_k_stage_tracks_exactly_the_params_its_table_depends_on():
    """dvc.yaml's select_k params are K_SELECTION_PARAMS; every other cluster param is reset
    before the table is computed, so a param left off the list cannot change the table."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert stages["select_k"]["params"] == [f"cluster.{p}" for p in K_SELECTION_PARAMS]
    assert set(K_SELECTION_PARAMS) < {f.name for f in fields(ClusterConfig)}
    assert "cluster" in stages["cluster"]["params"]
    a = ClusterConfig(k=3, k_rule="davies_bouldin", stability_resamples=0, eps=1.0, n_init=2)
    b = ClusterConfig(k=9, k_rule="silhouette", stability_resamples=7, eps=9.0, n_init=2)
    assert for_k_selection(a) == for_k_selection(b)
    assert for_k_selection(a) != for_k_selection(replace(a, n_init=3))
    df, _ = blob_features()
    pd.testing.assert_frame_equal(select_k(df, a), select_k(df, b))


def test_select_k_is_empty_for_density_algorithms_and_fit_refuses_a_bad_table():
    df, _ = blob_features()
    table = select_k(df, ClusterConfig(algorithm="dbscan"))
    assert table.empty and list(table.columns) == list(K_TABLE_COLUMNS)
    with pytest.raises(DataError, match="k-selection table: missing column"):
        fit_segmenter(
            df, ClusterConfig(k="auto", k_range=(2, 3)), {}, k_table=pd.DataFrame({"k": [2]})
        )
