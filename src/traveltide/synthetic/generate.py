"""Synthetic TravelTide database: users, sessions, flights and hotels, with latent personas.

The real database is not public, so the pipeline's embedded default is this generator. It
reproduces the published figures of shared FACTS.md (sizes, NULL rules, Elena's cohort,
distributions; see `traveltide.synthetic.fidelity`) from a behavioural model rather than by copying
marginals:

* every user has a latent persona (business traveller, family, couple, budget hunter,
  luxury traveller, dreamer, senior) that drives demographics and behaviour;
* sessions: a sign-up session, a Poisson number before the cohort cut-off (2023-01-04) and a
  Binomial(12, p) number after it, so the cohort (more than 7 sessions after the cut-off)
  emerges with the real shape (8 to 12 sessions, mean 8.2);
* bookings: a persona share of sessions, damped for heavy browsers (the cohort converts less
  per session than the average user) and spread evenly over a user's sessions, so a persona's
  trip count is nearly fixed (K-Means should see personas, not coin-flip noise);
* cancellations follow their booking by days: the next free session of the user becomes the
  cancellation (or one is added); business travellers cancel about one trip in four;
* a trip's kind, destination, party size, stay, fare and hotel price follow the persona;
  the hotel rows carry the real data's quirks (floor nights, calendar nights, swapped times).

Everything is vectorised numpy driven by one seed (independent child streams per part):
same `GenerateConfig`, identical frames. Internally times are int64 seconds since the epoch.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from traveltide.config import GenerateConfig
from traveltide.errors import ConfigError
from traveltide.schema import TABLES
from traveltide.synthetic.cancellations import draw_cancellations
from traveltide.synthetic.columns import strings
from traveltide.synthetic.flights import draw_flights
from traveltide.synthetic.hotels import draw_hotels
from traveltide.synthetic.ids import compose_ids, hex32
from traveltide.synthetic.personas import PERSONAS
from traveltide.synthetic.session_table import session_frame
from traveltide.synthetic.sessions import draw_sessions
from traveltide.synthetic.trips import draw_trips
from traveltide.synthetic.users import draw_users

log = logging.getLogger(__name__)

REAL_USERS = 1_020_926


@dataclass(frozen=True)
class SyntheticDatabase:
    """The four TravelTide tables plus the ground-truth persona of every user."""

    users: pd.DataFrame
    sessions: pd.DataFrame
    flights: pd.DataFrame
    hotels: pd.DataFrame
    personas: pd.DataFrame  # user_id, persona: never part of the four tables


def _check_config(config: GenerateConfig) -> int:
    """Validate the config; return the number of users."""
    if not isinstance(config.seed, int | np.integer) or config.seed < 0:
        raise ConfigError(f"generate.seed must be a non-negative integer, got {config.seed!r}")
    if not 0 < float(config.scale) <= 20:
        raise ConfigError(f"generate.scale must be in (0, 20], got {config.scale!r}")
    n = round(REAL_USERS * float(config.scale))
    if n < 100:
        raise ConfigError(f"generate.scale {config.scale} gives {n} users; need at least 100")
    return n


def generate(config: GenerateConfig) -> SyntheticDatabase:
    """Generate the four TravelTide tables and the users' personas, deterministically."""
    n_users = _check_config(config)
    t0 = time.perf_counter()
    streams = np.random.default_rng(config.seed).spawn(7)
    users, users_frame = draw_users(streams[0], n_users)
    sessions = draw_sessions(streams[1], users)
    trips = draw_trips(streams[2], users, sessions)
    trip_hex = hex32(streams[3], len(trips.session))
    trip_ids = compose_ids(trips.owner + 1, trip_hex)
    sessions, trips, cancels = draw_cancellations(streams[4], users, sessions, trips)
    damping = sessions.damping  # indexed by trips.session, which the re-sort keeps valid
    sessions_frame = session_frame(streams[5], users, sessions, trips, cancels, trip_hex)
    del sessions, cancels, trip_hex  # free ~200 MB before the trip tables
    flights = draw_flights(streams[6], users, trips, trip_ids, damping)
    hotels = draw_hotels(streams[6], users, trips, trip_ids)
    personas = pd.DataFrame(
        {
            "user_id": users_frame["user_id"].to_numpy(),
            "persona": strings(list(PERSONAS), users.persona),
        },
        copy=False,
    )
    db = SyntheticDatabase(users_frame, sessions_frame, flights, hotels, personas)
    for name in TABLES:
        frame = getattr(db, name)
        if list(frame.columns) != list(TABLES[name]):
            raise AssertionError(f"generated {name} columns differ from schema.TABLES")
    log.info(
        "generated %d users, %d sessions, %d flights, %d hotels in %.1f s (seed %d, scale %g)",
        len(users_frame),
        len(sessions_frame),
        len(flights),
        len(hotels),
        time.perf_counter() - t0,
        config.seed,
        config.scale,
    )
    return db
