"""ML segmentation: preprocessing + K-Means, quality metrics, k-selection, profiles and perks.

The fitted preprocessing, model and cluster-to-perk map travel together as one `Segmenter`,
so whatever scores new users uses exactly what was evaluated here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import RobustScaler, StandardScaler

from traveltide.config import ClusterConfig
from traveltide.errors import DataError
from traveltide.perks import strongest_perk

SKEW_LIMIT = 1.0


class Log1pSkewed(BaseEstimator, TransformerMixin):
    """log1p on the columns that are non-negative and right-skewed (skew > 1) at fit time.

    Spend, clicks and distances have long right tails that would otherwise dominate Euclidean
    distances; which columns qualify is learnt once and then applied unchanged when scoring.
    """

    def __init__(self, enabled: bool = True):
        self.enabled = enabled

    def fit(self, X: np.ndarray, y: object = None) -> Log1pSkewed:
        X = np.asarray(X, dtype=float)
        skew = pd.DataFrame(X).skew().to_numpy()
        self.columns_ = (
            np.flatnonzero((X.min(axis=0) >= 0) & (skew > SKEW_LIMIT))
            if self.enabled
            else np.array([], dtype=int)
        )
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=float, copy=True)
        cols = self.columns_
        X[:, cols] = np.log1p(np.clip(X[:, cols], 0, None))
        return X


def make_preprocessor(config: ClusterConfig) -> Pipeline:
    scaler = StandardScaler() if config.scaler == "standard" else RobustScaler()
    return Pipeline([("log1p", Log1pSkewed(enabled=config.log1p)), ("scale", scaler)])


def make_model(config: ClusterConfig, k: int) -> KMeans:
    return KMeans(n_clusters=k, n_init=config.n_init, random_state=config.seed)


@dataclass(frozen=True)
class ClusterQuality:
    """Internal quality of one clustering (higher silhouette/CH, lower DB are better)."""

    k: int
    silhouette: float
    calinski_harabasz: float
    davies_bouldin: float
    inertia: float
    smallest_cluster: int
    note: str = ""


def quality(
    X: np.ndarray, labels: np.ndarray, *, inertia: float, sample: int, seed: int
) -> ClusterQuality:
    """Silhouette (on a seeded sample above `sample` rows), Calinski-Harabasz, Davies-Bouldin.

    All three are undefined with one cluster (or as many clusters as points): the result says
    so with NaN rather than raising, so a degenerate configuration still gets logged.
    """
    n_labels = len(np.unique(labels))
    counts = np.bincount(labels)
    if n_labels < 2 or n_labels >= len(labels):
        nan = float("nan")
        return ClusterQuality(
            n_labels,
            nan,
            nan,
            nan,
            inertia,
            int(counts.min()),
            f"metrics undefined: {n_labels} distinct clusters for {len(labels)} users",
        )
    sample_size = sample if len(labels) > sample else None
    return ClusterQuality(
        k=n_labels,
        silhouette=float(silhouette_score(X, labels, sample_size=sample_size, random_state=seed)),
        calinski_harabasz=float(calinski_harabasz_score(X, labels)),
        davies_bouldin=float(davies_bouldin_score(X, labels)),
        inertia=float(inertia),
        smallest_cluster=int(counts.min()),
    )


def k_selection(X: np.ndarray, config: ClusterConfig) -> pd.DataFrame:
    """One row per candidate k of `cluster.k_range` (those below the number of users)."""
    rows = []
    for k in config.k_range:
        if k >= len(X):
            continue
        model = make_model(config, k).fit(X)
        q = quality(
            X,
            model.labels_,
            inertia=model.inertia_,
            sample=config.silhouette_sample,
            seed=config.seed,
        )
        rows.append({**q.__dict__, "k": k})
    return pd.DataFrame(rows, columns=[*ClusterQuality.__dataclass_fields__])


def profiles(features: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """Per-cluster feature means as z-scores against the cohort (0 = cohort average)."""
    values = features.drop(columns="user_id")
    sd = values.std(ddof=0).replace(0, np.nan)
    z = (values.groupby(labels).mean() - values.mean()) / sd
    z.index.name = "cluster"
    return z.fillna(0.0)


def perk_map(profile_z: pd.DataFrame, signals: dict[str, str]) -> dict[int, str]:
    """Each cluster's perk: the perk whose signal feature is highest in its profile."""
    perks = strongest_perk(profile_z, signals)
    return {int(c): str(p) for c, p in zip(profile_z.index, perks, strict=True)}


def cluster_names(profile_z: pd.DataFrame, *, top: int = 2) -> dict[int, str]:
    """Readable names from the features that most set each cluster apart, e.g. 'high avg_bags'."""
    names = {}
    for cluster, row in profile_z.iterrows():
        order = row.abs().sort_values(ascending=False, kind="stable").index[:top]
        parts = [f"{'high' if row[f] > 0 else 'low'} {f}" for f in order]
        names[int(cluster)] = ", ".join(parts)
    return names


@dataclass
class Segmenter:
    """Fitted preprocessing + model + perk map: scores any user table with the same features."""

    features: list[str]
    preprocessor: Pipeline
    model: KMeans
    perks: dict[int, str]
    names: dict[int, str] = field(default_factory=dict)

    def predict(self, table: pd.DataFrame) -> pd.DataFrame:
        missing = [f for f in self.features if f not in table.columns]
        if missing:
            raise DataError(f"score input: missing feature column(s) {', '.join(missing)}")
        X = self.preprocessor.transform(table[self.features].to_numpy(float))
        labels = self.model.predict(X)
        return pd.DataFrame(
            {"cluster": labels.astype("int64"), "perk": [self.perks[int(c)] for c in labels]}
        )


@dataclass(frozen=True)
class ClusterResult:
    """Everything the cluster stage writes."""

    assignments: pd.DataFrame
    quality: ClusterQuality
    k_table: pd.DataFrame
    profiles: pd.DataFrame
    segmenter: Segmenter


def fit_segmenter(
    features: pd.DataFrame, config: ClusterConfig, signals: dict[str, str]
) -> ClusterResult:
    """Fit the configured model at `cluster.k`, evaluate it and map clusters to perks."""
    n = len(features)
    if config.k >= n:
        raise DataError(f"cluster.k = {config.k} needs more users than the cohort's {n}")
    names = [c for c in features.columns if c != "user_id"]
    preprocessor = make_preprocessor(config)
    X = preprocessor.fit_transform(features[names].to_numpy(float))
    model = make_model(config, config.k).fit(X)
    labels = model.labels_.astype("int64")
    q = quality(
        X, labels, inertia=model.inertia_, sample=config.silhouette_sample, seed=config.seed
    )
    prof = profiles(features, labels)
    perks = perk_map(prof, signals)
    readable = cluster_names(prof)
    segmenter = Segmenter(names, preprocessor, model, perks, readable)
    assignments = pd.DataFrame(
        {
            "user_id": features["user_id"].to_numpy(),
            "cluster": labels,
            "cluster_name": [readable[int(c)] for c in labels],
            "perk": [perks[int(c)] for c in labels],
        }
    )
    return ClusterResult(assignments, q, k_selection(X, config), prof, segmenter)
