import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency
from sklearn import metrics

from traveltide.compare import agreement, align
from traveltide.errors import DataError

rng = np.random.default_rng(0)
A = pd.Series(rng.integers(0, 4, 500).astype(str))
B = pd.Series(rng.integers(0, 5, 500))
P = pd.Series(rng.choice(["x", "y"], 500))
Q = pd.Series(rng.choice(["x", "y"], 500))


def test_equals_sklearn_and_scipy_on_same_labels():
    r = agreement(A, B, P, Q)
    assert r.ari == pytest.approx(metrics.adjusted_rand_score(A, B))
    assert r.ami == pytest.approx(metrics.adjusted_mutual_info_score(A, B))
    assert r.nmi == pytest.approx(metrics.normalized_mutual_info_score(A, B))
    assert r.v_measure == pytest.approx(metrics.v_measure_score(A, B))
    assert r.fowlkes_mallows == pytest.approx(metrics.fowlkes_mallows_score(A, B))
    chi2, p, dof, _ = chi2_contingency(pd.crosstab(A, B).to_numpy())
    assert (r.contingency_chi2, r.contingency_p_value, r.contingency_dof) == pytest.approx(
        (chi2, p, dof)
    )
    assert r.perk_agreement == pytest.approx((P == Q).mean())


def test_properties_identical_relabelled_and_chance():
    relabelled = B.map({0: 9, 1: 7, 2: 5, 3: 3, 4: 1})
    same = agreement(B, relabelled, P, P)
    assert same.ari == pytest.approx(1.0) and same.nmi == pytest.approx(1.0)
    assert same.perk_agreement == 1.0
    chance = agreement(A, B, P, Q)  # independent random labels
    assert abs(chance.ari) < 0.02 and abs(chance.ami) < 0.02


def test_one_cluster_gives_nan_chi2_not_a_crash():
    r = agreement(A, pd.Series(np.zeros(500, dtype=int)), P, Q)
    assert np.isnan(r.contingency_chi2) and r.contingency_dof == 0
    assert r.ari == pytest.approx(0.0)


def test_align_rejects_users_in_only_one_segmentation():
    rules = pd.DataFrame({"user_id": [1, 2], "segment": ["a", "b"], "perk": ["x", "y"]})
    ml = pd.DataFrame({"user_id": [1, 3], "cluster": [0, 1], "perk": ["x", "y"]})
    with pytest.raises(DataError, match="2 users are in only one segmentation"):
        align(rules, ml)
