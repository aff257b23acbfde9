"""Simulated outcomes: conversion and revenue drawn from an explicit, assumed response model.

No outcome data exists for the synthetic world, so the A/B stage draws each user's response
from latent truth (does the perk fit the user?), never from the rule an arm uses.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy import stats

from traveltide.errors import ConfigError, DataError
from traveltide.experiment.assign import NO_PERK, canonical_ids, unit_hash
from traveltide.experiment.checks import check_ids
from traveltide.portable import portable

log = logging.getLogger(__name__)

SIMULATION_COLUMNS = ("user_id", "group", "perk", "fit_perk")


@dataclass(frozen=True)
class ResponseModel:
    """Explicit, assumed response to a perk (no outcome data exists; docs/ab-testing.md).

    Conversion probability per user (params.yaml comments define the baseline):
    ``base_rate`` with a perk that does not fit, ``+ fit_lift`` when the perk fits,
    ``- any_perk_lift`` with no perk at all; plus ``noise_sd`` * N(0, 1) of per-user
    heterogeneity; clipped to [0, 1]. Revenue of a converter is lognormal with mean
    ``revenue_mean`` and sd ``revenue_sd`` (constant when sd is 0), 0 otherwise.
    """

    base_rate: float
    fit_lift: float
    any_perk_lift: float
    revenue_mean: float
    revenue_sd: float
    noise_sd: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise ConfigError(f"response.{f.name}: must be a number, got {value!r}")
        if not isinstance(self.seed, int | np.integer):
            raise ConfigError(f"response.seed: must be an integer, got {self.seed!r}")
        checks = {
            "base_rate": 0.0 <= self.base_rate <= 1.0,
            "fit_lift": -1.0 <= self.fit_lift <= 1.0,
            "any_perk_lift": -1.0 <= self.any_perk_lift <= 1.0,
            "revenue_mean": self.revenue_mean > 0,
            "revenue_sd": self.revenue_sd >= 0,
            "noise_sd": self.noise_sd >= 0,
        }
        for name, ok in checks.items():
            value = getattr(self, name)
            if not math.isfinite(float(value)) or not ok:
                raise ConfigError(f"response.{name}: out of range, got {value!r}")

    def probability(self, *, has_perk: np.ndarray, fits: np.ndarray) -> np.ndarray:
        """Expected conversion probability before per-user noise."""
        p = self.base_rate - self.any_perk_lift * ~has_perk + self.fit_lift * (fits & has_perk)
        return np.clip(p, 0.0, 1.0)

    def revenue(self, z: np.ndarray) -> np.ndarray:
        """Lognormal revenue from standard normal draws, moments matched to mean and sd.

        sigma^2 = ln(1 + sd^2 / mean^2), mu = ln(mean) - sigma^2 / 2 (lognormal moments,
        e.g. Johnson, Kotz & Balakrishnan 1994, ch. 14).
        """
        if self.revenue_sd == 0:
            return np.full(z.shape, float(self.revenue_mean))
        sigma2 = math.log1p((self.revenue_sd / self.revenue_mean) ** 2)
        mu = math.log(self.revenue_mean) - sigma2 / 2
        return portable(np.exp, mu + math.sqrt(sigma2) * z)


def _no_perk(perk: pd.Series) -> np.ndarray:
    text = perk.astype(object).where(perk.notna(), NO_PERK).map(lambda v: str(v).strip().lower())
    return text.isin([NO_PERK, ""]).to_numpy()


def simulate_outcomes(
    table: pd.DataFrame, *, model: ResponseModel, seed: int | None = None
) -> pd.DataFrame:
    """Add ``converted`` (bool) and ``revenue`` (float, 0 unless converted) to a copy of table.

    ``table`` has user_id, group, perk, fit_perk; ``perk`` None/NaN/"none" means no perk.
    Draws are per-user hashes of (seed, user_id) - ``seed`` defaults to ``model.seed`` - so
    results do not depend on row order, and a user gets the same uniform draws whichever
    arm they sit in (common random numbers: arms differ only through the perk).
    """
    missing = [c for c in SIMULATION_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(f"simulation table: missing column(s) {', '.join(map(repr, missing))}")
    ids = table["user_id"].reset_index(drop=True)
    check_ids(ids, what="simulation table")
    salt = str(model.seed if seed is None else int(seed))
    keys = canonical_ids(ids)
    has_perk = ~_no_perk(table["perk"])
    fits = table["perk"].astype(object).to_numpy() == table["fit_perk"].astype(object).to_numpy()
    fits &= table["fit_perk"].notna().to_numpy()
    p = model.probability(has_perk=has_perk, fits=fits)
    if model.noise_sd > 0:
        noise = stats.norm.ppf(unit_hash(keys, salt=f"{salt}:noise"))
        p = np.clip(p + model.noise_sd * noise, 0.0, 1.0)
    converted = unit_hash(keys, salt=f"{salt}:convert") < p
    z = stats.norm.ppf(unit_hash(keys, salt=f"{salt}:revenue"))
    out = table.copy()
    out["converted"] = converted
    out["revenue"] = np.where(converted, model.revenue(z), 0.0)
    log.info(
        "simulated %d users: %.2f%% converted",
        len(out),
        100 * converted.mean() if len(out) else 0.0,
    )
    return out
