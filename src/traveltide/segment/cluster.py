"""ML segmentation: algorithms, k-selection, stability, ground truth, profiles and perks.

The fitted preprocessing, model and cluster-to-perk map travel together as one `Segmenter`,
so whatever scores new users uses exactly what was evaluated here. docs/clustering.md explains
the rules (auto-k, stability, noise, scoring of algorithms without a predict) and the figures.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.cluster import (
    DBSCAN,
    HDBSCAN,
    AgglomerativeClustering,
    KMeans,
    MiniBatchKMeans,
)
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_score,
)
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from traveltide.config import ClusterConfig
from traveltide.errors import DataError
from traveltide.segment.perks import strongest_perk
from traveltide.segment.preprocess import make_preprocessor, pca_summary, select_features

log = logging.getLogger(__name__)

PREDICTING = ("kmeans", "minibatch_kmeans", "gmm")  # their own predict scores new users
DENSITY = ("dbscan", "hdbscan")  # find their own number of clusters and leave noise (-1)
NOISE = -1
NOISE_NAME = "noise"
CHUNK = 65_536  # rows per block of the nearest-centroid search (bounded memory)
K_TABLE_COLUMNS = (
    "k",
    "silhouette",
    "calinski_harabasz",
    "davies_bouldin",
    "inertia",
    "bic",
    "smallest_cluster",
    "noise_share",
    "truth_ari",
    "note",
)
# The cluster params the k-selection table depends on. The select_k stage lists exactly these
# in dvc.yaml (a test holds the two together), so sweeping k, k_rule, the stability refits or
# the density settings reruns the cluster stage alone and never refits every candidate.
K_SELECTION_PARAMS = (
    "algorithm",
    "k_range",
    "seed",
    "n_init",
    "features",
    "transform",
    "scaler",
    "pca",
    "silhouette_sample",
    "fit_sample",
    "covariance_type",
    "linkage",
)


@contextmanager
def single_threaded() -> Iterator[None]:
    """One BLAS/OpenMP thread: on a shared 2-core machine (or `dvc queue start -j 2`) OpenMP
    threads spin against each other. K-Means (k = 7, 10 restarts) on 6,000 x 39 values took
    0.25-0.7 s with one thread and 5-13 s with two while the machine was busy."""
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


def centroids_of(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean of each cluster 0..max(labels) (noise rows left out)."""
    k = int(labels.max()) + 1 if len(labels) else 0
    return np.array([X[labels == c].mean(axis=0) for c in range(k)]).reshape(k, X.shape[1])


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


@dataclass(frozen=True)
class ClusterQuality:
    """Internal quality of one clustering (higher silhouette/CH, lower DB are better).

    Noise users (label -1) are left out of every index; `inertia` is the within-cluster sum
    of squares around the cluster means, `bic` the Gaussian mixture's BIC (gmm only).
    """

    k: int
    silhouette: float
    calinski_harabasz: float
    davies_bouldin: float
    inertia: float
    bic: float
    smallest_cluster: int
    noise_share: float
    note: str = ""


def quality(
    X: np.ndarray, labels: np.ndarray, *, sample: int, seed: int, bic: float = float("nan")
) -> ClusterQuality:
    """Silhouette (on a seeded sample above `sample` rows), Calinski-Harabasz, Davies-Bouldin.

    All three are undefined with one cluster (or as many clusters as points): the result says
    so with NaN rather than raising, so a degenerate candidate still gets a row.
    """
    clustered = labels != NOISE
    Xc, lc = X[clustered], labels[clustered]
    noise_share = float(1.0 - clustered.mean()) if len(labels) else float("nan")
    present = np.unique(lc)
    counts = np.bincount(lc) if len(lc) else np.zeros(0, dtype=int)
    smallest = int(counts[present].min()) if len(present) else 0
    inertia = float(((Xc - centroids_of(Xc, lc)[lc]) ** 2).sum()) if len(lc) else float("nan")
    n_labels = len(present)
    if n_labels < 2 or n_labels >= len(lc):
        nan = float("nan")
        return ClusterQuality(
            n_labels,
            nan,
            nan,
            nan,
            inertia,
            bic,
            smallest,
            noise_share,
            f"metrics undefined: {n_labels} distinct clusters for {len(lc)} clustered users",
        )
    sample_size = sample if len(lc) > sample else None
    return ClusterQuality(
        k=n_labels,
        silhouette=float(silhouette_score(Xc, lc, sample_size=sample_size, random_state=seed)),
        calinski_harabasz=float(calinski_harabasz_score(Xc, lc)),
        davies_bouldin=float(davies_bouldin_score(Xc, lc)),
        inertia=inertia,
        bic=bic,
        smallest_cluster=smallest,
        noise_share=noise_share,
    )


