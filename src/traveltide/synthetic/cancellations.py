"""Cancellations: which trips are cancelled, and the session that cancels each."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from traveltide.synthetic.dates import CUTOFF_DAY, DAY, END_DAY, EPOCH_2021
from traveltide.synthetic.sessions import POST_TRIALS, Sessions
from traveltide.synthetic.trips import Trips
from traveltide.synthetic.users import Users

CANCEL_ELASTICITY = 2.4  # light users, who have fewer later sessions, cancel a bit more often
CANCEL_GAP_DAYS = 2.0  # mean days from a booking to its cancellation


def draw_cancellations(
    rng: np.random.Generator, users: Users, sessions: Sessions, trips: Trips
) -> tuple[Sessions, Trips, np.ndarray]:
    """Cancel trips; return sessions and trips re-sorted, and the trip each session cancels.

    Each trip is cancelled with the user's own cancellation probability (persona mean x
    individual factor; a bit more for light users), independently. Cancellations follow
    their booking closely (a few days, never past the trip's start): the user's next
    session that books nothing becomes the cancellation and moves to that time, or, when
    the user has no such later session, a new session is added (not for users already at
    12 sessions after the cut-off). Two trips never share a cancelling session.
    """
    n = len(sessions.owner)
    damping = sessions.damping[trips.session]
    rate = users.latent.cancel[trips.owner] * damping**CANCEL_ELASTICITY
    wants = rng.random(len(rate)) < rate
    booked_at = sessions.start[trips.session]
    gap = rng.exponential(CANCEL_GAP_DAYS * DAY, len(wants))
    gap = np.minimum(gap, 0.9 * (trips.departure - booked_at))
    gap = np.minimum(gap, END_DAY * DAY - 1 - booked_at)
    when = booked_at + np.maximum(gap, 1.0).astype("int64")

    free = np.where(sessions.book, n, np.arange(n))
    next_free = np.concatenate([np.minimum.accumulate(free[::-1])[::-1], [n]])
    cand = next_free[trips.session + 1]
    safe = np.minimum(cand, n - 1)
    reuse = wants & (cand < n) & (sessions.owner[safe] == trips.owner)
    trip_idx = np.flatnonzero(reuse)
    _, first = np.unique(cand[trip_idx], return_index=True)
    reused = np.zeros(len(wants), dtype=bool)
    reused[trip_idx[first]] = True

    post = np.bincount(
        sessions.owner[sessions.start > CUTOFF_DAY * DAY], minlength=len(users.persona)
    )
    added = wants & ~reuse & (when > booked_at)
    added &= (post[trips.owner] < POST_TRIALS) | (when <= CUTOFF_DAY * DAY)
    added_idx = np.flatnonzero(added)

    start = sessions.start.copy()
    reused_idx = np.flatnonzero(reused)
    start[cand[reused_idx]] = np.minimum(start[cand[reused_idx]], when[reused_idx])
    owner = np.concatenate([sessions.owner, trips.owner[added_idx]])
    start = np.concatenate([start, when[added_idx]])
    cancels = np.full(len(owner), -1, dtype="int64")
    cancels[cand[reused_idx]] = reused_idx
    cancels[n:] = added_idx
    none = np.zeros(len(added_idx), dtype=bool)
    book = np.concatenate([sessions.book, none])
    flight_offer = np.concatenate([sessions.flight_offer, none])
    hotel_offer = np.concatenate([sessions.hotel_offer, none])
    damping = np.concatenate([sessions.damping, sessions.damping[trips.session[added_idx]]])

    # nearly sorted already: a stable sort of one combined key is fast (timsort runs)
    order = np.argsort((owner << 32) | (start - EPOCH_2021), kind="stable")
    new_pos = np.empty(len(owner), dtype="int64")
    new_pos[order] = np.arange(len(owner))
    sessions = Sessions(
        owner[order],
        start[order],
        flight_offer[order],
        hotel_offer[order],
        book[order],
        damping[order],
    )
    return sessions, replace(trips, session=new_pos[trips.session]), cancels[order]
