"""The statistical tests of an A/B/C experiment, from each arm's sufficient statistics.

Whole experiment: sample-ratio mismatch (SRM) and an omnibus chi-square over every arm.
Arm against arm: conversion (two-proportion z-test, Fisher exact for small expected counts)
and revenue per user (Welch t, Mann-Whitney U). Multiple testing: Holm or Benjamini-Hochberg.
Every formula cites its source; edge cases return the result with NaN figures and an
``error`` or ``note`` (``no_result``) instead of raising.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from traveltide.experiment.assign import validate_weights
from traveltide.experiment.results import NAN, no_result

log = logging.getLogger(__name__)

Correction = Literal["holm", "fdr_bh"]

SRM_THRESHOLD = 0.001  # Kohavi, Tang & Xu (2020), ch. 21: flag SRM at p < 0.001
MIN_EXPECTED = 5.0  # Cochran (1954): chi-square/normal approximations need expected >= 5


@dataclass(frozen=True)
class ArmStats:
    """Sufficient statistics of one arm: users, conversions, revenue mean and variance."""

    group: str
    n: int
    conversions: int
    revenue_mean: float
    revenue_var: float

    @property
    def rate(self) -> float:
        return self.conversions / self.n if self.n else NAN


@dataclass(frozen=True)
class SRMResult:
    """Sample-ratio mismatch: chi-square goodness of fit of arm counts vs configured weights.

    ``flag`` is None when not assessable (an expected count below ``min_expected``).
    """

    observed: dict[str, int]
    expected: dict[str, float]
    statistic: float
    p_value: float
    flag: bool | None
    assessable: bool
    threshold: float = SRM_THRESHOLD
    min_expected: float = MIN_EXPECTED
    note: str | None = None


@dataclass(frozen=True)
class OmnibusResult:
    """Chi-square test of independence of arm and conversion over all non-empty arms."""

    statistic: float
    p_value: float
    dof: int
    arms: tuple[str, ...]
    min_expected: float
    error: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ConversionTest:
    """Treatment vs control on conversion: z-test or Fisher, Newcomb and delta-method CIs.

    ``p_value`` is Fisher's when ``fisher_used`` (an expected cell < 5), else the z-test's.
    ``lift_abs`` = p_t - p_c, CI ``lift_ci_low/high``; ``lift_rel`` = p_t / p_c - 1.
    """

    treatment: str
    control: str
    rate_treatment: float
    rate_control: float
    lift_abs: float
    lift_ci_low: float
    lift_ci_high: float
    lift_rel: float
    lift_rel_ci_low: float
    lift_rel_ci_high: float
    z_statistic: float
    p_value_z: float
    p_value_fisher: float
    fisher_used: bool
    p_value: float
    min_expected: float
    error: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class RevenueTest:
    """Treatment vs control on revenue per user (zeros included): Welch t and Mann-Whitney U."""

    revenue_mean_treatment: float
    revenue_mean_control: float
    revenue_diff: float
    revenue_diff_ci_low: float
    revenue_diff_ci_high: float
    revenue_welch_t: float
    revenue_welch_df: float
    revenue_welch_p_value: float
    revenue_mw_u: float
    revenue_mw_p_value: float
    revenue_error: str | None = None
    revenue_note: str | None = None


@dataclass(frozen=True)
class Comparison:
    """One arm against another: a treatment vs the control, or one treatment vs another
    (``control`` is then the other treatment, e.g. B vs A). ``p_adj`` is adjusted over the
    whole family of comparisons of the analysis (vs control and direct alike)."""

    treatment: str
    control: str
    conversion: ConversionTest
    revenue: RevenueTest
    p_adj: float
    significant: bool
    revenue_p_adj: float
    revenue_significant: bool


def arm_stats(table: pd.DataFrame, *, arms: Sequence[str]) -> tuple[ArmStats, ...]:
    """Sufficient statistics per arm, in ``arms`` order (an arm with no rows gets n = 0)."""
    grouped = table.groupby("group", sort=False)
    result = []
    for arm in arms:
        if arm in grouped.groups:
            g = grouped.get_group(arm)
            rev = g["revenue"].to_numpy(dtype=float)
            result.append(
                ArmStats(
                    arm,
                    len(g),
                    int(g["converted"].sum()),
                    float(rev.mean()),
                    float(rev.var(ddof=1)) if len(rev) > 1 else NAN,
                )
            )
        else:
            result.append(no_result(ArmStats, group=arm))
    return tuple(result)


def srm_test(
    counts: Mapping[str, int],
    *,
    weights: Mapping[str, float],
    threshold: float = SRM_THRESHOLD,
    min_expected: float = MIN_EXPECTED,
) -> SRMResult:
    """Chi-square goodness of fit of observed arm counts to the configured split.

    Flags a sample-ratio mismatch at p < ``threshold`` (Fabijan et al. 2019, "Diagnosing
    Sample Ratio Mismatch in Online Controlled Experiments"). Not assessable when any
    expected count is below ``min_expected`` (chi-square approximation, Cochran 1954).
    """
    w = validate_weights(weights)
    observed = {a: int(counts.get(a, 0)) for a in w}
    total = sum(observed.values())
    expected = {a: total * w[a] for a in w}
    base = dict(
        observed=observed, expected=expected, threshold=threshold, min_expected=min_expected
    )
    if len(w) < 2:
        return no_result(SRMResult, **base, note="a single arm has no split to check")
    if min(expected.values()) < min_expected:
        return no_result(
            SRMResult,
            **base,
            note=f"not assessable: {total} users give an expected arm count below {min_expected:g}",
        )
    res = stats.chisquare(f_obs=list(observed.values()), f_exp=list(expected.values()))
    p = float(res.pvalue)
    flag = p < threshold
    if flag:
        log.warning("sample ratio mismatch: counts %s, p = %.3g", observed, p)
    return SRMResult(
        observed=observed,
        expected=expected,
        statistic=float(res.statistic),
        p_value=p,
        flag=flag,
        assessable=True,
        threshold=threshold,
        min_expected=min_expected,
    )


def omnibus_test(arms: Sequence[ArmStats]) -> OmnibusResult:
    """Chi-square independence test of converted/not by arm (scipy chi2_contingency).

    No Yates correction, so with two arms the statistic equals the squared pooled z
    (Agresti 2013, sec. 3.1). Empty arms are left out (their row would make expected 0).
    """
    used = [a for a in arms if a.n > 0]
    names = tuple(a.group for a in used)
    if len(used) < 2:
        return no_result(OmnibusResult, arms=names, error="fewer than two arms have users")
    table = np.array([[a.conversions, a.n - a.conversions] for a in used], dtype=float)
    if table[:, 0].sum() == 0:
        return no_result(OmnibusResult, arms=names, error="no conversions in any arm")
    if table[:, 1].sum() == 0:
        return no_result(OmnibusResult, arms=names, error="every user converted in every arm")
    res = stats.chi2_contingency(table, correction=False)
    min_exp = float(res.expected_freq.min())
    note = None if min_exp >= MIN_EXPECTED else "an expected cell < 5: approximation is rough"
    skipped = [a.group for a in arms if a.n == 0]
    if skipped:
        note = "; ".join(filter(None, [note, f"empty arm(s) left out: {', '.join(skipped)}"]))
    return OmnibusResult(
        statistic=float(res.statistic),
        p_value=float(res.pvalue),
        dof=int(res.dof),
        arms=names,
        min_expected=min_exp,
        note=note,
    )


def conversion_failure(treatment: ArmStats, control: ArmStats, error: str) -> ConversionTest:
    """A conversion test that could not run: the arms' rates, every other figure NaN."""
    return no_result(
        ConversionTest,
        treatment=treatment.group,
        control=control.group,
        rate_treatment=treatment.rate,
        rate_control=control.rate,
        error=error,
    )


def conversion_test(
    treatment: ArmStats, control: ArmStats, *, alpha: float = 0.05
) -> ConversionTest:
    """Compare conversion of two arms from their counts alone (the lean path of ``analyse``).

    - z: pooled two-proportion z-test, statsmodels ``proportions_ztest``.
    - Fisher exact (scipy), used as ``p_value`` when an expected cell is < 5.
    - absolute lift CI: Newcomb (1998) hybrid Wilson score, method 10,
      ``confint_proportions_2indep(method="newcomb")``.
    - relative lift CI: delta method for p_t / p_c (Kohavi, Tang & Xu 2020, ch. 18;
      GrowthBook gbstats ``frequentist``):
      Var(p_t/p_c) ~= Var(p_t) / p_c^2 + p_t^2 Var(p_c) / p_c^4, Var(p) = p (1 - p) / n.
    """
    nt, xt, nc, xc = treatment.n, treatment.conversions, control.n, control.conversions
    for arm in (control, treatment):
        if arm.n == 0:
            return conversion_failure(treatment, control, f"arm {arm.group!r} has no users")
    if xt + xc == 0:
        return conversion_failure(
            treatment, control, "no conversions in either arm: conversion tests are undefined"
        )
    if xt + xc == nt + nc:
        return conversion_failure(
            treatment, control, "every user converted in both arms: conversion tests are undefined"
        )
    pt, pc = xt / nt, xc / nc
    table = np.array([[xt, nt - xt], [xc, nc - xc]], dtype=float)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    min_exp = float(expected.min())
    z, p_z = proportions_ztest(np.array([xt, xc]), np.array([nt, nc]))
    fisher_used = min_exp < MIN_EXPECTED
    p_fisher = float(stats.fisher_exact(table.astype(int)).pvalue) if fisher_used else NAN
    low, high = confint_proportions_2indep(
        xt, nt, xc, nc, method="newcomb", compare="diff", alpha=alpha
    )
    note = None
    if pc > 0:
        rel = pt / pc - 1
        var = pt * (1 - pt) / nt / pc**2 + pt**2 * pc * (1 - pc) / nc / pc**4
        half = stats.norm.ppf(1 - alpha / 2) * math.sqrt(var)
        rel_low, rel_high = rel - half, rel + half
    else:
        rel = rel_low = rel_high = NAN
        note = "control rate is 0: relative lift undefined"
    return ConversionTest(
        treatment=treatment.group,
        control=control.group,
        rate_treatment=pt,
        rate_control=pc,
        lift_abs=pt - pc,
        lift_ci_low=float(low),
        lift_ci_high=float(high),
        lift_rel=rel,
        lift_rel_ci_low=rel_low,
        lift_rel_ci_high=rel_high,
        z_statistic=float(z),
        p_value_z=float(p_z),
        p_value_fisher=p_fisher,
        fisher_used=fisher_used,
        p_value=p_fisher if fisher_used else float(p_z),
        min_expected=min_exp,
        note=note,
    )


def revenue_test(treatment: np.ndarray, control: np.ndarray, *, alpha: float = 0.05) -> RevenueTest:
    """Revenue per user: Welch t (scipy ``ttest_ind(equal_var=False)``, Welch 1947) with its
    CI for the mean difference, and Mann-Whitney U (two-sided, scipy ``mannwhitneyu``)."""
    t = np.asarray(treatment, dtype=float)
    c = np.asarray(control, dtype=float)
    mean_t = float(t.mean()) if len(t) else NAN
    mean_c = float(c.mean()) if len(c) else NAN
    means: dict[str, Any] = dict(
        revenue_mean_treatment=mean_t, revenue_mean_control=mean_c, revenue_diff=mean_t - mean_c
    )
    if len(t) < 2 or len(c) < 2:
        return no_result(RevenueTest, **means, revenue_error="an arm has fewer than 2 users")
    if np.ptp(np.concatenate([t, c])) == 0:
        return no_result(
            RevenueTest,
            **means,
            revenue_error="revenue is constant across both arms: zero variance, tests undefined",
        )
    mw = stats.mannwhitneyu(t, c, alternative="two-sided")
    mw_part: dict[str, Any] = dict(
        revenue_mw_u=float(mw.statistic), revenue_mw_p_value=float(mw.pvalue)
    )
    if np.ptp(t) == 0 and np.ptp(c) == 0:
        return no_result(
            RevenueTest,
            **means,
            **mw_part,
            revenue_error="revenue has zero variance within both arms: Welch t undefined",
        )
    welch = stats.ttest_ind(t, c, equal_var=False)
    ci = welch.confidence_interval(confidence_level=1 - alpha)
    return RevenueTest(
        **means,
        revenue_diff_ci_low=float(ci.low),
        revenue_diff_ci_high=float(ci.high),
        revenue_welch_t=float(welch.statistic),
        revenue_welch_df=float(welch.df),
        revenue_welch_p_value=float(welch.pvalue),
        **mw_part,
    )


def adjust_p_values(
    p_values: Sequence[float], *, method: Correction = "holm", alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Holm (1979) or Benjamini-Hochberg (1995) via statsmodels ``multipletests``.

    NaN p-values (failed comparisons) stay NaN and out of the family.
    Returns (adjusted p-values, reject flags).
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    reject = np.zeros(p.shape, dtype=bool)
    ok = np.isfinite(p)
    if ok.any():
        rej, adj, _, _ = multipletests(p[ok], alpha=alpha, method=method)
        adjusted[ok], reject[ok] = adj, rej
    return adjusted, reject
