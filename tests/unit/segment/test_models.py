"""The clustering algorithms: each recovers planted blobs, and rows are scored by the model's
predict or, without one, by the nearest centroid."""

from dataclasses import replace

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from cluster_cases import ALGORITHMS, CONFIG, blob_features
from support import BLOB_FEATURES, SIGNALS
from traveltide.segment.clustering import fit_segmenter
from traveltide.segment.models import nearest_centroid


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_algorithm_recovers_planted_blobs(algorithm):
    df, truth = blob_features()
    result = fit_segmenter(df, replace(CONFIG, algorithm=algorithm), SIGNALS)
    labels = result.assignments["cluster"].to_numpy()
    assert adjusted_rand_score(truth, labels) > 0.95
    assert result.quality.k == 3 and result.segmenter.algorithm == algorithm
    assert set(result.assignments["perk"]) <= set(SIGNALS)
    assert result.stability.mean > 0.9
    # scoring the same users again gives the clusters the fit found (up to a few borders)
    scored = result.segmenter.predict(df)
    assert scored["cluster"].dtype == "int64" and scored["perk"].map(type).eq(str).all()
    assert (scored["cluster"].to_numpy() == labels).mean() > 0.95
    assert (scored["perk"].to_numpy() == result.assignments["perk"].to_numpy()).mean() > 0.95


@pytest.mark.parametrize("algorithm", ["agglomerative", "dbscan", "hdbscan"])
def test_algorithms_without_predict_score_by_nearest_centroid(algorithm):
    df, _ = blob_features()
    seg = fit_segmenter(df, replace(CONFIG, algorithm=algorithm), SIGNALS).segmenter
    assert seg.model is None
    X = seg.preprocessor.transform(df[BLOB_FEATURES].to_numpy(float))
    d = ((X[:, None, :] - seg.centroids[None, :, :]) ** 2).sum(axis=2)
    assert seg.predict(df)["cluster"].tolist() == d.argmin(axis=1).tolist()


def test_nearest_centroid_matches_brute_force_across_blocks():
    rng = np.random.default_rng(0)
    X, C = rng.normal(size=(70_000, 3)), rng.normal(size=(5, 3))
    brute = ((X[:, None, :] - C[None]) ** 2).sum(axis=2).argmin(axis=1)
    assert np.array_equal(nearest_centroid(X, C), brute)
