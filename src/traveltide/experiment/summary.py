"""What the ab_test stage writes about its analysis: the key numbers for metrics/ab_test.json,
every figure and all the text for data/ab/summary.json, one row per comparison for
data/ab/arms.csv.

Figure names are stable keys: per arm ``{arm}_{figure}``, per comparison
``{t}_vs_{c}[_triggered]_{figure}``, planned figures ``plan_*``, policy values ``policy_*``.
Booleans are written as 0/1 and missing figures (NaN) as null. The metrics file keeps the few
dozen figures that compare configurations (``KEY_FIGURES``), so `dvc exp show` and `dvc metrics
diff` stay readable; the summary holds every figure, flat, beside the verdict, its reason, the
decision and its rule, errors and notes.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

import pandas as pd

from traveltide.experiment.analysis import ABAnalysis
from traveltide.experiment.comparison import Comparison
from traveltide.experiment.decision import BASIS, Decision, decide_recommendation
from traveltide.experiment.power import PowerPlan
from traveltide.experiment.results import json_value
from traveltide.experiment.values import PolicyEvaluation

KEY_POLICIES: tuple[str, ...] = ("rules", "clusters", "random_perk", "best_perk_per_segment")
KEY_POLICIES += ("best_perk_per_cluster", "uplift_model")


def number(value: Any) -> Any:
    """A JSON number (bool as 0/1, NaN as None), or None for anything that is not one."""
    value = json_value(value)
    if isinstance(value, bool):
        return int(value)
    return value if isinstance(value, int | float) else None


def _parts(c: Comparison) -> dict[str, Any]:
    """Every numeric figure of one comparison, by its metric name (without the prefix)."""
    out: dict[str, Any] = {}
    for f in fields(c.conversion):
        if f.name not in ("treatment", "control", "error", "note"):
            out[f.name] = getattr(c.conversion, f.name)
    for metric, test in (("revenue", c.revenue), ("net_value", c.net_value)):
        for f in fields(test):
            rank = f.name.startswith("mw_")  # Mann-Whitney runs on revenue only
            if f.name != "error" and (metric == "revenue" or not rank):
                out[f"{metric}_{f.name}"] = getattr(test, f.name)
    rpc = c.revenue_per_converter
    out.update(
        revenue_per_converter_diff=rpc.diff,
        revenue_per_converter_ci_low=rpc.ci_low,
        revenue_per_converter_ci_high=rpc.ci_high,
        revenue_per_converter_p_value=rpc.p_value,
    )
    for metric, a in c.adjusted.items():
        for name in ("diff", "se", "ci_low", "ci_high", "p_value", "variance_reduction"):
            out[f"{metric}_adj_{name}"] = getattr(a, name)
    d = c.decision
    out.update(
        decision_effect=d.effect,
        decision_ci_low=d.ci_low,
        decision_ci_high=d.ci_high,
        decision_p_value=d.p_value,
        decision_p_adj=d.p_adj,
        decision_significant=d.significant,
        chance_to_beat=c.bayes.chance_to_beat,
        expected_loss_treatment=c.bayes.expected_loss_treatment,
        expected_loss_control=c.bayes.expected_loss_control,
        p_adj=c.p_adj,
        significant=c.significant,
        revenue_p_adj=c.revenue_p_adj,
        revenue_significant=c.revenue_significant,
        net_value_p_adj=c.net_value_p_adj,
        net_value_significant=c.net_value_significant,
    )
    if c.exposure is not None:
        for name in ("rate_treatment", "rate_control", "rate_ratio", "ci_low", "ci_high"):
            out[f"exposure_{name}"] = getattr(c.exposure, name)
        out["exposure_p_value"] = c.exposure.p_value
    return out


def analysis_metrics(result: ABAnalysis) -> dict[str, Any]:
    """The analysis as flat numbers: arms, SRM, omnibus, comparisons, guardrails."""
    out: dict[str, Any] = {
        "alpha": result.alpha,
        "n_total": sum(a.n for a in result.arms),
        "revenue_cap_usd": result.revenue_cap,
        "revenue_capped_users": result.revenue_capped,
    }
    for a in result.arms:
        out.update(
            {
                f"{a.group}_n": a.n,
                f"{a.group}_conversions": a.conversions,
                f"{a.group}_conversion_rate": a.rate,
                f"{a.group}_revenue_per_user": a.revenue_mean,
                f"{a.group}_cost_per_user": a.cost_mean,
                f"{a.group}_net_value_per_user": a.net_value_mean,
                f"{a.group}_revenue_per_converter": a.revenue_per_converter,
                f"{a.group}_cancellation_rate": a.cancellation_rate,
            }
        )
    s, o = result.srm, result.omnibus
    out.update(
        srm_statistic=s.statistic,
        srm_p_value=s.p_value,
        srm_flag=s.flag,
        srm_assessable=s.assessable,
        omnibus_statistic=o.statistic,
        omnibus_p_value=o.p_value,
        omnibus_dof=o.dof,
    )
    for c in result.all_comparisons:
        out.update({f"{c.name}_{k}": v for k, v in _parts(c).items()})
    for g in result.guardrails:
        prefix = f"{g.arm}_guardrail_{g.metric}"
        out.update({prefix: g.value, f"{prefix}_bound": g.bound, f"{prefix}_failing": g.failing})
    for arm in sorted({g.arm for g in result.guardrails}):
        out[f"{arm}_guardrails_failing"] = sum(g.failing for g in result.guardrails if g.arm == arm)
    return out


def policy_metrics(evaluation: PolicyEvaluation) -> dict[str, Any]:
    """The doubly robust net value (with CI) and conversion of the key policies."""
    out: dict[str, Any] = {}
    table = evaluation.table
    dr = table[table["estimator"] == "dr"].set_index(["policy", "metric"])
    for policy in KEY_POLICIES:
        for metric, figures in (
            ("net_value", ("estimate", "ci_low", "ci_high")),
            ("conversion", ("estimate",)),
        ):
            if (policy, metric) in dr.index:
                row = dr.loc[(policy, metric)]
                for figure in figures:
                    suffix = "" if figure == "estimate" else f"_{figure}"
                    out[f"policy_{policy}_{metric}{suffix}"] = row[figure]
    return out


def figures(
    result: ABAnalysis,
    plan: PowerPlan | None = None,
    evaluation: PolicyEvaluation | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every figure of the run as a number: the analysis, the plan, the policy values."""
    everything = {
        **analysis_metrics(result),
        **(plan.to_dict() if plan else {}),
        **(policy_metrics(evaluation) if evaluation else {}),
        **(extra or {}),
    }
    return {k: number(v) for k, v in everything.items()}


