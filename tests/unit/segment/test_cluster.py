import importlib.util
import json
import pickle
from argparse import Namespace
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_score,
)
from sklearn.preprocessing import StandardScaler

from support import BLOB_FEATURES, SIGNALS, blob_users
from traveltide.config import ClusterConfig, PerksConfig
from traveltide.errors import ConfigError, DataError
from traveltide.io import to_json, write_csv
from traveltide.segment.cluster import (
    K_SELECTION_PARAMS,
    K_TABLE_COLUMNS,
    NOISE,
    choose_k,
    fit_segmenter,
    fitted_rows,
    for_k_selection,
    nearest_centroid,
    perk_map,
    quality,
    select_k,
)
from traveltide.segment.preprocess import SkewTransform, select_features


def blob_features(n=400, k=3, seed=0, std=0.6):
    return blob_users(n, k=k, seed=seed, std=std, first_id=100)


CONFIG = ClusterConfig(
    k=3,
    k_range=(2, 3, 4, 5),
    n_init=3,
    transform="none",
    silhouette_sample=10_000,
    stability_resamples=3,
    eps=0.5,
    min_samples=5,
    min_cluster_size=20,
)
ALGORITHMS = ["kmeans", "minibatch_kmeans", "gmm", "agglomerative", "dbscan", "hdbscan"]


def personas_of(df, truth):
    return pd.DataFrame({"user_id": df["user_id"], "persona": [f"p{t}" for t in truth]})


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_algorithm_recovers_planted_blobs(algorithm):
    df, truth = blob_features()
    result = fit_segmenter(df, replace(CONFIG, algorithm=algorithm), SIGNALS)
    labels = result.assignments["cluster"].to_numpy()
    assert adjusted_rand_score(truth, labels) > 0.95
    assert result.quality.k == 3 and result.segmenter.algorithm == algorithm
    assert set(result.assignments["perk"]) <= set(SIGNALS)
    assert result.stability.mean > 0.9
    # scoring the same users again gives the clusters the fit found (up to a few borders)
    scored = result.segmenter.predict(df)
    assert scored["cluster"].dtype == "int64" and scored["perk"].map(type).eq(str).all()
    assert (scored["cluster"].to_numpy() == labels).mean() > 0.95
    assert (scored["perk"].to_numpy() == result.assignments["perk"].to_numpy()).mean() > 0.95


def test_kmeans_predict_matches_the_fit_in_any_row_order():
    df, _ = blob_features()
    result = fit_segmenter(df, CONFIG, SIGNALS)
    shuffled = df.sample(frac=1.0, random_state=1)
    scored = result.segmenter.predict(shuffled)
    expected = result.assignments.set_index("user_id").loc[shuffled["user_id"]]
    assert scored["cluster"].tolist() == expected["cluster"].tolist()
    assert scored["perk"].tolist() == expected["perk"].tolist()
    with pytest.raises(DataError, match="missing feature column"):
        result.segmenter.predict(df.drop(columns="bags"))
    with pytest.raises(DataError, match="'discount' is NaN"):
        result.segmenter.predict(df.assign(discount=np.nan))


@pytest.mark.parametrize("algorithm", ["agglomerative", "dbscan", "hdbscan"])
def test_algorithms_without_predict_score_by_nearest_centroid(algorithm):
    df, _ = blob_features()
    seg = fit_segmenter(df, replace(CONFIG, algorithm=algorithm), SIGNALS).segmenter
    assert seg.model is None
    X = seg.preprocessor.transform(df[BLOB_FEATURES].to_numpy(float))
    d = ((X[:, None, :] - seg.centroids[None, :, :]) ** 2).sum(axis=2)
    assert seg.predict(df)["cluster"].tolist() == d.argmin(axis=1).tolist()


@pytest.mark.parametrize("rule", ["silhouette", "calinski_harabasz", "davies_bouldin"])
@pytest.mark.parametrize("planted", [3, 5])
def test_auto_k_picks_the_planted_number_of_blobs(rule, planted):
    df, truth = blob_features(n=500, k=planted, seed=3, std=0.5)
    config = replace(CONFIG, k="auto", k_rule=rule, k_range=(2, 3, 4, 5, 6, 7))
    result = fit_segmenter(df, config, SIGNALS)
    assert result.quality.k == planted
    assert result.k_requested == "auto" and rule.split("_")[0] in result.k_rule.lower()
    assert adjusted_rand_score(truth, result.assignments["cluster"]) > 0.95


