"""Preprocessing: skew transforms, PCA and the feature subset."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from cluster_cases import CONFIG, blob_features
from support import BLOB_FEATURES, SIGNALS
from traveltide.config import ClusterConfig
from traveltide.errors import ConfigError
from traveltide.segment.clustering import fit_segmenter
from traveltide.segment.preprocess import SkewTransform, select_features, uncorrelated


def test_skew_transforms():
    rng = np.random.default_rng(0)
    tiny = rng.lognormal(-7, 1, 1000)  # like ads_per_km: ~0.001 with a long tail
    X = np.column_stack([rng.lognormal(3, 1, 1000), rng.normal(0, 1, 1000), tiny])
    plain = SkewTransform("log1p").fit(X)
    assert plain.columns_.tolist() == [0, 2]
    np.testing.assert_allclose(plain.transform(X)[:, 0], np.log1p(X[:, 0]))
    np.testing.assert_allclose(plain.transform(X)[:, 1], X[:, 1])
    scaled = SkewTransform("log1p_scaled").fit(X).transform(X)
    np.testing.assert_allclose(scaled[:, 2], np.log1p(tiny / np.quantile(tiny, 0.05)))
    # plain log1p leaves the tiny feature as skewed as it was; log1p_scaled tames it
    skew = pd.DataFrame({"plain": plain.transform(X)[:, 2], "scaled": scaled[:, 2]}).skew()
    assert skew["plain"] > 3 and abs(skew["scaled"]) < 1.5
    assert np.array_equal(SkewTransform("none").fit(X).transform(X), X)


def test_pca_by_components_and_by_explained_variance_match_sklearn():
    df, truth = blob_features()
    X = StandardScaler().fit_transform(df[BLOB_FEATURES].to_numpy(float))
    two = fit_segmenter(df, replace(CONFIG, pca=2), SIGNALS)
    assert two.pca_components == 2
    expected = PCA(n_components=2, svd_solver="full").fit(X)
    assert two.pca_explained_variance == pytest.approx(expected.explained_variance_ratio_.sum())
    assert adjusted_rand_score(truth, two.assignments["cluster"]) > 0.95
    share = fit_segmenter(df, replace(CONFIG, pca=0.9), SIGNALS)
    cumulative = np.cumsum(PCA(svd_solver="full").fit(X).explained_variance_ratio_)
    assert share.pca_components == int(np.searchsorted(cumulative, 0.9) + 1)
    assert share.pca_explained_variance >= 0.9
    with pytest.raises(ConfigError, match="cluster.pca = 9 components"):
        fit_segmenter(df, replace(CONFIG, pca=9), SIGNALS)


def test_feature_subset_is_used_and_unknown_names_are_errors():
    df, _ = blob_features()
    result = fit_segmenter(df, replace(CONFIG, features=("bags", "c")), SIGNALS)
    assert result.segmenter.features == ["bags", "c"]
    assert result.segmenter.predict(df[["bags", "c"]]).shape == (len(df), 2)
    # profiles still describe every feature, so perk signals outside the subset work
    assert set(result.profiles.columns) == set(BLOB_FEATURES)
    assert select_features(df.columns, "all") == BLOB_FEATURES
    with pytest.raises(ConfigError, match="cluster.features: unknown feature.*nope, zilch"):
        fit_segmenter(df, replace(CONFIG, features=("bags", "nope", "zilch")), SIGNALS)


def correlated_users(n=2000, seed=5):
    """a; b = 3a + small noise (a near-copy); c independent; d constant; e = -a + noise."""
    rng = np.random.default_rng(seed)
    a = rng.lognormal(size=n)
    return np.column_stack(
        [
            a,
            3 * a + rng.normal(0, 0.05, n),
            rng.normal(size=n),
            np.ones(n),
            -a + rng.normal(0, 0.1, n),
        ]
    )


def test_the_correlation_filter_keeps_the_first_of_features_that_repeat_each_other():
    values = correlated_users()
    config = ClusterConfig(transform="none", max_correlation=0.6)
    # b repeats a, e mirrors it (|r| counts); c is independent, d constant (no correlation)
    assert uncorrelated(values, config) == [0, 2, 3]
    assert uncorrelated(values, replace(config, max_correlation=None)) == [0, 1, 2, 3, 4]
    assert uncorrelated(values, replace(config, max_correlation=1.0)) == [0, 1, 2, 3, 4]
    # measured after the preprocessing: the same columns whatever PCA comes after
    assert uncorrelated(values, replace(config, pca=2)) == [0, 2, 3]
    swapped = values[:, [2, 1, 0, 3, 4]]  # b now comes first: b is kept, a dropped
    assert uncorrelated(swapped, config) == [0, 1, 3]


def test_the_filtered_fit_scores_and_reports_only_the_kept_features():
    values = correlated_users(n=600)
    table = pd.DataFrame(values, columns=["a", "b", "c", "d", "e"])
    table.insert(0, "user_id", np.arange(len(table)))
    config = ClusterConfig(k=2, transform="none", stability_resamples=0, n_init=2)
    result = fit_segmenter(table, config, {"free_checked_bag": "a"})
    assert result.segmenter.features == ["a", "c", "d"]
    assert result.summary()["n_features"] == 3
    scored = result.segmenter.predict(table.drop(columns=["b", "e"]))  # the dropped ones unused
    assert scored["cluster"].tolist() == result.assignments["cluster"].tolist()
