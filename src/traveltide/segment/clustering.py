"""Fitting a `Segmenter`: the select_k and cluster stages' computations.

Preprocess the cohort, select k, fit, check stability and agreement with the personas, and
map clusters to perks. docs/clustering.md explains the rules (auto-k, stability, noise,
scoring of algorithms without a predict).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from traveltide.config import ClusterConfig
from traveltide.errors import DataError
from traveltide.segment.evaluation import (
    K_RULE_TEXT,
    K_TABLE_COLUMNS,
    choose_k,
    k_selection,
    k_table_row,
    persona_labels,
    quality,
    stability,
    supervised_ceiling,
    truth_scores,
)
from traveltide.segment.models import (
    DENSITY,
    NOISE,
    Fit,
    fit_model,
    fitted_rows,
    nearest_centroid,
    single_threaded,
)
from traveltide.segment.preprocess import (
    make_preprocessor,
    pca_summary,
    select_features,
    uncorrelated,
)
from traveltide.segment.profiles import cluster_names, perk_map, profiles
from traveltide.segment.result import ClusterResult
from traveltide.segment.segmenter import Segmenter
from traveltide.segment.table import UserTable, as_table, check_table

log = logging.getLogger(__name__)

# Every user's cluster, in the feature table's row order, scored elsewhere; None: in process.
Labeller = Callable[[Segmenter], "np.ndarray | None"]

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
    "max_correlation",
    "pca",
    "silhouette_sample",
    "fit_sample",
    "covariance_type",
    "linkage",
)


def only_params(config: ClusterConfig, kept: tuple[str, ...]) -> ClusterConfig:
    """`config` with every field outside `kept` at its default: what a stage that tracks only
    those params sees, so its output provably depends on them and on no other."""
    default = ClusterConfig()
    return replace(
        config,
        **{f.name: getattr(default, f.name) for f in fields(config) if f.name not in kept},
    )


def for_k_selection(config: ClusterConfig) -> ClusterConfig:
    """What select_k sees: `config` at its defaults outside K_SELECTION_PARAMS."""
    return only_params(config, K_SELECTION_PARAMS)


@dataclass(frozen=True)
class Prepared:
    """The fitted sample in the clustering space (`X_fit`, the users at positions `rows` of
    `table`) and the preprocessing fitted on it; `raw_fit` holds their values of every
    selected feature (before the correlation filter and the preprocessing) and
    `ceiling_space` an unfitted preprocessing of those: the supervised ceiling's input, so a
    method that drops features is read against what all of them can tell. `truth` is every
    user's persona code (None without personas)."""

    table: UserTable
    names: list[str]
    preprocessor: Pipeline
    X_fit: np.ndarray
    rows: np.ndarray
    truth: np.ndarray | None
    raw_fit: np.ndarray
    ceiling_space: Pipeline

    @property
    def n_users(self) -> int:
        return self.table.n_rows

    @property
    def truth_fit(self) -> np.ndarray | None:
        return None if self.truth is None else self.truth[self.rows]


def prepare(
    features: pd.DataFrame | UserTable, config: ClusterConfig, personas: pd.DataFrame | None
) -> Prepared:
    """Select and check the features, read the fit sample, drop the features correlated above
    `max_correlation` with an earlier one, fit the preprocessing on the sample (deterministic:
    select_k and cluster get the same space). Only the sample is held."""
    table = as_table(features)
    names = select_features(table.columns, config.features)
    check_table(table, names)
    rows = fitted_rows(table.n_rows, config.fit_sample, config.seed)
    raw_fit = table.take(names, rows)
    ceiling_space = make_preprocessor(config, n_rows=len(rows), n_features=len(names))
    keep = uncorrelated(raw_fit, config)
    kept = [names[i] for i in keep]
    preprocessor = make_preprocessor(config, n_rows=len(rows), n_features=len(kept))
    X_fit = preprocessor.fit(raw_fit[:, keep]).transform(raw_fit[:, keep])  # as scoring does
    truth = persona_labels(pd.Series(table.column("user_id")), personas)
    return Prepared(table, kept, preprocessor, X_fit, rows, truth, raw_fit, ceiling_space)


def ceiling_of(prep: Prepared, config: ClusterConfig) -> float | None:
    """The supervised ceiling on the fitted users, with every selected feature."""
    return supervised_ceiling(prep.raw_fit, prep.truth_fit, prep.ceiling_space, seed=config.seed)


