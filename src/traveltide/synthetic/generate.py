"""Synthetic TravelTide database: users, sessions, flights and hotels, with latent personas.

The real database is not public, so the pipeline's embedded default is this generator. It
reproduces the published figures of shared FACTS.md (sizes, NULL rules, Elena's cohort,
distributions; see `traveltide.synthetic.fidelity`) from a behavioural model rather than by copying
marginals:

* every user has a latent persona (business traveller, family, couple, budget hunter,
  luxury traveller, dreamer, senior) that sets the MEANS of their traits; each user's own
  factors (`latents`: Gamma or log-normal mixing) spread every rate around that mean, so
  per-user counts are smooth and single-peaked and personas overlap as real segments do;
* sessions: a sign-up session, a Poisson number before the cohort cut-off (2023-01-04) and a
  Binomial(12, p) number after it, p following the user's activity, so the cohort (more than
  7 sessions after the cut-off) emerges with the real shape (8 to 12 sessions, mean 8.2);
* each session may offer flight and hotel discounts (the user's exposure), and books a trip
  with the user's propensity, damped for heavy browsers (the cohort converts less per
  session than the average user) and moved onto offered sessions for deal-minded users;
* each trip is cancelled with the user's own probability, days after its booking: the next
  free session of the user becomes the cancellation (or one is added);
* a trip's kind follows the user's own mix; destination, party size, stay follow the
  persona; fares and hotel prices the user's spend; the hotel rows carry the real data's
  quirks (floor nights, calendar nights, swapped times).

The personas table (never part of the four tables) holds each user's persona and latent truth:
`propensity`, `spend` and one `affinity_<perk>` per perk (docs/synthetic-data.md).

Everything is vectorised numpy driven by one seed (independent child streams per part), in
chunks of users (`generate_chunks`): same `GenerateConfig`, identical frames, and memory that
of one chunk at any scale. Internally times are int64 seconds since the epoch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
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
from traveltide.synthetic.personas import AFFINITY_PERKS, PERSONAS
from traveltide.synthetic.session_table import session_frame
from traveltide.synthetic.sessions import draw_sessions, expected_sessions
from traveltide.synthetic.trips import draw_trips
from traveltide.synthetic.users import Users, draw_users, signup_days

log = logging.getLogger(__name__)

REAL_USERS = 1_020_926
# Users are generated in chunks of about this many expected sessions (`chunk_bounds`): about
# 2.8 GB of memory each. The real-size database (5.26M expected sessions) is one chunk.
CHUNK_SESSIONS = 5_500_000.0


@dataclass(frozen=True)
class SyntheticDatabase:
    """The four TravelTide tables plus the ground-truth persona of every user."""

    users: pd.DataFrame
    sessions: pd.DataFrame
    flights: pd.DataFrame
    hotels: pd.DataFrame
    personas: pd.DataFrame  # user_id, persona, latent truth: never part of the four tables


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


def persona_frame(user_ids: np.ndarray, users: Users) -> pd.DataFrame:
    """user_id, persona and the latent truth the A/B simulation reads (float64 columns)."""
    columns: dict[str, object] = {
        "user_id": user_ids,
        "persona": strings(list(PERSONAS), users.persona),
        "propensity": users.latent.propensity,
        "spend": users.latent.spend,
    }
    for j, perk in enumerate(AFFINITY_PERKS):
        columns[f"affinity_{perk}"] = users.latent.affinity[:, j]
    return pd.DataFrame(columns, copy=False)


def chunk_bounds(weights: np.ndarray, budget: float = CHUNK_SESSIONS) -> list[tuple[int, int]]:
    """(first, stop) user index of each chunk: consecutive users whose weights (expected
    sessions) add up to at most `budget`, and at least one user per chunk.

    >>> chunk_bounds(np.array([1.0, 2.0, 2.0, 4.0, 1.0]), 4.0)
    [(0, 2), (2, 3), (3, 4), (4, 5)]
    """
    if not budget > 0:
        raise ValueError(f"the chunk budget must be positive, got {budget}")
    cum = np.cumsum(weights)
    bounds, first, done = [], 0, 0.0
    while first < len(weights):
        stop = int(np.searchsorted(cum, done + budget, side="right"))
        stop = max(stop, first + 1)
        bounds.append((first, stop))
        first, done = stop, float(cum[stop - 1])
    return bounds


def _chunk(
    streams: list[np.random.Generator], day_signup: np.ndarray, first_id: int
) -> SyntheticDatabase:
    """The four tables and the personas of the users with these sign-up days (one chunk)."""
    users, users_frame = draw_users(streams[0], day_signup, first_id)
    sessions = draw_sessions(streams[1], users)
    trips = draw_trips(streams[2], users, sessions)
    trip_hex = hex32(streams[3], len(trips.session))
    trip_ids = compose_ids(users.ids(trips.owner), trip_hex)
    sessions, trips, cancels = draw_cancellations(streams[4], users, sessions, trips)
    damping = sessions.damping  # indexed by trips.session, which the re-sort keeps valid
    sessions_frame = session_frame(streams[5], users, sessions, trips, cancels, trip_hex)
    del sessions, cancels, trip_hex  # free ~200 MB before the trip tables
    flights = draw_flights(streams[6], users, trips, trip_ids, damping)
    hotels = draw_hotels(streams[6], users, trips, trip_ids)
    personas = persona_frame(users_frame["user_id"].to_numpy(), users)
    db = SyntheticDatabase(users_frame, sessions_frame, flights, hotels, personas)
    for name in TABLES:
        frame = getattr(db, name)
        if list(frame.columns) != list(TABLES[name]):
            raise AssertionError(f"generated {name} columns differ from schema.TABLES")
    return db


def generate_chunks(
    config: GenerateConfig, *, chunk_sessions: float = CHUNK_SESSIONS
) -> Iterator[SyntheticDatabase]:
    """The database in chunks of consecutive users (with all their rows), in user_id order.

    Memory stays that of one chunk whatever the scale. Sign-up days are drawn for every user
    at once (they order the user ids: an int64 per user), from the first chunk's users stream.
    A chunk holds users worth about `chunk_sessions` expected sessions (early users have
    sixteen times as many as the last ones: `sessions.expected_sessions`). Everything else is
    drawn per chunk, from seven child streams of the seed per chunk, the first chunk's being
    those a one-chunk database has always used. So the same seed, scale and `chunk_sessions`
    give the same rows, and a database that fits in one chunk (scale 1 among them) is the one
    it was before chunking.
    """
    n_users = _check_config(config)
    t0 = time.perf_counter()
    root = np.random.default_rng(config.seed)
    streams = root.spawn(7)
    day_signup = signup_days(streams[0], n_users)
    bounds = chunk_bounds(expected_sessions(day_signup), chunk_sessions)
    for i, (first, stop) in enumerate(bounds):
        if i:
            streams = root.spawn(7)
        db = _chunk(streams, day_signup[first:stop], first + 1)
        log.info(
            "generated chunk %d/%d: %d users, %d sessions, %d flights, %d hotels "
            "(%.1f s so far; seed %d, scale %g)",
            i + 1,
            len(bounds),
            len(db.users),
            len(db.sessions),
            len(db.flights),
            len(db.hotels),
            time.perf_counter() - t0,
            config.seed,
            config.scale,
        )
        yield db
        del db  # before the next chunk is drawn: never two chunks in memory


def concat_databases(chunks: list[SyntheticDatabase]) -> SyntheticDatabase:
    """One database from its chunks (the chunk itself when there is one)."""
    if len(chunks) == 1:
        return chunks[0]
    names = [*TABLES, "personas"]
    frames = {
        name: pd.concat([getattr(c, name) for c in chunks], ignore_index=True) for name in names
    }
    return SyntheticDatabase(**frames)


def generate(
    config: GenerateConfig, *, chunk_sessions: float = CHUNK_SESSIONS
) -> SyntheticDatabase:
    """Generate the four TravelTide tables and the users' personas, deterministically, in
    memory (`generate_chunks` keeps one chunk at a time)."""
    return concat_databases(list(generate_chunks(config, chunk_sessions=chunk_sessions)))
