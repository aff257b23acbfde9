"""Cancellations: which trips are cancelled, and the session that cancels each."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from traveltide.synthetic.dates import CUTOFF_DAY, DAY, END_DAY, EPOCH_2021
from traveltide.synthetic.draws import systematic
from traveltide.synthetic.personas import persona_param
from traveltide.synthetic.sessions import POST_TRIALS, Sessions
from traveltide.synthetic.trips import Trips
from traveltide.synthetic.users import Users

CANCEL_SCALE = 1.0
CANCEL_ELASTICITY = 1.0  # light users, who have fewer later sessions, cancel a bit more often
CANCEL_GAP_DAYS = 2.0  # mean days from a booking to its cancellation


def draw_cancellations(
    rng: np.random.Generator, users: Users, sessions: Sessions, trips: Trips
) -> tuple[Sessions, Trips, np.ndarray]:
    """Cancel trips; return sessions and trips re-sorted, and the trip each session cancels.

    A persona cancels a share of its trips, spread evenly over each user's trips (the same
    phase rule as bookings). Cancellations follow their booking closely (a few days, never
    past the trip's start): the user's next session that books nothing becomes the
    cancellation and moves to that time, or, when the user has no such later session, a
    new session is added (not for users already at 12 sessions after the cut-off). Two
    trips never share a cancelling session.
    """
    n = len(sessions.owner)
    rate = persona_param("cancel")[users.persona] * CANCEL_SCALE
    rate = np.clip(rate[trips.owner] * sessions.damping[trips.session] ** CANCEL_ELASTICITY, 0, 1)
    wants = systematic(rng, trips.owner, rate, len(users.persona))
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
    book = np.concatenate([sessions.book, np.zeros(len(added_idx), dtype=bool)])
    damping = np.concatenate([sessions.damping, sessions.damping[trips.session[added_idx]]])

    # nearly sorted already: a stable sort of one combined key is fast (timsort runs)
    order = np.argsort((owner << 32) | (start - EPOCH_2021), kind="stable")
    new_pos = np.empty(len(owner), dtype="int64")
    new_pos[order] = np.arange(len(owner))
    sessions = Sessions(owner[order], start[order], book[order], damping[order])
    return sessions, replace(trips, session=new_pos[trips.session]), cancels[order]
