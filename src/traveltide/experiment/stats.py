"""The conversion tests of an A/B/C experiment, from each arm's sufficient statistics.

Whole experiment: sample-ratio mismatch (SRM) and an omnibus chi-square over every arm.
Arm against arm: conversion (two-proportion z-test, Fisher exact for small expected counts).
Multiple testing: Holm or Benjamini-Hochberg. Per-user metrics (revenue, net value) are in
``experiment.means``. Every formula cites its source; edge cases return the result with NaN
figures and an ``error`` or ``note`` (``no_result``) instead of raising.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from traveltide.experiment.assign import validate_weights
from traveltide.experiment.checks import check_choice
from traveltide.experiment.results import NAN, no_result

log = logging.getLogger(__name__)

Correction = Literal["holm", "fdr_bh"]

SRM_THRESHOLD = 0.001  # Kohavi, Tang & Xu (2020), ch. 21: flag SRM at p < 0.001
MIN_EXPECTED = 5.0  # Cochran (1954): chi-square/normal approximations need expected >= 5


@dataclass(frozen=True)
class ArmStats:
    """Sufficient statistics of one arm: users, conversions, per-user means of the metrics."""

    group: str
    n: int
    conversions: int
    revenue_mean: float
    revenue_var: float
    net_value_mean: float = NAN
    cost_mean: float = NAN
    cancellations: int = 0

    @property
    def rate(self) -> float:
        return self.conversions / self.n if self.n else NAN

    @property
    def revenue_per_converter(self) -> float:
        return self.revenue_mean * self.n / self.conversions if self.conversions else NAN

    @property
    def cancellation_rate(self) -> float:
        """Cancelled bookings per booking (converter)."""
        return self.cancellations / self.conversions if self.conversions else NAN


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


def arm_stats(table: pd.DataFrame, *, arms: Sequence[str]) -> tuple[ArmStats, ...]:
    """Sufficient statistics per arm, in ``arms`` order (an arm with no rows gets n = 0).

    ``table`` has group, converted, revenue and, optionally, net_value, cost, cancelled.
    """
    grouped = table.groupby("group", sort=False)
    result = []
    for arm in arms:
        if arm not in grouped.groups:
            result.append(no_result(ArmStats, group=arm))
            continue
        g = grouped.get_group(arm)
        rev = g["revenue"].to_numpy(dtype=float)
        extra: dict[str, Any] = {
            name: float(g[column].to_numpy(dtype=float).mean())
            for name, column in (("net_value_mean", "net_value"), ("cost_mean", "cost"))
            if column in g
        }
        if "cancelled" in g:
            extra["cancellations"] = int(g["cancelled"].sum())
        result.append(
            ArmStats(
                arm,
                len(g),
                int(g["converted"].sum()),
                float(rev.mean()),
                float(rev.var(ddof=1)) if len(rev) > 1 else NAN,
                **extra,
            )
        )
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
    - relative lift CI: the log-ratio (Katz et al. 1978) interval of p_t / p_c, minus 1,
      ``confint_proportions_2indep(compare="ratio", method="log")``: it stays inside
      (-1, inf), where a delta-method interval on the ratio can cross -1. With no treatment
      conversions the log is undefined; 0.5 is then added to each cell ("log-adjusted",
      Gart & Nam 1988), so the interval stays informative instead of collapsing to [-1, -1].
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
        method = "log" if xt > 0 else "log-adjusted"
        ratio_low, ratio_high = confint_proportions_2indep(
            xt, nt, xc, nc, method=method, compare="ratio", alpha=alpha
        )
        rel_low, rel_high = float(ratio_low) - 1, float(ratio_high) - 1
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


def adjust_p_values(
    p_values: Sequence[float], *, method: Correction = "holm", alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Holm (1979) step-down or Benjamini-Hochberg (1995) step-up adjusted p-values.

    Holm: the i-th smallest of m p-values becomes max over j <= i of min(1, (m - j + 1) p_(j)).
    BH: the i-th smallest becomes min over j >= i of min(1, m p_(j) / j). A comparison is
    rejected when its adjusted p-value is <= alpha. The same numbers as statsmodels'
    ``multipletests`` (the tests check it), without its per-call garbage collection.
    NaN p-values (failed comparisons) stay NaN and out of the family.
    Returns (adjusted p-values, reject flags).
    """
    check_choice(method, ("holm", "fdr_bh"), param="correction")
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m:
        order = ok[np.argsort(p[ok], kind="stable")]
        ranked = p[order]
        rank = np.arange(1, m + 1)
        if method == "holm":
            adj = np.maximum.accumulate(np.minimum(1.0, (m - rank + 1) * ranked))
        else:
            adj = np.minimum.accumulate(np.minimum(1.0, m * ranked / rank)[::-1])[::-1]
        adjusted[order] = adj
    reject = np.zeros(p.shape, dtype=bool)
    reject[ok] = adjusted[ok] <= alpha
    return adjusted, reject
