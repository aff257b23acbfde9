"""The latent personas of the synthetic users and their behavioural parameters.

Every synthetic user has one persona; its `Persona` row drives demographics, sessions,
bookings and trips. `PERSONA_PERK` names the perk each persona values most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Persona:
    """Behavioural parameters of one latent persona (all per user, session or trip)."""

    share: float  # of all users
    perk: str  # the perk this persona values most (one of traveltide.config.PERKS)
    activity: float  # multiplier of the session rate
    book: float  # share of sessions that book, for a user with 8 sessions after the cut-off
    cancel: float  # probability that a booked trip is cancelled later
    mix: tuple[float, float, float]  # trip kinds: flight+hotel, hotel only, flight only
    flight_discount: float  # share of sessions offering a flight discount
    hotel_discount: float  # share of sessions offering a hotel discount
    generous: float  # share of offered discounts drawn from the generous table
    deal_seeker: float  # probability that a booking session books on a flight+hotel deal
    clicks: float  # median page clicks of a browsing session
    seconds: float  # seconds per page click
    weekday: float  # probability a weekend session or departure moves to a weekday
    weekend: float  # probability a Monday/Friday session moves to the weekend
    age: tuple[float, float]  # mean and sd, years
    married: float
    children: float
    seats: tuple[float, ...]  # pmf over 1, 2, ...
    bags: tuple[float, ...]  # pmf over 0, 1, ...
    rooms: tuple[float, ...]  # pmf over 1, 2, ...
    nights: tuple[float, float]  # mean calendar nights, gamma shape of the excess
    fare: float  # fare multiplier (cabin class, booking habits)
    hotel: float  # median price per room and night, USD, in an average city
    lead: float  # mean days from booking to departure / check-in
    one_way: float
    regions: tuple[float, float, float]  # destination kinds: business, leisure, international


# fmt: off
PROFILES: dict[str, Persona] = {
    "business": Persona(
        share=0.077, perk="no_cancellation_fees", activity=1.0, book=0.5, cancel=0.25,
        mix=(0.68, 0.01, 0.31), flight_discount=0.03, hotel_discount=0.03,
        generous=0.05, deal_seeker=0.0,
        clicks=6.5, seconds=3.4, weekday=0.9, weekend=0.0,
        age=(40.0, 6.0), married=0.05, children=0.05,
        seats=(1.0,),
        bags=(0.8, 0.2),
        rooms=(1.0,), nights=(3.2, 30.0),
        fare=1.35, hotel=175.0, lead=6.0, one_way=0.28,
        regions=(0.88, 0.08, 0.04),
    ),
    "family": Persona(
        share=0.108, perk="free_checked_bag", activity=1.0, book=0.25, cancel=0.004,
        mix=(0.97, 0.01, 0.02), flight_discount=0.005, hotel_discount=0.08,
        generous=0.15, deal_seeker=0.0,
        clicks=11.0, seconds=4.6, weekday=0.0, weekend=0.3,
        age=(39.0, 5.0), married=0.97, children=1.0,
        seats=(0.0, 0.4, 0.4, 0.15, 0.03, 0.01, 0.005, 0.005),
        bags=(0.05, 0.45, 0.35, 0.1, 0.03, 0.01, 0.005, 0.003, 0.002),
        rooms=(0.1, 0.6, 0.25, 0.05), nights=(5.2, 5.0),
        fare=0.95, hotel=135.0, lead=95.0, one_way=0.006,
        regions=(0.1, 0.72, 0.18),
    ),
    "couple": Persona(
        share=0.089, perk="free_hotel_meal", activity=1.0, book=0.25, cancel=0.004,
        mix=(0.95, 0.02, 0.03), flight_discount=0.01, hotel_discount=0.09,
        generous=0.15, deal_seeker=0.0,
        clicks=9.0, seconds=4.6, weekday=0.0, weekend=0.6,
        age=(30.0, 4.0), married=0.97, children=0.02,
        seats=(0.0, 1.0),
        bags=(0.1, 0.75, 0.13, 0.02),
        rooms=(1.0,), nights=(3.8, 5.0),
        fare=1.0, hotel=160.0, lead=40.0, one_way=0.006,
        regions=(0.1, 0.55, 0.35),
    ),
    "budget_hunter": Persona(
        share=0.155, perk="exclusive_discounts", activity=1.07, book=0.5, cancel=0.004,
        mix=(0.79, 0.02, 0.19), flight_discount=0.02, hotel_discount=0.08,
        generous=0.9, deal_seeker=1.0,
        clicks=14.0, seconds=4.0, weekday=0.0, weekend=0.0,
        age=(22.0, 6.5), married=0.03, children=0.03,
        seats=(1.0,),
        bags=(0.6, 0.4),
        rooms=(1.0,), nights=(3.4, 8.0),
        fare=0.7, hotel=78.0, lead=20.0, one_way=0.006,
        regions=(0.5, 0.45, 0.05),
    ),
    "luxury": Persona(
        share=0.325, perk="free_hotel_meal", activity=1.0, book=0.375, cancel=0.004,
        mix=(0.96, 0.02, 0.02), flight_discount=0.05, hotel_discount=0.045,
        generous=0.05, deal_seeker=0.0,
        clicks=9.0, seconds=5.0, weekday=0.0, weekend=0.0,
        age=(54.0, 6.0), married=0.45, children=0.35,
        seats=(1.0,),
        bags=(0.4, 0.55, 0.04, 0.01),
        rooms=(0.75, 0.25), nights=(4.3, 3.0),
        fare=1.05, hotel=250.0, lead=45.0, one_way=0.006,
        regions=(0.15, 0.6, 0.25),
    ),
    "dreamer": Persona(
        share=0.047, perk="exclusive_discounts", activity=1.15, book=0.012, cancel=0.004,
        mix=(0.8, 0.1, 0.1), flight_discount=0.2, hotel_discount=0.2,
        generous=0.2, deal_seeker=0.0,
        clicks=24.0, seconds=5.5, weekday=0.0, weekend=0.6,
        age=(27.0, 7.0), married=0.05, children=0.05,
        seats=(1.0,),
        bags=(0.5, 0.5),
        rooms=(1.0,), nights=(4.5, 3.0),
        fare=1.0, hotel=145.0, lead=60.0, one_way=0.006,
        regions=(0.15, 0.4, 0.45),
    ),
    "senior": Persona(
        share=0.21, perk="one_night_free_hotel_with_flight", activity=1.0, book=0.25, cancel=0.004,
        mix=(0.05, 0.95, 0.0), flight_discount=0.11, hotel_discount=0.06,
        generous=0.15, deal_seeker=0.0,
        clicks=11.0, seconds=7.0, weekday=0.3, weekend=0.0,
        age=(72.0, 5.0), married=0.85, children=0.75,
        seats=(0.9, 0.1),
        bags=(0.1, 0.8, 0.1),
        rooms=(0.85, 0.15), nights=(7.0, 1.5),
        fare=1.1, hotel=135.0, lead=70.0, one_way=0.006,
        regions=(0.1, 0.7, 0.2),
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


def persona_param(name: str) -> np.ndarray:
    """One persona attribute as an array indexed by persona code."""
    return np.array([getattr(PROFILES[p], name) for p in PERSONAS], dtype="float64")
