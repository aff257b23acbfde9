"""One arm against another on every metric: conversion, revenue, net value, their adjusted
versions, revenue per converter, the exposure-adjusted rate and the Bayesian view.

``compare`` computes the raw tests of a pair of arms; the analysis then adjusts p-values over
the family of comparisons and picks the decision metric (``with_family``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from traveltide.experiment.bayes import BayesResult, bayes_effect
from traveltide.experiment.means import (
    AdjustedTest,
    MeanTest,
    RatioTest,
    adjusted_test,
    mean_test,
    ratio_test,
)
from traveltide.experiment.results import NAN, no_result
from traveltide.experiment.stats import ArmStats, ConversionTest, conversion_test

METRICS = ("conversion", "revenue", "net_value")


@dataclass(frozen=True)
class ExposureTest:
    """Conversions per exposure-day, treatment vs baseline: rate ratio, Poisson score test
    and CI (statsmodels ``test_poisson_2indep`` / ``confint_poisson_2indep``)."""

    rate_treatment: float  # conversions per 1,000 exposure-days
    rate_control: float
    rate_ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    error: str | None = None


@dataclass(frozen=True)
class DecisionTest:
    """The comparison on the decision metric: effect per user, CI, p (raw and adjusted)."""

    metric: str
    effect: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adj: float = NAN
    significant: bool = False
    adjusted: bool = False  # regression-adjusted for pre-period covariates
    error: str | None = None


@dataclass(frozen=True)
class Comparison:
    """One arm against another: a treatment vs the control, or one treatment vs another
    (``control`` is then the other treatment, e.g. B vs A). ``population`` is ``all`` or
    ``triggered`` (only the users whose perks differ between the two arms). ``p_adj``
    adjusts conversion over the analysis family, ``revenue_p_adj`` and
    ``net_value_p_adj`` likewise; ``decision`` is the decision metric, which the verdict uses.
    """

    treatment: str
    control: str
    conversion: ConversionTest
    revenue: MeanTest
    net_value: MeanTest
    revenue_per_converter: RatioTest
    decision: DecisionTest
    bayes: BayesResult
    population: str = "all"
    adjusted: dict[str, AdjustedTest] = field(default_factory=dict)
    exposure: ExposureTest | None = None
    p_adj: float = NAN
    significant: bool = False
    revenue_p_adj: float = NAN
    revenue_significant: bool = False
    net_value_p_adj: float = NAN
    net_value_significant: bool = False
    in_family: bool = True

    @property
    def name(self) -> str:
        suffix = "_triggered" if self.population == "triggered" else ""
        return f"{self.treatment}_vs_{self.control}{suffix}"


def _se(y: np.ndarray, t: np.ndarray, c: np.ndarray) -> float:
    """Standard error of a difference of means (Neyman): sqrt(s_t^2 / n_t + s_c^2 / n_c)."""
    if t.sum() < 2 or c.sum() < 2:
        return NAN
    return math.sqrt(y[t].var(ddof=1) / t.sum() + y[c].var(ddof=1) / c.sum())


def columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The per-user table as numpy arrays, once for every comparison of an analysis."""
    out = {name: frame[name].to_numpy(dtype=float) for name in ("revenue", "net_value")}
    out["conversion"] = frame["converted"].to_numpy(dtype=float)
    out["group"] = frame["group"].to_numpy(dtype=object)
    if "exposure_days" in frame:
        out["exposure_days"] = frame["exposure_days"].to_numpy(dtype=float)
    return out


def _decision(
    metric: str,
    conversion: ConversionTest,
    means: dict[str, MeanTest],
    adjusted: dict[str, AdjustedTest],
    se: float,
) -> DecisionTest:
    if metric in adjusted and adjusted[metric].error is None:
        a = adjusted[metric]
        return DecisionTest(
            metric, a.diff, a.se, a.ci_low, a.ci_high, a.p_value, adjusted=True, error=a.error
        )
    if metric == "conversion":
        c = conversion
        return DecisionTest(
            metric, c.lift_abs, se, c.lift_ci_low, c.lift_ci_high, c.p_value, error=c.error
        )
    m = means[metric]
    return DecisionTest(
        metric, m.diff, se, m.diff_ci_low, m.diff_ci_high, m.welch_p_value, error=m.error
    )


