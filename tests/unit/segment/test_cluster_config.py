"""The `cluster` params block: documented values are accepted, wrong ones name the key."""

from dataclasses import replace
from pathlib import Path

import pytest

from traveltide.config import ClusterConfig
from traveltide.errors import ConfigError


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
        "max_correlation": 0.6,
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
    assert ClusterConfig.from_params(_params(max_correlation=None)).max_correlation is None
    assert ClusterConfig.from_params(_params(max_correlation=1)).max_correlation == 1.0
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
        ({"max_correlation": 0}, r"cluster.max_correlation must be null or an absolute .* got 0"),
        ({"max_correlation": 1.5}, "cluster.max_correlation must be null or an absolute"),
        ({"max_correlation": "high"}, "cluster.max_correlation must be null or an absolute"),
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
