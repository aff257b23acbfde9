"""The whole A/B/C run of the ab_test stage, from both segmentations to what the stage writes.

Assigns the experiment's users to arms (seeded hash, optionally stratified; with
``design: triggered`` only the users whose rule and ML perks differ), plans each comparison's
power, simulates the outcomes from the latent truth (or reads a real campaign's results, by
intention to treat), analyses them, values every perk policy from the random control and
decides the recommendation.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from traveltide.config import PERKS, SIMULATE, ABTestConfig
from traveltide.errors import DataError
from traveltide.experiment.analysis import analyse, comparison_pairs, prepare
from traveltide.experiment.assign import assign_groups
from traveltide.experiment.decision import decide_recommendation
from traveltide.experiment.outcomes import intention_to_treat, load_outcomes
from traveltide.experiment.policy import design_matrix
from traveltide.experiment.power import PowerPlan, power_analysis
from traveltide.experiment.simulate import (
    ResponseModel,
    behaviour_truth,
    latent_truth,
    simulate_outcomes,
)
from traveltide.experiment.summary import arms_table, metrics, summary
from traveltide.experiment.values import evaluate_policies
from traveltide.segment.compare import align
from traveltide.segment.perks import arm_perks, random_perks

log = logging.getLogger(__name__)

T = TypeVar("T")

CONTROL = "C"
STRATUM_COLUMN = {"rule_segment": "segment", "cluster": "cluster"}


@dataclass(frozen=True)
class ABTestOutputs:
    """What the ab_test stage writes."""

    users: pd.DataFrame  # one row per experiment user: arm, perk, outcomes, cost, net value
    arms: pd.DataFrame  # one row per comparison
    policy_values: pd.DataFrame  # policy x estimator x metric
    metrics: dict[str, Any]  # the key figures, numbers only
    summary: dict[str, Any]  # every figure, the verdict, the decision and its rule, notes


def inputs_needed(config: ABTestConfig) -> frozenset[str]:
    """The optional inputs of ``run_ab_test`` this config uses, so a stage reads no other:
    ``features`` always (covariates, policy features), ``personas`` (the cohort's latent
    truth) to simulate from it, ``results`` for a real campaign."""
    if config.outcomes != SIMULATE:
        return frozenset({"features", "results"})
    if config.response.fit_source == "latent":
        return frozenset({"features", "personas"})
    return frozenset({"features"})


def _given(value: T | None, name: str) -> T:
    """An optional input this config needs (a caller's mistake, not the user's, if absent)."""
    if value is None:
        raise ValueError(f"run_ab_test: this ab_test config needs {name}")
    return value


def _features(features: pd.DataFrame, users: pd.Series, config: ABTestConfig) -> pd.DataFrame:
    """The feature rows of the experiment's users, in their order, with the columns named."""
    for key, names in (
        ("ab_test.adjust_for", config.adjust_for),
        ("ab_test.policy.features", config.policy.features),
    ):
        absent = [n for n in names if n not in features.columns]
        if absent:
            raise DataError(
                f"features' user table: no column {', '.join(map(repr, absent))} ({key})"
            )
    table = features.set_index("user_id")
    missing = ~users.isin(table.index).to_numpy()
    if missing.any():
        raise DataError(
            f"features' user table: no row for {int(missing.sum())} segmented user(s) "
            f"(e.g. user_id {users[missing].iloc[0]})"
        )
    return table.loc[users.to_numpy()].reset_index()


