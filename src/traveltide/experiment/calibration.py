"""Calibration of the A/B engine by simulation: does a 95% interval cover the truth 95% of the
time, does a test at alpha 0.05 reject a true null 5% of the time?

Each replication reruns the real code (assignment, simulation from the latent truth, analysis,
policy values) with another seed on a fixed cohort, where the simulation's truth is known:

- ``aa_replication``: every arm gives the same perks (an A/A test): each comparison's raw
  p-values (false positives), whether each interval covers 0, and the verdict;
- ``policy_replication``: the A/B/C design as configured: every policy-value interval and the
  true value of that policy under the replication's draws.

``toy_world`` builds a small cohort with latent truth, for the test suite; ``bench/calibrate.py``
runs the same replications many times, on the pipeline's own cohort too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from traveltide.config import PERKS, ABTestConfig
from traveltide.experiment.analysis import analyse
from traveltide.experiment.assign import assign_groups
from traveltide.experiment.policy import design_matrix
from traveltide.experiment.run import response_model
from traveltide.experiment.simulate import (
    AFFINITY,
    latent_truth,
    potential_outcomes,
    simulate_outcomes,
)
from traveltide.experiment.values import evaluate_policies, true_values
from traveltide.segment.compare import align
from traveltide.segment.perks import arm_perks, random_perks


@dataclass(frozen=True)
class World:
    """A cohort to replicate experiments on: both segmentations, features, latent truth."""

    users: pd.DataFrame  # align(rules, clusters): user_id, segment, cluster, perk_rules, perk_ml
    features: pd.DataFrame  # one row per user, in the users' order
    truth: pd.DataFrame  # latent truth per user, in the users' order


def make_world(
    rules: pd.DataFrame, clusters: pd.DataFrame, features: pd.DataFrame, truth: pd.DataFrame
) -> World:
    """A World from the pipeline's tables (segment_rules, cluster, features, cohort truth)."""
    users = align(rules, clusters, what="calibration").reset_index(drop=True)
    feats = features.set_index("user_id").loc[users["user_id"].to_numpy()].reset_index()
    return World(users, feats, latent_truth(users["user_id"], truth, PERKS))


def toy_world(n: int = 3000, seed: int = 0) -> World:
    """A synthetic cohort of ``n`` users in five personas: each persona prefers one perk
    (affinity +1 sd, plus N(0, 0.8^2) per user), booking propensity and spend vary per user,
    and the features carry part of the truth (trips follow propensity, one behaviour per
    persona is raised). Rules pick the perk of a user's outstanding behaviour, clusters a
    noisier guess of the persona: both are imperfect, as on real data."""
    rng = np.random.default_rng(seed)
    persona = rng.integers(0, len(PERKS), n)
    prefers = np.eye(len(PERKS))[persona]
    ids = np.arange(1, n + 1) * 7
    truth = pd.DataFrame(
        {
            "user_id": ids,
            "persona": persona,
            "propensity": rng.gamma(4.0, 0.25, n),
            "spend": rng.lognormal(-0.08, 0.4, n),
        }
    )
    for j, perk in enumerate(PERKS):
        truth[AFFINITY + perk] = prefers[:, j] - 0.2 + rng.normal(0.0, 0.8, n)
    behaviours = ["avg_nights", "avg_bags", "cancellation_rate", "bargain_hunter_index"]
    behaviours.append("total_spend_usd")
    raised = np.exp(0.6 * prefers + rng.normal(0.0, 1.0, prefers.shape))
    features = pd.DataFrame({"user_id": ids, "n_trips": rng.poisson(3 * truth["propensity"])})
    for j, name in enumerate(behaviours):
        features[name] = raised[:, j] * (300 * truth["spend"] if j == 4 else 1.0)
    features["age_years"] = rng.normal(45, 12, n)
    features["has_children"] = (rng.random(n) < 0.3).astype(float)
    rule = np.where(raised.max(axis=1) > 3.0, raised.argmax(axis=1), 0)
    guess = (np.log(raised) + rng.normal(0.0, 0.7, raised.shape)).argmax(axis=1)
    users = pd.DataFrame(
        {
            "user_id": ids,
            "segment": [f"seg_{j}" for j in rule],
            "perk_rules": np.asarray(PERKS, dtype=object)[rule],
            "cluster": guess,
            "perk_ml": np.asarray(PERKS, dtype=object)[guess],
        }
    )
    return World(users, features, latent_truth(users["user_id"], truth, PERKS))


def _outcomes(world: World, config: ABTestConfig, seed: int, same_perks: bool) -> pd.DataFrame:
    """One simulated experiment: arms by ``seed``, perks by arm (A's perks in every arm when
    ``same_perks``: an A/A test), outcomes drawn from the latent truth with ``seed``."""
    ids = world.users["user_id"]
    groups = assign_groups(ids, weights=config.weights, seed=seed)
    rule_perk = world.users["perk_rules"]
    perk = (
        rule_perk.rename("perk")
        if same_perks
        else arm_perks(
            groups,
            rule_perk,
            world.users["perk_ml"],
            random_perks(ids, seed=seed),
            control=config.control,
        )
    )
    table = pd.DataFrame({"user_id": ids, "group": groups, "perk": perk.to_numpy()})
    model = replace(response_model(config), seed=seed)
    out = simulate_outcomes(table, world.truth, model=model, perks=PERKS)
    out["triggered"] = (world.users["perk_rules"] != world.users["perk_ml"]).to_numpy()
    return out


