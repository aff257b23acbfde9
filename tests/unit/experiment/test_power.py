"""The plan: power and MDE of every comparison, against statsmodels' NormalIndPower."""

from __future__ import annotations

import json

import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from traveltide.errors import ConfigError
from traveltide.experiment.analysis import comparison_pairs
from traveltide.experiment.power import power_analysis


class TestPowerAnalysis:
    def test_matches_normal_ind_power(self):
        plan = power_analysis(
            {"A": 1200, "B": 900, "C": 1000}, control="C", baseline_rate=0.1, mde=0.03
        )
        h = proportion_effectsize(0.13, 0.10)
        for r in plan.comparisons:
            expected = NormalIndPower().power(
                h, nobs1=r.n_treatment, alpha=0.05, ratio=1000 / r.n_treatment
            )
            assert r.power == pytest.approx(expected)
            assert r.effect_size == pytest.approx(h)

    def test_mde_and_required_n_round_trip(self):
        plan = power_analysis(
            {"A": 2000, "C": 2500}, baseline_rate=0.1, mde=0.2, mde_kind="relative", power=0.8
        )
        r = plan.comparisons[0]
        engine = NormalIndPower()
        ratio = 2500 / 2000
        h_mde = proportion_effectsize(0.1 + r.mde_abs, 0.1)
        assert engine.power(h_mde, nobs1=2000, alpha=0.05, ratio=ratio) == pytest.approx(
            0.8, abs=1e-4
        )
        h = proportion_effectsize(0.12, 0.1)
        assert engine.power(h, r.n_required_treatment, 0.05, ratio=ratio) >= 0.8
        assert engine.power(h, r.n_required_treatment - 1, 0.05, ratio=ratio) < 0.8
        assert r.mde_rel == pytest.approx(r.mde_abs / 0.1)

    def test_bonferroni_plan(self):
        plan = power_analysis(
            dict(A=1000, B=1000, C=1000), baseline_rate=0.1, mde=0.03, correction="bonferroni"
        )
        assert plan.alpha_per_comparison == pytest.approx(0.025)
        h = proportion_effectsize(0.13, 0.10)
        assert plan.comparisons[0].power == pytest.approx(
            NormalIndPower().power(h, 1000, 0.025, ratio=1.0)
        )

    def test_pairs_include_the_direct_comparison(self):
        pairs = comparison_pairs(["A", "B", "C"], control="C")
        assert pairs == [("A", "C"), ("B", "C"), ("B", "A")]
        plan = power_analysis(
            {"A": 1200, "B": 900, "C": 1000},
            baseline_rate=0.11,
            mde=0.02,
            correction="bonferroni",
            pairs=pairs,
        )
        h = proportion_effectsize(0.15, 0.13)  # over A's planned rate, 11% + 2 points
        assert plan.alpha_per_comparison == pytest.approx(0.05 / 3)
        direct = plan.comparisons[2]
        assert (direct.treatment, direct.control) == ("B", "A")
        assert direct.power == pytest.approx(
            NormalIndPower().power(h, nobs1=900, alpha=0.05 / 3, ratio=1200 / 900)
        )
        assert plan.to_dict()["plan_B_vs_A_power"] == pytest.approx(direct.power)

    def test_a_relative_mde_lifts_a_expected_rate_too(self):
        plan = power_analysis(
            {"A": 1000, "B": 1000, "C": 1000},
            baseline_rate=0.10,
            mde=0.2,
            mde_kind="relative",
            pairs=[("B", "A")],
        )
        r = plan.comparisons[0]
        assert (r.baseline_rate, r.target_rate) == pytest.approx((0.12, 0.144))

    def test_triggered_sizes_and_notes(self):
        plan = power_analysis(
            {"A": 1000, "B": 1000, "C": 1000},
            baseline_rate=0.10,
            mde=0.02,
            pairs=comparison_pairs(["A", "B", "C"]),
            pair_sizes={("B", "A"): (230, 240)},
        )
        metrics = plan.to_dict()
        assert metrics["plan_B_vs_A_triggered_n_treatment"] == 230
        h = proportion_effectsize(0.14, 0.12)
        assert metrics["plan_B_vs_A_triggered_power"] == pytest.approx(
            NormalIndPower().power(h, nobs1=230, alpha=0.05, ratio=240 / 230)
        )
        assert all(isinstance(v, int | float) or v is None for v in metrics.values())
        assert plan.notes() == {}

    def test_unknown_arm_in_pairs(self):
        plan = power_analysis({"A": 10, "C": 10}, baseline_rate=0.1, mde=0.02, pairs=[("B", "A")])
        assert "'B'" in plan.error and plan.comparisons == ()

    def test_edge_cases_do_not_raise(self):
        missing = power_analysis({"A": 10, "B": 10}, baseline_rate=0.1, mde=0.02)
        assert "'C'" in missing.error and missing.comparisons == ()
        empty = power_analysis({"A": 0, "C": 10}, baseline_rate=0.1, mde=0.02)
        assert "'A' has no users" in empty.comparisons[0].error
        json.dumps(empty.to_dict(), allow_nan=False)
        assert empty.to_dict()["plan_A_vs_C_power"] is None
        assert "has no users" in empty.notes()["plan_A_vs_C_error"]

    @pytest.mark.parametrize(
        ("kwargs", "needle"),
        [
            ({"baseline_rate": 0.0, "mde": 0.1}, "baseline_rate"),
            ({"baseline_rate": 0.1, "mde": -0.1}, "mde"),
            ({"baseline_rate": 0.9, "mde": 0.2}, "mde"),
            ({"baseline_rate": 0.1, "mde": 0.1, "alpha": 0.0}, "alpha"),
            ({"baseline_rate": 0.1, "mde": 0.1, "mde_kind": "ratio"}, "mde_kind"),
        ],
    )
    def test_bad_params(self, kwargs, needle):
        with pytest.raises(ConfigError, match=needle):
            power_analysis({"A": 10, "C": 10}, **kwargs)

    def test_bad_sizes(self):
        with pytest.raises(ConfigError, match=r"n_per_arm\.A"):
            power_analysis({"A": -1, "C": 10}, baseline_rate=0.1, mde=0.02)