def test_auto_k_by_bic_with_gmm():
    df, _ = blob_features(n=500, k=4, seed=3, std=0.5)
    config = replace(CONFIG, algorithm="gmm", k="auto", k_rule="bic", k_range=(2, 3, 4, 5, 6))
    result = fit_segmenter(df, config, SIGNALS)
    assert result.quality.k == 4
    assert result.k_table["bic"].notna().all()


def test_choose_k_breaks_ties_to_the_smaller_k_and_skips_undefined():
    table = pd.DataFrame(
        {"k": [2, 3, 4, 5], "silhouette": [0.5, np.nan, 0.5, 0.1], "davies_bouldin": [2, 1, 1, 3]}
    )
    assert choose_k(table, "silhouette") == 2
    assert choose_k(table, "davies_bouldin") == 3
    with pytest.raises(DataError, match="undefined for every k"):
        choose_k(table.assign(silhouette=np.nan), "silhouette")


def test_k_table_matches_sklearn_and_keeps_the_plotted_columns():
    df, _ = blob_features()
    result = fit_segmenter(df, CONFIG, SIGNALS, personas=personas_of(df, blob_features()[1]))
    table = result.k_table
    assert table["k"].tolist() == [2, 3, 4, 5]
    assert {"k", "silhouette", "inertia", "truth_ari"} <= set(table.columns)
    X = StandardScaler().fit_transform(df[BLOB_FEATURES].to_numpy(float))
    km = KMeans(n_clusters=4, n_init=3, random_state=CONFIG.seed).fit(X)
    row = table.set_index("k").loc[4]
    assert row["silhouette"] == pytest.approx(silhouette_score(X, km.labels_))
    assert row["calinski_harabasz"] == pytest.approx(calinski_harabasz_score(X, km.labels_))
    assert row["davies_bouldin"] == pytest.approx(davies_bouldin_score(X, km.labels_))
    assert row["inertia"] == pytest.approx(km.inertia_)
    assert table.set_index("k").loc[3, "truth_ari"] > 0.95


def test_stability_is_high_on_blobs_and_low_on_structureless_noise():
    df, _ = blob_features(n=300)
    assert fit_segmenter(df, replace(CONFIG, stability_resamples=8), SIGNALS).stability.mean > 0.95
    rng = np.random.default_rng(0)
    noise = pd.DataFrame(rng.normal(size=(300, 6)), columns=[*BLOB_FEATURES, "e", "f"])
    noise.insert(0, "user_id", np.arange(300))
    config = replace(CONFIG, k=6, k_range=(6,), stability_resamples=8)
    result = fit_segmenter(noise, config, SIGNALS)
    assert result.stability.mean < 0.7
    assert result.stability.worst <= result.stability.mean
    skipped = fit_segmenter(df, replace(CONFIG, stability_resamples=0), SIGNALS).stability
    assert np.isnan(skipped.mean) and "skipped" in skipped.note


def test_pca_by_components_and_by_explained_variance_match_sklearn():
    df, truth = blob_features()
    X = StandardScaler().fit_transform(df[BLOB_FEATURES].to_numpy(float))
    two = fit_segmenter(df, replace(CONFIG, pca=2), SIGNALS)
    assert two.pca_components == 2
    expected = PCA(n_components=2, svd_solver="full").fit(X)
    assert two.pca_explained_variance == pytest.approx(expected.explained_variance_ratio_.sum())
    assert adjusted_rand_score(truth, two.assignments["cluster"]) > 0.95
    share = fit_segmenter(df, replace(CONFIG, pca=0.9), SIGNALS)
    cumulative = np.cumsum(PCA(svd_solver="full").fit(X).explained_variance_ratio_)
    assert share.pca_components == int(np.searchsorted(cumulative, 0.9) + 1)
    assert share.pca_explained_variance >= 0.9
    with pytest.raises(ConfigError, match="cluster.pca = 9 components"):
        fit_segmenter(df, replace(CONFIG, pca=9), SIGNALS)


