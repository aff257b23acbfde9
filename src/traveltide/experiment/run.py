"""The whole A/B/C run of the ab_test stage, from both segmentations to what the stage writes.

Assigns every cohort user to an arm (seeded hash, optionally stratified), plans the power and
minimum detectable effect of each comparison at the assigned sizes, then either simulates the
outcomes with the response model or takes a real campaign's results, and analyses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from traveltide.config import SIMULATE, ABTestConfig
from traveltide.experiment.analysis import ABAnalysis, analyse, comparison_pairs
from traveltide.experiment.assign import assign_groups
from traveltide.experiment.outcomes import load_outcomes
from traveltide.experiment.power import PowerPlan, power_analysis
from traveltide.experiment.simulate import ResponseModel, simulate_outcomes
from traveltide.segment.compare import align
from traveltide.segment.perks import (
    arm_perks,
    fit_perk_by_behaviour,
    fit_perk_by_persona,
    random_perks,
)
from traveltide.synthetic.personas import PERSONA_PERK

T = TypeVar("T")

CONTROL = "C"
STRATUM_COLUMN = {"rule_segment": "segment", "cluster": "cluster"}


@dataclass(frozen=True)
class ABTestOutputs:
    """What the ab_test stage writes: the per-user table, one row per comparison, the metrics."""

    users: pd.DataFrame  # user_id, group, perk, [fit_perk,] converted, revenue
    arms: pd.DataFrame  # comparison, lift and its CI, p-values, planned power and MDE
    metrics: dict[str, Any]  # analysis, plan and run settings, JSON-safe


def inputs_needed(config: ABTestConfig) -> frozenset[str]:
    """The optional inputs of ``run_ab_test`` this config uses, so a stage reads no other:
    ``features`` (with perks.signals) or ``personas`` to simulate, ``results`` otherwise."""
    if config.outcomes != SIMULATE:
        return frozenset({"results"})
    return frozenset({"personas" if config.response.fit_source == "personas" else "features"})


def _given(value: T | None, name: str) -> T:
    """An optional input this config needs (a caller's mistake, not the user's, if absent)."""
    if value is None:
        raise ValueError(f"run_ab_test: this ab_test config needs {name}")
    return value


def run_ab_test(
    rules: pd.DataFrame,
    clusters: pd.DataFrame,
    *,
    config: ABTestConfig,
    features: pd.DataFrame | None = None,
    signals: Mapping[str, str] | None = None,
    personas: pd.DataFrame | None = None,
    results: pd.DataFrame | None = None,
) -> ABTestOutputs:
    """Assign, plan, simulate or load the outcomes, and analyse them (see ``inputs_needed``).

    ``rules`` and ``clusters`` are the two segmentations (user_id, perk, segment / cluster);
    ``results`` is a campaign's results table as read (``outcomes.read_results``).
    """
    both = align(rules, clusters).reset_index(drop=True)
    users = both["user_id"]
    strata = both[STRATUM_COLUMN[config.stratify_by]] if config.stratify_by else None
    groups = assign_groups(users, weights=config.weights, seed=config.seed, strata=strata)
    control_perks = random_perks(users, seed=config.seed)
    plan = _plan(config, groups)
    extra: dict[str, Any] = {
        "outcomes": config.outcomes,
        "stratify_by": config.stratify_by or "none",
        "control_kind": config.control,
    }
    if config.outcomes == SIMULATE:
        if config.response.fit_source == "personas":
            fit = fit_perk_by_persona(users, _given(personas, "personas"), PERSONA_PERK)
        else:
            by_user = _given(features, "features").set_index("user_id").loc[users].reset_index()
            fit = fit_perk_by_behaviour(by_user, _given(signals, "signals"))
        perk = arm_perks(
            groups, both["perk_rules"], both["perk_ml"], control_perks, control=config.control
        )
        table = pd.DataFrame({"user_id": users, "group": groups, "perk": perk, "fit_perk": fit})
        outcomes = simulate_outcomes(table, model=_response_model(config))
        extra["fit_source"] = config.response.fit_source
    else:
        outcomes = _campaign_outcomes(_given(results, "results"), both, control_perks, config)
        row = pd.Index(users).get_indexer(outcomes["user_id"])
        extra["outcomes_users"] = len(outcomes)
        extra["outcomes_users_missing"] = len(users) - len(outcomes)
        extra["outcomes_group_mismatch"] = int(
            (groups.iloc[row].to_numpy() != outcomes["group"].to_numpy()).sum()
        )
    result = analyse(
        outcomes,
        control=CONTROL,
        weights=config.weights,
        alpha=config.alpha,
        correction=config.correction,
    )
    metrics = {**result.to_dict(), **plan.to_dict(), **extra}
    return ABTestOutputs(users=outcomes, arms=arms_table(result, plan), metrics=metrics)


def _plan(config: ABTestConfig, groups: pd.Series) -> PowerPlan:
    """Power and MDE of every comparison at the assigned sizes, Bonferroni over the family."""
    return power_analysis(
        {g: int((groups == g).sum()) for g in config.weights},
        control=CONTROL,
        baseline_rate=config.plan.baseline_rate,
        mde=config.plan.mde,
        mde_kind=config.plan.mde_kind,
        alpha=config.alpha,
        power=config.plan.power,
        correction="bonferroni",
        pairs=comparison_pairs(config.weights, control=CONTROL),
    )


def _response_model(config: ABTestConfig) -> ResponseModel:
    r = config.response
    return ResponseModel(
        r.base_rate,
        r.fit_lift,
        r.any_perk_lift,
        r.revenue_mean,
        r.revenue_sd,
        noise_sd=r.noise_sd,
        seed=config.seed,
    )


def _campaign_outcomes(
    results: pd.DataFrame, both: pd.DataFrame, control_perks: pd.Series, config: ABTestConfig
) -> pd.DataFrame:
    """The checked results, by user_id, with the perk each user's arm gave.

    The arm is the one the campaign ran (the file's); the perk follows from the arm.
    """
    users = both["user_id"]
    checked = load_outcomes(
        results, known_users=users, groups=config.weights, what=str(Path(config.outcomes))
    )
    row = pd.Index(users).get_indexer(checked["user_id"])
    arm = pd.Series(checked["group"].to_numpy(), name="group")
    perk = arm_perks(
        arm,
        both["perk_rules"].iloc[row].reset_index(drop=True),
        both["perk_ml"].iloc[row].reset_index(drop=True),
        control_perks.iloc[row].reset_index(drop=True),
        control=config.control,
    )
    return (
        pd.DataFrame(
            {
                "user_id": checked["user_id"].to_numpy(),
                "group": arm,
                "perk": perk,
                "converted": checked["converted"].to_numpy(),
                "revenue": checked["revenue"].to_numpy(),
            }
        )
        .sort_values("user_id", kind="stable")
        .reset_index(drop=True)
    )


def arms_table(result: ABAnalysis, plan: PowerPlan) -> pd.DataFrame:
    """One row per comparison: lift with its CI, raw and adjusted p, planned power and MDE."""
    power = {(r.treatment, r.control): r for r in plan.comparisons}
    return pd.DataFrame(
        [
            {
                "comparison": f"{c.treatment} vs {c.control}",
                "lift_abs": c.conversion.lift_abs,
                "ci_low": c.conversion.lift_ci_low,
                "ci_high": c.conversion.lift_ci_high,
                "lift_rel": c.conversion.lift_rel,
                "p_value": c.conversion.p_value,
                "p_adj": c.p_adj,
                "power": getattr(power.get((c.treatment, c.control)), "power", None),
                "mde_abs": getattr(power.get((c.treatment, c.control)), "mde_abs", None),
            }
            for c in result.comparisons
        ]
    )
