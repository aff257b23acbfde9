"""The `Segmenter`: the fitted preprocessing, model and cluster-to-perk map as one object.

It travels as one pickle (the cluster stage's model file, the MLflow model), so whatever scores
new users uses exactly what was evaluated when it was fitted (`segment.clustering`).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from traveltide.errors import DataError
from traveltide.segment.models import nearest_centroid, single_threaded

PICKLE_PROTOCOL = 5


def check_values(values: np.ndarray, names: list[str], what: str) -> None:
    """Every feature value is finite; else name the first bad feature."""
    bad = ~np.isfinite(values)
    if bad.any():
        col = int(np.argmax(bad.any(axis=0)))
        raise DataError(
            f"{what}: feature '{names[col]}' is NaN or infinite for {int(bad[:, col].sum())} rows"
        )


@dataclass
class Segmenter:
    """Fitted preprocessing + model + perk map: scores any user table with the same features.

    Scoring rule: kmeans, minibatch_kmeans and gmm use their own predict; agglomerative,
    dbscan and hdbscan (no predict) give a user the cluster whose centroid (mean of its fitted
    users in the preprocessed space) is nearest. Scored users are never noise.
    """

    features: list[str]
    preprocessor: Pipeline
    model: Any | None
    perks: dict[int, str]
    names: dict[int, str] = field(default_factory=dict)
    centroids: np.ndarray | None = None
    algorithm: str = "kmeans"

    def transform(self, table: pd.DataFrame) -> np.ndarray:
        """The table's features in the space the clusters live in."""
        missing = [f for f in self.features if f not in table.columns]
        if missing:
            raise DataError(f"score input: missing feature column(s) {', '.join(missing)}")
        try:
            values = table[self.features].to_numpy(float)
        except (TypeError, ValueError) as exc:
            raise DataError(f"score input: feature columns must be numeric ({exc})") from exc
        check_values(values, self.features, "score input")
        with single_threaded():
            return self.preprocessor.transform(values)

    def assign(self, X: np.ndarray) -> np.ndarray:
        """Cluster ids of preprocessed rows by the scoring rule."""
        with single_threaded():
            if self.model is not None:
                return np.asarray(self.model.predict(X), dtype="int64")
            if self.centroids is None:
                raise DataError("no cluster centroid to assign users to")
            return nearest_centroid(X, self.centroids)

    def predict(self, table: pd.DataFrame) -> pd.DataFrame:
        """`cluster` (int64) and `perk` (str) per input row, in input order."""
        labels = self.assign(self.transform(table))
        return pd.DataFrame(
            {
                "cluster": labels.astype("int64"),
                "perk": pd.Series(labels).map(self.perks).to_numpy(),
            },
            index=pd.RangeIndex(len(labels)),
        )


def model_bytes(segmenter: Segmenter) -> bytes:
    """The model file's content: the segmenter pickled (protocol 5; the same bytes every run)."""
    return pickle.dumps(segmenter, protocol=PICKLE_PROTOCOL)
