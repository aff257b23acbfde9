"""Policy values from the random control: the estimators by hand, the models against
scikit-learn, and learned policies never judged on the outcomes they were fitted on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.linear_model import Ridge

from traveltide.experiment.ope import evaluate, one_hot, skew_corrected_ci
from traveltide.experiment.policy import (
    best_per_group,
    cross_fit,
    design_matrix,
    folds_of,
    learn_policies,
    ridge,
)
from traveltide.experiment.values import COLUMNS, evaluate_policies, true_values

PERKS = ("p0", "p1", "p2", "p3", "p4")


def logged(n: int = 2_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    received = rng.integers(0, 5, n)
    x = rng.normal(size=(n, 3))
    y = (rng.random(n) < 0.1 + 0.05 * (received == 2) + 0.05 * (x[:, 0] > 0)).astype(float)
    return received, x, y


class TestEstimators:
    def test_ipw_snipw_dr_by_hand(self):
        received, x, y = logged()
        choice = (x[:, 1] > 0).astype(int) * 2  # p2 for half the users, p0 for the others
        policy = one_hot(choice, 5)
        w = (received == choice) * 5.0
        model = np.tile(y.mean(), (len(y), 5)) + 0.01 * np.arange(5)
        ipw = evaluate("ipw", outcome=y, received=received, policy=policy, propensity=0.2)
        assert ipw.estimate == pytest.approx((w * y).mean())
        assert ipw.se == pytest.approx((w * y).std(ddof=1) / np.sqrt(len(y)))
        assert (ipw.ci_low, ipw.ci_high) == pytest.approx(
            skew_corrected_ci(w * y, 0.05, ipw.estimate)
        )
        sn = evaluate("snipw", outcome=y, received=received, policy=policy, propensity=0.2)
        assert sn.estimate == pytest.approx((w * y).sum() / w.sum())
        psi = w * (y - sn.estimate) / w.mean()
        assert sn.se == pytest.approx(psi.std(ddof=1) / np.sqrt(len(y)))
        dr = evaluate(
            "dr", outcome=y, received=received, policy=policy, propensity=0.2, model=model
        )
        rows = np.arange(len(y))
        psi = model[rows, choice] + w * (y - model[rows, received])
        assert dr.estimate == pytest.approx(psi.mean())

    def test_the_random_policy_is_the_arm_mean(self):
        received, _, y = logged()
        uniform = np.full((len(y), 5), 0.2)
        for estimator in ("ipw", "snipw"):
            value = evaluate(
                estimator, outcome=y, received=received, policy=uniform, propensity=0.2
            )
            assert value.estimate == pytest.approx(y.mean())

    def test_dr_needs_a_model(self):
        received, _, y = logged(10)
        with pytest.raises(ValueError, match="outcome model"):
            evaluate(
                "dr", outcome=y, received=received, policy=one_hot(received, 5), propensity=0.2
            )


class TestSkewCorrectedInterval:
    def test_hall_transformation_by_hand(self):
        psi = np.random.default_rng(1).lognormal(0, 1, 400)
        n, mean, se = 400, psi.mean(), psi.std(ddof=1) / 20
        gamma = stats.skew(psi)
        a, b = gamma / (3 * np.sqrt(n)), gamma / (6 * np.sqrt(n))
        z = stats.norm.ppf(0.975)

        def inverse(y):
            return (np.cbrt(1 + 3 * a * (y - b)) - 1) / a

        low, high = skew_corrected_ci(psi, 0.05, mean)
        assert (low, high) == pytest.approx((mean - se * inverse(z), mean - se * inverse(-z)))
        assert high - mean > mean - low  # right skew: a longer upper arm

    def test_symmetric_data_give_the_normal_interval(self):
        psi = np.r_[-np.arange(1.0, 101), np.arange(1.0, 101)]
        low, high = skew_corrected_ci(psi, 0.05, 0.0)
        se = psi.std(ddof=1) / np.sqrt(200)
        assert (low, high) == pytest.approx((-1.959964 * se, 1.959964 * se), rel=1e-6)

    def test_a_skewness_of_rounding_noise_gives_the_normal_interval(self):
        """25 users of a symmetric psi around 102.48: the skewness is 1e-15, not 0, and the
        interval must still be the normal one (a = 1e-16 once cancelled it to a point)."""
        x = np.linspace(1, 700, 12)
        psi = np.r_[-x, x, 0.0] / 11.3 + 102.48206328366823
        gamma = float(((psi - psi.mean()) ** 3).mean() / psi.std() ** 3)
        assert gamma != 0 and abs(gamma) < 1e-14
        se = psi.std(ddof=1) / np.sqrt(len(psi))
        z = stats.norm.ppf(0.975)
        low, high = skew_corrected_ci(psi, 0.05, psi.mean())
        assert (low, high) == pytest.approx((psi.mean() - z * se, psi.mean() + z * se), rel=1e-12)

    def test_coverage_on_a_skewed_mean(self):
        """Few non-zero, lognormal values: the corrected interval covers the mean about 95%
        of the time, the symmetric one less (its misses all on one side)."""
        rng = np.random.default_rng(0)
        mu = 0.02 * np.exp(6 + 0.32)
        hits, naive = [], []
        for _ in range(1_500):
            x = np.where(rng.random(2_000) < 0.02, rng.lognormal(6, 0.8, 2_000), 0.0)
            low, high = skew_corrected_ci(x, 0.05, x.mean())
            se = x.std(ddof=1) / np.sqrt(2_000)
            hits.append(low <= mu <= high)
            naive.append(abs(x.mean() - mu) <= 1.96 * se)
        assert 0.935 <= np.mean(hits) <= 0.965
        assert np.mean(naive) < np.mean(hits)


class TestModels:
    def test_ridge_matches_scikit_learn(self):
        received, x, y = logged()
        coefs = ridge(x, y, 10.0)
        fit = Ridge(alpha=10.0).fit(x, y)
        assert coefs[0] == pytest.approx(fit.intercept_)
        assert coefs[1:] == pytest.approx(fit.coef_)
        assert ridge(x[:0], y[:0], 1.0) == pytest.approx(np.zeros(4))

    def test_best_per_group_by_hand(self):
        received, _, y = logged()
        group = np.where(np.arange(len(y)) % 3 == 0, "g1", "g2")
        best = best_per_group(group, received, y, 5)
        means = pd.DataFrame({"g": group, "a": received, "y": y}).groupby(["g", "a"])["y"].mean()
        assert best["g1"] == int(means["g1"].idxmax()) and best["g2"] == int(means["g2"].idxmax())
        assert best[None] == int(pd.Series(y).groupby(received).mean().idxmax())
        unseen = best_per_group(np.array(["g"]), np.array([3]), np.array([1.0]), 5)
        assert unseen == {None: 3, "g": 3}

    def test_design_matrix(self):
        features = pd.DataFrame({"spend": [0.0, 10, 100, np.nan], "age": [20.0, 30, 40, 50]})
        x = design_matrix(features, ("spend", "age"))
        logged_spend = np.log1p([0.0, 10, 100])
        z = (logged_spend - logged_spend.mean()) / logged_spend.std()
        assert x[:3, 0] == pytest.approx(z) and x[3, 0] == 0.0
        assert x[:, 1].mean() == pytest.approx(0.0) and x[:, 1].std() == pytest.approx(1.0)

    def test_folds_are_seeded_and_balanced(self):
        ids = pd.Series(np.arange(10_000))
        fold = folds_of(ids, folds=5, seed=1)
        assert (fold == folds_of(ids, folds=5, seed=1)).all()
        assert not (fold == folds_of(ids, folds=5, seed=2)).all()
        assert np.bincount(fold) == pytest.approx([2000] * 5, abs=150)


class TestNeverJudgedOnItsOwnData:
    def test_cross_fitted_model_ignores_the_users_own_outcome(self):
        received, x, y = logged()
        fold = folds_of(pd.Series(np.arange(len(y))), folds=5, seed=0)
        train = np.ones(len(y), bool)
        before = cross_fit(
            fold=fold, train=train, received=received, outcomes={"y": y}, x=x, k=5, penalty=1.0
        )
        changed = y.copy()
        inside = fold == 2
        changed[inside] = 1 - changed[inside]
        after = cross_fit(
            fold=fold,
            train=train,
            received=received,
            outcomes={"y": changed},
            x=x,
            k=5,
            penalty=1.0,
        )
        assert after["y"][inside] == pytest.approx(before["y"][inside])
        assert not np.allclose(after["y"][~inside], before["y"][~inside])

    def test_learned_policies_ignore_the_outcomes_they_are_judged_on(self):
        received, x, y = logged()
        learn = np.arange(len(y)) % 2 == 0
        groups = {"best_perk_per_segment": np.where(x[:, 2] > 0, "s1", "s2")}
        kwargs = dict(learn=learn, received=received, x=x, groups=groups, k=5, penalty=1.0)
        before = learn_policies(outcomes={"net_value": y}, target="net_value", **kwargs)
        after = learn_policies(
            outcomes={"net_value": np.where(learn, y, 1 - y)}, target="net_value", **kwargs
        )
        for name in ("uplift_model", "best_perk_per_segment"):
            assert (before.policies[name] == after.policies[name]).all()


def experiment(n: int = 3_000, control_perk: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    group = np.array(["A", "B", "C"])[rng.integers(0, 3, n)]
    random_perk = np.array(PERKS, dtype=object)[rng.integers(0, 5, n)]
    rules = np.array(PERKS, dtype=object)[rng.integers(0, 2, n)]
    ml = np.array(PERKS, dtype=object)[rng.integers(1, 4, n)]
    perk = np.where(group == "A", rules, np.where(group == "B", ml, random_perk))
    if not control_perk:
        perk = np.where(group == "C", "none", perk)
    conversion = (rng.random(n) < 0.1).astype(float)
    revenue = conversion * rng.lognormal(5.7, 0.3, n)
    return pd.DataFrame(
        {
            "user_id": np.arange(n),
            "group": group,
            "perk": perk,
            "segment": rng.choice(["s1", "s2"], n),
            "cluster": rng.integers(0, 3, n),
            "perk_rules": rules,
            "perk_ml": ml,
            "conversion": conversion,
            "revenue": revenue,
            "net_value": revenue - 20 * conversion,
            "x1": rng.normal(size=n),
        }
    )


class TestEvaluatePolicies:
    def test_every_policy_estimator_and_metric(self):
        users = experiment()
        x = design_matrix(users, ("x1",))
        out = evaluate_policies(users, x, perks=PERKS, seed=1)
        table = out.table
        assert list(table.columns) == list(COLUMNS)
        assert len(table) == 11 * 3 * 3
        assert not table.duplicated(["policy", "estimator", "metric"]).any()
        c = users[users["group"] == "C"]
        rules = table.set_index(["policy", "estimator", "metric"]).loc[("rules", "ipw", "revenue")]
        w = (c["perk"] == c["perk_rules"]) * 5.0
        assert rules["estimate"] == pytest.approx((w * c["revenue"]).mean())
        assert rules["n"] == len(c)
        random = table.set_index(["policy", "estimator", "metric"]).loc[
            ("random_perk", "ipw", "net_value")
        ]
        assert random["estimate"] == pytest.approx(c["net_value"].mean())
        learned = table[table["policy"] == "uplift_model"]["n"].iloc[0]
        assert 0.4 * len(c) < learned < 0.6 * len(c)  # judged on the half it never saw

    def test_true_values_by_hand(self):
        users = experiment(200)
        out = evaluate_policies(users, design_matrix(users, ("x1",)), perks=PERKS, seed=1)
        truth = {
            m: np.tile(np.arange(6.0), (200, 1)) for m in ("conversion", "revenue", "net_value")
        }
        values = true_values(out, truth)
        assert values["all_p3", "revenue"] == pytest.approx(3.0)
        assert values["random_perk", "conversion"] == pytest.approx(2.0)
        rules = users["perk_rules"].map({p: i for i, p in enumerate(PERKS)})
        assert values["rules", "net_value"] == pytest.approx(rules.mean())

    def test_a_control_without_random_perks_values_nothing(self):
        users = experiment(control_perk=False)
        out = evaluate_policies(users, design_matrix(users, ("x1",)), perks=PERKS)
        assert out.table.empty and "no_perk" in out.note