def test_feature_subset_is_used_and_unknown_names_are_errors():
    df, _ = blob_features()
    result = fit_segmenter(df, replace(CONFIG, features=("bags", "c")), SIGNALS)
    assert result.segmenter.features == ["bags", "c"]
    assert result.segmenter.predict(df[["bags", "c"]]).shape == (len(df), 2)
    # profiles still describe every feature, so perk signals outside the subset work
    assert set(result.profiles.columns) == set(BLOB_FEATURES)
    assert select_features(df, "all") == BLOB_FEATURES
    with pytest.raises(ConfigError, match="cluster.features: unknown feature.*nope, zilch"):
        fit_segmenter(df, replace(CONFIG, features=("bags", "nope", "zilch")), SIGNALS)


def test_dbscan_noise_users_keep_label_minus_one_and_get_the_nearest_clusters_perk():
    df, truth = blob_features(n=300)
    outliers = pd.DataFrame(
        [[40.0, 40.0, 40.0, 40.0], [-40.0, 40.0, -40.0, 40.0], [40.0, -40.0, 0.0, 0.0]],
        columns=BLOB_FEATURES,
    )
    outliers.insert(0, "user_id", [1, 2, 3])
    table = pd.concat([df, outliers], ignore_index=True)
    result = fit_segmenter(table, replace(CONFIG, algorithm="dbscan", eps=0.3), SIGNALS)
    a = result.assignments
    noise = a["cluster"] == NOISE
    assert a.loc[noise, "user_id"].tolist() == [1, 2, 3]
    assert result.quality.noise_share == pytest.approx(3 / len(table))
    assert (a.loc[noise, "cluster_name"] == "noise").all()
    seg = result.segmenter
    X = seg.preprocessor.transform(table[BLOB_FEATURES].to_numpy(float))
    centroids = np.array([X[a["cluster"] == c].mean(axis=0) for c in range(3)])
    nearest = ((X[noise.to_numpy(), None, :] - centroids[None]) ** 2).sum(axis=2).argmin(axis=1)
    assert a.loc[noise, "perk"].tolist() == [seg.perks[int(c)] for c in nearest]
    assert NOISE in result.profiles.index and NOISE not in seg.perks
    assert (seg.predict(table)["cluster"] >= 0).all()
    metrics = result.metrics()
    assert metrics["noise_users"] == 3 and metrics["cluster_sizes"]["-1"] == 3
    assert adjusted_rand_score(truth, a["cluster"][~noise]) > 0.95


@pytest.mark.parametrize(
    ("algorithm", "changes", "message"),
    [
        ("dbscan", {"eps": 1e-4}, r"dbscan \(eps=0.0001, min_samples=5\) labelled all 400"),
        ("dbscan", {"eps": 50.0}, r"dbscan \(eps=50.0, min_samples=5\) found a single cluster"),
        ("hdbscan", {"min_cluster_size": 300}, r"hdbscan \(min_cluster_size=300, min_samp"),
    ],
)
def test_degenerate_density_fits_are_one_line_data_errors(algorithm, changes, message):
    df, _ = blob_features()
    config = replace(CONFIG, algorithm=algorithm, **changes)
    with pytest.raises(DataError, match=message) as err:
        fit_segmenter(df, config, SIGNALS)
    assert "\n" not in str(err.value)


def test_identical_users_cannot_be_split():
    df = pd.DataFrame({"user_id": range(50), **{c: 1.0 for c in BLOB_FEATURES}})
    with pytest.raises(DataError, match=r"kmeans \(k=3, n_init=3\) found a single cluster"):
        fit_segmenter(df, CONFIG, SIGNALS)


def test_k_not_below_cohort_size_is_rejected():
    df, _ = blob_features(n=5)
    with pytest.raises(DataError, match="cluster.k = 5 needs more users"):
        fit_segmenter(df, replace(CONFIG, k=5), SIGNALS)


def test_same_seed_same_labels_and_pickle_bytes_including_the_sampled_fit():
    df, _ = blob_features(n=600)
    config = replace(CONFIG, fit_sample=250)
    first = fit_segmenter(df, config, SIGNALS)
    second = fit_segmenter(df, config, SIGNALS)
    pd.testing.assert_frame_equal(first.assignments, second.assignments)
    pd.testing.assert_frame_equal(first.k_table, second.k_table)
    assert pickle.dumps(first.segmenter, protocol=5) == pickle.dumps(second.segmenter, protocol=5)
    assert first.n_fitted == 250 and first.n_users == 600
    # users outside the fitted sample are scored by the model, like any new user
    scored = first.segmenter.predict(df)
    assert scored["cluster"].tolist() == first.assignments["cluster"].tolist()
    other = fit_segmenter(df, replace(config, seed=7), SIGNALS)
    assert (
        not np.array_equal(fitted_rows(600, 250, 7), fitted_rows(600, 250, config.seed))
        and adjusted_rand_score(other.assignments["cluster"], first.assignments["cluster"]) > 0.95
    )


