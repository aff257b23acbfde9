"""Calibration of the A/B engine by simulation: false-positive rates, CI coverage and power.

Simulated experiments through the real test functions. The counts-based checks draw
thousands of experiments vectorised; the end-to-end A/A test reruns assignment, simulation
from latent truth and the whole analysis 1,000 times on a small cohort. Bounds are binomial:
at alpha 0.05 over 1,000 simulations a calibrated test rejects 3.5-6.5% of true nulls
(alpha +- 2.2 binomial standard errors). The policy-value coverage of 500 replications is
`make calibrate`'s; tests/calibration/test_policy_coverage.py runs a smaller one.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from traveltide.config import ABTestConfig, read_params
from traveltide.experiment.calibration import aa_replication, aa_summary, toy_world
from traveltide.experiment.means import mean_test
from traveltide.experiment.power import power_analysis
from traveltide.experiment.stats import ArmStats, conversion_test

ROOT = Path(__file__).resolve().parents[2]

ALPHA = 0.05
BAND = (0.035, 0.065)  # 1,000+ simulations at alpha 0.05


def arm(group: str, n: int, x: int) -> ArmStats:
    return ArmStats(group, n, x, math.nan, math.nan)


def within(rate: float, band: tuple[float, float] = BAND) -> bool:
    return band[0] <= rate <= band[1]


@pytest.fixture(scope="module")
def aa() -> pd.DataFrame:
    """1,000 A/A experiments end to end: hashed assignment, outcomes from latent truth, the
    analysis with the params' covariates (regression adjustment on) and net value."""
    config = ABTestConfig.from_params(read_params(ROOT / "params.yaml"))
    assert config.adjust_for, "the A/A check is meant to run with the adjustment on"
    world = toy_world(900, seed=1)
    return pd.DataFrame([aa_replication(world, config, seed) for seed in range(1_000)])


class TestAA:
    def test_the_decision_metric_holds_alpha(self, aa):
        """Regression-adjusted net value, the verdict's test: each comparison, and pooled."""
        columns = [c for c in aa.columns if c.endswith(":net_value_adjusted:p")]
        assert len(columns) == 3
        rates = {c: float((aa[c] < ALPHA).mean()) for c in columns}
        assert all(within(r) for r in rates.values()), rates
        assert within(float(np.mean(list(rates.values()))), (0.04, 0.06))

    def test_every_metric_and_interval(self, aa):
        summary = aa_summary(aa.to_dict("records"), ALPHA)
        assert len(summary) == 3 * 8
        # a single cell over 1,000 runs: 3.5 standard errors either side
        assert summary["false_positive_rate"].between(0.026, 0.074).all(), summary
        assert summary["coverage"].between(0.926, 0.974).all(), summary
        for _, part in summary.groupby("metric"):
            assert within(part["false_positive_rate"].mean()), part

    def test_the_verdict_rarely_claims_a_difference(self, aa):
        """Holm over three comparisons keeps the family-wise error at or below alpha."""
        assert aa["verdict_claims"].mean() <= BAND[1]

    def test_the_band_rejects_a_miscalibrated_test(self, aa):
        """The same p-values read one-sided (halved) reject about twice as often: out of
        the band, so a miscalibrated engine fails this test."""
        column = next(c for c in aa.columns if c.endswith(":net_value_adjusted:p"))
        assert not within(float((aa[column] / 2 < ALPHA).mean()))


def test_conversion_false_positive_rate():
    rng = np.random.default_rng(2024)
    n, p, sims = 2_000, 0.1, 4_000
    xt, xc = rng.binomial(n, p, sims), rng.binomial(n, p, sims)
    pvals = np.array(
        [
            conversion_test(arm("A", n, a), arm("C", n, b)).p_value
            for a, b in zip(xt, xc, strict=True)
        ]
    )
    assert np.isfinite(pvals).all()
    assert within((pvals < ALPHA).mean(), (0.04, 0.06))


def test_revenue_false_positive_rate():
    rng = np.random.default_rng(7)
    n, sims = 400, 1_500
    conv = rng.random((sims, 2, n)) < 0.15
    revenue = np.where(conv, rng.lognormal(5.7, 0.3, (sims, 2, n)), 0.0)
    pvals = np.array([mean_test(r[0], r[1], rank_test=False).welch_p_value for r in revenue])
    assert within((pvals < ALPHA).mean())


def test_relative_lift_coverage():
    """The log-ratio interval of p_t / p_c - 1 covers the true relative lift."""
    rng = np.random.default_rng(8)
    n, pc, pt = 5_000, 0.10, 0.12
    xt, xc = rng.binomial(n, pt, 2_000), rng.binomial(n, pc, 2_000)
    hits = [
        (r := conversion_test(arm("T", n, a), arm("C", n, b))).lift_rel_ci_low
        <= pt / pc - 1
        <= r.lift_rel_ci_high
        for a, b in zip(xt, xc, strict=True)
    ]
    assert within(1 - np.mean(hits))


def test_simulated_power_matches_analytic():
    rng = np.random.default_rng(99)
    n, p0, p1, sims = 2_000, 0.10, 0.125, 2_000
    plan = power_analysis({"B": n, "C": n}, baseline_rate=p0, mde=p1 - p0)
    xt, xc = rng.binomial(n, p1, sims), rng.binomial(n, p0, sims)
    pvals = np.array(
        [
            conversion_test(arm("B", n, a), arm("C", n, b)).p_value
            for a, b in zip(xt, xc, strict=True)
        ]
    )
    analytic = NormalIndPower().power(proportion_effectsize(p1, p0), n, 0.05)
    assert plan.comparisons[0].power == pytest.approx(analytic)
    assert abs((pvals < 0.05).mean() - analytic) <= 0.05