def aa_replication(world: World, config: ABTestConfig, seed: int) -> dict[str, Any]:
    """An A/A experiment through ``analyse``: raw p-values of each comparison (conversion,
    revenue, net value, the regression-adjusted decision metric), whether each interval
    covers the true difference 0, and whether the verdict claimed any difference."""
    table = _outcomes(world, config, seed, same_perks=True).drop(columns="triggered")
    x = design_matrix(world.features, config.adjust_for) if config.adjust_for else None
    result = analyse(
        table,
        weights=config.weights,
        alpha=config.alpha,
        correction=config.correction,
        metric=config.decision.metric,
        costs=config.costs,
        cap_quantile=1.0,
        covariates=x,
    )
    out: dict[str, Any] = {"verdict_claims": result.verdict.winner != "no significant difference"}
    for c in result.all_comparisons:
        tests = {
            "conversion": (
                c.conversion.p_value,
                c.conversion.lift_ci_low,
                c.conversion.lift_ci_high,
            ),
            "relative_lift": (
                c.conversion.p_value,
                c.conversion.lift_rel_ci_low,
                c.conversion.lift_rel_ci_high,
            ),
            "revenue": (c.revenue.welch_p_value, c.revenue.diff_ci_low, c.revenue.diff_ci_high),
            "net_value": (
                c.net_value.welch_p_value,
                c.net_value.diff_ci_low,
                c.net_value.diff_ci_high,
            ),
            "revenue_per_converter": (
                c.revenue_per_converter.p_value,
                c.revenue_per_converter.ci_low,
                c.revenue_per_converter.ci_high,
            ),
        }
        for metric, a in c.adjusted.items():
            tests[f"{metric}_adjusted"] = (a.p_value, a.ci_low, a.ci_high)
        for name, (p, low, high) in tests.items():
            out[f"{c.name}:{name}:p"] = p
            out[f"{c.name}:{name}:covers"] = bool(low <= 0 <= high)
    return out


def policy_replication(
    world: World,
    config: ABTestConfig,
    seed: int,
    *,
    learning: Literal["split", "cross_fit"] = "split",
) -> pd.DataFrame:
    """The policy-value table of one experiment, with each (policy, metric)'s true value
    (``learning``: how the learned policies are kept off their own data)."""
    table = _outcomes(world, config, seed, same_perks=False)
    cost = np.where(table["converted"], table["perk"].map(config.costs).fillna(0.0), 0.0)
    users = world.users.assign(
        group=table["group"].to_numpy(),
        perk=table["perk"].to_numpy(),
        conversion=table["converted"].to_numpy(dtype=float),
        revenue=table["revenue"].to_numpy(),
        net_value=table["revenue"].to_numpy() - cost,
    )
    evaluation = evaluate_policies(
        users,
        design_matrix(world.features, config.policy.features),
        perks=PERKS,
        folds=config.policy.folds,
        seed=seed,
        penalty=config.policy.ridge,
        target=config.decision.metric,
        alpha=config.alpha,
        learning=learning,
    )
    model = replace(response_model(config), seed=seed)
    expected = potential_outcomes(world.truth, model=model, perks=PERKS).expected(config.costs)
    truth = true_values(evaluation, expected)
    frame = evaluation.table.copy()
    frame["truth"] = [truth[(p, m)] for p, m in zip(frame["policy"], frame["metric"], strict=True)]
    frame["covers"] = (frame["ci_low"] <= frame["truth"]) & (frame["truth"] <= frame["ci_high"])
    return frame


def aa_summary(rows: list[Mapping[str, Any]], alpha: float) -> pd.DataFrame:
    """Per comparison and metric: the false-positive rate at ``alpha`` and the coverage of 0."""
    frame = pd.DataFrame(rows)
    out = []
    for column in frame.columns:
        if column.endswith(":p"):
            name, metric, _ = column.split(":")
            p = frame[column].to_numpy(dtype=float)
            covers = frame[f"{name}:{metric}:covers"].to_numpy(dtype=bool)
            out.append(
                {
                    "comparison": name,
                    "metric": metric,
                    "replications": int(np.isfinite(p).sum()),
                    "false_positive_rate": float(np.mean(p[np.isfinite(p)] < alpha)),
                    "coverage": float(covers.mean()),
                }
            )
    return pd.DataFrame(out)


def policy_summary(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Per policy, estimator and metric: the coverage of the truth, bias and error spread."""
    frame = pd.concat(frames, ignore_index=True)
    frame["error"] = frame["estimate"] - frame["truth"]
    grouped = frame.groupby(["policy", "estimator", "metric"], sort=True)
    return grouped.agg(
        replications=("covers", "size"),
        coverage=("covers", "mean"),
        bias=("error", "mean"),
        sd_error=("error", "std"),
        mean_se=("se", "mean"),
    ).reset_index()
