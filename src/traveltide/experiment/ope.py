"""Off-policy evaluation: the value of any perk policy from the random-perk control arm.

Arm C gives each user one of K perks uniformly at random (propensity e = 1/K, known by
design), so C identifies the mean outcome of any rule that picks a perk per user. For user i
of C with perk A_i, outcome Y_i and a policy giving perk k with probability pi_ik:

- IPW (Horvitz & Thompson 1952): psi_i = w_i Y_i, w_i = pi_{i,A_i} / e;
- self-normalised IPW (Hajek; Swaminathan & Joachims 2015): V = sum w Y / sum w, with the
  influence function psi_i = w_i (Y_i - V) / mean(w) + V;
- doubly robust (Dudik, Langford & Li 2011): psi_i = sum_k pi_ik m_ik + w_i (Y_i - m_{i,A_i}),
  with m a cross-fitted outcome model (never fitted on user i's fold).

Each estimate is mean(psi) with standard error sd(psi) / sqrt(n), and a CI that allows for
the skewness of psi (``skew_corrected_ci``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special

from traveltide.experiment.results import NAN

Estimator = Literal["ipw", "snipw", "dr"]
ESTIMATORS: tuple[Estimator, ...] = ("ipw", "snipw", "dr")


@dataclass(frozen=True)
class PolicyValue:
    """One estimate of a policy's mean outcome per user, with its normal CI."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n: int


@functools.cache
def _z(alpha: float) -> float:
    return float(special.ndtri(1 - alpha / 2))


def skew_corrected_ci(psi: np.ndarray, alpha: float, center: float) -> tuple[float, float]:
    """A confidence interval for the mean of ``psi`` that allows for its skewness.

    A policy's value rests on the few users who got its perk and converted, so psi is very
    right-skewed and the estimate and its standard error rise and fall together: a normal
    interval then misses mostly on one side and covers less than it says. Hall's
    (1992) transformation of the studentized mean T, g(T) = T + a T^2 + a^2 T^3 / 3 + b with
    a = gamma / (3 sqrt(n)), b = gamma / (6 sqrt(n)) and gamma the sample skewness, is
    monotone and close to N(0, 1); the interval inverts it:
    [center - se g^-1(z), center - se g^-1(-z)], g^-1(y) = (cbrt(1 + 3a(y - b)) - 1) / a,
    which is y - b at a = 0 (a symmetric psi: the normal interval).
    """
    n = len(psi)
    se = float(psi.std(ddof=1) / math.sqrt(n))
    sd0 = float(psi.std())
    gamma = float(((psi - psi.mean()) ** 3).mean() / sd0**3) if sd0 > 0 else 0.0
    a, b = gamma / (3 * math.sqrt(n)), gamma / (6 * math.sqrt(n))
    z = _z(alpha)

    def inverse(y: float) -> float:
        # (c - 1) / a with c = cbrt(1 + 3a(y - b)), written as 3(y - b) / (c^2 + c + 1): the
        # same number, without the cancellation that turns a skewness of 1e-15 into noise
        c = float(np.cbrt(1 + 3 * a * (y - b)))
        return 3 * (y - b) / (c * c + c + 1)

    return center - se * inverse(z), center - se * inverse(-z)


def _summary(psi: np.ndarray, alpha: float, center: float | None = None) -> PolicyValue:
    n = len(psi)
    if n < 3:
        return PolicyValue(NAN, NAN, NAN, NAN, n)
    estimate = float(psi.mean()) if center is None else center
    se = float(psi.std(ddof=1) / math.sqrt(n))
    low, high = skew_corrected_ci(psi, alpha, estimate)
    return PolicyValue(estimate, se, low, high, n)


def evaluate(
    estimator: Estimator,
    *,
    outcome: np.ndarray,
    received: np.ndarray,
    policy: np.ndarray,
    propensity: float,
    model: np.ndarray | None = None,
    alpha: float = 0.05,
) -> PolicyValue:
    """The value of ``policy`` (users x K probabilities) from logged ``outcome`` of users who
    received perk index ``received`` with ``propensity``; ``model`` (users x K) is the
    cross-fitted outcome model the doubly robust estimator needs."""
    rows = np.arange(len(outcome))
    w = policy[rows, received] / propensity
    if estimator == "ipw":
        return _summary(w * outcome, alpha)
    if estimator == "snipw":
        if len(outcome) == 0 or w.sum() == 0:
            return _summary(np.empty(0), alpha)
        value = float((w * outcome).sum() / w.sum())
        return _summary(w * (outcome - value) / w.mean() + value, alpha, center=value)
    if model is None:
        raise ValueError("the doubly robust estimator needs an outcome model")
    direct = (policy * model).sum(axis=1)
    return _summary(direct + w * (outcome - model[rows, received]), alpha)


def one_hot(choice: np.ndarray, k: int) -> np.ndarray:
    """A deterministic policy (perk index per user) as users x K probabilities."""
    out = np.zeros((len(choice), k))
    out[np.arange(len(choice)), choice] = 1.0
    return out
