import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, silhouette_score

from traveltide.cluster import Log1pSkewed, fit_segmenter, perk_map, quality
from traveltide.config import ClusterConfig
from traveltide.errors import DataError

SIGNALS = {"free_checked_bag": "bags", "exclusive_discounts": "discount"}


def blob_features(n=600, k=3, seed=0):
    X, y = make_blobs(n_samples=n, centers=k, n_features=4, cluster_std=0.6, random_state=seed)
    df = pd.DataFrame(X, columns=["bags", "discount", "c", "d"])
    df.insert(0, "user_id", np.arange(n) + 100)
    return df, y


CONFIG = ClusterConfig(k=3, k_range=(2, 3, 4), log1p=False, silhouette_sample=10_000)


def test_recovers_separable_blobs_and_is_deterministic():
    df, truth = blob_features()
    first = fit_segmenter(df, CONFIG, SIGNALS)
    second = fit_segmenter(df, CONFIG, SIGNALS)
    assert adjusted_rand_score(truth, first.assignments["cluster"]) > 0.95
    pd.testing.assert_frame_equal(first.assignments, second.assignments)
    assert set(first.assignments["perk"]) <= set(SIGNALS)
    assert first.quality.k == 3 and first.quality.silhouette > 0.5
    # the k-selection table peaks at the true k
    best = first.k_table.loc[first.k_table["silhouette"].idxmax(), "k"]
    assert best == 3


def test_segmenter_scores_new_rows_like_the_fit():
    df, _ = blob_features()
    result = fit_segmenter(df, CONFIG, SIGNALS)
    scored = result.segmenter.predict(df.sample(frac=1.0, random_state=1))
    expected = result.assignments.set_index("user_id").loc[
        df.sample(frac=1.0, random_state=1)["user_id"]
    ]
    assert scored["cluster"].tolist() == expected["cluster"].tolist()
    with pytest.raises(DataError, match="missing feature column"):
        result.segmenter.predict(df.drop(columns="bags"))


def test_quality_matches_sklearn_and_handles_one_cluster():
    X, y = make_blobs(n_samples=300, centers=2, random_state=1)
    q = quality(X, y, inertia=1.0, sample=10_000, seed=0)
    assert q.silhouette == pytest.approx(silhouette_score(X, y))
    one = quality(X, np.zeros(300, dtype=int), inertia=1.0, sample=10_000, seed=0)
    assert np.isnan(one.silhouette) and "undefined" in one.note


def test_perk_map_picks_the_highest_signal():
    z = pd.DataFrame({"bags": [2.0, -1.0], "discount": [0.5, 1.5]}, index=[0, 1])
    assert perk_map(z, SIGNALS) == {0: "free_checked_bag", 1: "exclusive_discounts"}


def test_k_not_below_cohort_size_is_rejected():
    df, _ = blob_features(n=5)
    with pytest.raises(DataError, match="cluster.k = 5 needs more users"):
        fit_segmenter(df, ClusterConfig(k=5), SIGNALS)


def test_log1p_only_on_skewed_non_negative_columns():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.lognormal(3, 1, 1000), rng.normal(0, 1, 1000)])
    t = Log1pSkewed().fit(X)
    assert t.columns_.tolist() == [0]
    np.testing.assert_allclose(t.transform(X)[:, 0], np.log1p(X[:, 0]))
    np.testing.assert_allclose(t.transform(X)[:, 1], X[:, 1])
