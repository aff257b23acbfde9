"""A 2-D PCA of the standardized features: the picture of the clusters the report shows.

A plain SVD in numpy (the report stage does not import scikit-learn), on a seeded sample of
users, each component's sign fixed: the same data give the same picture, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

PCA_SAMPLE = 3000  # users drawn into the PCA scatter (all of them below this)
PCA_SEED = 0


@dataclass(frozen=True)
class Projection:
    """A 2-D PCA of the standardized features, for looking at the clusters only."""

    points: pd.DataFrame  # user_id, cluster, pc1, pc2 (the sampled users, by user_id)
    explained: tuple[float, ...]  # share of variance of PC1, PC2
    users: int  # users in the cohort (before sampling)

    def to_dict(self) -> dict[str, Any]:
        return {
            "explained_variance_ratio": list(self.explained),
            "users": self.users,
            "sampled_users": len(self.points),
            "seed": PCA_SEED,
            "space": "standardized features (z-scores), not the clustering space",
        }


def pca_projection(
    features: pd.DataFrame,
    clusters: pd.DataFrame,
    *,
    sample: int = PCA_SAMPLE,
    seed: int = PCA_SEED,
) -> Projection:
    """PC1 and PC2 of the z-scored features of a seeded sample of users, with their cluster.

    A picture of the clusters in a space a reader can see, not the one they were found in
    (the cluster stage may transform, subset or reduce the features first).
    """
    table = features.merge(clusters[["user_id", "cluster"]], on="user_id", validate="one_to_one")
    table = table.sort_values("user_id", kind="stable").reset_index(drop=True)
    users = len(table)
    if len(table) > sample:
        rows = np.sort(np.random.default_rng(seed).choice(len(table), sample, replace=False))
        table = table.iloc[rows].reset_index(drop=True)
    cols = [c for c in features.columns if c != "user_id"]
    X = table[cols].to_numpy(float)
    sd = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    scores, explained = _principal_components(Z, 2)
    points = pd.DataFrame(
        {
            "user_id": table["user_id"].to_numpy(),
            "cluster": table["cluster"].to_numpy(),
            "pc1": scores[:, 0],
            "pc2": scores[:, 1],
        }
    )
    return Projection(points, explained, users=users)


def _principal_components(Z: np.ndarray, n: int) -> tuple[np.ndarray, tuple[float, ...]]:
    """Scores on the first ``n`` principal components of centred ``Z`` and their variance shares.

    A plain SVD (numpy), so the report stage does not import scikit-learn. Each component's
    sign is fixed so that its largest loading is positive: the same data give the same picture.
    Components beyond the data's rank are zero.
    """
    scores = np.zeros((len(Z), n))
    explained = [0.0] * n
    if len(Z) < 2 or Z.shape[1] == 0:
        return scores, tuple(explained)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # one BLAS thread: the same bits however the stage runs
        u, s, vt = np.linalg.svd(Z, full_matrices=False)
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
    signs[signs == 0] = 1.0
    m = min(n, len(s))
    scores[:, :m] = (u[:, :m] * s[:m]) * signs[:m]
    total = float((s**2).sum())
    if total > 0:
        explained[:m] = [float(v) for v in (s[:m] ** 2) / total]
    return scores, tuple(explained)
