"""Simulated outcomes: conversion, cancellation and revenue drawn from an explicit response model.

No outcome data exists for the synthetic world, so the A/B stage draws each user's response to
each perk from latent truth the generator stored with the personas (``propensity``, ``spend``,
``affinity_<perk>``), never from the rule an arm uses to pick perks. ``behaviour_truth`` builds
the same inputs from the features instead (the ``behaviour`` option, which favours B).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy import special, stats

from traveltide.errors import ConfigError, DataError
from traveltide.experiment.assign import NO_PERK, canonical_ids, unit_hash
from traveltide.experiment.checks import check_ids
from traveltide.portable import portable

log = logging.getLogger(__name__)

SIMULATION_COLUMNS = ("user_id", "group", "perk")
AFFINITY = "affinity_"  # truth column prefix: affinity_<perk>
Z_CLIP = 3.0  # behaviour: a signal's cohort z-score counts at most 3 sd


@dataclass(frozen=True)
class ResponseModel:
    """Explicit, assumed response to a perk (no outcome data exists; docs/ab-testing.md).

    Log-odds of converting for user i given perk k:
    ``logit(base_rate) + propensity_effect * ln(propensity_i) + affinity_effect * affinity_ik
    + noise_sd * e_i`` (``no_perk_effect`` replaces the affinity term without a perk).
    A converter cancels with probability ``cancel_rate`` (``+ cancel_lift`` under
    no_cancellation_fees); a kept booking earns ``spend_i`` x lognormal revenue with mean
    ``revenue_mean`` and sd ``revenue_sd`` (constant when sd is 0), a cancelled one nothing.
    """

    base_rate: float
    affinity_effect: float
    propensity_effect: float
    no_perk_effect: float
    noise_sd: float
    revenue_mean: float
    revenue_sd: float
    cancel_rate: float = 0.0
    cancel_lift: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise ConfigError(f"response.{f.name}: must be a number, got {value!r}")
            if not math.isfinite(float(value)):
                raise ConfigError(f"response.{f.name}: must be finite, got {value!r}")
        if not isinstance(self.seed, int | np.integer):
            raise ConfigError(f"response.seed: must be an integer, got {self.seed!r}")
        checks = {
            "base_rate": 0.0 < self.base_rate < 1.0,
            "noise_sd": self.noise_sd >= 0,
            "revenue_mean": self.revenue_mean > 0,
            "revenue_sd": self.revenue_sd >= 0,
            "cancel_rate": 0.0 <= self.cancel_rate <= 1.0,
            "cancel_lift": 0.0 <= self.cancel_rate + self.cancel_lift <= 1.0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"response.{name}: out of range, got {getattr(self, name)!r}")

    def revenue(self, z: np.ndarray) -> np.ndarray:
        """Lognormal revenue of mean ``revenue_mean`` from standard normal draws.

        sigma^2 = ln(1 + sd^2 / mean^2), mu = ln(mean) - sigma^2 / 2 (lognormal moments,
        e.g. Johnson, Kotz & Balakrishnan 1994, ch. 14).
        """
        if self.revenue_sd == 0:
            return np.full(z.shape, float(self.revenue_mean))
        sigma2 = math.log1p((self.revenue_sd / self.revenue_mean) ** 2)
        mu = math.log(self.revenue_mean) - sigma2 / 2
        return portable(np.exp, mu + math.sqrt(sigma2) * z)


@dataclass(frozen=True)
class PotentialOutcomes:
    """Each user's expected outcomes under each option (the perks, then no perk).

    ``conversion[i, j]``, ``cancel[i, j]`` (probability a booking is cancelled) and
    ``booking_value[i]`` (expected revenue of a kept booking): the simulation's truth, which
    the calibration compares every estimate with.
    """

    options: tuple[str, ...]
    conversion: np.ndarray
    cancel: np.ndarray
    booking_value: np.ndarray

    def expected(self, costs: Mapping[str, float]) -> dict[str, np.ndarray]:
        """Expected conversion, revenue and net value per user and option (users x options)."""
        revenue = self.conversion * (1 - self.cancel) * self.booking_value[:, None]
        cost = np.array([costs.get(o, 0.0) for o in self.options])
        return {
            "conversion": self.conversion,
            "revenue": revenue,
            "net_value": revenue - self.conversion * cost[None, :],
        }

    def column(self, perk: Sequence[str]) -> np.ndarray:
        """Option index of each user's perk (no perk: the last option)."""
        index = {o: j for j, o in enumerate(self.options)}
        return np.array([index.get(str(p), len(self.options) - 1) for p in perk])


def latent_truth(user_ids: pd.Series, truth: pd.DataFrame, perks: Sequence[str]) -> pd.DataFrame:
    """The generator's latent truth of each user (propensity, spend, affinity_<perk>), aligned.

    ``truth`` is the cohort's rows of personas.parquet; empty for an external database, whose
    users have no latent truth: simulating needs the synthetic source or ``behaviour``.
    """
    what = "latent truth (cohort_truth.parquet)"
    if truth.empty:
        raise DataError(
            f"{what}: empty, so this cohort has no latent truth (an external database): set "
            "ab_test.response.fit_source: behaviour (outcomes derived from the features that "
            "B's clusters use: favours B) or ab_test.outcomes to a campaign's results file"
        )
    columns = ["propensity", "spend", *(AFFINITY + p for p in perks)]
    missing = [c for c in ["user_id", *columns] if c not in truth.columns]
    if missing:
        raise DataError(f"{what}: missing column(s) {', '.join(map(repr, missing))}")
    table = truth.set_index("user_id")[columns]
    absent = ~user_ids.isin(table.index).to_numpy()
    if absent.any():
        raise DataError(
            f"{what}: no row for {int(absent.sum())} cohort user(s) "
            f"(e.g. user_id {user_ids[absent].iloc[0]})"
        )
    aligned = table.loc[user_ids.to_numpy()].astype(float).reset_index()
    for column in columns:
        values = aligned[column].to_numpy()
        bad = ~np.isfinite(values) | ((values <= 0) if column in ("propensity", "spend") else False)
        if bad.any():
            raise DataError(
                f"{what} column {column!r}: {int(bad.sum())} missing, infinite or out-of-range "
                f"value(s) (e.g. user_id {aligned['user_id'].iloc[int(np.argmax(bad))]})"
            )
    return aligned


