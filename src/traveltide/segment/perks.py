"""Which perk each A/B arm gives a user, and which perk "fits" a user in the response model."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from traveltide.config import PERKS, ControlKind
from traveltide.errors import DataError
from traveltide.segment.standardize import cohort_zscores


def strongest_perk(z: pd.DataFrame, signals: Mapping[str, str]) -> np.ndarray:
    """Per row of z-scores, the perk whose signal feature is highest (ties: the perk sorting first).

    One rule for cluster profiles (cluster stage) and for single users (the response model).
    """
    perks = sorted(signals)
    missing = [signals[p] for p in perks if signals[p] not in z.columns]
    if missing:
        raise DataError(f"perks.signals: unknown feature(s) {', '.join(missing)}")
    scores = z[[signals[p] for p in perks]].to_numpy(float)
    return np.asarray(perks, dtype=object)[scores.argmax(axis=1)]


def fit_perk_by_behaviour(features: pd.DataFrame, signals: Mapping[str, str]) -> pd.Series:
    """Per user, the strongest perk in cohort z-scores: the simulated "this perk fits" truth."""
    z = cohort_zscores(features.drop(columns="user_id", errors="ignore"))
    return pd.Series(strongest_perk(z, signals), index=features.index)


def fit_perk_by_persona(
    user_ids: pd.Series, personas: pd.DataFrame, persona_perk: Mapping[str, str]
) -> pd.Series:
    """Per user, the planted persona's preferred perk (synthetic source only)."""
    lookup = personas.set_index("user_id")["persona"]
    persona = user_ids.map(lookup)
    if persona.isna().any():
        first = user_ids[persona.isna()].iloc[0]
        raise DataError(
            f"personas: no persona for {int(persona.isna().sum())} cohort users (first user_id "
            f"{first}); ab_test.response.fit_source: personas needs the synthetic source"
        )
    return persona.map(persona_perk)


def random_perks(user_ids: pd.Series, *, seed: int) -> pd.Series:
    """A uniformly random perk per user, from a seeded hash of the user id (stable across runs)."""
    from traveltide.experiment.assign import unit_hash

    u = unit_hash([str(int(x)) for x in user_ids], salt=f"{seed}:control-perk")
    idx = np.minimum((u * len(PERKS)).astype(int), len(PERKS) - 1)
    return pd.Series(np.asarray(PERKS, dtype=object)[idx], index=user_ids.index)


def arm_perks(
    groups: pd.Series,
    rule_perks: pd.Series,
    ml_perks: pd.Series,
    control_perks: pd.Series,
    *,
    control: ControlKind,
) -> pd.Series:
    """A gets the rule perk, B the ML perk, C a random perk (or none)."""
    from traveltide.experiment.assign import NO_PERK

    c = control_perks if control == "random_perk" else pd.Series(NO_PERK, index=groups.index)
    return pd.Series(
        np.select([groups == "A", groups == "B"], [rule_perks, ml_perks], default=c),
        index=groups.index,
        name="perk",
    )
