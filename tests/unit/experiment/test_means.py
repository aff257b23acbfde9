"""Per-user metric tests: Welch and Mann-Whitney, the delta-method ratio, Lin's adjustment;
every figure against scipy or statsmodels on the same numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from traveltide.experiment.means import adjusted_test, mean_test, ratio_estimate, ratio_test


def revenue(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    return np.where(rng.random(n) < rate, rng.lognormal(5.7, 0.4, n), 0.0)


class TestMeanTest:
    @pytest.mark.parametrize("alpha", [0.05, 0.1])
    def test_matches_scipy(self, alpha):
        rng = np.random.default_rng(1)
        t, c = revenue(rng, 800, 0.15), revenue(rng, 700, 0.12)
        res = mean_test(t, c, alpha=alpha)
        welch = stats.ttest_ind(t, c, equal_var=False)
        ci = welch.confidence_interval(confidence_level=1 - alpha)
        mw = stats.mannwhitneyu(t, c, alternative="two-sided")
        assert res.welch_t == pytest.approx(welch.statistic)
        assert res.welch_df == pytest.approx(welch.df)
        assert res.welch_p_value == pytest.approx(welch.pvalue)
        assert (res.diff_ci_low, res.diff_ci_high) == pytest.approx((ci.low, ci.high))
        assert (res.mw_u, res.mw_p_value) == pytest.approx((mw.statistic, mw.pvalue))
        assert res.diff == pytest.approx(t.mean() - c.mean())

    def test_without_the_rank_test(self):
        res = mean_test(np.array([1.0, 2, 3]), np.array([2.0, 4, 5]), rank_test=False)
        assert math.isnan(res.mw_p_value) and math.isfinite(res.welch_p_value)

    def test_edge_cases(self):
        assert "zero variance" in mean_test(np.zeros(50), np.zeros(40)).error
        same = mean_test(np.full(30, 5.0), np.full(30, 3.0))
        assert "Welch t undefined" in same.error and math.isfinite(same.mw_p_value)
        assert "fewer than 2" in mean_test(np.array([1.0]), np.array([1.0, 2])).error


class TestRatio:
    def test_delta_method_by_hand(self):
        rng = np.random.default_rng(2)
        x = (rng.random(500) < 0.2).astype(float)
        y = np.where(x > 0, rng.lognormal(5.7, 0.4, 500), 0.0)
        ratio, var = ratio_estimate(y, x)
        mx, my = x.mean(), y.mean()
        s = np.cov(y, x, ddof=1)
        expected = (s[0, 0] / mx**2 - 2 * my * s[0, 1] / mx**3 + my**2 * s[1, 1] / mx**4) / 500
        assert ratio == pytest.approx(y.sum() / x.sum())
        assert var == pytest.approx(expected)

    def test_revenue_per_converter_is_the_converters_mean(self):
        """With a 0/1 denominator the ratio is the converters' mean revenue, and its
        delta-method variance that mean's variance, s^2 / n_converters, to O(1/n)."""
        rng = np.random.default_rng(3)
        x = (rng.random(20_000) < 0.15).astype(float)
        y = np.where(x > 0, rng.lognormal(5.7, 0.4, 20_000), 0.0)
        _, var = ratio_estimate(y, x)
        paid = y[x > 0]
        assert var == pytest.approx(paid.var(ddof=1) / len(paid), rel=0.01)

    def test_difference_and_z_test(self):
        rng = np.random.default_rng(4)
        xt, xc = (rng.random(900) < 0.2).astype(float), (rng.random(800) < 0.15).astype(float)
        yt = np.where(xt > 0, rng.lognormal(5.8, 0.4, 900), 0.0)
        yc = np.where(xc > 0, rng.lognormal(5.7, 0.4, 800), 0.0)
        res = ratio_test(yt, xt, yc, xc, alpha=0.05)
        (rt, vt), (rc, vc) = ratio_estimate(yt, xt), ratio_estimate(yc, xc)
        z = (rt - rc) / math.sqrt(vt + vc)
        assert res.diff == pytest.approx(rt - rc)
        assert res.p_value == pytest.approx(2 * stats.norm.sf(abs(z)))
        assert res.ci_high - res.diff == pytest.approx(stats.norm.ppf(0.975) * math.sqrt(vt + vc))

    def test_no_denominator(self):
        res = ratio_test(np.zeros(5), np.zeros(5), np.ones(5), np.ones(5))
        assert "no denominator" in res.error and math.isnan(res.p_value)


class TestAdjusted:
    def test_matches_statsmodels_hc2(self):
        rng = np.random.default_rng(5)
        nt, nc = 800, 700
        xt, xc = rng.normal(size=(nt, 2)), rng.normal(size=(nc, 2))
        yt = 1.3 + xt @ [1.0, 0.5] + rng.normal(size=nt)
        yc = 1.0 + xc @ [0.8, 0.5] + rng.normal(size=nc)
        res = adjusted_test(yt, yc, xt, xc, alpha=0.1)
        x = np.vstack([xt, xc])
        x -= x.mean(axis=0)
        treat = np.r_[np.ones(nt), np.zeros(nc)]
        design = sm.add_constant(np.column_stack([treat, x, treat[:, None] * x]))
        fit = sm.OLS(np.r_[yt, yc], design).fit(cov_type="HC2")
        assert res.diff == pytest.approx(fit.params[1])
        assert res.se == pytest.approx(fit.bse[1])
        assert res.p_value == pytest.approx(fit.pvalues[1])
        assert (res.ci_low, res.ci_high) == pytest.approx(tuple(fit.conf_int(alpha=0.1)[1]))
        raw = yt.var(ddof=1) / nt + yc.var(ddof=1) / nc
        assert res.variance_reduction == pytest.approx(1 - fit.bse[1] ** 2 / raw)
        assert res.variance_reduction > 0.3  # the covariates explain much of y

    def test_useless_covariate_changes_little(self):
        rng = np.random.default_rng(6)
        yt, yc = rng.normal(1, 1, 1000), rng.normal(1, 1, 1000)
        res = adjusted_test(yt, yc, rng.normal(size=(1000, 1)), rng.normal(size=(1000, 1)))
        welch = stats.ttest_ind(yt, yc, equal_var=False)
        assert abs(res.variance_reduction) < 0.01
        assert res.p_value == pytest.approx(welch.pvalue, abs=0.02)

    def test_constant_covariates_are_dropped_and_edge_cases(self):
        rng = np.random.default_rng(7)
        yt, yc = rng.normal(size=50), rng.normal(size=50)
        res = adjusted_test(yt, yc, np.ones((50, 1)), np.ones((50, 1)))
        assert res.covariates == 0 and res.variance_reduction == pytest.approx(0.0, abs=1e-12)
        few = adjusted_test(yt[:19], yc[:30], yt[:19, None], yc[:30, None])
        assert "too few users" in few.error and "fewer than 20" in few.error
        assert (
            "constant"
            in adjusted_test(np.ones(20), np.ones(20), yt[:20, None], yc[:20, None]).error
        )