def behaviour_truth(
    features: pd.DataFrame, signals: Mapping[str, str], perks: Sequence[str]
) -> pd.DataFrame:
    """Truth from behaviour: affinity = the cohort z-score of the perk's signal feature.

    ``features`` holds one row per user in the cohort's order. Propensity and spend are 1
    for everyone. The signals are what the cluster stage turns into perks, so this truth
    favours B by construction (docs/ab-testing.md).
    """
    out = pd.DataFrame({"user_id": features["user_id"].to_numpy(), "propensity": 1.0, "spend": 1.0})
    for perk in perks:
        name = signals.get(perk)
        if name is None or name not in features.columns:
            raise DataError(f"perks.signals: no feature for perk {perk!r} in the feature table")
        x = features[name].to_numpy(dtype=float)
        x = np.where(np.isfinite(x), x, np.nanmedian(x) if np.isfinite(x).any() else 0.0)
        sd = x.std()
        z = (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)
        out[AFFINITY + perk] = np.clip(z, -Z_CLIP, Z_CLIP)
    return out


def _draws(user_ids: pd.Series, salt: str, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Per-user uniform draws from hashes of (seed, user_id): common to every arm and perk."""
    keys = canonical_ids(user_ids)
    return {name: unit_hash(keys, salt=f"{salt}:{name}") for name in names}


def _potential(
    truth: pd.DataFrame, noise: np.ndarray, model: ResponseModel, perks: Sequence[str]
) -> PotentialOutcomes:
    base = special.logit(model.base_rate) + model.propensity_effect * portable(
        np.log, truth["propensity"].to_numpy(dtype=float)
    )
    affinity = truth[[AFFINITY + p for p in perks]].to_numpy(dtype=float)
    eta = np.column_stack(
        [base[:, None] + model.affinity_effect * affinity, base + model.no_perk_effect]
    )
    conversion = special.expit(eta + model.noise_sd * stats.norm.ppf(noise)[:, None])
    lift = np.array([model.cancel_lift if p == "no_cancellation_fees" else 0.0 for p in perks])
    cancel = np.broadcast_to(np.append(model.cancel_rate + lift, model.cancel_rate), eta.shape)
    value = model.revenue_mean * truth["spend"].to_numpy(dtype=float)
    return PotentialOutcomes((*perks, NO_PERK), conversion, np.array(cancel), value)


def potential_outcomes(
    truth: pd.DataFrame, *, model: ResponseModel, perks: Sequence[str], seed: int | None = None
) -> PotentialOutcomes:
    """Every user's conversion and cancellation probability under each perk and no perk,
    with the per-user noise of ``seed`` (``model.seed`` by default), as ``simulate_outcomes``
    draws them."""
    salt = str(model.seed if seed is None else int(seed))
    return _potential(truth, _draws(truth["user_id"], salt, ["noise"])["noise"], model, perks)


def simulate_outcomes(
    table: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    model: ResponseModel,
    perks: Sequence[str],
    seed: int | None = None,
) -> pd.DataFrame:
    """Add ``converted``, ``cancelled`` (bool) and ``revenue`` to a copy of ``table``.

    ``table`` has user_id, group, perk (None/NaN/"none": no perk); ``truth`` the same users
    in the same order (``latent_truth`` or ``behaviour_truth``). Draws are per-user hashes
    of (seed, user_id) - ``seed`` defaults to ``model.seed`` - so results do not depend on
    row order, and a user gets the same draws in whichever arm (common random numbers).
    """
    missing = [c for c in SIMULATION_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(f"simulation table: missing column(s) {', '.join(map(repr, missing))}")
    ids = table["user_id"].reset_index(drop=True)
    check_ids(ids, what="simulation table")
    if not np.array_equal(ids.to_numpy(), truth["user_id"].to_numpy()):
        raise DataError("simulation table: truth rows must be the table's users, in its order")
    salt = str(model.seed if seed is None else int(seed))
    draws = _draws(ids, salt, ("noise", "convert", "cancel", "revenue"))
    truth_now = _potential(truth, draws["noise"], model, perks)
    perk = table["perk"].astype(object).where(table["perk"].notna(), NO_PERK).astype(str)
    column = truth_now.column(perk.tolist())
    rows = np.arange(len(ids))
    converted = draws["convert"] < truth_now.conversion[rows, column]
    cancelled = converted & (draws["cancel"] < truth_now.cancel[rows, column])
    booking = truth_now.booking_value / model.revenue_mean
    revenue = booking * model.revenue(stats.norm.ppf(draws["revenue"]))
    out = table.copy()
    out["converted"] = converted
    out["cancelled"] = cancelled
    out["revenue"] = np.where(converted & ~cancelled, revenue, 0.0)
    log.info("simulated %d users: %d converted", len(out), int(converted.sum()))
    return out
