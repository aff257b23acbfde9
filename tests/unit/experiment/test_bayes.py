"""The Bayesian view (GrowthBook's effect model): chance to beat and expected loss, against
scipy's truncated normal and numerical integration on the same posterior."""

from __future__ import annotations

import math

import pytest
from scipy import integrate, stats

from traveltide.experiment.bayes import bayes_effect


@pytest.mark.parametrize(("estimate", "se"), [(2.0, 1.5), (-0.4, 0.3), (0.0, 2.0), (5.0, 0.5)])
def test_flat_prior_matches_scipy(estimate, se):
    res = bayes_effect(estimate, se)
    post = stats.norm(estimate, se)
    assert (res.posterior_mean, res.posterior_sd) == pytest.approx((estimate, se))
    assert res.chance_to_beat == pytest.approx(post.sf(0.0))
    # gbstats get_risk: P(d > 0) E[d | d > 0] and -P(d < 0) E[d | d < 0]
    up = stats.truncnorm((0 - estimate) / se, math.inf, loc=estimate, scale=se).mean()
    down = stats.truncnorm(-math.inf, (0 - estimate) / se, loc=estimate, scale=se).mean()
    assert res.expected_loss_control == pytest.approx(post.sf(0) * up)
    assert res.expected_loss_treatment == pytest.approx(-post.cdf(0) * down)
    loss, _ = integrate.quad(lambda d: max(-d, 0.0) * post.pdf(d), -math.inf, math.inf)
    assert res.expected_loss_treatment == pytest.approx(loss, abs=1e-7)


def test_proper_prior_shrinks_towards_zero():
    res = bayes_effect(2.0, 1.0, prior_sd=1.0)
    # precision 1 + 1, mean (2 / 1) / 2
    assert (res.posterior_mean, res.posterior_sd) == pytest.approx((1.0, math.sqrt(0.5)))
    assert res.chance_to_beat < bayes_effect(2.0, 1.0).chance_to_beat


def test_losses_are_symmetric_and_differ_by_the_mean():
    a, b = bayes_effect(1.2, 0.8), bayes_effect(-1.2, 0.8)
    assert a.expected_loss_treatment == pytest.approx(b.expected_loss_control)
    # E[max(d, 0)] - E[max(-d, 0)] = E[d]
    assert a.expected_loss_control - a.expected_loss_treatment == pytest.approx(1.2)


def test_no_estimate():
    assert bayes_effect(float("nan"), 1.0).error
    assert math.isnan(bayes_effect(1.0, 0.0).chance_to_beat)
