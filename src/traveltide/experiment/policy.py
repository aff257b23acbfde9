"""Outcome models and perk policies learned from the random-perk control, never judged on the
outcomes they were fitted on.

- Outcome models for the doubly robust estimates of fixed policies are cross-fitted: every
  user falls in one of ``folds`` folds (a seeded hash of the user id); for fold j the models
  are fitted on the control users of the other folds (Chernozhukov et al. 2018).
- Learned policies are fitted on one part of the control (``learn``) and evaluated on the
  rest (sample splitting). Swapping the parts and averaging (cross-fitting) would use every
  user for evaluation, but a learned policy that flips between near-equal perks makes the
  folds' errors correlated, and its confidence interval too narrow (docs/ab-testing.md
  gives the measured coverage).

- outcome model: one ridge regression per perk of the outcome on the policy features;
- best perk per group (rule segment, ML cluster): the perk with the highest mean outcome
  among the group's control users who got it (the overall best perk where a group has none);
- uplift model: per user, the perk whose outcome model predicts the most (a T-learner,
  Kunzel et al. 2019, over K perks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from traveltide.experiment.assign import canonical_ids, unit_hash
from traveltide.portable import portable


@dataclass(frozen=True)
class Learned:
    """Cross-fitted models, for every cohort user: outcome predictions per metric
    (users x K) and the learned policies (perk index per user)."""

    models: dict[str, np.ndarray]
    policies: dict[str, np.ndarray]


def folds_of(user_ids: pd.Series, *, folds: int, seed: int) -> np.ndarray:
    """A fold in 0..folds-1 per user, from a seeded hash of the user id."""
    u = unit_hash(canonical_ids(user_ids), salt=f"{seed}:fold")
    return np.minimum((u * folds).astype(int), folds - 1)


def design_matrix(features: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """Policy features, standardised: log1p for non-negative columns (spend and counts are
    skewed), then cohort z-scores; a missing value becomes the column's mean (0)."""
    out = np.zeros((len(features), len(columns)))
    for j, name in enumerate(columns):
        x = features[name].to_numpy(dtype=float)
        ok = np.isfinite(x)
        if ok.any() and (x[ok] >= 0).all():
            x = portable(np.log1p, np.where(ok, x, 0.0))  # same bits on every CPU
        if ok.sum() > 1:
            mean, sd = x[ok].mean(), x[ok].std()
            out[:, j] = np.where(ok, (x - mean) / sd if sd > 0 else 0.0, 0.0)
    return out


def ridge(x: np.ndarray, y: np.ndarray, penalty: float) -> np.ndarray:
    """Ridge coefficients (intercept first, unpenalised): centre, then solve
    (X'X + penalty I) b = X'y. Without rows, all zeros; without features, the mean."""
    if len(y) == 0:
        return np.zeros(x.shape[1] + 1)
    mx, my = x.mean(axis=0), y.mean()
    xc = x - mx
    gram = xc.T @ xc + penalty * np.eye(x.shape[1])
    beta = np.linalg.lstsq(gram, xc.T @ (y - my), rcond=None)[0]
    return np.r_[my - mx @ beta, beta]


def best_per_group(
    group: np.ndarray, received: np.ndarray, outcome: np.ndarray, k: int
) -> dict[object, int]:
    """Per group, the perk index with the highest mean outcome (ties: the lower index);
    the key None holds the overall best perk, for groups or perks never seen."""
    labels, code = np.unique(np.asarray(group), return_inverse=True)
    cell = code * k + received
    size = len(labels) * k
    total = np.bincount(cell, weights=outcome, minlength=size).reshape(-1, k)
    count = np.bincount(cell, minlength=size).reshape(-1, k)
    overall_count = count.sum(axis=0)
    if overall_count.any():
        overall = np.where(
            overall_count > 0, total.sum(axis=0) / np.maximum(overall_count, 1), -np.inf
        )
        fallback = int(np.argmax(overall))
    else:
        fallback = 0
    best: dict[object, int] = {None: fallback}
    means = np.where(count > 0, total / np.maximum(count, 1), -np.inf)
    seen = count.sum(axis=1) > 0
    for i, label in enumerate(labels.tolist()):
        best[label] = int(np.argmax(means[i])) if seen[i] else fallback
    return best


def _models(
    fit: np.ndarray,
    received: np.ndarray,
    outcomes: Mapping[str, np.ndarray],
    design: np.ndarray,
    k: int,
    penalty: float,
) -> dict[str, np.ndarray]:
    """Per metric, the (features + 1) x K ridge coefficients fitted on the ``fit`` users."""
    x = design[:, 1:]
    return {
        metric: np.column_stack(
            [ridge(x[fit & (received == a)], y[fit & (received == a)], penalty) for a in range(k)]
        )
        for metric, y in outcomes.items()
    }


def cross_fit(
    *,
    fold: np.ndarray,
    train: np.ndarray,
    received: np.ndarray,
    outcomes: Mapping[str, np.ndarray],
    x: np.ndarray,
    k: int,
    penalty: float,
) -> dict[str, np.ndarray]:
    """The outcome model of every user (users x K per metric), fitted fold by fold on the
    ``train`` (control) users outside the user's fold. ``received`` and ``outcomes`` matter
    only where ``train`` is true."""
    design = np.column_stack([np.ones(len(fold)), x])
    models = {m: np.zeros((len(fold), k)) for m in outcomes}
    for j in np.unique(fold):
        inside = fold == j
        coefs = _models(train & ~inside, received, outcomes, design, k, penalty)
        for metric, c in coefs.items():
            models[metric][inside] = design[inside] @ c
    return models


def learn_policies(
    *,
    learn: np.ndarray,
    received: np.ndarray,
    outcomes: Mapping[str, np.ndarray],
    x: np.ndarray,
    groups: Mapping[str, np.ndarray],
    k: int,
    target: str,
    penalty: float,
) -> Learned:
    """Policies learned on the ``learn`` users alone (their outcome ``target`` maximised),
    and the outcome models fitted on them, for every user: evaluated on control users
    outside ``learn``, neither has seen the outcomes it is judged on."""
    design = np.column_stack([np.ones(len(learn)), x])
    models = {
        m: design @ c for m, c in _models(learn, received, outcomes, design, k, penalty).items()
    }
    policies = {"uplift_model": models[target].argmax(axis=1)}
    for name, labels in groups.items():
        best = best_per_group(labels[learn], received[learn], outcomes[target][learn], k)
        policies[name] = np.array([best.get(g, best[None]) for g in labels])
    return Learned(models, policies)


def cross_fit_policies(
    *,
    fold: np.ndarray,
    train: np.ndarray,
    received: np.ndarray,
    outcomes: Mapping[str, np.ndarray],
    x: np.ndarray,
    groups: Mapping[str, np.ndarray],
    k: int,
    target: str,
    penalty: float,
) -> dict[str, np.ndarray]:
    """The learned policies cross-fitted instead: for each fold, learned on the ``train``
    users outside it and applied inside it. Not what the stage uses (the module docstring
    says why); ``make calibrate --learning cross_fit`` measures it."""
    policies = {name: np.zeros(len(fold), dtype=int) for name in [*groups, "uplift_model"]}
    for j in np.unique(fold):
        inside = fold == j
        learned = learn_policies(
            learn=train & ~inside,
            received=received,
            outcomes=outcomes,
            x=x,
            groups=groups,
            k=k,
            target=target,
            penalty=penalty,
        )
        for name, choice in learned.policies.items():
            policies[name][inside] = choice[inside]
    return policies
