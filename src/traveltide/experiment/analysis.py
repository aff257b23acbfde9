"""The analysis of an A/B/C test: SRM, omnibus chi-square, every comparison, guardrails, verdict.

Metrics per user: conversion, revenue (capped at a pooled quantile), net value (revenue minus
the perk's cost when the user converts). Comparisons: each treatment vs control, and the
direct B vs A, on the users whose perks differ between A and B (triggered) when the table
says which those are, with the all-users B vs A reported beside it. Each metric's p-values are
adjusted (Holm or Benjamini-Hochberg) over that family; the verdict uses the decision metric
(regression-adjusted when covariates are given). The shape follows GrowthBook's statistics
engine: results are frozen dataclasses, and statistical edge cases (empty arm, no
conversions, zero variance) come back as results whose ``error``/``note`` says so, with NaN
figures. Contract errors (bad weights, a malformed table) raise ConfigError or DataError.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from traveltide.errors import ConfigError, DataError
from traveltide.experiment.assign import NO_PERK, validate_weights
from traveltide.experiment.checks import check_alpha, check_choice
from traveltide.experiment.comparison import Comparison, columns, compare, with_family
from traveltide.experiment.guardrails import Guardrail, check_guardrails
from traveltide.experiment.outcomes import check_outcomes
from traveltide.experiment.stats import (
    ArmStats,
    Correction,
    OmnibusResult,
    SRMResult,
    adjust_p_values,
    arm_stats,
    omnibus_test,
    srm_test,
)
from traveltide.experiment.verdict import Verdict, decide

log = logging.getLogger(__name__)

DECISION_METRICS = ("net_value", "conversion", "revenue")


@dataclass(frozen=True)
class ABAnalysis:
    """Everything ``analyse`` found; ``experiment.summary`` flattens it for the stage."""

    control: str
    alpha: float
    correction: str
    arms: tuple[ArmStats, ...]
    srm: SRMResult
    omnibus: OmnibusResult
    comparisons: tuple[Comparison, ...]
    verdict: Verdict
    direct: tuple[Comparison, ...] = ()  # treatment vs treatment (B vs A), same family
    beside: tuple[Comparison, ...] = ()  # reported outside the family (all-users B vs A)
    guardrails: tuple[Guardrail, ...] = ()
    metric: str = "net_value"
    revenue_cap: float = float("nan")  # USD; revenue above it was capped (NaN: no cap)
    revenue_capped: int = 0  # converters whose revenue was capped

    @property
    def all_comparisons(self) -> tuple[Comparison, ...]:
        """Every comparison: each treatment vs control, the direct ones, then those beside."""
        return self.comparisons + self.direct + self.beside


def comparison_pairs(
    arms: Iterable[str], *, control: str = "C", direct: bool = True
) -> list[tuple[str, str]]:
    """The (treatment, baseline) pairs of one analysis family, in a fixed order.

    Each treatment vs the control, then with ``direct`` each pair of treatments, the later
    arm against the earlier: with arms A, B, C that is A vs C, B vs C, B vs A (ML vs rules).
    """
    treatments = [a for a in arms if a != control]
    pairs = [(t, control) for t in treatments]
    if direct:
        pairs += [(b, a) for i, a in enumerate(treatments) for b in treatments[i + 1 :]]
    return pairs


def prepare(
    table: pd.DataFrame,
    *,
    arms: Sequence[str],
    costs: Mapping[str, float] | None = None,
    cap_quantile: float = 1.0,
    refunds: bool = False,
) -> tuple[pd.DataFrame, float, int]:
    """The checked per-user table (``outcomes.check_outcomes``) with revenue capped at the
    ``cap_quantile`` of converters' revenue pooled over every arm (winsorising: one cap for
    all arms keeps the comparison fair), each converter's perk ``cost`` and the
    ``net_value`` = revenue - cost. Returns (table, cap in USD or NaN, users capped)."""
    if not 0.5 <= cap_quantile <= 1.0:
        raise ConfigError(f"revenue_cap: must be a quantile in [0.5, 1], got {cap_quantile!r}")
    frame = check_outcomes(table, groups=arms, what="ab table", refunds=refunds)
    revenue = frame["revenue"].to_numpy(dtype=float)
    cap, capped = float("nan"), 0
    paid = revenue[frame["converted"].to_numpy() & (revenue > 0)]
    if cap_quantile < 1.0 and len(paid):
        cap = float(np.quantile(paid, cap_quantile))
        capped = int((revenue > cap).sum())
        revenue = np.minimum(revenue, cap)
    frame["revenue"] = revenue
    cost = np.zeros(len(frame))
    if costs:
        if "perk" not in table.columns:
            raise DataError("ab table: missing column 'perk', needed to charge perk costs")
        perk = table["perk"].astype(object).where(table["perk"].notna(), NO_PERK).astype(str)
        cost = perk.map(lambda p: costs.get(p, 0.0)).to_numpy(dtype=float)
    frame["cost"] = np.where(frame["converted"].to_numpy(), cost, 0.0)
    frame["net_value"] = frame["revenue"] - frame["cost"]
    if "triggered" in table.columns:
        frame["triggered"] = table["triggered"].to_numpy(dtype=bool)
    return frame, cap, capped


def _families(
    tests: Sequence[Comparison], in_family: Sequence[bool], *, method: Correction, alpha: float
) -> list[Comparison]:
    """Adjust each metric's p-values over the comparisons ``in_family``."""
    raw = {
        "conversion": [c.conversion.p_value for c in tests],
        "revenue": [c.revenue.welch_p_value for c in tests],
        "net_value": [c.net_value.welch_p_value for c in tests],
        "decision": [c.decision.p_value for c in tests],
    }
    family = np.asarray(in_family, dtype=bool)
    adjusted: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, values in raw.items():
        p = np.where(family, np.asarray(values, dtype=float), np.nan)
        adjusted[name] = adjust_p_values(list(p), method=method, alpha=alpha)
    return [
        with_family(
            c,
            {name: (float(a[i]), bool(r[i])) for name, (a, r) in adjusted.items()},
            in_family=bool(family[i]),
        )
        for i, c in enumerate(tests)
    ]


