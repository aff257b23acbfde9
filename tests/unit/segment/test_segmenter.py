"""The Segmenter: fitting, scoring new users, noise, degenerate fits, determinism, metrics and
the pickle (old pickles naming the module paths before the sub-packages still load)."""

import json
import pickle
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from cluster_cases import CONFIG, blob_features
from support import BLOB_FEATURES, SIGNALS
from traveltide.errors import DataError
from traveltide.io import to_json
from traveltide.segment.clustering import fit_segmenter
from traveltide.segment.models import NOISE, fitted_rows
from traveltide.segment.segmenter import Segmenter, model_bytes


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
    summary = result.summary()
    assert summary["noise_users"] == 3 and summary["cluster_sizes"]["-1"] == 3
    assert result.metrics()["noise_share"] == pytest.approx(3 / len(table))
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
    assert model_bytes(first.segmenter) == pickle.dumps(first.segmenter, protocol=5)
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


def test_metrics_are_numbers_and_the_summary_strict_json_with_the_documented_keys():
    df, _ = blob_features()
    result = fit_segmenter(df, CONFIG, SIGNALS)
    numbers = json.loads(to_json(result.metrics()))  # metrics/cluster.json: DVC shows each
    assert set(numbers) == {
        "k", "silhouette", "calinski_harabasz", "davies_bouldin", "stability", "truth_ari",
        "truth_ceiling_ari", "truth_ari_vs_ceiling", "noise_share", "smallest_share",
    }  # fmt: skip
    assert all(v is None or isinstance(v, int | float) for v in numbers.values())
    metrics = json.loads(to_json(result.summary()))
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
        "truth_ceiling_ari",
        "truth_ari_vs_ceiling",
        "noise_share",
        "k_rule",
        "n_features",
        "pca_components",
    ):
        assert key in metrics, key
    assert metrics["bic"] is None and metrics["truth_ari"] is None  # NaN/None -> null


def test_a_pickle_naming_the_modules_before_the_sub_packages_still_loads():
    """Segmenters pickled before the sub-packages name `traveltide.cluster.Segmenter` and
    `traveltide.preprocess.SkewTransform`; the two alias modules keep them loading."""
    import traveltide.cluster
    import traveltide.preprocess
    from traveltide.segment.preprocess import SkewTransform

    assert traveltide.cluster.Segmenter is Segmenter
    assert traveltide.preprocess.SkewTransform is SkewTransform
    df, _ = blob_features()
    seg = fit_segmenter(df, replace(CONFIG, transform="log1p_scaled"), SIGNALS).segmenter
    new = pickle.dumps(seg, protocol=0)  # protocol 0 names each class as "c<module>\n<name>\n"
    moved = {  # class: (module now, module before the sub-packages)
        b"Segmenter": (b"traveltide.segment.segmenter", b"traveltide.cluster"),
        b"SkewTransform": (b"traveltide.segment.preprocess", b"traveltide.preprocess"),
    }
    old = new
    for name, (now, before) in moved.items():
        assert b"c%s\n%s\n" % (now, name) in new
        old = old.replace(b"c%s\n%s\n" % (now, name), b"c%s\n%s\n" % (before, name))
    assert b"traveltide.segment" not in old
    loaded = pickle.loads(old)
    assert isinstance(loaded, Segmenter)
    assert isinstance(loaded.preprocessor.named_steps["transform"], SkewTransform)
    assert loaded.predict(df).equals(seg.predict(df))
