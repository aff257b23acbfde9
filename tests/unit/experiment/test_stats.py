"""The statistical tests, every figure against scipy/statsmodels computed here directly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from traveltide.experiment.stats import (
    ArmStats,
    adjust_p_values,
    conversion_test,
    omnibus_test,
    srm_test,
)

WEIGHTS = {"A": 1.0, "B": 1.0, "C": 1.0}


def arm(group: str, n: int, x: int) -> ArmStats:
    return ArmStats(group, n, x, math.nan, math.nan)


class TestConversionTest:
    def test_matches_statsmodels(self):
        res = conversion_test(arm("B", 1500, 210), arm("C", 1450, 160), alpha=0.1)
        z, p = proportions_ztest([210, 160], [1500, 1450])
        low, high = confint_proportions_2indep(210, 1500, 160, 1450, method="newcomb", alpha=0.1)
        assert res.z_statistic == pytest.approx(z)
        assert res.p_value == res.p_value_z == pytest.approx(p)
        assert (res.lift_ci_low, res.lift_ci_high) == pytest.approx((low, high))
        assert res.lift_abs == pytest.approx(210 / 1500 - 160 / 1450)
        assert not res.fisher_used and math.isnan(res.p_value_fisher)

    def test_log_ratio_relative_ci(self):
        res = conversion_test(arm("B", 1500, 210), arm("C", 1450, 160), alpha=0.1)
        low, high = confint_proportions_2indep(
            210, 1500, 160, 1450, compare="ratio", method="log", alpha=0.1
        )
        assert res.lift_rel == pytest.approx(210 / 1500 / (160 / 1450) - 1)
        assert (res.lift_rel_ci_low, res.lift_rel_ci_high) == pytest.approx((low - 1, high - 1))
        # Katz's interval by hand: log ratio +- z sqrt(1/x_t - 1/n_t + 1/x_c - 1/n_c)
        se = math.sqrt(1 / 210 - 1 / 1500 + 1 / 160 - 1 / 1450)
        log_ratio = math.log(210 / 1500 / (160 / 1450))
        assert res.lift_rel_ci_high == pytest.approx(
            math.exp(log_ratio + stats.norm.ppf(0.95) * se) - 1
        )

    def test_fisher_when_expected_cell_small(self):
        res = conversion_test(arm("A", 15, 2), arm("C", 16, 7))
        fisher = stats.fisher_exact([[2, 13], [7, 9]])
        assert res.fisher_used
        assert res.p_value == res.p_value_fisher == pytest.approx(fisher.pvalue)
        assert res.p_value_z == pytest.approx(proportions_ztest([2, 7], [15, 16])[1])

    def test_zero_control_rate(self):
        res = conversion_test(arm("A", 100, 5), arm("C", 100, 0))
        assert math.isnan(res.lift_rel) and "relative lift undefined" in res.note
        assert math.isfinite(res.p_value)

    @pytest.mark.parametrize(
        ("t", "c", "needle"),
        [
            (arm("A", 0, 0), arm("C", 10, 2), "'A' has no users"),
            (arm("A", 10, 2), arm("C", 0, 0), "'C' has no users"),
            (arm("A", 10, 0), arm("C", 10, 0), "no conversions"),
            (arm("A", 10, 10), arm("C", 10, 10), "every user converted"),
        ],
    )
    def test_degenerate(self, t, c, needle):
        res = conversion_test(t, c)
        assert needle in res.error
        assert math.isnan(res.p_value) and math.isnan(res.lift_abs)


class TestSRMAndOmnibus:
    def test_srm_flags_only_below_threshold(self):
        moderate = {"A": 1000, "B": 1000, "C": 1110}
        p = stats.chisquare(list(moderate.values()), [3110 / 3] * 3).pvalue
        assert 0.001 < p < 0.05  # "significant" but not an SRM at the 0.001 bar
        res = srm_test(moderate, weights=WEIGHTS)
        assert res.p_value == pytest.approx(p) and res.flag is False
        assert srm_test({"A": 1000, "B": 1000, "C": 1200}, weights=WEIGHTS).flag is True

    def test_srm_uses_unequal_weights(self):
        counts = {"A": 500, "B": 1000, "C": 480}
        res = srm_test(counts, weights={"A": 1, "B": 2, "C": 1})
        expected = stats.chisquare([500, 1000, 480], [495, 990, 495])
        assert res.p_value == pytest.approx(expected.pvalue)
        assert res.expected == pytest.approx({"A": 495, "B": 990, "C": 495})

    def test_srm_of_a_single_arm_is_not_assessable(self):
        res = srm_test({"A": 100}, weights={"A": 1})
        assert res.assessable is False and res.flag is None and math.isnan(res.p_value)
        assert "single arm" in res.note

    def test_two_arm_omnibus_is_uncorrected_and_equals_z_squared(self):
        res = omnibus_test([arm("B", 400, 60), arm("C", 420, 45)])
        direct = stats.chi2_contingency([[60, 340], [45, 375]], correction=False)
        z, _ = proportions_ztest([60, 45], [400, 420])
        assert res.p_value == pytest.approx(direct.pvalue)
        assert res.statistic == pytest.approx(z**2)
        assert res.dof == 1


class TestAdjustPValues:
    @pytest.mark.parametrize("method", ["holm", "fdr_bh"])
    def test_nan_stays_out_of_the_family(self, method):
        adjusted, reject = adjust_p_values([0.01, math.nan, 0.04], method=method)
        _, expected, _, _ = multipletests([0.01, 0.04], method=method)
        assert math.isnan(adjusted[1]) and not reject[1]
        assert [adjusted[0], adjusted[2]] == pytest.approx(list(expected))

    @pytest.mark.parametrize("method", ["holm", "fdr_bh"])
    @pytest.mark.parametrize("seed", range(5))
    def test_equals_statsmodels(self, method, seed):
        rng = np.random.default_rng(seed)
        p = rng.uniform(0, 0.2, 7) ** rng.uniform(0.5, 3)
        p[2] = p[5]  # a tie
        adjusted, reject = adjust_p_values(list(p), method=method, alpha=0.05)
        expected_reject, expected, _, _ = multipletests(p, alpha=0.05, method=method)
        assert adjusted == pytest.approx(expected)
        assert (reject == expected_reject).all()

    def test_unknown_method(self):
        from traveltide.errors import ConfigError

        with pytest.raises(ConfigError, match="correction"):
            adjust_p_values([0.1], method="bonferroni")  # type: ignore[arg-type]