def analyse(
    table: pd.DataFrame,
    *,
    control: str = "C",
    weights: Mapping[str, float],
    alpha: float = 0.05,
    correction: Correction = "holm",
    direct: bool = True,
    metric: str = "net_value",
    costs: Mapping[str, float] | None = None,
    cap_quantile: float = 1.0,
    covariates: np.ndarray | None = None,
    prior_sd: float | None = None,
    refunds: bool = False,
    max_cancellation_increase: float = 0.02,
    min_margin: float = 0.5,
) -> ABAnalysis:
    """Analyse an A/B/C test: SRM, omnibus chi-square, pairwise comparisons, verdict.

    ``table`` has user_id, group, converted, revenue (0 if not converted) and optionally
    perk (to charge ``costs``: USD per converter by perk), cancelled, exposure_days and
    triggered (the users whose perks differ between the treatments). Treatments are the
    arms of ``weights`` other than ``control``, in ``weights`` order; each is compared with
    the control and, with ``direct``, with each other treatment (B vs A). ``metric`` is the
    decision metric the verdict uses; ``covariates`` (one row per table row) adjust it for
    pre-period features (Lin 2013). Statistical edge cases never raise.
    """
    w = validate_weights(weights)
    alpha = check_alpha(alpha)
    check_choice(correction, ("holm", "fdr_bh"), param="correction")
    check_choice(metric, DECISION_METRICS, param="metric")
    if control not in w:
        raise ConfigError(
            f"control: {control!r} is not among the arms of weights ({', '.join(w)}); "
            "the control must be one of them"
        )
    if covariates is not None and len(covariates) != len(table):
        raise DataError(f"covariates: {len(covariates)} rows for {len(table)} users")
    frame, cap, capped = prepare(
        table, arms=list(w), costs=costs, cap_quantile=cap_quantile, refunds=refunds
    )
    arms = arm_stats(frame, arms=list(w))
    srm = srm_test({a.group: a.n for a in arms}, weights=w)
    by_arm = {a.group: a for a in arms}
    x = None if covariates is None else np.asarray(covariates, dtype=float)
    common: dict[str, Any] = dict(alpha=alpha, metric=metric, covariates=x, prior_sd=prior_sd)
    tests, family = [], []
    triggered = frame["triggered"].to_numpy() if "triggered" in frame else None
    values = columns(frame)
    for t, c in comparison_pairs(w, control=control, direct=direct):
        if c != control and triggered is not None and not triggered.all():
            tests.append(compare(values, by_arm, t, c, population=triggered, **common))
            family.append(True)
            tests.append(compare(values, by_arm, t, c, **common))
            family.append(False)
        else:
            tests.append(compare(values, by_arm, t, c, **common))
            family.append(True)
    every = _families(tests, family, method=correction, alpha=alpha)
    n_vs = len(w) - 1
    comparisons = tuple(every[:n_vs])
    direct_ = tuple(c for c in every[n_vs:] if c.in_family)
    verdict = decide(
        comparisons, srm=srm, control=control, alpha=alpha, correction=correction, direct=direct_
    )
    log.info("A/B verdict: %s - %s", verdict.winner, verdict.reason)
    return ABAnalysis(
        control=control,
        alpha=alpha,
        correction=correction,
        arms=arms,
        srm=srm,
        omnibus=omnibus_test(arms),
        comparisons=comparisons,
        verdict=verdict,
        direct=direct_,
        beside=tuple(c for c in every[n_vs:] if not c.in_family),
        guardrails=check_guardrails(
            frame,
            [a for a in w if a != control],
            control,
            max_cancellation_increase=max_cancellation_increase,
            min_margin=min_margin,
            alpha=alpha,
        ),
        metric=metric,
        revenue_cap=cap,
        revenue_capped=capped,
    )
