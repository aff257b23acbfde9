"""What the cluster stage writes: the assignments, the fitted segmenter and every figure of
the fit, as metrics (numbers only, for `dvc exp show`) and as a summary (for the report)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from traveltide.segment.evaluation import ClusterQuality, Stability, Truth
from traveltide.segment.models import NOISE
from traveltide.segment.rules import mix
from traveltide.segment.segmenter import Segmenter


@dataclass(frozen=True)
class ClusterResult:
    """Everything the cluster stage writes."""

    assignments: pd.DataFrame
    quality: ClusterQuality
    k_table: pd.DataFrame
    profiles: pd.DataFrame
    segmenter: Segmenter
    k_requested: int | str | None
    k_rule: str
    stability: Stability
    truth: Truth
    n_users: int
    n_fitted: int
    pca_components: int | None
    pca_explained_variance: float | None
    seconds: dict[str, float] = field(default_factory=dict)

    def metrics(self) -> dict[str, float | int | None]:
        """metrics/cluster.json: the numbers that compare configurations, and nothing else
        (DVC shows each as a column of `dvc exp show`; NaN becomes null when written)."""
        sizes = self.assignments.loc[self.assignments["cluster"] != NOISE, "cluster"]
        counts = sizes.value_counts()
        return {
            "k": self.quality.k,
            "silhouette": self.quality.silhouette,
            "calinski_harabasz": self.quality.calinski_harabasz,
            "davies_bouldin": self.quality.davies_bouldin,
            "stability": self.stability.mean,
            "truth_ari": self.truth.ari,
            "truth_ceiling_ari": self.truth.ceiling,
            "truth_ari_vs_ceiling": self.truth.vs_ceiling,
            "noise_share": self.quality.noise_share,
            "smallest_share": float(counts.min() / len(self.assignments)) if len(counts) else None,
        }

    def summary(self) -> dict[str, Any]:
        """data/summary/cluster.json: every figure and text of the fit (the metrics too), for
        the report and the tracked run; not a DVC metric, since it holds text."""
        seg = self.segmenter
        return {
            **asdict(self.quality),
            "algorithm": seg.algorithm,
            "k_requested": self.k_requested,
            "k_rule": self.k_rule,
            "stability": self.stability.mean,
            "stability_worst": self.stability.worst,
            "stability_resamples": self.stability.resamples,
            "stability_note": self.stability.note,
            "truth_ari": self.truth.ari,
            "truth_nmi": self.truth.nmi,
            "truth_ceiling_ari": self.truth.ceiling,
            "truth_ari_vs_ceiling": self.truth.vs_ceiling,
            "truth_personas": self.truth.personas,
            "truth_note": self.truth.note,
            "n_users": self.n_users,
            "n_fitted": self.n_fitted,
            "n_features": len(seg.features),
            "pca_components": self.pca_components,
            "pca_explained_variance": self.pca_explained_variance,
            "noise_users": int((self.assignments["cluster"] == NOISE).sum()),
            "cluster_sizes": mix(self.assignments["cluster"]),
            "perk_mix": mix(self.assignments["perk"]),
            "cluster_names": seg.names,
            "cluster_perks": seg.perks,
        }
