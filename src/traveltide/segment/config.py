"""The `cluster` and `benchmark` blocks of params.yaml: the ML segmentation's features,
preprocessing, algorithm and checks, and the benchmark grid. traveltide.config re-exports them
with the other blocks."""

# No `from __future__ import annotations`: the reader takes the fields' types as objects.
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from traveltide.params import Block, Check, Min, Positive, Range, identifier, reject

Algorithm = Literal["kmeans", "minibatch_kmeans", "gmm", "agglomerative", "dbscan", "hdbscan"]
Scaler = Literal["standard", "robust"]
Transform = Literal["none", "log1p", "log1p_scaled", "quantile"]
KRule = Literal["silhouette", "calinski_harabasz", "davies_bouldin", "bic"]
CovarianceType = Literal["full", "tied", "diag", "spherical"]
Linkage = Literal["ward", "complete", "average", "single"]

AGGLOMERATIVE_MAX_FIT = 20_000  # ward on 20,000 users holds a 1.6 GB distance matrix


def _k(value: Any, key: str) -> int | Literal["auto"]:
    if value == "auto":
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int):
        reject(key, f"must be an integer >= 2 or 'auto', got {value!r}")
    return Min(2)(value, key)


def _k_range(value: Any, key: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        reject(key, f"must be a list of integers >= 2, got {value!r}")
    for i, k in enumerate(value):
        if isinstance(k, bool) or not isinstance(k, int) or k < 2:
            reject(f"{key}[{i}]", f"must be an integer >= 2, got {k!r}")
    return tuple(sorted(set(value)))


def _features(value: Any, key: str) -> tuple[str, ...] | Literal["all"]:
    """`all` or a non-empty list of distinct feature names (checked against the table later)."""
    if value == "all":
        return "all"
    if not isinstance(value, list) or not value:
        reject(key, f"must be 'all' or a list of feature names, got {value!r}")
    names = tuple(identifier(v, f"{key}[{i}]") for i, v in enumerate(value))
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        reject(key, f"lists {', '.join(dupes)} twice")
    return names


_PCA_CHOICES = "an integer >= 1 (components) or a number in (0, 1) (explained variance)"


def _pca(value: Any, key: str) -> int | float | None:
    """None (no PCA), a number of components >= 1, or a share of variance in (0, 1)."""
    components = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    if value is None or components or (isinstance(value, float) and 0.0 < value < 1.0):
        return value
    reject(key, f"must be null, {_PCA_CHOICES}, got {value!r}")


def _max_correlation(value: Any, key: str) -> float | None:
    """None (keep every feature) or an absolute correlation in (0, 1]."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if value is None or (number and 0.0 < value <= 1.0):
        return None if value is None else float(value)
    reject(key, f"must be null or an absolute correlation in (0, 1], got {value!r}")


MaxCorrelation = Annotated[float | None, Check(_max_correlation)]


@dataclass(frozen=True)
class ClusterConfig(Block, block="cluster"):
    """ML segmentation: features and preprocessing, the algorithm, k-selection and checks.

    `k` is an integer or "auto" (chosen from `k_range` by `k_rule`); dbscan and hdbscan find
    their own number of clusters and ignore it. `fit_sample` bounds what is fitted (every user
    is then assigned by the fitted model's scoring rule), so a 1M-user cohort fits in memory.
    """

    algorithm: Algorithm = "kmeans"
    k: Annotated[int | Literal["auto"], Check(_k)] = 7
    k_range: Annotated[tuple[int, ...], Check(_k_range)] = (2, 3, 4, 5, 6, 7, 8, 9, 10)
    k_rule: KRule = "silhouette"
    seed: Annotated[int, Min(0)] = 42
    n_init: Annotated[int, Min(1)] = 10
    features: Annotated[tuple[str, ...] | Literal["all"], Check(_features)] = "all"
    transform: Transform = "log1p_scaled"
    scaler: Scaler = "standard"
    max_correlation: MaxCorrelation = 0.6
    pca: Annotated[int | float | None, Check(_pca)] = None
    silhouette_sample: Annotated[int, Min(100)] = 3_000
    fit_sample: Annotated[int, Min(100)] = 20_000
    stability_resamples: Annotated[int, Min(0)] = 5
    covariance_type: CovarianceType = "full"
    linkage: Linkage = "ward"
    eps: Annotated[float, Positive()] = 5.0
    min_samples: Annotated[int, Min(1)] = 10
    min_cluster_size: Annotated[int, Min(2)] = 50

    def validate(self, path: str) -> None:
        if self.k_rule == "bic" and self.algorithm != "gmm":
            reject(f"{path}.k_rule", f"bic needs {path}.algorithm gmm, got {self.algorithm!r}")
        if self.algorithm == "agglomerative" and self.fit_sample > AGGLOMERATIVE_MAX_FIT:
            reject(
                f"{path}.fit_sample",
                f"must be <= {AGGLOMERATIVE_MAX_FIT} with agglomerative (its memory grows with "
                f"the square of the users), got {self.fit_sample}",
            )

    @property
    def model_params(self) -> dict[str, Any]:
        """The parameters of the configured algorithm (for metrics and error messages)."""
        by_algorithm: dict[str, dict[str, Any]] = {
            "kmeans": {"k": self.k, "n_init": self.n_init},
            "minibatch_kmeans": {"k": self.k, "n_init": self.n_init},
            "gmm": {"k": self.k, "covariance_type": self.covariance_type, "n_init": self.n_init},
            "agglomerative": {"k": self.k, "linkage": self.linkage},
            "dbscan": {"eps": self.eps, "min_samples": self.min_samples},
            "hdbscan": {"min_cluster_size": self.min_cluster_size, "min_samples": self.min_samples},
        }
        return by_algorithm[self.algorithm]

    def describe(self) -> str:
        """E.g. `dbscan (eps=3.0, min_samples=10)`: names the model in one-line errors."""
        params = ", ".join(f"{k}={v}" for k, v in self.model_params.items())
        return f"{self.algorithm} ({params})"


PcaSetting = Annotated[int | float | None, Check(_pca)]


@dataclass(frozen=True)
class BenchmarkConfig(Block, block="benchmark"):
    """The benchmark grid: every algorithm x transform x scaler x correlation filter x PCA
    setting, each at the true
    k and at the k of every auto-k rule; the other cluster params are the `cluster` block's,
    with fewer restarts, refits and fitted users and a diagonal GMM so the grid stays cheap."""

    algorithms: tuple[Algorithm, ...] = ("kmeans", "gmm", "agglomerative")
    transforms: tuple[Transform, ...] = ("log1p_scaled", "quantile")
    scalers: tuple[Scaler, ...] = ("standard",)
    max_correlation: tuple[MaxCorrelation, ...] = (None, 0.6)
    pca: tuple[PcaSetting, ...] = (None, 0.9)
    n_init: Annotated[int, Min(1)] = 2
    stability_resamples: Annotated[int, Min(0)] = 1
    fit_sample: Annotated[int, Range(100, AGGLOMERATIVE_MAX_FIT)] = 1_500
    covariance_type: CovarianceType = "diag"

    def validate(self, path: str) -> None:
        for name in ("algorithms", "transforms", "scalers", "max_correlation", "pca"):
            values = getattr(self, name)
            if not values or len(set(values)) < len(values):
                reject(f"{path}.{name}", f"must list distinct values, got {list(values)}")
        if density := [a for a in self.algorithms if a in ("dbscan", "hdbscan")]:
            reject(f"{path}.algorithms", f"{density[0]} finds its own k: no k to benchmark")
