"""The benchmark stage: how much of the planted personas each clustering method recovers.

Each algorithm x transform x scaler x correlation filter x PCA setting of the `benchmark`
block is fitted at the true k (the number of personas, which no user of real data knows) and
at the k every auto-k rule picks from the setting's k-selection table. A row's truth ARI is
read against the supervised ceiling (`traveltide.segment.evaluation.supervised_ceiling`, with
every selected feature in the cluster params' space, the number metrics/cluster.json
reports), so a method is judged by what is recoverable from the features at all, not by how
easy the generator made the personas.
docs/clustering.md#benchmark has the measured table and how the defaults follow from it.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from traveltide.config import Algorithm, BenchmarkConfig, ClusterConfig, Scaler, Transform
from traveltide.segment.clustering import Prepared, ceiling_of, only_params, prepare
from traveltide.segment.evaluation import choose_k, k_selection, stability
from traveltide.segment.models import Fit, fit_model, single_threaded
from traveltide.segment.table import UserTable, as_table

log = logging.getLogger(__name__)

TRUE_K = "true_k"  # the k_choice of the rows fitted at the number of planted personas
K_RULES = ("silhouette", "calinski_harabasz", "davies_bouldin", "bic")
COLUMNS = (
    "algorithm",
    "transform",
    "scaler",
    "max_correlation",
    "pca",
    "k_choice",
    "k",
    "truth_ari",
    "vs_ceiling",
    "silhouette",
    "stability",
)
# The cluster params the table depends on besides the `benchmark` block (which replaces
# algorithm, transform, scaler, pca, n_init, stability_resamples, fit_sample and
# covariance_type in the grid; transform, scaler, pca and fit_sample still set the ceiling's
# space and users). dvc.yaml's benchmark stage lists exactly these (a test).
CLUSTER_PARAMS = (
    "k_range",
    "seed",
    "features",
    "transform",
    "scaler",
    "max_correlation",
    "pca",
    "silhouette_sample",
    "fit_sample",
    "linkage",
)


@dataclass(frozen=True)
class Setting:
    """One point of the grid: an algorithm in one preprocessed space."""

    algorithm: Algorithm
    transform: Transform
    scaler: Scaler
    max_correlation: float | None
    pca: int | float | None

    def config(self, base: ClusterConfig, bench: BenchmarkConfig) -> ClusterConfig:
        """The cluster config of this setting: `base` with the grid's values and restarts."""
        return replace(
            base,
            algorithm=self.algorithm,
            transform=self.transform,
            scaler=self.scaler,
            max_correlation=self.max_correlation,
            pca=self.pca,
            n_init=bench.n_init,
            stability_resamples=bench.stability_resamples,
            fit_sample=bench.fit_sample,
            covariance_type=bench.covariance_type,
        )


def grid(bench: BenchmarkConfig) -> list[Setting]:
    """Every setting, preprocessing outermost (one preparation serves every algorithm)."""
    return [
        Setting(a, t, s, c, p)
        for t, s, c, p, a in itertools.product(
            bench.transforms, bench.scalers, bench.max_correlation, bench.pca, bench.algorithms
        )
    ]


def for_benchmark(config: ClusterConfig) -> ClusterConfig:
    """`config` with every field outside CLUSTER_PARAMS at its default: what the benchmark
    sees, so its table depends on the params its DVC stage tracks and on no other."""
    return only_params(config, CLUSTER_PARAMS)


def rules_for(algorithm: str) -> tuple[str, ...]:
    """The auto-k rules that apply to an algorithm (BIC needs a mixture)."""
    return tuple(r for r in K_RULES if r != "bic" or algorithm == "gmm")


def k_choices(table: pd.DataFrame, algorithm: str, true_k: int) -> dict[str, int]:
    """The k of each choice: the true k, and the k each applicable auto-k rule picks."""
    return {TRUE_K: true_k, **{rule: choose_k(table, rule) for rule in rules_for(algorithm)}}


def _label(value: int | float | None) -> str:
    """A grid value as the table shows it: `none` for null."""
    return "none" if value is None else str(value)