def response_model(config: ABTestConfig) -> ResponseModel:
    r = config.response
    return ResponseModel(
        r.base_rate,
        r.affinity_effect,
        r.propensity_effect,
        r.no_perk_effect,
        r.noise_sd,
        r.revenue_mean,
        r.revenue_sd,
        r.cancel_rate,
        r.cancel_lift,
        seed=config.seed,
    )


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
    """Assign, plan, simulate or load the outcomes, analyse, value the policies, decide.

    ``rules`` and ``clusters`` are the two segmentations (user_id, perk, segment / cluster);
    ``personas`` the cohort's latent truth; ``results`` a campaign's results table as read
    (``outcomes.read_results``). See ``inputs_needed`` for which a config uses.
    """
    both = align(rules, clusters, what="ab_test").reset_index(drop=True)
    triggered_all = (both["perk_rules"] != both["perk_ml"]).to_numpy()
    cohort = both if config.design == "all" else both[triggered_all].reset_index(drop=True)
    users = cohort["user_id"]
    strata = cohort[STRATUM_COLUMN[config.stratify_by]] if config.stratify_by else None
    groups = assign_groups(users, weights=config.weights, seed=config.seed, strata=strata)
    perk = arm_perks(
        groups,
        cohort["perk_rules"],
        cohort["perk_ml"],
        random_perks(users, seed=config.seed),
        control=config.control,
    )
    table = pd.DataFrame({"user_id": users, "group": groups, "perk": perk})
    feats = _features(_given(features, "features"), users, config)
    extra: dict[str, Any] = {
        "experiment_users": len(cohort),
        "triggered_users": int((cohort["perk_rules"] != cohort["perk_ml"]).sum()),
        "triggered_share": float(triggered_all.mean()) if len(both) else float("nan"),
    }
    if config.outcomes == SIMULATE:
        if config.response.fit_source == "latent":
            truth = latent_truth(users, _given(personas, "personas"), PERKS)
        else:
            truth = behaviour_truth(feats, _given(signals, "signals"), PERKS)
        outcomes = simulate_outcomes(table, truth, model=response_model(config), perks=PERKS)
    else:
        what = str(Path(config.outcomes))
        checked = load_outcomes(
            _given(results, "results"),
            known_users=users,
            groups=config.weights,
            what=what,
            refunds=config.results.refunds,
        )
        itt, coverage = intention_to_treat(
            checked,
            table,
            what=what,
            min_coverage=config.results.min_coverage,
            group_mismatch=config.results.group_mismatch,
        )
        outcomes = table.merge(itt.drop(columns="group"), on="user_id", how="left")
        extra.update(
            outcomes_users=coverage.users,
            outcomes_users_missing=coverage.missing,
            outcomes_coverage=coverage.share,
            outcomes_group_mismatch=coverage.group_mismatch,
        )
    outcomes["triggered"] = (cohort["perk_rules"] != cohort["perk_ml"]).to_numpy()
    covariates = design_matrix(feats, config.adjust_for) if config.adjust_for else None
    result = analyse(
        outcomes,
        control=CONTROL,
        weights=config.weights,
        alpha=config.alpha,
        correction=config.correction,
        metric=config.decision.metric,
        costs=config.costs,
        cap_quantile=config.revenue_cap,
        covariates=covariates,
        prior_sd=config.decision.prior_sd,
        refunds=config.results.refunds,
        max_cancellation_increase=config.guardrails.max_cancellation_increase,
        min_margin=config.guardrails.min_margin,
    )
    frame, _, _ = prepare(
        outcomes,
        arms=list(config.weights),
        costs=config.costs,
        cap_quantile=config.revenue_cap,
        refunds=config.results.refunds,
    )
    evaluation = evaluate_policies(
        cohort.assign(
            group=groups.to_numpy(),
            perk=perk.to_numpy(),
            conversion=frame["converted"].to_numpy(dtype=float),
            revenue=frame["revenue"].to_numpy(),
            net_value=frame["net_value"].to_numpy(),
        ),
        design_matrix(feats, config.policy.features),
        perks=PERKS,
        control=CONTROL,
        folds=config.policy.folds,
        seed=config.seed,
        penalty=config.policy.ridge,
        target=config.decision.metric,
        alpha=config.alpha,
    )
    plan = _plan(config, groups, outcomes["triggered"].to_numpy())
    decision = decide_recommendation(result, max_expected_loss=config.decision.max_expected_loss)
    settings = {
        "outcomes": config.outcomes,
        "design": config.design,
        "control_kind": config.control,
        "stratify_by": config.stratify_by or "none",
        "fit_source": config.response.fit_source if config.outcomes == SIMULATE else "",
        "decision_metric": config.decision.metric,
        "adjust_for": list(config.adjust_for),
    }
    per_user = outcomes.assign(
        revenue_capped=frame["revenue"].to_numpy(),
        cost=frame["cost"].to_numpy(),
        net_value=frame["net_value"].to_numpy(),
    )
    return ABTestOutputs(
        users=per_user,
        arms=arms_table(result, plan),
        policy_values=evaluation.table,
        metrics=metrics(result, plan, evaluation, extra),
        summary=summary(result, decision, plan, evaluation, settings, extra),
    )


def _plan(config: ABTestConfig, groups: pd.Series, triggered: np.ndarray) -> PowerPlan:
    """Power and MDE of every comparison at the assigned sizes, at the level the analysis'
    correction implies; B vs A on the users whose perks differ, as the analysis tests it."""
    sizes = {g: int((groups == g).sum()) for g in config.weights}
    pair_sizes = {}
    if not triggered.all():
        on = groups[triggered]
        pair_sizes[("B", "A")] = (int((on == "B").sum()), int((on == "A").sum()))
    return power_analysis(
        sizes,
        control=CONTROL,
        baseline_rate=config.plan.baseline_rate,
        mde=config.plan.mde,
        mde_kind=config.plan.mde_kind,
        alpha=config.alpha,
        power=config.plan.power,
        correction=config.correction,
        pairs=comparison_pairs(config.weights, control=CONTROL),
        pair_sizes=pair_sizes,
    )
