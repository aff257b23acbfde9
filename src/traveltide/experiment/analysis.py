"""The analysis of an A/B/C test: SRM, omnibus chi-square, every comparison, the verdict.

Primary metric: conversion, adjusted (Holm or Benjamini-Hochberg) over one family: each
treatment vs control and the direct B vs A. Secondary metric: revenue per user, corrected the
same way as its own family. The shape follows GrowthBook's statistics engine: results are
frozen dataclasses, and statistical edge cases (empty arm, no conversions, zero variance, a
missing control) come back as results whose ``error``/``note`` says so, with NaN figures.
Contract errors (bad weights, a malformed table) raise ConfigError or DataError.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from traveltide.errors import DataError
from traveltide.experiment.assign import validate_weights
from traveltide.experiment.checks import bool_like, check_alpha, check_choice, rows
from traveltide.experiment.outcomes import RESULT_COLUMNS
from traveltide.experiment.results import json_value, no_result
from traveltide.experiment.stats import (
    ArmStats,
    Comparison,
    Correction,
    OmnibusResult,
    RevenueTest,
    SRMResult,
    adjust_p_values,
    arm_stats,
    conversion_failure,
    conversion_test,
    omnibus_test,
    revenue_test,
    srm_test,
)
from traveltide.experiment.verdict import Verdict, decide

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ABAnalysis:
    """Everything ``analyse`` found; ``to_dict()`` flattens it into JSON-safe metrics."""

    control: str
    alpha: float
    correction: str
    arms: tuple[ArmStats, ...]
    srm: SRMResult
    omnibus: OmnibusResult
    comparisons: tuple[Comparison, ...]
    verdict: Verdict
    error: str | None = None
    direct: tuple[Comparison, ...] = ()  # treatment vs treatment (B vs A), same family

    @property
    def all_comparisons(self) -> tuple[Comparison, ...]:
        """Every comparison of the family: each treatment vs control, then the direct ones."""
        return self.comparisons + self.direct

    def to_dict(self) -> dict[str, Any]:
        """Flat, JSON-safe metrics (NaN -> None), stable keys for DVC and MLflow."""
        out: dict[str, Any] = {
            "alpha": self.alpha,
            "correction": self.correction,
            "n_total": sum(a.n for a in self.arms),
        }
        for a in self.arms:
            out[f"{a.group}_n"] = a.n
            out[f"{a.group}_conversions"] = a.conversions
            out[f"{a.group}_conversion_rate"] = a.rate
            out[f"{a.group}_revenue_per_user"] = a.revenue_mean
        s = self.srm
        out.update(
            srm_statistic=s.statistic,
            srm_p_value=s.p_value,
            srm_flag=s.flag,
            srm_assessable=s.assessable,
            srm_note=s.note,
        )
        o = self.omnibus
        out.update(
            omnibus_statistic=o.statistic,
            omnibus_p_value=o.p_value,
            omnibus_dof=o.dof,
            omnibus_error=o.error,
        )
        out["comparisons"] = [f"{c.treatment}_vs_{c.control}" for c in self.all_comparisons]
        for c in self.all_comparisons:
            prefix = f"{c.treatment}_vs_{c.control}_"
            for part in (c.conversion, c.revenue):
                for f in fields(part):
                    if f.name not in ("treatment", "control"):
                        out[prefix + f.name] = getattr(part, f.name)
            out[prefix + "p_adj"] = c.p_adj
            out[prefix + "significant"] = c.significant
            out[prefix + "revenue_p_adj"] = c.revenue_p_adj
            out[prefix + "revenue_significant"] = c.revenue_significant
        out["verdict_winner"] = self.verdict.winner
        out["verdict_reason"] = self.verdict.reason
        out["error"] = self.error
        return {k: json_value(v) for k, v in out.items()}


def _analysis_frame(table: pd.DataFrame, *, arms: Sequence[str]) -> pd.DataFrame:
    """Check the analysis table's contract (columns, no missing values, known arms)."""
    what = "ab table"
    absent = [c for c in RESULT_COLUMNS if c not in table.columns]
    if absent:
        raise DataError(f"{what}: missing column(s) {', '.join(map(repr, absent))}")
    frame = table.loc[:, list(RESULT_COLUMNS)].reset_index(drop=True)
    for column in RESULT_COLUMNS:
        missing = frame[column].isna().to_numpy()
        if missing.any():
            raise DataError(
                f"{what} column {column!r}: {missing.sum()} missing value(s) at {rows(missing)}"
            )
    group = frame["group"].astype(str)
    stray = ~group.isin(list(arms)).to_numpy()
    if stray.any():
        raise DataError(
            f"{what} column 'group': arm(s) "
            f"{', '.join(map(repr, pd.unique(group[stray])[:3]))} not in weights "
            f"({', '.join(arms)}) at {rows(stray)}"
        )
    converted, bad = bool_like(frame["converted"])
    if bad.any():
        raise DataError(f"{what} column 'converted': non-boolean value(s) at {rows(bad)}")
    revenue = pd.to_numeric(frame["revenue"], errors="coerce").astype(float)
    bad = ~np.isfinite(revenue.to_numpy())
    if bad.any():
        raise DataError(f"{what} column 'revenue': non-numeric value(s) at {rows(bad)}")
    return pd.DataFrame(
        {
            "group": group.to_numpy(dtype=object),
            "converted": converted.to_numpy(),
            "revenue": revenue.to_numpy(),
        }
    )


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


