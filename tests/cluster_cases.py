"""The blob cohort and cluster config the segment tests share (tests/unit/segment)."""

from __future__ import annotations

import pandas as pd

from support import blob_users
from traveltide.config import ClusterConfig

CONFIG = ClusterConfig(
    k=3,
    k_range=(2, 3, 4, 5),
    n_init=3,
    transform="none",
    max_correlation=None,  # the blobs share their means across features: keep all four
    silhouette_sample=10_000,
    stability_resamples=3,
    eps=0.5,
    min_samples=5,
    min_cluster_size=20,
)
ALGORITHMS = ["kmeans", "minibatch_kmeans", "gmm", "agglomerative", "dbscan", "hdbscan"]


def blob_features(n=400, k=3, seed=0, std=0.6):
    """`n` users in `k` planted blobs (user_id from 100), and each user's blob."""
    return blob_users(n, k=k, seed=seed, std=std, first_id=100)


def personas_of(df, truth):
    """A personas table planting each user's blob as persona `p<blob>`."""
    return pd.DataFrame({"user_id": df["user_id"], "persona": [f"p{t}" for t in truth]})
