"""Preprocessing for clustering: feature subset, skew transform, scaling and optional PCA.

Everything is fitted once on the users the model is fitted on and travels inside the
`Segmenter`, so scoring a new user applies exactly the transform the clusters were found in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import QuantileTransformer, RobustScaler, StandardScaler

from traveltide.config import ClusterConfig, Transform
from traveltide.errors import ConfigError, DataError
from traveltide.portable import portable

SKEW_LIMIT = 1.0  # sample skewness above which a non-negative feature counts as right-skewed
SCALE_QUANTILE = 0.05  # log1p_scaled divides by this quantile of the positive values
QUANTILES = 1_000  # QuantileTransformer's grid (its default)


def select_features(columns: Iterable[str], spec: tuple[str, ...] | str) -> list[str]:
    """The feature columns to cluster on: every column but user_id for `all`, else the list.

    A name missing from the table's `columns` is a config error naming `cluster.features`.
    """
    available = [str(c) for c in columns if c != "user_id"]
    if spec == "all":
        if not available:
            raise DataError("features: the feature table has no feature columns")
        return available
    unknown = [name for name in spec if name not in available]
    if unknown:
        raise ConfigError(
            f"params.yaml: cluster.features: unknown feature(s) {', '.join(unknown)} "
            f"(the feature table has {len(available)} features, see data/features/catalog.csv)"
        )
    return list(spec)


class SkewTransform(BaseEstimator, TransformerMixin):
    """log1p on the non-negative, right-skewed (skewness > 1) columns seen at fit time.

    `log1p` is log1p(x). It is a log only where x >> 1, so it depends on the unit: a feature
    of order 0.001 (ads_per_km is in USD per km) passes through almost linearly and its
    outliers stay 15 standard deviations out, where they can capture a K-Means cluster.
    `log1p_scaled` is log1p(x / s) with s the 5th percentile of the column's positive values:
    the same log shape in every feature's own unit (the 5th percentile rather than the
    minimum, so a few near-zero values, e.g. promotional fares, do not set the scale).
    `none` passes everything through.
    """

    def __init__(self, method: Transform = "log1p_scaled"):
        self.method = method

    def fit(self, X: np.ndarray, y: object = None) -> SkewTransform:
        X = np.asarray(X, dtype=float)
        if self.method in ("log1p", "log1p_scaled"):
            skew = pd.DataFrame(X).skew().fillna(0.0).to_numpy()
            self.columns_ = np.flatnonzero((X.min(axis=0) >= 0) & (skew > SKEW_LIMIT))
        else:
            self.columns_ = np.array([], dtype=int)
        self.scale_ = np.ones(len(self.columns_))
        if self.method == "log1p_scaled":
            for i, col in enumerate(self.columns_):
                positive = X[:, col][X[:, col] > 0]
                if len(positive):
                    self.scale_[i] = float(np.quantile(positive, SCALE_QUANTILE))
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=float, copy=True)
        cols = self.columns_
        X[:, cols] = portable(np.log1p, np.clip(X[:, cols], 0, None) / self.scale_)
        return X


def make_preprocessor(config: ClusterConfig, *, n_rows: int, n_features: int) -> Pipeline:
    """transform -> scale -> optional PCA (`quantile` maps ranks to normal scores)."""
    if config.transform == "quantile":
        transform: TransformerMixin = QuantileTransformer(
            n_quantiles=max(1, min(QUANTILES, n_rows)),
            output_distribution="normal",
            subsample=100_000,
            random_state=config.seed,
        )
    else:
        transform = SkewTransform(config.transform)
    scaler = StandardScaler() if config.scaler == "standard" else RobustScaler()
    steps: list[tuple[str, TransformerMixin]] = [("transform", transform), ("scale", scaler)]
    if config.pca is not None:
        if isinstance(config.pca, int) and config.pca > min(n_features, n_rows):
            raise ConfigError(
                f"params.yaml: cluster.pca = {config.pca} components, but there are only "
                f"{n_features} features (and {n_rows} users)"
            )
        steps.append(("pca", PCA(n_components=config.pca, svd_solver="full")))
    return Pipeline(steps)


def uncorrelated(values: np.ndarray, config: ClusterConfig) -> list[int]:
    """The columns to keep under `config.max_correlation`: in order, each column whose absolute
    correlation with every column kept before it is at most the limit, measured after the skew
    transform and the scaler (fitted on `values`, the fitted users). Unsupervised: a feature
    that mostly repeats an earlier one (counts, totals and their RFM scores move together)
    stops outweighing the rest in the distances. A constant column counts as uncorrelated."""
    limit = config.max_correlation
    if limit is None or values.shape[1] < 2:
        return list(range(values.shape[1]))
    space = make_preprocessor(
        replace(config, pca=None), n_rows=len(values), n_features=values.shape[1]
    ).fit_transform(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.nan_to_num(np.abs(np.corrcoef(space, rowvar=False)), nan=0.0)
    keep: list[int] = []
    for j in range(values.shape[1]):
        if all(corr[j, i] <= limit for i in keep):
            keep.append(j)
    return keep


def pca_summary(preprocessor: Pipeline) -> tuple[int | None, float | None]:
    """(components kept, share of variance they explain), or (None, None) without PCA."""
    if "pca" not in preprocessor.named_steps:
        return None, None
    pca: PCA = preprocessor.named_steps["pca"]
    return int(pca.n_components_), float(pca.explained_variance_ratio_.sum())