@pytest.mark.parametrize("algorithm", ["agglomerative", "dbscan"])
def test_sampled_fit_assigns_the_other_users_by_the_scoring_rule(algorithm):
    df, truth = blob_features(n=600)
    config = replace(CONFIG, algorithm=algorithm, fit_sample=200)
    result = fit_segmenter(df, config, SIGNALS)
    fitted = np.zeros(600, dtype=bool)
    fitted[fitted_rows(600, 200, config.seed)] = True
    labels = result.assignments["cluster"].to_numpy()
    scored = result.segmenter.predict(df)["cluster"].to_numpy()
    assert np.array_equal(labels[~fitted], scored[~fitted])
    assert (labels[~fitted] != NOISE).all() and result.n_fitted == 200
    assert adjusted_rand_score(truth, labels) > 0.95


def test_truth_scores_against_personas_match_sklearn():
    df, truth = blob_features()
    personas = personas_of(df, truth)
    extra = pd.DataFrame({"user_id": [999_999], "persona": ["p9"]})  # not in the cohort
    result = fit_segmenter(df, CONFIG, SIGNALS, personas=pd.concat([personas, extra]))
    labels = result.assignments["cluster"]
    assert result.truth.ari == pytest.approx(adjusted_rand_score(truth, labels))
    assert result.truth.nmi == pytest.approx(normalized_mutual_info_score(truth, labels))
    assert result.truth.personas == 3
    empty = fit_segmenter(df, CONFIG, SIGNALS, personas=personas.iloc[:0])
    assert empty.truth.ari is None and "empty" in empty.truth.note
    with pytest.raises(DataError, match="no persona for 1 cohort users"):
        fit_segmenter(df, CONFIG, SIGNALS, personas=personas.iloc[1:])


def test_quality_matches_sklearn_ignores_noise_and_handles_one_cluster():
    X, y = make_blobs(n_samples=300, centers=2, random_state=1)
    q = quality(X, y, sample=10_000, seed=0)
    assert q.silhouette == pytest.approx(silhouette_score(X, y))
    with_noise = y.copy()
    with_noise[:30] = NOISE
    qn = quality(X, with_noise, sample=10_000, seed=0)
    assert qn.noise_share == pytest.approx(0.1)
    assert qn.silhouette == pytest.approx(silhouette_score(X[30:], y[30:]))
    one = quality(X, np.zeros(300, dtype=int), sample=10_000, seed=0)
    assert np.isnan(one.silhouette) and "undefined" in one.note


def test_nearest_centroid_matches_brute_force_across_blocks():
    rng = np.random.default_rng(0)
    X, C = rng.normal(size=(70_000, 3)), rng.normal(size=(5, 3))
    brute = ((X[:, None, :] - C[None]) ** 2).sum(axis=2).argmin(axis=1)
    assert np.array_equal(nearest_centroid(X, C), brute)


def test_perk_map_picks_the_highest_signal_and_skips_noise():
    z = pd.DataFrame({"bags": [9.0, 2.0, -1.0], "discount": [0.0, 0.5, 1.5]}, index=[NOISE, 0, 1])
    assert perk_map(z, SIGNALS) == {0: "free_checked_bag", 1: "exclusive_discounts"}


def test_skew_transforms():
    rng = np.random.default_rng(0)
    tiny = rng.lognormal(-7, 1, 1000)  # like ads_per_km: ~0.001 with a long tail
    X = np.column_stack([rng.lognormal(3, 1, 1000), rng.normal(0, 1, 1000), tiny])
    plain = SkewTransform("log1p").fit(X)
    assert plain.columns_.tolist() == [0, 2]
    np.testing.assert_allclose(plain.transform(X)[:, 0], np.log1p(X[:, 0]))
    np.testing.assert_allclose(plain.transform(X)[:, 1], X[:, 1])
    scaled = SkewTransform("log1p_scaled").fit(X).transform(X)
    np.testing.assert_allclose(scaled[:, 2], np.log1p(tiny / np.quantile(tiny, 0.05)))
    # plain log1p leaves the tiny feature as skewed as it was; log1p_scaled tames it
    skew = pd.DataFrame({"plain": plain.transform(X)[:, 2], "scaled": scaled[:, 2]}).skew()
    assert skew["plain"] > 3 and abs(skew["scaled"]) < 1.5
    assert np.array_equal(SkewTransform("none").fit(X).transform(X), X)


