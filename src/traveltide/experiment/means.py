"""Tests of per-user metrics (revenue, net value): differences of means, ratios, adjustment.

- ``mean_test``: Welch's t with its CI and Mann-Whitney U (scipy);
- ``ratio_test``: a ratio of two per-user means (revenue per converter, cancellations per
  booking) by the delta method;
- ``adjusted_test``: regression adjustment on pre-period covariates (Lin 2013; CUPED, Deng et
  al. 2013, is its one-covariate special case), with HC2 standard errors.

Edge cases (too few users, zero variance) return the result with NaN figures and an ``error``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from traveltide.experiment.results import NAN, no_result

# Lin's adjustment fits k + 1 coefficients per arm; with fewer than 10 users per coefficient
# its HC2 standard errors are unreliable (small samples make them too small), so the
# comparison falls back to the unadjusted test.
MIN_USERS_PER_PARAMETER = 10


@dataclass(frozen=True)
class MeanTest:
    """Treatment vs baseline on a per-user metric (zeros included): Welch t, Mann-Whitney U."""

    mean_treatment: float
    mean_control: float
    diff: float
    diff_ci_low: float
    diff_ci_high: float
    welch_t: float
    welch_df: float
    welch_p_value: float
    mw_u: float
    mw_p_value: float
    error: str | None = None


@dataclass(frozen=True)
class RatioTest:
    """Treatment vs baseline on a ratio of per-user means (sum y / sum x), delta method."""

    ratio_treatment: float
    ratio_control: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    error: str | None = None


@dataclass(frozen=True)
class AdjustedTest:
    """The difference of means adjusted for pre-period covariates (Lin 2013), HC2 errors.

    ``variance_reduction`` = 1 - Var(adjusted) / Var(unadjusted difference of means).
    """

    diff: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    variance_reduction: float
    covariates: int
    error: str | None = None


def _z(alpha: float) -> float:
    """The two-sided normal quantile z_{1 - alpha/2}."""
    return float(special.ndtri(1 - alpha / 2))


def normal_p(z: float) -> float:
    """Two-sided normal p-value of a z statistic."""
    return float(2 * special.ndtr(-abs(z)))


def mean_test(
    treatment: np.ndarray, control: np.ndarray, *, alpha: float = 0.05, rank_test: bool = True
) -> MeanTest:
    """Welch's t-test (Welch 1947) of the difference of means with its CI, and with
    ``rank_test`` Mann-Whitney U (two-sided, scipy ``mannwhitneyu``).

    Welch: t = (m_t - m_c) / se, se^2 = s_t^2 / n_t + s_c^2 / n_c, Welch-Satterthwaite
    df = se^4 / ((s_t^2/n_t)^2 / (n_t - 1) + (s_c^2/n_c)^2 / (n_c - 1)); the same numbers as
    scipy ``ttest_ind(equal_var=False)`` and its ``confidence_interval`` (the tests check
    it), computed directly because scipy's wrapper costs a millisecond a call.
    """
    t = np.asarray(treatment, dtype=float)
    c = np.asarray(control, dtype=float)
    mean_t = float(t.mean()) if len(t) else NAN
    mean_c = float(c.mean()) if len(c) else NAN
    means: dict[str, Any] = dict(mean_treatment=mean_t, mean_control=mean_c, diff=mean_t - mean_c)
    if len(t) < 2 or len(c) < 2:
        return no_result(MeanTest, **means, error="an arm has fewer than 2 users")
    if np.ptp(np.concatenate([t, c])) == 0:
        return no_result(
            MeanTest, **means, error="constant across both arms: zero variance, tests undefined"
        )
    mw_part: dict[str, Any] = {}
    if rank_test:
        mw = stats.mannwhitneyu(t, c, alternative="two-sided")
        mw_part = dict(mw_u=float(mw.statistic), mw_p_value=float(mw.pvalue))
    vt, vc = t.var(ddof=1) / len(t), c.var(ddof=1) / len(c)
    if vt + vc == 0:
        return no_result(
            MeanTest, **means, **mw_part, error="zero variance within both arms: Welch t undefined"
        )
    se = math.sqrt(vt + vc)
    df = (vt + vc) ** 2 / (vt**2 / (len(t) - 1) + vc**2 / (len(c) - 1))
    statistic = (mean_t - mean_c) / se
    half = float(special.stdtrit(df, 1 - alpha / 2)) * se
    return MeanTest(
        **means,
        diff_ci_low=mean_t - mean_c - half,
        diff_ci_high=mean_t - mean_c + half,
        welch_t=statistic,
        welch_df=float(df),
        welch_p_value=float(2 * special.stdtr(df, -abs(statistic))),
        **({"mw_u": NAN, "mw_p_value": NAN} | mw_part),
    )


def ratio_estimate(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """sum(y) / sum(x) of one arm and its delta-method variance (GrowthBook gbstats'
    ``variance_of_ratios``; Deng, Knoblich & Lu 2018):
    Var(R) ~= [Var(y) / mx^2 - 2 my Cov(x, y) / mx^3 + my^2 Var(x) / mx^4] / n."""
    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    n = len(y)
    if n < 2 or x.sum() == 0:
        return NAN, NAN
    mx, my = x.mean(), y.mean()
    cov = np.cov(np.vstack([y, x]), ddof=1)
    var = (cov[0, 0] / mx**2 - 2 * my * cov[0, 1] / mx**3 + my**2 * cov[1, 1] / mx**4) / n
    return float(my / mx), max(float(var), 0.0)  # >= 0: rounding when y is a multiple of x


def ratio_test(
    y_t: np.ndarray, x_t: np.ndarray, y_c: np.ndarray, x_c: np.ndarray, *, alpha: float = 0.05
) -> RatioTest:
    """Difference of two arms' ratios (e.g. revenue per converter), normal CI and z-test."""
    rt, vt = ratio_estimate(y_t, x_t)
    rc, vc = ratio_estimate(y_c, x_c)
    ratios: dict[str, Any] = dict(ratio_treatment=rt, ratio_control=rc, diff=rt - rc)
    if not (math.isfinite(vt) and math.isfinite(vc)):
        return no_result(RatioTest, **ratios, error="an arm has no denominator (e.g. no converter)")
    se = math.sqrt(vt + vc)
    if se == 0:
        return no_result(RatioTest, **ratios, error="zero variance: ratio test undefined")
    half = _z(alpha) * se
    return RatioTest(
        **ratios,
        ci_low=rt - rc - half,
        ci_high=rt - rc + half,
        p_value=normal_p((rt - rc) / se),
    )


