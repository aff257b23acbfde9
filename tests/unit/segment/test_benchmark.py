"""The supervised ceiling and the benchmark table: the ceiling is scikit-learn's cross-validated
classifier on the same numbers, it tells separable personas from shuffled ones, the table has
one row per setting and k choice, a row equals the cluster stage's fit of the same config, and
the auto-k rule comparison picks the rule with the best share of the ceiling."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cluster_cases import CONFIG, blob_features, personas_of
from traveltide.config import BenchmarkConfig
from traveltide.errors import ConfigError
from traveltide.segment.benchmark import (
    CLUSTER_PARAMS,
    COLUMNS,
    TRUE_K,
    Setting,
    best_rule,
    for_benchmark,
    grid,
    k_choices,
    rule_scores,
    rules_for,
    run_benchmark,
)
from traveltide.segment.clustering import ceiling_of, fit_segmenter, prepare
from traveltide.segment.evaluation import CEILING_FOLDS, supervised_ceiling

ROOT = Path(__file__).resolve().parents[3]
SIGNALS = {"free_checked_bag": "bags", "exclusive_discounts": "discount"}
BENCH = BenchmarkConfig(
    algorithms=("kmeans", "gmm"),
    transforms=("none",),
    scalers=("standard", "robust"),
    max_correlation=(None,),
    pca=(None, 2),
    n_init=2,
    stability_resamples=1,
    fit_sample=1_000,
    covariance_type="diag",
)


def overlapping(n=400, seed=0):
    """Blobs close enough that a classifier makes some mistakes (a ceiling below 1)."""
    return blob_features(n, k=3, seed=seed, std=2.5)


def test_ceiling_is_a_cross_validated_classifier_on_the_same_numbers():
    df, truth = overlapping()
    config = replace(CONFIG, transform="none", scaler="standard")
    prep = prepare(df, config, personas_of(df, truth))
    assert prep.truth is not None
    ours = ceiling_of(prep, config)
    names = [c for c in df.columns if c != "user_id"]
    folds = StratifiedKFold(CEILING_FOLDS, shuffle=True, random_state=config.seed)
    direct = cross_val_predict(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=2_000)),
        df[names].to_numpy(float),
        prep.truth,
        cv=folds,
    )
    assert ours == pytest.approx(adjusted_rand_score(prep.truth, direct), abs=1e-12)
    assert 0.2 < ours < 1.0  # overlapping blobs: separable, not perfectly


def test_ceiling_tells_separable_personas_from_shuffled_ones():
    df, truth = blob_features(400, k=3, seed=1, std=0.6)
    values = df.drop(columns="user_id").to_numpy(float)
    prep = prepare(df, CONFIG, personas_of(df, truth))
    assert prep.truth is not None
    shuffled = np.random.default_rng(0).permutation(prep.truth)
    planted = supervised_ceiling(values, prep.truth, prep.preprocessor, seed=1)
    chance = supervised_ceiling(values, shuffled, prep.preprocessor, seed=1)
    assert planted is not None and chance is not None
    assert planted > 0.9 and abs(chance) < 0.1


def test_cluster_metrics_report_the_ceiling_and_the_ratio_and_null_without_truth():
    df, truth = overlapping()
    config = replace(CONFIG, stability_resamples=0)
    result = fit_segmenter(df, config, SIGNALS, personas=personas_of(df, truth))
    metrics = result.metrics()
    prep = prepare(df, config, personas_of(df, truth))
    assert metrics["truth_ceiling_ari"] == ceiling_of(prep, config)
    assert metrics["truth_ari_vs_ceiling"] == pytest.approx(
        metrics["truth_ari"] / metrics["truth_ceiling_ari"]
    )
    empty = pd.DataFrame(columns=["user_id", "persona"])
    bare = fit_segmenter(df, config, SIGNALS, personas=empty).metrics()
    assert bare["truth_ari"] is None and bare["truth_ceiling_ari"] is None
    assert bare["truth_ari_vs_ceiling"] is None
    assert set(metrics) == set(bare)  # same columns for dvc exp show


@pytest.fixture(scope="module")
def table():
    df, truth = blob_features(300, k=3, seed=2)
    return run_benchmark(df, CONFIG, BENCH, personas=personas_of(df, truth))


def test_benchmark_has_a_row_per_setting_and_k_choice(table):
    assert list(table.columns) == list(COLUMNS)
    expected = {
        (s.algorithm, s.scaler, "none" if s.pca is None else str(s.pca), choice)
        for s in grid(BENCH)
        for choice in (TRUE_K, *rules_for(s.algorithm))
    }
    got = set(table[["algorithm", "scaler", "pca", "k_choice"]].itertuples(index=False, name=None))
    assert got == expected and len(table) == len(expected) == 2 * 2 * 2 + 4 * 3 + 4 * 4
    assert (table.loc[table["k_choice"] == TRUE_K, "k"] == 3).all()
    assert table["truth_ari"].between(-1, 1).all() and table["stability"].notna().all()


def test_a_benchmark_row_is_the_cluster_stage_fit_of_the_same_config(table):
    df, truth = blob_features(300, k=3, seed=2)
    setting = Setting("gmm", "none", "robust", None, 2)
    config = replace(setting.config(for_benchmark(CONFIG), BENCH), k=3, stability_resamples=0)
    result = fit_segmenter(df, config, SIGNALS, personas=personas_of(df, truth))
    row = table[
        (table["algorithm"] == "gmm")
        & (table["scaler"] == "robust")
        & (table["pca"] == "2")
        & (table["k_choice"] == TRUE_K)
    ].iloc[0]
    assert row["truth_ari"] == pytest.approx(result.truth.ari, abs=1e-12)
    assert row["silhouette"] == pytest.approx(result.quality.silhouette, abs=1e-12)
    # the ratio's ceiling is the cluster params' own (metrics/cluster.json's), for every row
    ceiling = ceiling_of(prepare(df, CONFIG, personas_of(df, truth)), CONFIG)
    assert ceiling is not None
    assert row["vs_ceiling"] == pytest.approx(result.truth.ari / ceiling, abs=1e-12)


def test_benchmark_is_empty_without_personas():
    df, _ = blob_features(100)
    empty = pd.DataFrame(columns=["user_id", "persona"])
    out = run_benchmark(df, CONFIG, BENCH, personas=empty)
    assert out.empty and list(out.columns) == list(COLUMNS)


def test_k_choices_and_the_best_rule():
    k_table = pd.DataFrame(
        {
            "k": [2, 3, 4],
            "silhouette": [0.5, 0.4, 0.3],
            "calinski_harabasz": [10.0, 30.0, 20.0],
            "davies_bouldin": [1.0, 1.2, 0.8],
            "bic": [5.0, 3.0, 4.0],
        }
    )
    assert k_choices(k_table, "kmeans", 7) == {
        TRUE_K: 7,
        "silhouette": 2,
        "calinski_harabasz": 3,
        "davies_bouldin": 4,
    }
    assert k_choices(k_table, "gmm", 3)["bic"] == 3
    shares = {  # two settings: calinski_harabasz is best on average, bic on fewer settings
        "kmeans": {"silhouette": 0.1, "calinski_harabasz": 0.6, "davies_bouldin": 0.3},
        "gmm": {"silhouette": 0.2, "calinski_harabasz": 0.5, "davies_bouldin": 0.4, "bic": 0.9},
    }
    rows = [(a, choice, r) for a, by_rule in shares.items() for choice, r in by_rule.items()]
    bench = pd.DataFrame(rows, columns=["algorithm", "k_choice", "vs_ceiling"])
    scores = {s.rule: (round(s.mean_vs_ceiling, 6), s.settings) for s in rule_scores(bench)}
    assert scores["calinski_harabasz"] == (0.55, 2) and scores["bic"] == (0.9, 1)
    assert best_rule(bench) == "calinski_harabasz"  # bic measured on one setting only
    assert best_rule(bench.iloc[:0]) is None


def test_benchmark_stage_tracks_exactly_the_params_its_table_depends_on():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert stages["benchmark"]["params"] == ["benchmark", *(f"cluster.{p}" for p in CLUSTER_PARAMS)]
    a = replace(CONFIG, k=3, k_rule="davies_bouldin", algorithm="gmm", n_init=5, eps=2.0)
    assert for_benchmark(a) == for_benchmark(replace(a, k=9, algorithm="kmeans", n_init=1))
    assert for_benchmark(a) != for_benchmark(replace(a, seed=a.seed + 1))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"algorithms": ["kmeans", "dbscan"]}, "benchmark.algorithms dbscan finds its own k"),
        ({"scalers": ["standard", "standard"]}, "benchmark.scalers must list distinct"),
        ({"pca": []}, "benchmark.pca must list distinct"),
        ({"pca": [None, 1.5]}, r"benchmark.pca\[1\] must be null"),
        ({"fit_samples": 10}, "unknown key benchmark.fit_samples"),
    ],
)
def test_benchmark_params_are_checked(change, message):
    block = yaml.safe_load((ROOT / "params.yaml").read_text())["benchmark"]
    with pytest.raises(ConfigError, match=message):
        BenchmarkConfig.from_block({**block, **change}, "benchmark")


def test_the_ceiling_reads_every_feature_whatever_the_filter_keeps():
    """A method that drops features is read against what all of them can tell: the ceiling is
    the same with and without the correlation filter, while the fitted space is smaller."""
    df, truth = blob_features(300, k=3, seed=2)
    personas = personas_of(df, truth)
    filtered = replace(CONFIG, max_correlation=0.3)
    kept = prepare(df, filtered, personas)
    every = prepare(df, CONFIG, personas)
    assert kept.X_fit.shape[1] < every.X_fit.shape[1] == 4
    assert ceiling_of(kept, filtered) == ceiling_of(every, CONFIG)
