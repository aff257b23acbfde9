"""traveltide.report.projection: the PCA picture, against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from report_inputs import synthetic_tables
from traveltide.report.projection import pca_projection


def test_pca_matches_sklearn_on_standardized_features():
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    features, _, clusters, _ = synthetic_tables()
    proj = pca_projection(features, clusters, sample=10_000)
    X = StandardScaler().fit_transform(features.drop(columns="user_id").to_numpy(float))
    ref = PCA(n_components=2).fit(X)
    expected = ref.transform(X)
    got = proj.points[["pc1", "pc2"]].to_numpy()
    for j in range(2):  # a component's sign is a convention
        sign = np.sign(expected[:, j] @ got[:, j])
        assert got[:, j] == pytest.approx(sign * expected[:, j], abs=1e-8)
    assert proj.explained == pytest.approx(tuple(ref.explained_variance_ratio_))
    by_user = clusters.set_index("user_id")["cluster"]
    assert (proj.points["cluster"].to_numpy() == by_user.loc[proj.points["user_id"]]).all()


def test_pca_samples_users_with_a_seed():
    features, _, clusters, _ = synthetic_tables()
    a = pca_projection(features, clusters, sample=100)
    b = pca_projection(features, clusters, sample=100)
    c = pca_projection(features, clusters, sample=100, seed=1)
    assert len(a.points) == 100 and a.users == len(features)
    assert a.points.equals(b.points)
    assert set(a.points["user_id"]) <= set(features["user_id"])
    assert set(a.points["user_id"]) != set(c.points["user_id"])
