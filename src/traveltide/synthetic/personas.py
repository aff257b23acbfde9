"""The latent personas of the synthetic users: each persona's mean behaviour.

Every synthetic user has one persona; its `Persona` row gives the MEANS of the user's traits
(demographics, session rate, booking and cancellation propensity, discounts, clicks, trips,
spend, perk affinities). Each user then differs from that mean by individual factors
(`traveltide.synthetic.latents`), so users of one persona vary and personas overlap, as real
segments do. `PERSONA_PERK` names the perk each persona values most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from traveltide.config import PERKS


@dataclass(frozen=True)
class Persona:
    """Mean behaviour of one latent persona (per user, session or trip)."""

    share: float  # of all users
    perk: str  # the perk this persona values most (one of traveltide.config.PERKS)
    activity: float  # multiplier of the session rate
    book: float  # share of sessions that book, for a user with 8 sessions after the cut-off
    cancel: float  # probability that a booked trip is cancelled later
    mix: tuple[float, float, float]  # trip kinds: flight+hotel, hotel only, flight only
    flight_discount: float  # share of sessions offering a flight discount
    hotel_discount: float  # share of sessions offering a hotel discount
    generous: float  # share of offered discounts drawn from the generous table
    deal: float  # discount sensitivity: 0 books regardless of offers, 1 only on offers
    clicks: float  # median page clicks of a browsing session
    seconds: float  # seconds per page click
    weekday: float  # probability a weekend session or departure moves to a weekday
    weekend: float  # probability a Monday/Friday session moves to the weekend
    age: tuple[float, float]  # mean and sd, years
    married: float
    children: float
    seats: tuple[float, ...]  # pmf over 1, 2, ...
    bag: float  # probability that a traveller checks a bag (the users' median)
    rooms: tuple[float, ...]  # pmf over 1, 2, ...
    nights: tuple[float, float]  # mean calendar nights, gamma shape of the excess
    spend: float  # spend level: multiplies fares and hotel prices (population mean about 1)
    fare: float  # fare multiplier beyond spend (cabin class, booking habits)
    hotel: float  # median price per room and night at spend 1, USD, in an average city
    lead: float  # mean days from booking to departure / check-in
    one_way: float
    regions: tuple[float, float, float]  # destination kinds: business, leisure, international
    affinity: tuple[float, ...]  # mean preference for each perk of PERKS (standard-normal scale)


# fmt: off
PROFILES: dict[str, Persona] = {
    "business": Persona(
        share=0.077, perk="no_cancellation_fees", activity=1.0, book=0.34, cancel=0.042,
        mix=(0.711, 0.073, 0.216), flight_discount=0.07, hotel_discount=0.04,
        generous=0.6, deal=0.02,
        clicks=7.4, seconds=3.4, weekday=0.9, weekend=0.0,
        age=(40.0, 6.0), married=0.05, children=0.05,
        seats=(0.97, 0.03),
        bag=0.2,
        rooms=(1.0,), nights=(3.2, 30.0),
        spend=1.2, fare=1.12, hotel=146.0, lead=6.0, one_way=0.38,
        regions=(0.88, 0.08, 0.04),
        affinity=(-0.3, -0.5, 1.0, -0.5, 0.0),
    ),
    "family": Persona(
        share=0.108, perk="free_checked_bag", activity=1.0, book=0.335, cancel=0.0215,
        mix=(0.832, 0.092, 0.076), flight_discount=0.12, hotel_discount=0.12,
        generous=0.6, deal=0.05,
        clicks=9.4, seconds=4.6, weekday=0.0, weekend=0.3,
        age=(39.0, 5.0), married=0.97, children=1.0,
        seats=(0.1, 0.45, 0.32, 0.1, 0.02, 0.01),
        bag=0.45,
        rooms=(0.1, 0.6, 0.25, 0.05), nights=(5.2, 5.0),
        spend=0.95, fare=1.0, hotel=142.0, lead=95.0, one_way=0.01,
        regions=(0.1, 0.72, 0.18),
        affinity=(0.2, 1.0, 0.0, 0.0, 0.3),
    ),
    "couple": Persona(
        share=0.089, perk="free_hotel_meal", activity=1.0, book=0.335, cancel=0.0215,
        mix=(0.814, 0.110, 0.076), flight_discount=0.14, hotel_discount=0.13,
        generous=0.6, deal=0.05,
        clicks=8.4, seconds=4.6, weekday=0.0, weekend=0.6,
        age=(30.0, 4.0), married=0.97, children=0.02,
        seats=(0.4, 0.6),
        bag=0.45,
        rooms=(1.0,), nights=(3.8, 5.0),
        spend=1.0, fare=1.0, hotel=160.0, lead=40.0, one_way=0.01,
        regions=(0.1, 0.55, 0.35),
        affinity=(1.0, -0.2, -0.2, -0.2, 0.4),
    ),
    "budget_hunter": Persona(
        share=0.155, perk="exclusive_discounts", activity=1.07, book=0.37, cancel=0.0215,
        mix=(0.739, 0.110, 0.151), flight_discount=0.26, hotel_discount=0.18,
        generous=0.9, deal=0.2,
        clicks=9.8, seconds=4.0, weekday=0.0, weekend=0.0,
        age=(22.0, 6.5), married=0.03, children=0.03,
        seats=(1.0,),
        bag=0.4,
        rooms=(1.0,), nights=(3.4, 8.0),
        spend=0.65, fare=1.08, hotel=120.0, lead=20.0, one_way=0.01,
        regions=(0.5, 0.45, 0.05),
        affinity=(-0.4, 0.2, -0.3, 1.0, 0.2),
    ),
    "luxury": Persona(
        share=0.325, perk="free_hotel_meal", activity=1.0, book=0.37, cancel=0.0215,
        mix=(0.804, 0.120, 0.076), flight_discount=0.12, hotel_discount=0.08,
        generous=0.6, deal=0.02,
        clicks=8.4, seconds=5.0, weekday=0.0, weekend=0.0,
        age=(54.0, 6.0), married=0.45, children=0.35,
        seats=(1.0,),
        bag=0.5,
        rooms=(0.8, 0.2), nights=(4.3, 3.0),
        spend=1.3, fare=0.81, hotel=192.0, lead=45.0, one_way=0.01,
        regions=(0.15, 0.6, 0.25),
        affinity=(1.0, -0.4, 0.2, -0.6, 0.0),
    ),
    "dreamer": Persona(
        share=0.047, perk="exclusive_discounts", activity=1.15, book=0.06, cancel=0.0215,
        mix=(0.754, 0.138, 0.108), flight_discount=0.28, hotel_discount=0.22,
        generous=0.6, deal=0.05,
        clicks=11.8, seconds=5.5, weekday=0.0, weekend=0.6,
        age=(27.0, 7.0), married=0.05, children=0.05,
        seats=(1.0,),
        bag=0.5,
        rooms=(1.0,), nights=(4.5, 3.0),
        spend=1.0, fare=1.0, hotel=145.0, lead=60.0, one_way=0.01,
        regions=(0.15, 0.4, 0.45),
        affinity=(0.0, -0.2, -0.2, 1.0, 0.4),
    ),
    "senior": Persona(
        share=0.21, perk="one_night_free_hotel_with_flight", activity=1.0, book=0.335,
        cancel=0.0215, mix=(0.678, 0.257, 0.065), flight_discount=0.14, hotel_discount=0.10,
        generous=0.6, deal=0.05,
        clicks=9.4, seconds=7.0, weekday=0.3, weekend=0.0,
        age=(72.0, 5.0), married=0.85, children=0.75,
        seats=(0.9, 0.1),
        bag=0.65,
        rooms=(0.85, 0.15), nights=(5.6, 1.5),
        spend=1.0, fare=1.1, hotel=135.0, lead=70.0, one_way=0.01,
        regions=(0.1, 0.7, 0.2),
        affinity=(0.4, 0.0, 0.0, -0.2, 1.0),
    ),
}
# fmt: on
PERSONAS: tuple[str, ...] = (
    "business",
    "family",
    "couple",
    "budget_hunter",
    "luxury",
    "dreamer",
    "senior",
)
PERSONA_PERK: dict[str, str] = {p: PROFILES[p].perk for p in PERSONAS}
AFFINITY_PERKS: tuple[str, ...] = PERKS  # the order of Persona.affinity


def persona_param(name: str) -> np.ndarray:
    """One persona attribute as an array indexed by persona code."""
    return np.array([getattr(PROFILES[p], name) for p in PERSONAS], dtype="float64")


def persona_mean(name: str) -> float:
    """A persona attribute averaged over users (weighted by the personas' shares).

    Summed in Python, not by BLAS: its kernels sum in a CPU-specific order, and the result
    scales the `propensity` written to personas.parquet.
    """
    pairs = [(PROFILES[p].share, getattr(PROFILES[p], name)) for p in PERSONAS]
    return sum(w * x for w, x in pairs) / sum(w for w, _ in pairs)
