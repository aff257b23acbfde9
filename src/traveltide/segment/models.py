"""The clustering algorithms: building, fitting and scoring one scikit-learn model.

A `Fit` is one clustering of the rows it was fitted on, with the centroids that let any row be
assigned later, also by algorithms without a predict (agglomerative, dbscan, hdbscan).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np
from sklearn.cluster import (
    DBSCAN,
    HDBSCAN,
    AgglomerativeClustering,
    KMeans,
    MiniBatchKMeans,
)
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from traveltide.config import ClusterConfig
from traveltide.errors import DataError

PREDICTING = ("kmeans", "minibatch_kmeans", "gmm")  # their own predict scores new users
DENSITY = ("dbscan", "hdbscan")  # find their own number of clusters and leave noise (-1)
NOISE = -1
NOISE_NAME = "noise"
CHUNK = 65_536  # rows per block of the nearest-centroid search (bounded memory)


@contextmanager
def single_threaded() -> Iterator[None]:
    """One BLAS/OpenMP thread: with two processes on two cores (a shared machine, or
    `dvc queue start -j 2`) OpenMP threads spin against each other and a small fit runs
    many times slower than on one thread."""
    with threadpool_limits(limits=1):
        yield


def nearest_centroid(X: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the closest centroid (squared Euclidean; ties: the lower index), in row blocks."""
    if len(centroids) == 0:
        raise DataError("no cluster centroid to assign users to")
    c_sq = (centroids**2).sum(axis=1)
    out = np.empty(len(X), dtype="int64")
    for start in range(0, len(X), CHUNK):
        block = X[start : start + CHUNK]
        d = c_sq[None, :] - 2.0 * block @ centroids.T
        out[start : start + CHUNK] = d.argmin(axis=1)
    return out


def make_model(
    config: ClusterConfig, k: int | None, *, seed: int, memory: joblib.Memory | None = None
) -> Any:
    """The configured scikit-learn estimator (k is ignored by dbscan and hdbscan).

    `memory` lets agglomerative candidates of one k-selection share one merge tree.
    """
    a = config.algorithm
    if a == "kmeans":
        return KMeans(n_clusters=k, n_init=config.n_init, random_state=seed)
    if a == "minibatch_kmeans":
        return MiniBatchKMeans(n_clusters=k, n_init=config.n_init, random_state=seed)
    if a == "gmm":
        return GaussianMixture(
            n_components=k,
            covariance_type=config.covariance_type,
            n_init=config.n_init,
            random_state=seed,
        )
    if a == "agglomerative":
        return AgglomerativeClustering(
            n_clusters=k, linkage=config.linkage, memory=memory, compute_full_tree=True
        )
    if a == "dbscan":
        return DBSCAN(eps=config.eps, min_samples=config.min_samples)
    if a == "hdbscan":
        return HDBSCAN(
            min_cluster_size=config.min_cluster_size, min_samples=config.min_samples, copy=True
        )
    raise DataError(f"cluster.algorithm {a!r} is not implemented")  # config.py rejects it first


def centroids_of(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean of each cluster 0..max(labels) (noise rows left out)."""
    k = int(labels.max()) + 1 if len(labels) else 0
    return np.array([X[labels == c].mean(axis=0) for c in range(k)]).reshape(k, X.shape[1])


@dataclass
class Fit:
    """One clustering of the rows it was fitted on."""

    labels: np.ndarray  # per fitted row, 0..k-1, or -1 for noise
    centroids: np.ndarray  # (clusters, dims): mean of each cluster's fitted rows
    estimator: Any | None  # kept only when it predicts new rows itself (PREDICTING)
    bic: float = float("nan")

    @property
    def n_clusters(self) -> int:
        return len(self.centroids)

    def assign(self, X: np.ndarray) -> np.ndarray:
        """Cluster of any rows: the model's predict, else the nearest centroid (never noise)."""
        if self.estimator is not None:
            return np.asarray(self.estimator.predict(X), dtype="int64")
        return nearest_centroid(X, self.centroids)


def fit_model(
    X: np.ndarray,
    config: ClusterConfig,
    k: int | None,
    *,
    seed: int,
    memory: joblib.Memory | None = None,
) -> Fit:
    """Fit the configured algorithm on X; a fit with fewer than 2 clusters is returned as is."""
    model = make_model(config, k, seed=seed, memory=memory)
    labels = np.asarray(model.fit_predict(X), dtype="int64")
    keep = model if config.algorithm in PREDICTING else None
    bic = float(model.bic(X)) if config.algorithm == "gmm" else float("nan")
    return Fit(labels, centroids_of(X, labels), keep, bic)


def fitted_rows(n: int, limit: int, seed: int) -> np.ndarray:
    """All rows, or a seeded sorted sample of `limit` rows when there are more."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))