def _truth_ari(truth: np.ndarray | None, labels: np.ndarray) -> float:
    return float(adjusted_rand_score(truth, labels)) if truth is not None else float("nan")


def k_selection(
    X: np.ndarray, config: ClusterConfig, *, truth: np.ndarray | None = None
) -> tuple[pd.DataFrame, dict[int, Fit]]:
    """One row per candidate k of `cluster.k_range` below the number of rows, and the fits.

    `truth_ari` compares each candidate with the planted personas when they are known.
    """
    rows, fits = [], {}
    with tempfile.TemporaryDirectory(prefix="traveltide-tree-") as tmp:
        memory = joblib.Memory(tmp, verbose=0) if config.algorithm == "agglomerative" else None
        for k in config.k_range:
            if k >= len(X):
                continue
            fit = fit_model(X, config, k, seed=config.seed, memory=memory)
            q = quality(
                X, fit.labels, sample=config.silhouette_sample, seed=config.seed, bic=fit.bic
            )
            rows.append({**asdict(q), "k": k, "truth_ari": _truth_ari(truth, fit.labels)})
            fits[k] = fit
    return pd.DataFrame(rows, columns=list(K_TABLE_COLUMNS)), fits


K_RULE_TEXT = {
    "silhouette": "max silhouette",
    "calinski_harabasz": "max Calinski-Harabasz",
    "davies_bouldin": "min Davies-Bouldin",
    "bic": "min BIC",
}


def choose_k(table: pd.DataFrame, rule: str) -> int:
    """The candidate k that is best by `rule` (ties: the smaller k); undefined rows never win."""
    scores = table.set_index("k")[rule].dropna()
    if scores.empty:
        raise DataError(
            f"cluster.k = auto: {rule} is undefined for every k of cluster.k_range "
            f"({', '.join(str(k) for k in table['k'])})"
        )
    best = scores.min() if rule in ("davies_bouldin", "bic") else scores.max()
    return int(scores[scores == best].index.min())


@dataclass(frozen=True)
class Stability:
    """Mean (and worst) ARI between the model and refits on bootstrap resamples."""

    mean: float
    worst: float
    resamples: int
    note: str = ""


def stability(
    X: np.ndarray, config: ClusterConfig, k: int | None, reference: Fit, *, resamples: int
) -> Stability:
    """Refit on `resamples` bootstrap resamples of X (seeded) and compare with the reference.

    Both sides label every row of X by their scoring rule (predict or nearest centroid), so
    this is the stability of what scoring ships. A resample that finds fewer than 2 clusters
    counts as 0 agreement. 1 = identical partitions; about 0 = chance.
    """
    if resamples == 0:
        return Stability(float("nan"), float("nan"), 0, "skipped: cluster.stability_resamples 0")
    rng = np.random.default_rng([config.seed, 1])
    ref = reference.assign(X)
    scores, failed = [], 0
    for b in range(resamples):
        idx = rng.integers(0, len(X), size=len(X))
        fit = fit_model(X[idx], config, k, seed=config.seed + 1 + b)
        if fit.n_clusters < 2:
            failed += 1
            scores.append(0.0)
            continue
        scores.append(float(adjusted_rand_score(ref, fit.assign(X))))
    note = f"{failed} resample(s) found fewer than 2 clusters" if failed else ""
    return Stability(float(np.mean(scores)), float(np.min(scores)), resamples, note)


@dataclass(frozen=True)
class Truth:
    """Agreement of the clusters with the generator's planted personas (synthetic source only)."""

    ari: float | None
    nmi: float | None
    personas: int | None
    note: str = ""


def persona_labels(user_ids: pd.Series, personas: pd.DataFrame | None) -> np.ndarray | None:
    """Each user's planted persona as a code, or None when none are known (an empty table)."""
    if personas is None or personas.empty:
        return None
    missing = [c for c in ("user_id", "persona") if c not in personas.columns]
    if missing:
        raise DataError(f"personas: missing column(s) {', '.join(missing)}")
    lookup = personas.set_index("user_id")["persona"]
    persona = user_ids.map(lookup)
    if persona.isna().any():
        first = int(user_ids[persona.isna()].iloc[0])
        raise DataError(
            f"personas: no persona for {int(persona.isna().sum())} cohort users (first user_id "
            f"{first}); the personas table must come from the same generate run"
        )
    codes, _ = pd.factorize(persona, sort=True)  # integer codes: fast contingency tables
    return codes.astype("int64")