def analyse(
    table: pd.DataFrame,
    *,
    control: str = "C",
    weights: Mapping[str, float],
    alpha: float = 0.05,
    correction: Correction = "holm",
    direct: bool = True,
) -> ABAnalysis:
    """Analyse an A/B/C test: SRM, omnibus chi-square, pairwise comparisons, verdict.

    ``table`` has user_id, group, converted, revenue (revenue per user, 0 if not converted).
    Treatments are the arms of ``weights`` other than ``control``, in ``weights`` order.
    Each treatment is compared with the control and, with ``direct``, each treatment with
    each other treatment (B vs A). Conversion p-values are adjusted over all of these at
    once (one family), revenue p-values likewise as their own family.
    Statistical edge cases never raise: they show up as ``error``/``note`` with NaN figures.
    """
    w = validate_weights(weights)
    alpha = check_alpha(alpha)
    check_choice(correction, ("holm", "fdr_bh"), param="correction")
    frame = _analysis_frame(table, arms=list(w))
    arms = arm_stats(frame, arms=list(w))
    srm = srm_test({a.group: a.n for a in arms}, weights=w)
    omnibus = omnibus_test(arms)
    by_arm = {a.group: a for a in arms}
    revenue = {g: r.to_numpy() for g, r in frame.groupby("group", sort=False)["revenue"]}
    error = None if control in w else f"control arm {control!r} is not among the arms"
    treatments = [a for a in w if a != control]
    pairs = comparison_pairs(w, control=control, direct=direct)
    tests = []
    for t, c in pairs:
        if c == control and error:
            conv = conversion_failure(by_arm[t], no_result(ArmStats, group=control), error)
            rev = no_result(RevenueTest, revenue_error=error)
        else:
            conv = conversion_test(by_arm[t], by_arm[c], alpha=alpha)
            rev = revenue_test(
                revenue.get(t, np.empty(0)), revenue.get(c, np.empty(0)), alpha=alpha
            )
        tests.append((t, c, conv, rev))
    p_adj, reject = adjust_p_values(
        [conv.p_value for _, _, conv, _ in tests], method=correction, alpha=alpha
    )
    r_adj, r_reject = adjust_p_values(
        [rev.revenue_welch_p_value for _, _, _, rev in tests], method=correction, alpha=alpha
    )
    every = tuple(
        Comparison(
            t,
            c,
            conv,
            rev,
            float(p_adj[i]),
            bool(reject[i]),
            float(r_adj[i]),
            bool(r_reject[i]),
        )
        for i, (t, c, conv, rev) in enumerate(tests)
    )
    comparisons, between = every[: len(treatments)], every[len(treatments) :]
    verdict = decide(
        comparisons,
        srm=srm,
        control=control,
        alpha=alpha,
        correction=correction,
        direct=between,
    )
    log.info("A/B verdict: %s - %s", verdict.winner, verdict.reason)
    return ABAnalysis(
        control=control,
        alpha=alpha,
        correction=correction,
        arms=arms,
        srm=srm,
        omnibus=omnibus,
        comparisons=comparisons,
        verdict=verdict,
        error=error,
        direct=between,
    )
