"""Trips: one per booking session, with its kind, destination, departure and length of stay."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from traveltide import geo
from traveltide.synthetic.dates import DAY, HOUR, day_of_week
from traveltide.synthetic.draws import draw_pmf, pmf_table
from traveltide.synthetic.personas import PERSONAS, PROFILES, persona_param
from traveltide.synthetic.sessions import Sessions
from traveltide.synthetic.users import Users

MIN_TRIP_KM = 300.0  # shortest flight / trip from the home airport
MAX_LEAD_DAYS = 354  # latest departure 2024-07-16 for a session on 2023-07-28
FAR_AHEAD = 0.02  # share of trips that are long holidays booked most of a year ahead
FAR_AHEAD_MIN_DAYS = 250
FLIGHT_ONLY_ELASTICITY = 1.3  # flight-only share ~ damping ** elasticity
HABIT = 0.85  # share of trips with the user's usual seats and rooms


@dataclass(frozen=True)
class Trips:
    """One entry per booked trip, in booking-session order."""

    session: np.ndarray  # index of the booking session
    owner: np.ndarray
    kind: np.ndarray  # 0 flight+hotel, 1 hotel only, 2 flight only
    dest: np.ndarray  # index into geo.destinations()
    departure: np.ndarray  # seconds; trip start (check-in day for hotel-only trips)
    nights: np.ndarray  # calendar nights of the stay (>= 1)


def _draw_destinations(
    rng: np.random.Generator, persona: np.ndarray, home: np.ndarray
) -> np.ndarray:
    """Destination index per trip: a region by persona, then one of its cities at least
    MIN_TRIP_KM from the home airport (nobody flies Newark -> New York)."""
    dests = geo.destinations()
    km = geo.route_km()  # home x destination
    region = draw_pmf(rng, pmf_table([PROFILES[p].regions for p in PERSONAS]), persona)
    dest = np.zeros(len(persona), dtype="int64")
    for r, name in enumerate(geo.REGIONS):
        members = np.array([i for i, a in enumerate(dests) if a.region == name])
        rows = np.flatnonzero(region == r)
        pick = rng.integers(0, len(members), len(rows))
        for _ in range(len(members)):  # step to the next city until far enough
            near = km[home[rows], members[pick]] < MIN_TRIP_KM
            if not near.any():
                break
            pick = np.where(near, (pick + 1) % len(members), pick)
        dest[rows] = members[pick]
    return dest


def _trip_kinds(rng: np.random.Generator, mix: np.ndarray, damping: np.ndarray) -> np.ndarray:
    """0 flight+hotel, 1 hotel only, 2 flight only, from the user's own mix of trip kinds.

    Occasional users (damping > 1) book flight-only trips more often than heavy planners,
    which is why the whole table has more flight-only trips than the cohort.
    """
    flight_only = np.minimum(mix[:, 2] * damping**FLIGHT_ONLY_ELASTICITY, 1.0 - mix[:, 1])
    u = rng.random(len(mix))
    return np.where(u < flight_only, 2, np.where(u < flight_only + mix[:, 1], 1, 0))


def draw_trips(rng: np.random.Generator, users: Users, sessions: Sessions) -> Trips:
    """One trip per booking session: kind, destination, start and length of stay."""
    session = np.flatnonzero(sessions.book)
    owner = sessions.owner[session]
    persona = users.persona[owner]
    n = len(session)
    kind = _trip_kinds(rng, users.latent.mix[owner], sessions.damping[session])
    dest = _draw_destinations(rng, persona, users.home[owner])

    # exponential lead time truncated at MAX_LEAD_DAYS (inverse CDF: no spike at the cap)
    scale = persona_param("lead")[persona]
    u = rng.random(n)
    lead = -scale * np.log1p(-u * -np.expm1(-MAX_LEAD_DAYS / scale))
    far = rng.random(n) < FAR_AHEAD  # next year's long holiday, whatever the persona
    far_lead = MAX_LEAD_DAYS - (MAX_LEAD_DAYS - FAR_AHEAD_MIN_DAYS) * rng.random(n) ** 5
    lead = np.where(far, far_lead, lead)  # booked as early as the airlines allow, mostly
    day = sessions.start[session] // DAY + np.floor(lead).astype("int64")
    hour = rng.integers(6, 20, n) * HOUR + rng.integers(0, 12, n) * 300
    departure = day * DAY + hour
    departure = np.maximum(departure, sessions.start[session] + 2 * HOUR)
    weekday = rng.random(n) < persona_param("weekday")[persona]
    dow = day_of_week(departure // DAY)
    departure += np.where(weekday & (dow >= 5), (7 - dow) * DAY, 0)

    mean, shape = (np.array([PROFILES[p].nights[i] for p in PERSONAS]) for i in (0, 1))
    excess = rng.gamma(shape[persona], (mean[persona] - 1.0) / shape[persona])
    nights = 1 + rng.poisson(excess) + np.where(far, rng.integers(7, 31, n), 0)
    return Trips(session, owner, kind, dest, departure, nights.astype("int64"))


def party_size(
    rng: np.random.Generator, usual: np.ndarray, persona: np.ndarray, field: str, base: int
) -> np.ndarray:
    """A trip's party size (seats, rooms): mostly the user's usual, else a fresh draw."""
    fresh = base + draw_pmf(
        rng, pmf_table([getattr(PROFILES[p], field) for p in PERSONAS]), persona
    )
    return np.where(rng.random(len(usual)) < HABIT, usual, fresh)