def truth_scores(truth: np.ndarray | None, labels: np.ndarray) -> Truth:
    """ARI and NMI of clusters (noise as one more label) against the personas."""
    if truth is None:
        return Truth(
            None, None, None, "no planted personas (the personas table is empty: external source)"
        )
    return Truth(
        float(adjusted_rand_score(truth, labels)),
        float(normalized_mutual_info_score(truth, labels)),
        len(np.unique(truth)),
    )


def profiles(features: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """Per-cluster feature means as z-scores against the cohort (0 = cohort average)."""
    cols = [c for c in features.columns if c != "user_id"]
    clusters, codes = np.unique(labels, return_inverse=True)
    counts = np.bincount(codes, minlength=len(clusters)).astype(float)
    means, mean, sd = {}, {}, {}
    for c in cols:  # one column at a time: no copy of a 1M-row table
        v = features[c].to_numpy(float)
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

    def metrics(self) -> dict[str, Any]:
        """metrics/cluster.json (NaN becomes null when written)."""
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
            "truth_personas": self.truth.personas,
            "truth_note": self.truth.note,
            "n_users": self.n_users,
            "n_fitted": self.n_fitted,
            "n_features": len(seg.features),
            "pca_components": self.pca_components,
            "pca_explained_variance": self.pca_explained_variance,
            "noise_users": int((self.assignments["cluster"] == NOISE).sum()),
            "cluster_sizes": _mix(self.assignments["cluster"]),
            "perk_mix": _mix(self.assignments["perk"]),
            "cluster_names": seg.names,
            "cluster_perks": seg.perks,
        }


def _mix(labels: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in labels.value_counts().sort_index().items()}


def _check_fit(fit: Fit, config: ClusterConfig, n_fitted: int) -> None:
    """Fewer than 2 clusters cannot be profiled, compared or given different perks."""
    if fit.n_clusters >= 2:
        return
    noise = int((fit.labels == NOISE).sum())
    if fit.n_clusters == 0:
        raise DataError(
            f"{config.describe()} labelled all {n_fitted} fitted users as noise; "
            "raise cluster.eps or lower cluster.min_samples / cluster.min_cluster_size"
        )
    raise DataError(
        f"{config.describe()} found a single cluster ({n_fitted - noise} users, "
        f"{noise} noise) among {n_fitted} fitted users; need at least 2"
    )


def for_k_selection(config: ClusterConfig) -> ClusterConfig:
    """`config` with every field outside K_SELECTION_PARAMS at its default: what select_k
    sees, so its table provably depends on the params its DVC stage tracks and on no other."""
    default = ClusterConfig()
    kept = set(K_SELECTION_PARAMS)
    return replace(
        config,
        **{f.name: getattr(default, f.name) for f in fields(config) if f.name not in kept},
    )


@dataclass(frozen=True)
class Prepared:
    """The cohort in the clustering space: all users (X) and the fitted sample (X[rows])."""

    names: list[str]
    preprocessor: Pipeline
    X: np.ndarray
    rows: np.ndarray
    truth: np.ndarray | None

    @property
    def X_fit(self) -> np.ndarray:
        return self.X[self.rows]

    @property
    def truth_fit(self) -> np.ndarray | None:
        return None if self.truth is None else self.truth[self.rows]


def prepare(
    features: pd.DataFrame, config: ClusterConfig, personas: pd.DataFrame | None
) -> Prepared:
    """Select and check the features, draw the fit sample, fit the preprocessing on it and
    transform every user (deterministic: select_k and cluster get the same space)."""
    names = select_features(features, config.features)
    values = features[names].to_numpy(float)
    check_values(values, names, "features")
    rows = fitted_rows(len(values), config.fit_sample, config.seed)
    preprocessor = make_preprocessor(config, n_rows=len(rows), n_features=len(names))
    preprocessor.fit(values[rows])
    truth = persona_labels(features["user_id"], personas)
    return Prepared(names, preprocessor, preprocessor.transform(values), rows, truth)


