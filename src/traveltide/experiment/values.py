"""Policy values: what each way of giving perks would earn, estimated from the random control.

Policies (each gives every experiment user one perk, or a lottery over perks):

- ``rules`` (arm A's perks) and ``clusters`` (arm B's), fixed before the test;
- ``random_perk`` (arm C's own policy) and ``all_<perk>`` (one perk for everyone);
- learned from part of C (``experiment.policy``): ``best_perk_per_segment``,
  ``best_perk_per_cluster`` and ``uplift_model`` (a per-user choice over the features).

Each policy's conversion, revenue and net value per user is estimated by IPW, self-normalised
IPW and doubly robust estimation (``experiment.ope``) on the users of C only, with CIs: a
fixed policy on all of them, a learned policy on those it was not learned from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from traveltide.experiment.assign import canonical_ids, unit_hash
from traveltide.experiment.ope import ESTIMATORS, evaluate, one_hot
from traveltide.experiment.policy import (
    cross_fit,
    cross_fit_policies,
    folds_of,
    learn_policies,
)

METRICS = ("conversion", "revenue", "net_value")
COLUMNS = ("policy", "estimator", "metric", "estimate", "se", "ci_low", "ci_high", "n")
LEARNED = {"best_perk_per_segment": "segment", "best_perk_per_cluster": "cluster"}


@dataclass(frozen=True)
class PolicyEvaluation:
    """The policy-value table (``COLUMNS``), and each policy as users x perks probabilities
    for every experiment user (in the order given), for checking against a known truth."""

    table: pd.DataFrame
    policies: dict[str, np.ndarray]
    perks: tuple[str, ...]
    note: str | None = None


def _empty(perks: Sequence[str], note: str) -> PolicyEvaluation:
    return PolicyEvaluation(pd.DataFrame(columns=list(COLUMNS)), {}, tuple(perks), note)


def evaluate_policies(
    users: pd.DataFrame,
    x: np.ndarray,
    *,
    perks: Sequence[str],
    control: str = "C",
    folds: int = 5,
    seed: int = 0,
    penalty: float = 10.0,
    learn_share: float = 0.5,
    target: str = "net_value",
    alpha: float = 0.05,
    learning: Literal["split", "cross_fit"] = "split",
) -> PolicyEvaluation:
    """Every policy's value from the control users of ``users``.

    ``users`` has one row per experiment user: user_id, group, perk, segment, cluster,
    perk_rules, perk_ml and the outcomes (``METRICS`` columns); ``x`` their standardised
    policy features (``policy.design_matrix``), row for row. The control must have given
    each user a uniformly random perk of ``perks``. Learned policies are fitted on the
    control users in a seeded ``learn_share`` of users and judged on the other ones
    (``learning="cross_fit"``: fold by fold instead, for the calibration's comparison).
    """
    k = len(perks)
    index = {p: j for j, p in enumerate(perks)}
    in_c = (users["group"] == control).to_numpy()
    received = users["perk"].map(index).to_numpy(dtype=float)
    if not in_c.any():
        return _empty(perks, "no control users: policy values need the random-perk control")
    if np.isnan(received[in_c]).any():
        return _empty(perks, "the control gave no random perk (control: no_perk)")
    received = np.where(np.isnan(received), 0, received).astype(int)
    outcomes = {m: np.where(in_c, users[m].to_numpy(dtype=float), 0.0) for m in METRICS}
    fold = folds_of(users["user_id"], folds=folds, seed=seed)
    models = cross_fit(
        fold=fold, train=in_c, received=received, outcomes=outcomes, x=x, k=k, penalty=penalty
    )
    learn = unit_hash(canonical_ids(users["user_id"]), salt=f"{seed}:learn") < learn_share
    common = dict(
        received=received,
        outcomes=outcomes,
        x=x,
        groups={name: users[col].astype(str).to_numpy() for name, col in LEARNED.items()},
        k=k,
        target=target,
        penalty=penalty,
    )
    policies = fixed_policies(users, perks)
    judged = {name: (in_c, models) for name in policies}
    if learning == "split":
        learned = learn_policies(learn=in_c & learn, **common)  # type: ignore[arg-type]
        for name, choice in learned.policies.items():
            policies[name] = one_hot(choice, k)
            judged[name] = (in_c & ~learn, learned.models)
    else:
        crossed = cross_fit_policies(fold=fold, train=in_c, **common)  # type: ignore[arg-type]
        for name, choice in crossed.items():
            policies[name] = one_hot(choice, k)
            judged[name] = (in_c, models)
    rows = []
    for name, policy in policies.items():
        used, model = judged[name]
        for metric in METRICS:
            for estimator in ESTIMATORS:
                value = evaluate(
                    estimator,
                    outcome=outcomes[metric][used],
                    received=received[used],
                    policy=policy[used],
                    propensity=1 / k,
                    model=model[metric][used],
                    alpha=alpha,
                )
                rows.append((name, estimator, metric, *vars(value).values()))
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return PolicyEvaluation(table, policies, tuple(perks))


def fixed_policies(users: pd.DataFrame, perks: Sequence[str]) -> dict[str, np.ndarray]:
    """The policies fixed before the test: rules, clusters, a random perk, one perk for all."""
    k = len(perks)
    index = {p: j for j, p in enumerate(perks)}
    n = len(users)
    out = {
        "rules": one_hot(users["perk_rules"].map(index).to_numpy(dtype=int), k),
        "clusters": one_hot(users["perk_ml"].map(index).to_numpy(dtype=int), k),
        "random_perk": np.full((n, k), 1 / k),
    }
    for j, perk in enumerate(perks):
        out[f"all_{perk}"] = one_hot(np.full(n, j), k)
    return out


def true_values(
    evaluation: PolicyEvaluation, truth: Mapping[str, np.ndarray]
) -> dict[tuple[str, str], float]:
    """Each (policy, metric)'s true mean per user, from the expected outcomes of every user
    under each perk (``truth[metric]``: users x perks, e.g. ``PotentialOutcomes.expected``)."""
    k = len(evaluation.perks)
    return {
        (name, metric): float((policy * truth[metric][:, :k]).sum(axis=1).mean())
        for name, policy in evaluation.policies.items()
        for metric in METRICS
    }
