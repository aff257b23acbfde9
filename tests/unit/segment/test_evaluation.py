"""Quality indices, the k-selection table and auto-k, stability, and agreement with personas."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_score,
)
from sklearn.preprocessing import StandardScaler

from cluster_cases import CONFIG, blob_features, personas_of
from support import BLOB_FEATURES, SIGNALS
from traveltide.errors import DataError
from traveltide.segment.clustering import fit_segmenter
from traveltide.segment.evaluation import choose_k, quality
from traveltide.segment.models import NOISE


def test_quality_matches_sklearn_ignores_noise_and_handles_one_cluster():
    X, y = make_blobs(n_samples=300, centers=2, random_state=1)
    q = quality(X, y, sample=10_000, seed=0)
    assert q.silhouette == pytest.approx(silhouette_score(X, y))
    with_noise = y.copy()
    with_noise[:30] = NOISE
    qn = quality(X, with_noise, sample=10_000, seed=0)
    assert qn.noise_share == pytest.approx(0.1)
    assert qn.silhouette == pytest.approx(silhouette_score(X[30:], y[30:]))
    one = quality(X, np.zeros(300, dtype=int), sample=10_000, seed=0)
    assert np.isnan(one.silhouette) and "undefined" in one.note


def test_k_table_matches_sklearn_and_keeps_the_plotted_columns():
    df, _ = blob_features()
    result = fit_segmenter(df, CONFIG, SIGNALS, personas=personas_of(df, blob_features()[1]))
    table = result.k_table
    assert table["k"].tolist() == [2, 3, 4, 5]
    assert {"k", "silhouette", "inertia", "truth_ari"} <= set(table.columns)
    X = StandardScaler().fit_transform(df[BLOB_FEATURES].to_numpy(float))
    km = KMeans(n_clusters=4, n_init=3, random_state=CONFIG.seed).fit(X)
    row = table.set_index("k").loc[4]
    assert row["silhouette"] == pytest.approx(silhouette_score(X, km.labels_))
    assert row["calinski_harabasz"] == pytest.approx(calinski_harabasz_score(X, km.labels_))
    assert row["davies_bouldin"] == pytest.approx(davies_bouldin_score(X, km.labels_))
    assert row["inertia"] == pytest.approx(km.inertia_)
    assert table.set_index("k").loc[3, "truth_ari"] > 0.95


def test_choose_k_breaks_ties_to_the_smaller_k_and_skips_undefined():
    table = pd.DataFrame(
        {"k": [2, 3, 4, 5], "silhouette": [0.5, np.nan, 0.5, 0.1], "davies_bouldin": [2, 1, 1, 3]}
    )
    assert choose_k(table, "silhouette") == 2
    assert choose_k(table, "davies_bouldin") == 3
    with pytest.raises(DataError, match="undefined for every k"):
        choose_k(table.assign(silhouette=np.nan), "silhouette")


@pytest.mark.parametrize("rule", ["silhouette", "calinski_harabasz", "davies_bouldin"])
@pytest.mark.parametrize("planted", [3, 5])
def test_auto_k_picks_the_planted_number_of_blobs(rule, planted):
    df, truth = blob_features(n=500, k=planted, seed=3, std=0.5)
    config = replace(CONFIG, k="auto", k_rule=rule, k_range=(2, 3, 4, 5, 6, 7))
    result = fit_segmenter(df, config, SIGNALS)
    assert result.quality.k == planted
    assert result.k_requested == "auto" and rule.split("_")[0] in result.k_rule.lower()
    assert adjusted_rand_score(truth, result.assignments["cluster"]) > 0.95


def test_auto_k_by_bic_with_gmm():
    df, _ = blob_features(n=500, k=4, seed=3, std=0.5)
    config = replace(CONFIG, algorithm="gmm", k="auto", k_rule="bic", k_range=(2, 3, 4, 5, 6))
    result = fit_segmenter(df, config, SIGNALS)
    assert result.quality.k == 4
    assert result.k_table["bic"].notna().all()


def test_stability_is_high_on_blobs_and_low_on_structureless_noise():
    df, _ = blob_features(n=300)
    assert fit_segmenter(df, replace(CONFIG, stability_resamples=8), SIGNALS).stability.mean > 0.95
    rng = np.random.default_rng(0)
    noise = pd.DataFrame(rng.normal(size=(300, 6)), columns=[*BLOB_FEATURES, "e", "f"])
    noise.insert(0, "user_id", np.arange(300))
    config = replace(CONFIG, k=6, k_range=(6,), stability_resamples=8)
    result = fit_segmenter(noise, config, SIGNALS)
    assert result.stability.mean < 0.7
    assert result.stability.worst <= result.stability.mean
    skipped = fit_segmenter(df, replace(CONFIG, stability_resamples=0), SIGNALS).stability
    assert np.isnan(skipped.mean) and "skipped" in skipped.note


def test_truth_scores_against_personas_match_sklearn():
    df, truth = blob_features()
    personas = personas_of(df, truth)
    extra = pd.DataFrame({"user_id": [999_999], "persona": ["p9"]})  # not in the cohort
    result = fit_segmenter(df, CONFIG, SIGNALS, personas=pd.concat([personas, extra]))
    labels = result.assignments["cluster"]
    assert result.truth.ari == pytest.approx(adjusted_rand_score(truth, labels))
    assert result.truth.nmi == pytest.approx(normalized_mutual_info_score(truth, labels))
    assert result.truth.personas == 3
    empty = fit_segmenter(df, CONFIG, SIGNALS, personas=personas.iloc[:0])
    assert empty.truth.ari is None and "empty" in empty.truth.note
    with pytest.raises(DataError, match="no persona for 1 cohort users"):
        fit_segmenter(df, CONFIG, SIGNALS, personas=personas.iloc[1:])