def select_k(
    features: pd.DataFrame, config: ClusterConfig, *, personas: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The k-selection table of the select_k stage: one row per candidate k of k_range.

    Empty for dbscan and hdbscan, which find their own number of clusters. Depends only on
    K_SELECTION_PARAMS, so a new k reuses it (`dvc exp run -S cluster.k=...` skips the stage).
    """
    config = for_k_selection(config)
    if config.algorithm in DENSITY:
        return pd.DataFrame(columns=list(K_TABLE_COLUMNS))
    with single_threaded():
        prep = prepare(features, config, personas)
        table, _ = k_selection(prep.X_fit, config, truth=prep.truth_fit)
    return table


def fit_segmenter(
    features: pd.DataFrame,
    config: ClusterConfig,
    signals: dict[str, str],
    *,
    personas: pd.DataFrame | None = None,
    k_table: pd.DataFrame | None = None,
) -> ClusterResult:
    """Preprocess, select k, fit, check stability and truth, and map clusters to perks.

    `k_table` is select_k's table for the same config (the pipeline passes it, so no candidate
    is refitted); without it the table is computed here.
    """
    with single_threaded():
        return _fit_segmenter(features, config, signals, personas, k_table)


def _fit_segmenter(
    features: pd.DataFrame,
    config: ClusterConfig,
    signals: dict[str, str],
    personas: pd.DataFrame | None,
    k_table: pd.DataFrame | None,
) -> ClusterResult:
    clock = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 3)
        clock = now

    prep = prepare(features, config, personas)
    names, preprocessor, X, rows, truth = (
        prep.names,
        prep.preprocessor,
        prep.X,
        prep.rows,
        prep.truth,
    )
    X_fit = prep.X_fit
    n = len(X)
    lap("preprocess")

    if config.algorithm in DENSITY:
        k_requested: int | str | None = None
        fit = fit_model(X_fit, config, None, seed=config.seed)
        k_rule = f"found by {config.describe()}"
        k = None
    else:
        k_requested = config.k
        if config.k != "auto" and config.k >= len(X_fit):
            raise DataError(f"cluster.k = {config.k} needs more users than the cohort's {n}")
        fits: dict[int, Fit] = {}
        if k_table is None:
            k_table, fits = k_selection(X_fit, config, truth=prep.truth_fit)
        missing = [c for c in K_TABLE_COLUMNS if c not in k_table.columns]
        if missing:
            raise DataError(f"k-selection table: missing column(s) {', '.join(missing)}")
        if config.k == "auto":
            if k_table.empty:
                raise DataError(
                    f"cluster.k = auto: no k of cluster.k_range is below the {len(X_fit)} users"
                )
            k = choose_k(k_table, config.k_rule)
            k_rule = f"auto: {K_RULE_TEXT[config.k_rule]} over cluster.k_range (ties: smaller k)"
        else:
            k = int(config.k)
            k_rule = "fixed: cluster.k"
        fit = fits[k] if k in fits else fit_model(X_fit, config, k, seed=config.seed)
    lap("fit_and_k_selection")
    _check_fit(fit, config, len(rows))
    # Every index is computed on the fitted users (all users up to cluster.fit_sample), so
    # the metrics equal the k-selection row of the chosen k.
    q = quality(X_fit, fit.labels, sample=config.silhouette_sample, seed=config.seed, bic=fit.bic)
    if config.algorithm in DENSITY:  # the fit itself is the one candidate
        row = {**asdict(q), "truth_ari": _truth_ari(prep.truth_fit, fit.labels)}
        k_table = pd.DataFrame([row], columns=list(K_TABLE_COLUMNS))
    labels = fit.assign(X) if n > len(rows) else np.empty(n, dtype="int64")
    labels[rows] = fit.labels
    lap("quality")
    stab = stability(X_fit, config, k, fit, resamples=config.stability_resamples)
    lap("stability")

    prof = profiles(features, labels)
    perks = perk_map(prof, signals)
    readable = cluster_names(prof)
    perk_labels = labels.copy()
    noise = labels == NOISE
    if noise.any():  # noise users get the perk of the nearest cluster centroid
        perk_labels[noise] = nearest_centroid(X[noise], fit.centroids)
    segmenter = Segmenter(
        features=names,
        preprocessor=preprocessor,
        model=fit.estimator,
        perks=perks,
        names=readable,
        centroids=fit.centroids,
        algorithm=config.algorithm,
    )
    assignments = pd.DataFrame(
        {
            "user_id": features["user_id"].to_numpy(),
            "cluster": labels,
            "cluster_name": pd.Series(labels).map(readable).to_numpy(),
            "perk": pd.Series(perk_labels).map(perks).to_numpy(),
        }
    )
    components, explained = pca_summary(preprocessor)
    lap("profiles")
    log.info("cluster: %s, seconds %s", config.describe(), seconds)
    return ClusterResult(
        assignments=assignments,
        quality=q,
        k_table=k_table,
        profiles=prof,
        segmenter=segmenter,
        k_requested=k_requested,
        k_rule=k_rule,
        stability=stab,
        truth=truth_scores(truth, labels),
        n_users=n,
        n_fitted=len(rows),
        pca_components=components,
        pca_explained_variance=explained,
        seconds=seconds,
    )
