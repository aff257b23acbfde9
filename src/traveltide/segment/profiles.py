"""What each cluster is: feature profiles, a readable name and its perk."""

from __future__ import annotations

import numpy as np
import pandas as pd

from traveltide.segment.models import NOISE, NOISE_NAME
from traveltide.segment.perks import strongest_perk
from traveltide.segment.table import UserTable


def profiles(features: UserTable, labels: np.ndarray) -> pd.DataFrame:
    """Per-cluster feature means as z-scores against the cohort (0 = cohort average)."""
    cols = [c for c in features.columns if c != "user_id"]
    clusters, codes = np.unique(labels, return_inverse=True)
    counts = np.bincount(codes, minlength=len(clusters)).astype(float)
    means, mean, sd = {}, {}, {}
    for c in cols:  # one column at a time: no copy of a 1M-row table
        v = features.column(c).astype(float)
        means[c] = np.bincount(codes, weights=v, minlength=len(clusters)) / counts
        mean[c], sd[c] = v.mean(), v.std()
    z = pd.DataFrame(means, index=pd.Index(clusters.astype("int64"), name="cluster"))
    z = (z - pd.Series(mean)) / pd.Series(sd).replace(0, np.nan)
    return z.fillna(0.0)


def perk_map(profile_z: pd.DataFrame, signals: dict[str, str]) -> dict[int, str]:
    """Each cluster's perk: the perk whose signal feature is highest in its profile."""
    clusters = profile_z[profile_z.index != NOISE]
    perks = strongest_perk(clusters, signals)
    return {int(c): str(p) for c, p in zip(clusters.index, perks, strict=True)}


def cluster_names(profile_z: pd.DataFrame, *, top: int = 2) -> dict[int, str]:
    """Readable names from the features that most set each cluster apart, e.g. 'high avg_bags'."""
    names = {}
    for cluster, row in profile_z.iterrows():
        if cluster == NOISE:
            names[NOISE] = NOISE_NAME
            continue
        order = row.abs().sort_values(ascending=False, kind="stable").index[:top]
        parts = [f"{'high' if row[f] > 0 else 'low'} {f}" for f in order]
        names[int(cluster)] = ", ".join(parts)
    return names