# per comparison of the family (A vs C, B vs C, B vs A): what a configuration is judged on
KEY_COMPARISON_FIGURES = (
    "lift_abs",
    "p_adj",
    "decision_effect",
    "decision_p_adj",
    "decision_significant",
    "chance_to_beat",
)


def key_metrics(result: ABAnalysis, every: dict[str, Any]) -> dict[str, Any]:
    """metrics/ab_test.json: the figures that compare configurations (about 40)."""
    keys = ["n_total", "srm_p_value", "triggered_share"]
    for a in result.arms:
        keys += [f"{a.group}_{f}" for f in ("n", "conversion_rate", "net_value_per_user")]
    for c in result.comparisons + result.direct:
        keys += [f"{c.name}_{f}" for f in KEY_COMPARISON_FIGURES]
        keys.append(f"plan_{c.name}_power")
    keys += [f"policy_{p}_net_value" for p in KEY_POLICIES]
    keys += [k for k in every if k.endswith("_guardrails_failing")]
    return {k: every[k] for k in keys if k in every}


def metrics(
    result: ABAnalysis,
    plan: PowerPlan | None = None,
    evaluation: PolicyEvaluation | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """metrics/ab_test.json: the key figures, as numbers (sorted by the JSON writer)."""
    return key_metrics(result, figures(result, plan, evaluation, extra))


def _notes(
    result: ABAnalysis, plan: PowerPlan | None, evaluation: PolicyEvaluation | None
) -> dict[str, str]:
    notes: dict[str, str] = {}
    for key, text in (("srm", result.srm.note), ("omnibus", result.omnibus.error)):
        if text:
            notes[key] = text
    if result.omnibus.note:
        notes["omnibus_note"] = result.omnibus.note
    for c in result.all_comparisons:
        for part, text in (
            ("conversion", c.conversion.error or c.conversion.note),
            ("revenue", c.revenue.error),
            ("net_value", c.net_value.error),
            ("decision", c.decision.error),
            ("bayes", c.bayes.error),
            ("revenue_per_converter", c.revenue_per_converter.error),
            *((f"{m}_adj", a.error) for m, a in c.adjusted.items()),
        ):
            if text:
                notes[f"{c.name}_{part}"] = text
    if evaluation and evaluation.note:
        notes["policy_values"] = evaluation.note
    return {**notes, **(plan.notes() if plan else {})}


def summary(
    result: ABAnalysis,
    decision: Decision,
    plan: PowerPlan | None = None,
    evaluation: PolicyEvaluation | None = None,
    settings: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """data/ab/summary.json: every figure (flat, as numbers), the verdict and the decision in
    words, the comparisons, the run's settings and the notes."""
    return {
        **figures(result, plan, evaluation, extra),
        "verdict": {
            "winner": result.verdict.winner,
            "reason": result.verdict.reason,
            "metric": result.metric,
            "significant_arms": list(result.verdict.significant_arms),
        },
        "decision": asdict(decision),
        "basis_meaning": BASIS,
        "comparisons": {
            c.name: {
                "treatment": c.treatment,
                "control": c.control,
                "population": c.population,
                "in_family": c.in_family,
            }
            for c in result.all_comparisons
        },
        "arms": [a.group for a in result.arms],
        "control": result.control,
        "correction": result.correction,
        "plan_correction": plan.correction if plan else "",
        "policies": sorted(set(evaluation.table["policy"])) if evaluation else [],
        "settings": settings or {},
        "notes": _notes(result, plan, evaluation),
    }


def describe(
    result: ABAnalysis, *, max_expected_loss: float = 0.5, plan: PowerPlan | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The metrics and the summary of an analysis alone (no policy values), as the stage
    writes them: for a notebook, or for tests of what reads them."""
    decision = decide_recommendation(result, max_expected_loss=max_expected_loss)
    return metrics(result, plan), summary(result, decision, plan)


def arms_table(result: ABAnalysis, plan: PowerPlan) -> pd.DataFrame:
    """One row per comparison: conversion lift with its CI and raw and adjusted p; the
    decision metric's effect, CI and p; the Bayesian chance to beat; planned power and MDE."""
    power = {(r.treatment, r.control, r.suffix == "_triggered"): r for r in plan.comparisons}
    rows = []
    for c in result.all_comparisons:
        planned = power.get((c.treatment, c.control, c.population == "triggered"))
        rows.append(
            {
                "comparison": f"{c.treatment} vs {c.control}"
                + (" (triggered)" if c.population == "triggered" else ""),
                "metric": c.decision.metric,
                "effect": c.decision.effect,
                "effect_ci_low": c.decision.ci_low,
                "effect_ci_high": c.decision.ci_high,
                "lift_abs": c.conversion.lift_abs,
                "ci_low": c.conversion.lift_ci_low,
                "ci_high": c.conversion.lift_ci_high,
                "lift_rel": c.conversion.lift_rel,
                "p_value": c.conversion.p_value,
                "p_adj": c.p_adj,
                "effect_p_value": c.decision.p_value,
                "effect_p_adj": c.decision.p_adj,
                "chance_to_beat": c.bayes.chance_to_beat,
                "in_family": c.in_family,
                "power": getattr(planned, "power", None),
                "mde_abs": getattr(planned, "mde_abs", None),
            }
        )
    return pd.DataFrame(rows)