def select_k(
    features: pd.DataFrame | UserTable,
    config: ClusterConfig,
    *,
    personas: pd.DataFrame | None = None,
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


@dataclass(frozen=True)
class _Choice:
    """The fit of the chosen k and how it was chosen (`k_table` None: a density fit)."""

    fit: Fit
    k: int | None
    k_requested: int | str | None
    k_rule: str
    k_table: pd.DataFrame | None


def _choose_and_fit(prep: Prepared, config: ClusterConfig, k_table: pd.DataFrame | None) -> _Choice:
    """Fit the density algorithm, or pick k (fixed, or auto from the k-selection table) and
    fit it, reusing the table's fit when this call computed the table."""
    X_fit = prep.X_fit
    if config.algorithm in DENSITY:
        fit = fit_model(X_fit, config, None, seed=config.seed)
        return _Choice(fit, None, None, f"found by {config.describe()}", None)
    if config.k != "auto" and config.k >= len(X_fit):
        raise DataError(f"cluster.k = {config.k} needs more users than the cohort's {prep.n_users}")
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
    return _Choice(fit, k, config.k, k_rule, k_table)


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


def _label_all(prep: Prepared, fit: Fit, scored: np.ndarray | None) -> np.ndarray:
    """Every user's cluster: the fit's labels for fitted users, the scoring rule for the rest:
    `scored` (by the engine), or in process a batch of users at a time, so the table of all
    users is never in memory."""
    if prep.n_users == len(prep.rows):
        return fit.labels.copy()
    labels = np.empty(prep.n_users, dtype="int64")
    if scored is not None:
        labels[:] = scored
    else:
        start = 0
        for values in prep.table.batches(prep.names):
            labels[start : start + len(values)] = fit.assign(prep.preprocessor.transform(values))
            start += len(values)
    labels[prep.rows] = fit.labels
    return labels


def lookup(labels: np.ndarray, mapping: dict[int, str]) -> np.ndarray:
    """`mapping[label]` per label (None where it has none), as an object array pointing at
    one string per distinct label: pandas' Series.map costs about 1.6 GB per 10M users."""
    keys = np.array(sorted(mapping), dtype="int64")
    values = np.array([mapping[int(k)] for k in keys] + [None], dtype=object)
    at = np.searchsorted(keys, labels)
    hit = at < len(keys)
    hit[hit] = keys[at[hit]] == labels[hit]
    return values[np.where(hit, at, len(keys))]


def _perk_clusters(prep: Prepared, labels: np.ndarray, fit: Fit) -> np.ndarray:
    """The cluster whose perk each user gets: their own, or for noise users (fitted users
    only: the scoring rule never gives noise) the nearest."""
    perk_labels = labels.copy()
    noise = fit.labels == NOISE
    if noise.any():
        perk_labels[prep.rows[noise]] = nearest_centroid(prep.X_fit[noise], fit.centroids)
    return perk_labels


@dataclass
class _Laps:
    """Seconds per step of one fit, for the log."""

    seconds: dict[str, float] = field(default_factory=dict)
    clock: float = field(default_factory=time.perf_counter)

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self.clock, 3)
        self.clock = now


def fit_segmenter(
    features: pd.DataFrame | UserTable,
    config: ClusterConfig,
    signals: dict[str, str],
    *,
    personas: pd.DataFrame | None = None,
    k_table: pd.DataFrame | None = None,
    label: Labeller | None = None,
) -> ClusterResult:
    """Preprocess, select k, fit, check stability and truth, and map clusters to perks.

    `k_table` is select_k's table for the same config (the pipeline passes it, so no candidate
    is refitted); without it the table is computed here. `label` scores the users outside the
    fit sample elsewhere (an engine: `engines.scoring.engine_labeller`); by default, and when
    it answers None, they are labelled in process.
    """
    with single_threaded():
        return _fit_segmenter(features, config, signals, personas, k_table, label)


def _fit_segmenter(
    features: pd.DataFrame | UserTable,
    config: ClusterConfig,
    signals: dict[str, str],
    personas: pd.DataFrame | None,
    k_table: pd.DataFrame | None,
    label: Labeller | None,
) -> ClusterResult:
    laps = _Laps()
    prep = prepare(features, config, personas)
    X_fit = prep.X_fit
    laps.lap("preprocess")
    choice = _choose_and_fit(prep, config, k_table)
    fit = choice.fit
    laps.lap("fit_and_k_selection")
    _check_fit(fit, config, len(prep.rows))
    # Every index is computed on the fitted users (all users up to cluster.fit_sample), so
    # the metrics equal the k-selection row of the chosen k.
    q = quality(X_fit, fit.labels, sample=config.silhouette_sample, seed=config.seed, bic=fit.bic)
    table = choice.k_table
    if table is None:  # a density fit is its own one candidate
        row = k_table_row(q, prep.truth_fit, fit.labels)
        table = pd.DataFrame([row], columns=list(K_TABLE_COLUMNS))
    segmenter = Segmenter(
        features=prep.names,
        preprocessor=prep.preprocessor,
        model=fit.estimator,
        perks={},  # from the profiles, below
        centroids=fit.centroids,
        algorithm=config.algorithm,
    )
    unfitted = prep.n_users > len(prep.rows)
    labels = _label_all(prep, fit, label(segmenter) if label and unfitted else None)
    laps.lap("quality")
    stab = stability(X_fit, config, choice.k, fit, resamples=config.stability_resamples)
    laps.lap("stability")
    ceiling = ceiling_of(prep, config)
    laps.lap("ceiling")

    prof = profiles(prep.table, labels)
    segmenter.perks, segmenter.names = perk_map(prof, signals), cluster_names(prof)
    perk_clusters = _perk_clusters(prep, labels, fit)
    assignments = pd.DataFrame(
        {
            "user_id": prep.table.column("user_id"),
            "cluster": labels,
            "cluster_name": lookup(labels, segmenter.names),
            "perk": lookup(perk_clusters, segmenter.perks),
        }
    )
    components, explained = pca_summary(prep.preprocessor)
    laps.lap("profiles")
    log.info("cluster: %s, seconds %s", config.describe(), laps.seconds)
    return ClusterResult(
        assignments=assignments,
        quality=q,
        k_table=table,
        profiles=prof,
        segmenter=segmenter,
        k_requested=choice.k_requested,
        k_rule=choice.k_rule,
        stability=stab,
        truth=truth_scores(prep.truth, labels, ceiling=ceiling),
        n_users=prep.n_users,
        n_fitted=len(prep.rows),
        pca_components=components,
        pca_explained_variance=explained,
        seconds=laps.seconds,
    )
