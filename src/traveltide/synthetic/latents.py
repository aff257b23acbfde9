"""Per-user latent traits: a persona's mean behaviour times the user's own factors.

Users of one persona differ: in how often they book, cancel, see and follow discounts, click,
check bags and spend. Each persona rate is multiplied by a factor drawn per user (Gamma with
mean 1 for rates and spend, so the counts they drive are Gamma-Poisson / Gamma-Binomial
mixtures; log-normal for clicks) or shifted per user on the logit or log scale (shares, trip
kinds). Per-user counts come out smooth and single-peaked, and users of different personas
overlap. The spreads are what the real cohort's per-user table allows (docs/synthetic-data.md).

The same factors drive behaviour and the latent truth the A/B simulation reads
(`propensity`, `spend`, `affinity`): past bookings predict future conversion because one
propensity drives both. A perk affinity is the persona's preference plus per-user noise,
correlated with the user's own factor of the trait the perk serves (spend, bags,
cancellations, deals, package trips).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from traveltide.synthetic.personas import persona_mean, persona_param

ACTIVITY_SHAPE = 200.0  # session rate: Gamma shape (coefficient of variation 0.07)
PROPENSITY_SHAPE = 60.0  # bookings per session: Gamma shape (cv 0.13)
CANCEL_SHAPE = 8.0  # cancellations per trip: Gamma shape (cv 0.35)
DISCOUNT_SHAPE = 4.0  # how often the user sees discount offers: Gamma shape (cv 0.5)
DEAL_SIGMA = 1.0  # discount sensitivity: sd on the logit scale
HOTEL_ONLY_ELASTICITY = 2.0  # hotel-only weight ~ propensity ** -elasticity
MIN_HOTEL_ONLY_PROPENSITY = 0.5  # ... up to four times the persona's weight
MIX_SIGMA = 0.5  # trip kinds: sd of each kind's weight on the log scale
CLICKS_SIGMA = 0.3  # clicks per session: sd of the user's log factor
CLICKS_PROPENSITY = 0.9  # correlation of the clicks factor with propensity (engaged users)
BAG_SIGMA = 1.0  # checked bags: sd of the user's bag probability on the logit scale
SPEND_SHAPE = 11.0  # fares and hotel prices: Gamma shape (cv 0.3)
AFFINITY_LINK = 0.5  # correlation of a perk's affinity with the trait it serves
BOOK_REFERENCE = persona_mean("book")  # propensity 1 books this share of sessions


@dataclass(frozen=True)
class Latents:
    """Every user's latent traits, in user order (persona mean x individual factor)."""

    activity: np.ndarray  # session-rate multiplier
    propensity: np.ndarray  # booking propensity multiplier (x BOOK_REFERENCE per session)
    cancel: np.ndarray  # probability that a booked trip is cancelled
    mix: np.ndarray  # (users, 3) trip kind probabilities: flight+hotel, hotel only, flight only
    flight_discount: np.ndarray  # probability that a session offers a flight discount
    hotel_discount: np.ndarray  # same, hotel
    deal: np.ndarray  # discount sensitivity in (0, 1): share of bookings moved onto offers
    clicks: np.ndarray  # median page clicks of a browsing session
    bag: np.ndarray  # probability that a traveller checks a bag
    spend: np.ndarray  # fare and hotel price multiplier
    affinity: np.ndarray  # (users, perks) preference for each perk, standard-normal scale


def _gamma(rng: np.random.Generator, shape: float, n: int) -> np.ndarray:
    """Gamma factors with mean 1."""
    return rng.gamma(shape, 1.0 / shape, n)


def _standard(factor: np.ndarray, shape: float) -> np.ndarray:
    """A Gamma(shape) factor with mean 1 as a score with mean 0 and sd 1 (linear: no log or
    exp, whose vectorised numpy loops differ in the last bit between CPUs, so the written
    affinities stay byte-identical on every machine)."""
    return (factor - 1.0) * np.sqrt(shape)


def _correlated(rng: np.random.Generator, z: np.ndarray, rho: float) -> np.ndarray:
    """Scores with sd 1 and correlation rho to z (mean 0, sd 1): rho z plus normal noise."""
    return rho * z + np.sqrt(1.0 - rho**2) * rng.standard_normal(z.shape)


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1.0 - p))


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _mix(persona: np.ndarray, propensity: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Per-user trip-kind probabilities: the persona's mix with log-normal weights (z: one
    standard normal per user and kind). Occasional bookers book hotel-only stays more often
    (weight ~ propensity ** -elasticity)."""
    weights = persona_param("mix")[persona] * np.exp(MIX_SIGMA * z)
    weights[:, 1] *= np.maximum(propensity, MIN_HOTEL_ONLY_PROPENSITY) ** -HOTEL_ONLY_ELASTICITY
    return weights / weights.sum(axis=1, keepdims=True)


def _affinity(rng: np.random.Generator, persona: np.ndarray, links: list[np.ndarray]) -> np.ndarray:
    """Persona preference per perk + per-user noise (sd 1) tied to the trait the perk serves."""
    mean = persona_param("affinity")[persona]
    return mean + np.column_stack([_correlated(rng, z, AFFINITY_LINK) for z in links])


def draw_latents(rng: np.random.Generator, persona: np.ndarray) -> Latents:
    """Every user's traits: the persona means times individual factors."""
    n = len(persona)
    activity = persona_param("activity")[persona] * _gamma(rng, ACTIVITY_SHAPE, n)
    own_propensity = _gamma(rng, PROPENSITY_SHAPE, n)
    propensity = persona_param("book")[persona] / BOOK_REFERENCE * own_propensity
    own_cancel = _gamma(rng, CANCEL_SHAPE, n)
    mix_z = rng.standard_normal((n, 3))
    exposure = _gamma(rng, DISCOUNT_SHAPE, n)  # one factor: deal browsers see both kinds
    deal_z = rng.standard_normal(n)
    clicks_z = _correlated(rng, _standard(own_propensity, PROPENSITY_SHAPE), CLICKS_PROPENSITY)
    bag_z = rng.standard_normal(n)
    own_spend = _gamma(rng, SPEND_SHAPE, n)
    links = [  # in PERKS order: who values each perk
        _standard(own_spend, SPEND_SHAPE),  # free hotel meal: big spenders
        bag_z,  # free checked bag: who checks bags
        _standard(own_cancel, CANCEL_SHAPE),  # no cancellation fees: who cancels
        deal_z,  # exclusive discounts: who books on offers
        mix_z[:, 0],  # one free night with a flight: who books packages
    ]
    return Latents(
        activity=activity,
        propensity=propensity,
        cancel=persona_param("cancel")[persona] * own_cancel,
        mix=_mix(persona, propensity, mix_z),
        flight_discount=np.minimum(persona_param("flight_discount")[persona] * exposure, 0.9),
        hotel_discount=np.minimum(persona_param("hotel_discount")[persona] * exposure, 0.9),
        deal=_expit(_logit(persona_param("deal")[persona]) + DEAL_SIGMA * deal_z),
        clicks=persona_param("clicks")[persona] * np.exp(CLICKS_SIGMA * clicks_z),
        bag=_expit(_logit(persona_param("bag")[persona]) + BAG_SIGMA * bag_z),
        spend=persona_param("spend")[persona] * own_spend,
        affinity=_affinity(rng, persona, links),
    )
