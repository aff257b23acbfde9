"""The Bayesian view of a comparison: chance to beat the baseline and expected loss.

The model is GrowthBook's effect-based engine (gbstats ``EffectBayesianABTest``): the
difference of means is normal with the frequentist estimate and standard error as its
likelihood; with the default flat (improper) prior the posterior is N(estimate, se^2), with a
proper N(0, prior_sd^2) prior it shrinks towards 0. From the posterior of the effect d:

- chance to beat = P(d > 0);
- expected loss of choosing the treatment = E[max(-d, 0)], of keeping the baseline =
  E[max(d, 0)] (gbstats ``get_risk``: the chance of being wrong times the mean shortfall).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import special

from traveltide.experiment.results import no_result


@dataclass(frozen=True)
class BayesResult:
    """Posterior of a treatment-minus-baseline effect, in the metric's unit per user."""

    posterior_mean: float
    posterior_sd: float
    chance_to_beat: float
    expected_loss_treatment: float  # choosing the treatment when the baseline is better
    expected_loss_control: float  # keeping the baseline when the treatment is better
    error: str | None = None


def bayes_effect(estimate: float, se: float, *, prior_sd: float | None = None) -> BayesResult:
    """The posterior of an effect from its estimate and standard error (normal model).

    With a proper prior N(0, prior_sd^2): precision 1/se^2 + 1/prior_sd^2, mean
    (estimate / se^2) / precision (gbstats, prior mean 0). Expected losses in closed form:
    E[max(d, 0)] = m Phi(m/s) + s phi(m/s), E[max(-d, 0)] = -m Phi(-m/s) + s phi(m/s).
    """
    if not (math.isfinite(estimate) and math.isfinite(se)) or se <= 0:
        return no_result(BayesResult, error="no estimate with a positive standard error")
    precision = 1 / se**2 + (1 / prior_sd**2 if prior_sd else 0.0)
    mean = estimate / se**2 / precision
    sd = math.sqrt(1 / precision)
    ratio = mean / sd
    density = math.exp(-(ratio**2) / 2) / math.sqrt(2 * math.pi)
    return BayesResult(
        posterior_mean=mean,
        posterior_sd=sd,
        chance_to_beat=float(special.ndtr(ratio)),
        expected_loss_treatment=float(-mean * special.ndtr(-ratio) + sd * density),
        expected_loss_control=float(mean * special.ndtr(ratio) + sd * density),
    )