def test_metrics_are_strict_json_with_the_documented_keys():
    df, _ = blob_features()
    result = fit_segmenter(df, CONFIG, SIGNALS)
    metrics = json.loads(to_json(result.metrics()))
    for key in (
        "silhouette",
        "calinski_harabasz",
        "davies_bouldin",
        "inertia",
        "k",
        "cluster_sizes",
        "perk_mix",
        "cluster_names",
        "cluster_perks",
        "algorithm",
        "stability",
        "truth_ari",
        "truth_nmi",
        "noise_share",
        "k_rule",
        "n_features",
        "pca_components",
    ):
        assert key in metrics, key
    assert metrics["bic"] is None and metrics["truth_ari"] is None  # NaN/None -> null


def _load_stage(name: str = "cluster"):
    path = Path(__file__).resolve().parents[3] / "stages" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_stage", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("with_personas", [True, False])
def test_stage_writes_every_output(tmp_path, with_personas):
    df, truth = blob_features()
    df.to_parquet(tmp_path / "features.parquet")
    personas = personas_of(df, truth) if with_personas else personas_of(df, truth).iloc[:0]
    personas.to_parquet(tmp_path / "personas.parquet")
    params = {
        "cluster": {
            "algorithm": "kmeans",
            "k": "auto",
            "k_range": [2, 3, 4],
            "k_rule": "silhouette",
            "seed": 1,
            "n_init": 2,
            "features": "all",
            "transform": "log1p_scaled",
            "scaler": "robust",
            "pca": None,
            "silhouette_sample": 1000,
            "fit_sample": 20000,
            "stability_resamples": 2,
            "covariance_type": "full",
            "linkage": "ward",
            "eps": 0.5,
            "min_samples": 5,
            "min_cluster_size": 10,
        },
        "perks": {"signals": {"free_checked_bag": "bags", "exclusive_discounts": "discount"}},
    }
    names = ["features", "personas", "clusters", "model", "k_selection", "profiles", "metrics"]
    paths = Namespace(**{n: tmp_path / f"{n}.out" for n in names})
    paths.features, paths.personas = tmp_path / "features.parquet", tmp_path / "personas.parquet"
    _load_stage("select_k").main(params, paths)
    _load_stage().main(params, paths)
    metrics = json.loads(paths.metrics.read_text())
    assert metrics["k"] == 3 and metrics["k_requested"] == "auto"
    assert (metrics["truth_ari"] is not None) == with_personas
    table = pd.read_csv(paths.k_selection)
    assert table["k"].tolist() == [2, 3, 4]
    # The two stages give what one in-process call gives: the table and the same clusters.
    config = ClusterConfig.from_params(params)
    signals = PerksConfig.from_params(params).signals
    whole = fit_segmenter(df, config, signals, personas=personas)
    write_csv(whole.k_table, tmp_path / "whole.csv")  # the writer every stage uses
    assert (tmp_path / "whole.csv").read_bytes() == paths.k_selection.read_bytes()
    assert (
        whole.assignments["cluster"].tolist() == pd.read_parquet(paths.clusters)["cluster"].tolist()
    )
    seg = pickle.loads(paths.model.read_bytes())
    clusters = pd.read_parquet(paths.clusters)
    assert seg.predict(df)["cluster"].tolist() == clusters["cluster"].tolist()


def _params(**changes):
    block = {
        "algorithm": "kmeans",
        "k": 7,
        "k_range": [2, 3],
        "k_rule": "silhouette",
        "seed": 42,
        "n_init": 10,
        "features": "all",
        "transform": "log1p_scaled",
        "scaler": "standard",
        "pca": None,
        "silhouette_sample": 3000,
        "fit_sample": 20000,
        "stability_resamples": 5,
        "covariance_type": "full",
        "linkage": "ward",
        "eps": 5.0,
        "min_samples": 10,
        "min_cluster_size": 50,
    }
    return {"cluster": {**block, **changes}}