def _exposure(values: dict[str, np.ndarray], t: np.ndarray, c: np.ndarray) -> ExposureTest:
    # imported here: only a results file with exposure_days needs it (0.1 s at start-up)
    from statsmodels.stats.rates import confint_poisson_2indep, test_poisson_2indep

    conv, days = values["conversion"], values["exposure_days"]
    xt, xc, et, ec = conv[t].sum(), conv[c].sum(), days[t].sum(), days[c].sum()
    rates: dict[str, Any] = dict(
        rate_treatment=1000 * xt / et if et > 0 else NAN,
        rate_control=1000 * xc / ec if ec > 0 else NAN,
    )
    if et <= 0 or ec <= 0 or xt + xc == 0:
        return no_result(ExposureTest, **rates, error="no exposure or no conversion in an arm")
    rates["rate_ratio"] = (xt / et) / (xc / ec) if xc > 0 else NAN
    p = float(test_poisson_2indep(xt, et, xc, ec, method="score", compare="ratio").pvalue)
    if xt == 0 or xc == 0:
        return no_result(ExposureTest, **rates, p_value=p, error="an arm has no conversion")
    low, high = confint_poisson_2indep(xt, et, xc, ec, method="score", compare="ratio")
    return ExposureTest(**rates, ci_low=float(low), ci_high=float(high), p_value=p)


def compare(
    values: dict[str, np.ndarray],
    arms: dict[str, ArmStats],
    treatment: str,
    control: str,
    *,
    alpha: float,
    metric: str,
    covariates: np.ndarray | None = None,
    population: np.ndarray | None = None,
    prior_sd: float | None = None,
) -> Comparison:
    """Every raw test of ``treatment`` against ``control`` on the users inside
    ``population`` (all if None). ``values`` are the per-user arrays (``columns``);
    ``arms`` each arm's sufficient statistics over all users; ``metric`` the decision
    metric; ``covariates`` (users x features) turn on regression adjustment."""
    inside = np.ones(len(values["group"]), bool) if population is None else population
    t, c = inside & (values["group"] == treatment), inside & (values["group"] == control)
    if population is None:
        stats_t, stats_c = arms[treatment], arms[control]
    else:
        conv = values["conversion"]
        stats_t = ArmStats(treatment, int(t.sum()), int(conv[t].sum()), NAN, NAN)
        stats_c = ArmStats(control, int(c.sum()), int(conv[c].sum()), NAN, NAN)
    conversion = conversion_test(stats_t, stats_c, alpha=alpha)
    means = {
        m: mean_test(values[m][t], values[m][c], alpha=alpha, rank_test=m == "revenue")
        for m in ("revenue", "net_value")
    }
    adjusted = {}
    if covariates is not None and covariates.shape[1] > 0:
        adjusted = {
            m: adjusted_test(values[m][t], values[m][c], covariates[t], covariates[c], alpha=alpha)
            for m in METRICS
        }
    decision = _decision(metric, conversion, means, adjusted, _se(values[metric], t, c))
    revenue, converted = values["revenue"], values["conversion"]
    return Comparison(
        treatment=treatment,
        control=control,
        conversion=conversion,
        revenue=means["revenue"],
        net_value=means["net_value"],
        revenue_per_converter=ratio_test(
            revenue[t], converted[t], revenue[c], converted[c], alpha=alpha
        ),
        decision=decision,
        bayes=bayes_effect(decision.effect, decision.se, prior_sd=prior_sd),
        population="all" if population is None else "triggered",
        adjusted=adjusted,
        exposure=_exposure(values, t, c) if "exposure_days" in values else None,
    )


def with_family(
    comparison: Comparison, adjusted: dict[str, tuple[float, bool]], *, in_family: bool = True
) -> Comparison:
    """The comparison with its adjusted p-values and flags per family (conversion, revenue,
    net_value, decision)."""
    p, sig = adjusted.get("conversion", (NAN, False))
    rp, rsig = adjusted.get("revenue", (NAN, False))
    np_, nsig = adjusted.get("net_value", (NAN, False))
    dp, dsig = adjusted.get("decision", (NAN, False))
    return replace(
        comparison,
        p_adj=p,
        significant=sig,
        revenue_p_adj=rp,
        revenue_significant=rsig,
        net_value_p_adj=np_,
        net_value_significant=nsig,
        decision=replace(comparison.decision, p_adj=dp, significant=dsig),
        in_family=in_family,
    )
