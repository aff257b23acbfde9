"""How good a clustering is: internal quality, the k-selection table and the choice of k,
stability under resampling, and agreement with the planted personas (synthetic source only).

docs/clustering.md explains the rules (auto-k, stability, noise) and the figures.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_score,
)
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from traveltide.config import ClusterConfig
from traveltide.errors import DataError
from traveltide.segment.models import NOISE, Fit, centroids_of, fit_model

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
K_RULE_TEXT = {
    "silhouette": "max silhouette",
    "calinski_harabasz": "max Calinski-Harabasz",
    "davies_bouldin": "min Davies-Bouldin",
    "bic": "min BIC",
}


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


def truth_ari(truth: np.ndarray | None, labels: np.ndarray) -> float:
    """ARI of the labels against the personas; NaN when none are known."""
    return float(adjusted_rand_score(truth, labels)) if truth is not None else float("nan")


def k_table_row(q: ClusterQuality, truth: np.ndarray | None, labels: np.ndarray) -> dict:
    """One row of the k-selection table: the quality and the agreement with the personas."""
    return {**asdict(q), "truth_ari": truth_ari(truth, labels)}


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
            rows.append({**k_table_row(q, truth, fit.labels), "k": k})
            fits[k] = fit
    return pd.DataFrame(rows, columns=list(K_TABLE_COLUMNS)), fits


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
    """Agreement of the clusters with the generator's planted personas (synthetic source only).

    `ceiling` is the supervised ceiling (`supervised_ceiling`): the ARI a classifier trained
    on the personas reaches with the same features, so `vs_ceiling` says how much of what is
    recoverable at all the clustering recovers.
    """

    ari: float | None
    nmi: float | None
    personas: int | None
    note: str = ""
    ceiling: float | None = None

    @property
    def vs_ceiling(self) -> float | None:
        """truth ARI / ceiling ARI; None without personas or with a ceiling <= 0."""
        if self.ari is None or self.ceiling is None or self.ceiling <= 0:
            return None
        return self.ari / self.ceiling


def persona_labels(user_ids: pd.Series, personas: pd.DataFrame | None) -> np.ndarray | None:
    """Each user's planted persona as a code (the personas' names in sorted order), or None
    when none are known (an empty table). Found by user_id with numpy (no per-user Python
    objects: the cohort can hold ten million users)."""
    if personas is None or personas.empty:
        return None
    missing = [c for c in ("user_id", "persona") if c not in personas.columns]
    if missing:
        raise DataError(f"personas: missing column(s) {', '.join(missing)}")
    ids = personas["user_id"].to_numpy()
    persona = pd.Categorical(personas["persona"])
    order = np.argsort(ids, kind="stable")
    known = ids[order]
    users = np.asarray(user_ids)
    at = np.minimum(np.searchsorted(known, users), len(known) - 1)
    codes = persona.codes[order][at]
    lost = (known[at] != users) | (codes < 0)
    if lost.any():
        raise DataError(
            f"personas: no persona for {int(lost.sum())} cohort users (first user_id "
            f"{int(users[lost][0])}); the personas table must come from the same generate run"
        )
    present = np.unique(codes)  # integer codes, numbered as the names sort: fast contingencies
    by_name = sorted(present, key=lambda c: str(persona.categories[c]))
    rank = np.zeros(len(persona.categories), dtype="int64")
    rank[by_name] = np.arange(len(by_name))
    return rank[codes]


def truth_scores(
    truth: np.ndarray | None, labels: np.ndarray, *, ceiling: float | None = None
) -> Truth:
    """ARI and NMI of clusters (noise as one more label) against the personas."""
    if truth is None:
        return Truth(
            None, None, None, "no planted personas (the personas table is empty: external source)"
        )
    return Truth(
        float(adjusted_rand_score(truth, labels)),
        float(normalized_mutual_info_score(truth, labels)),
        len(np.unique(truth)),
        ceiling=ceiling,
    )


CEILING_FOLDS = 5  # stratified folds of the supervised ceiling
CEILING_MAX_ITER = 2_000  # lbfgs iterations of its logistic regression


def ceiling_model(preprocessor: Pipeline) -> Pipeline:
    """An unfitted copy of the clustering preprocessing followed by a multinomial logistic
    regression: linear, so a clustering in the same space could draw its boundaries too."""
    return Pipeline(
        [("prep", clone(preprocessor)), ("clf", LogisticRegression(max_iter=CEILING_MAX_ITER))]
    )


def supervised_ceiling(
    values: np.ndarray, truth: np.ndarray | None, preprocessor: Pipeline, *, seed: int
) -> float | None:
    """Cross-validated ARI of a classifier trained on the personas with the same features and
    preprocessing (fitted within each fold): how separable the personas are at all, the
    ceiling a clustering's truth ARI is read against. None without personas; NaN when a
    persona has fewer users than folds (no stratified split exists)."""
    if truth is None:
        return None
    _, counts = np.unique(truth, return_counts=True)
    if len(counts) < 2 or counts.min() < CEILING_FOLDS:
        return float("nan")
    folds = StratifiedKFold(CEILING_FOLDS, shuffle=True, random_state=seed)
    predicted = cross_val_predict(ceiling_model(preprocessor), values, truth, cv=folds)
    return float(adjusted_rand_score(truth, predicted))