def test_config_accepts_the_documented_values():
    assert ClusterConfig.from_params(_params()) == replace(ClusterConfig(), k_range=(2, 3))
    c = ClusterConfig.from_params(_params(k="auto", features=["a", "b"], pca=0.9))
    assert c.k == "auto" and c.features == ("a", "b") and c.pca == 0.9
    assert ClusterConfig.from_params(_params(pca=3)).pca == 3
    gmm = ClusterConfig.from_params(_params(algorithm="gmm", k_rule="bic"))
    assert gmm.describe() == "gmm (k=7, covariance_type=full, n_init=10)"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"algorithm": "spectral"}, "cluster.algorithm must be one of kmeans, minibatch_kmeans"),
        ({"k": "many"}, "cluster.k must be an integer >= 2 or 'auto', got 'many'"),
        ({"k": 1}, "cluster.k must be >= 2, got 1"),
        ({"k_rule": "bic"}, "cluster.k_rule bic needs cluster.algorithm gmm"),
        ({"k_rule": "gap"}, "cluster.k_rule must be one of"),
        ({"features": []}, "cluster.features must be 'all' or a list"),
        ({"features": ["a", "a"]}, "cluster.features lists a twice"),
        ({"features": ["a; drop"]}, r"cluster.features\[0\] must be an identifier"),
        ({"transform": "log"}, "cluster.transform must be one of none, log1p, log1p_scaled"),
        ({"pca": 1.0}, r"cluster.pca must be null, an integer >= 1 .* got 1.0"),
        ({"pca": 0}, "cluster.pca must be null"),
        ({"pca": True}, "cluster.pca must be null"),
        ({"fit_sample": 50}, "cluster.fit_sample must be >= 100"),
        (
            {"algorithm": "agglomerative", "fit_sample": 30000},
            "cluster.fit_sample must be <= 20000 with agglomerative",
        ),
        ({"stability_resamples": -1}, "cluster.stability_resamples must be >= 0"),
        ({"covariance_type": "round"}, "cluster.covariance_type must be one of"),
        ({"linkage": "centroid"}, "cluster.linkage must be one of"),
        ({"eps": 0}, "cluster.eps must be > 0"),
        ({"eps": "wide"}, "cluster.eps must be a number"),
        ({"min_samples": 0}, "cluster.min_samples must be >= 1"),
        ({"min_cluster_size": 1}, "cluster.min_cluster_size must be >= 2"),
    ],
)
def test_config_errors_name_the_key(changes, message):
    with pytest.raises(ConfigError, match=message):
        ClusterConfig.from_params(_params(**changes))


def test_dataclass_defaults_are_the_repository_params():
    from traveltide.config import read_params

    params = read_params(Path(__file__).resolve().parents[3] / "params.yaml")
    assert ClusterConfig.from_params(params) == ClusterConfig()


def test_select_k_stage_tracks_exactly_the_params_its_table_depends_on():
    """dvc.yaml's select_k params are K_SELECTION_PARAMS; every other cluster param is reset
    before the table is computed, so a param left off the list cannot change the table."""
    stages = yaml.safe_load((Path(__file__).resolve().parents[3] / "dvc.yaml").read_text())[
        "stages"
    ]
    assert stages["select_k"]["params"] == [f"cluster.{p}" for p in K_SELECTION_PARAMS]
    assert set(K_SELECTION_PARAMS) < {f.name for f in fields(ClusterConfig)}
    assert "cluster" in stages["cluster"]["params"]
    a = ClusterConfig(k=3, k_rule="davies_bouldin", stability_resamples=0, eps=1.0, n_init=2)
    b = ClusterConfig(k=9, k_rule="silhouette", stability_resamples=7, eps=9.0, n_init=2)
    assert for_k_selection(a) == for_k_selection(b)
    assert for_k_selection(a) != for_k_selection(replace(a, n_init=3))
    df, _ = blob_features()
    pd.testing.assert_frame_equal(select_k(df, a), select_k(df, b))


def test_select_k_is_empty_for_density_algorithms_and_fit_refuses_a_bad_table():
    df, _ = blob_features()
    table = select_k(df, ClusterConfig(algorithm="dbscan"))
    assert table.empty and list(table.columns) == list(K_TABLE_COLUMNS)
    with pytest.raises(DataError, match="k-selection table: missing column"):
        fit_segmenter(
            df, ClusterConfig(k="auto", k_range=(2, 3)), {}, k_table=pd.DataFrame({"k": [2]})
        )