def _usable(x: np.ndarray) -> np.ndarray:
    """Covariate columns that vary (a constant column adds nothing and breaks the fit)."""
    return x[:, np.ptp(x, axis=0) > 0] if x.size else x


def adjusted_test(
    y_t: np.ndarray,
    y_c: np.ndarray,
    x_t: np.ndarray,
    x_c: np.ndarray,
    *,
    alpha: float = 0.05,
) -> AdjustedTest:
    """Lin's (2013) regression adjustment: OLS of y on 1, T, Xc and T x Xc, where Xc are the
    covariates centred at their mean over both arms; the coefficient of T estimates the
    difference of means, with the HC2 sandwich variance (MacKinnon & White 1985), normal
    CI and p-value, as statsmodels ``OLS(...).fit(cov_type="HC2")`` gives them.

    Randomisation makes the covariates independent of the arm, so the adjustment removes
    the variance they explain without bias; ``variance_reduction`` reports how much.
    Each arm needs ``MIN_USERS_PER_PARAMETER`` users per coefficient it fits (k + 1).
    """
    y = np.concatenate([np.asarray(y_t, float), np.asarray(y_c, float)])
    n_t, n_c = len(y_t), len(y_c)
    x = _usable(np.vstack([np.asarray(x_t, float), np.asarray(x_c, float)]))
    k = x.shape[1] if x.ndim == 2 else 0
    if min(n_t, n_c) < MIN_USERS_PER_PARAMETER * (k + 1):
        return no_result(
            AdjustedTest,
            covariates=k,
            error=f"too few users to adjust for {k} covariate(s) (fewer than "
            f"{MIN_USERS_PER_PARAMETER * (k + 1)} in an arm)",
        )
    if np.ptp(y) == 0:
        return no_result(AdjustedTest, covariates=k, error="constant metric: zero variance")
    treat = np.r_[np.ones(n_t), np.zeros(n_c)]
    xc = x - x.mean(axis=0)
    design = np.column_stack([np.ones_like(y), treat, xc, treat[:, None] * xc])
    gram_inv = np.linalg.pinv(design.T @ design)
    beta = gram_inv @ design.T @ y
    resid = y - design @ beta
    leverage = np.einsum("ij,jk,ik->i", design, gram_inv, design)
    weight = resid**2 / np.clip(1 - leverage, 1e-12, None)
    cov = gram_inv @ (design.T * weight) @ design @ gram_inv
    se = math.sqrt(max(cov[1, 1], 0.0))
    raw_var = y[:n_t].var(ddof=1) / n_t + y[n_t:].var(ddof=1) / n_c
    if se == 0 or raw_var == 0:
        return no_result(AdjustedTest, covariates=k, error="zero variance after adjustment")
    diff = float(beta[1])
    half = _z(alpha) * se
    return AdjustedTest(
        diff=diff,
        se=se,
        ci_low=diff - half,
        ci_high=diff + half,
        p_value=normal_p(diff / se),
        variance_reduction=float(1 - se**2 / raw_var),
        covariates=k,
    )