def _setting_rows(
    prep: Prepared, config: ClusterConfig, setting: Setting, ceiling: float, true_k: int
) -> list[dict[str, object]]:
    """The rows of one setting: one k-selection, then each choice's fit, scores and stability
    (computed once per distinct k)."""
    assert prep.truth_fit is not None
    X = prep.X_fit
    table, fits = k_selection(X, config, truth=prep.truth_fit)
    by_k = table.set_index("k")
    choices = k_choices(table, config.algorithm, true_k)
    scored: dict[int, tuple[float, float, float]] = {}
    for k in sorted(set(choices.values())):
        fit: Fit = fits[k] if k in fits else fit_model(X, config, k, seed=config.seed)
        if k in by_k.index:
            ari, sil = float(by_k.at[k, "truth_ari"]), float(by_k.at[k, "silhouette"])
        else:  # the true k outside k_range: scored like a table row
            extra, _ = k_selection(X, replace(config, k_range=(k,)), truth=prep.truth_fit)
            ari, sil = float(extra.at[0, "truth_ari"]), float(extra.at[0, "silhouette"])
        stab = stability(X, config, k, fit, resamples=config.stability_resamples)
        scored[k] = (ari, sil, stab.mean)
    return [
        {
            "algorithm": setting.algorithm,
            "transform": setting.transform,
            "scaler": setting.scaler,
            "max_correlation": _label(setting.max_correlation),
            "pca": _label(setting.pca),
            "k_choice": choice,
            "k": k,
            "truth_ari": scored[k][0],
            "vs_ceiling": scored[k][0] / ceiling if ceiling > 0 else float("nan"),
            "silhouette": scored[k][1],
            "stability": scored[k][2],
        }
        for choice, k in choices.items()
    ]


def run_benchmark(
    features: pd.DataFrame | UserTable,
    cluster: ClusterConfig,
    bench: BenchmarkConfig,
    *,
    personas: pd.DataFrame | None,
) -> pd.DataFrame:
    """The benchmark table, one row per setting and k choice (columns `COLUMNS`).

    Empty (header only) without planted personas (an external source): there is nothing to
    recover. Deterministic: every fit and resample is seeded by `cluster.seed`.
    """
    cluster = for_benchmark(cluster)
    empty = pd.DataFrame(columns=list(COLUMNS))
    if personas is None or personas.empty:
        return empty
    start = time.perf_counter()
    rows: list[dict[str, object]] = []
    with single_threaded():
        features = as_table(features)
        base = prepare(features, cluster, personas)
        ceiling = ceiling_of(base, cluster)
        assert base.truth_fit is not None
        true_k = len(np.unique(base.truth_fit))
        preps: dict[tuple[str, str, float | None, int | float | None], Prepared] = {}
        for setting in grid(bench):
            config = setting.config(cluster, bench)
            key = (setting.transform, setting.scaler, setting.max_correlation, setting.pca)
            if key not in preps:
                preps = {key: prepare(features, config, personas)}  # one space in memory
            lap = time.perf_counter()
            rows += _setting_rows(preps[key], config, setting, ceiling or float("nan"), true_k)
            log.info("benchmark: %s, %.2f s", setting, time.perf_counter() - lap)
    log.info("benchmark: %d rows in %.1f s", len(rows), time.perf_counter() - start)
    return pd.DataFrame(rows, columns=list(COLUMNS))


@dataclass(frozen=True)
class RuleScore:
    """How well one auto-k rule's k recovers the personas, over the benchmark's settings."""

    rule: str
    mean_vs_ceiling: float
    settings: int


def rule_scores(table: pd.DataFrame) -> list[RuleScore]:
    """Each auto-k rule's mean truth ARI relative to the ceiling, over the settings where all
    of silhouette, Calinski-Harabasz and Davies-Bouldin apply (BIC: over the gmm settings),
    best first."""
    out = []
    for rule in K_RULES:
        rows = table[table["k_choice"] == rule]
        if len(rows):
            out.append(RuleScore(rule, float(rows["vs_ceiling"].mean()), len(rows)))
    return sorted(out, key=lambda r: -r.mean_vs_ceiling)


def best_rule(table: pd.DataFrame) -> str | None:
    """The auto-k rule with the highest mean truth ARI relative to the ceiling; None for an
    empty table. BIC competes only if it was measured on as many settings as the others."""
    scores = rule_scores(table)
    most = max((s.settings for s in scores), default=0)
    fair = [s for s in scores if s.settings == most]
    return fair[0].rule if fair else None
