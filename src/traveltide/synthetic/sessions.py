"""Sessions: how many each user has before and after the cut-off, when, their discount offers,
and which book a trip."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from traveltide.synthetic.dates import (
    CUTOFF_DAY,
    DAY,
    END_DAY,
    EPOCH_2021,
    HOUR,
    POST_DAYS,
    day_of_week,
)
from traveltide.synthetic.latents import BOOK_REFERENCE
from traveltide.synthetic.personas import persona_param
from traveltide.synthetic.users import Users

# Session-count model (calibrated to FACTS: 5.41M sessions, 3.10M after the cut-off, cohort).
POWER_SHARE = 0.00005  # power users: the cohort's rare 11-12 session users
POWER_ACTIVITY = 3.1
POST_TRIALS = 12  # at most 12 sessions after the cut-off: the cohort's maximum
POST_P = 0.289  # per-trial probability for a user active over the whole post window
LATE_P = 0.28  # same for users who signed up after the cut-off (1 + Binomial(11, .))
PRE_GROWTH_DAYS = 600.0  # pre-cut-off activity grows with the platform (e-folding days)
PRE_RATE = 0.0175  # extra sessions per day before the cut-off
BOOK_ELASTICITY = 0.28  # booking propensity ~ (sessions per post window / 8) ** -elasticity
MAX_BOOK = 0.95  # highest booking probability of a session


@dataclass(frozen=True)
class Sessions:
    """Every session's owner, start, discount offers and booking flag, by owner then start."""

    owner: np.ndarray  # user index (Users.ids gives the user_id), non-decreasing
    start: np.ndarray  # seconds since epoch, increasing within a user
    flight_offer: np.ndarray  # bool: the session offers a flight discount
    hotel_offer: np.ndarray  # bool: the session offers a hotel discount
    book: np.ndarray  # bool: the session books a new trip
    damping: np.ndarray  # per session: propensity factor of browsing intensity (1 at 8 / window)


def expected_sessions(day_signup: np.ndarray) -> np.ndarray:
    """Each user's expected number of sessions at activity 1, from the sign-up day alone (the
    session-count model of `_session_counts` without its random parts): early users have
    about 16, the last ones 1. It sizes the generator's chunks (`generate.chunk_bounds`)."""
    early = day_signup < CUTOFF_DAY
    covered = np.clip((END_DAY - np.maximum(day_signup, CUTOFF_DAY)) / POST_DAYS, 0, 1)
    pre_days = np.clip(CUTOFF_DAY - day_signup, 0, None)
    return np.where(
        early,
        1.0 + PRE_RATE * pre_days + POST_TRIALS * POST_P,
        1.0 + (POST_TRIALS - 1) * LATE_P * covered,
    )


def _session_counts(
    rng: np.random.Generator, users: Users
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sessions before and after the cut-off per user, and the post window's covered share.

    Before: the sign-up session plus Poisson(rate x days). After: Binomial(12, p) for users
    who were there all along; 1 + Binomial(11, p') scaled by the covered share for later ones.
    """
    power = rng.random(len(users.persona)) < POWER_SHARE  # a few users browse far more
    activity = users.latent.activity * np.where(power, POWER_ACTIVITY, 1.0)
    early = users.day_signup < CUTOFF_DAY
    covered = np.clip((END_DAY - np.maximum(users.day_signup, CUTOFF_DAY)) / POST_DAYS, 0, 1)
    p_early = np.clip(POST_P * activity, 0.0, 0.95)
    p_late = np.clip(LATE_P * activity * covered, 0.0, 0.95)
    n_post = np.where(
        early,
        rng.binomial(POST_TRIALS, p_early),
        1 + rng.binomial(POST_TRIALS - 1, p_late),
    )
    pre_days = np.clip(CUTOFF_DAY - users.day_signup, 0, None)
    n_pre = np.where(early, 1 + rng.poisson(PRE_RATE * activity * pre_days), 0)
    return n_pre.astype("int64"), n_post.astype("int64"), covered


def _session_times(
    rng: np.random.Generator, users: Users, n_pre: np.ndarray, n_post: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Owner and start second of every session, sorted by owner then time.

    The first session of a user is on the sign-up day; the others are uniform over the
    user's window before or after the cut-off. Weekday-minded personas move weekend
    sessions to the neighbouring weekday.
    """
    total = n_pre + n_post
    n_users = len(total)
    owner = np.repeat(np.arange(n_users, dtype="int64"), total)
    first = np.concatenate([[0], np.cumsum(total)[:-1]])
    pos = np.arange(len(owner), dtype="int64") - np.repeat(first, total)
    signup_s = users.day_signup[owner] * DAY
    is_pre = pos < n_pre[owner]
    lo = np.where(is_pre, signup_s, np.maximum(signup_s, CUTOFF_DAY * DAY + 1))
    hi = np.where(is_pre, CUTOFF_DAY * DAY, END_DAY * DAY)
    is_signup = pos == 0
    hi = np.where(is_signup, signup_s + DAY, hi)
    lo = np.where(is_signup, signup_s + 6 * HOUR, lo)  # sign-ups happen in waking hours
    u = rng.random(len(owner))
    span = (hi - lo).astype("float64")
    growing = PRE_GROWTH_DAYS * DAY * np.log1p(u * np.expm1(span / (PRE_GROWTH_DAYS * DAY)))
    offset = np.where(is_pre & ~is_signup, growing, u * span)
    start = lo + np.minimum(np.floor(offset), span - 1).astype("int64")

    persona = users.persona[owner]
    dow = day_of_week(start // DAY)
    to_weekday = np.where(dow == 5, -DAY, np.where(dow == 6, DAY, 0))
    to_weekend = np.where(dow == 0, -DAY, np.where(dow == 4, DAY, 0))
    u = rng.random(len(owner))
    shift = np.where(u < persona_param("weekday")[persona], to_weekday, 0)
    shift = np.where(u < persona_param("weekend")[persona], to_weekend, shift)
    moved = start + shift
    move = (shift != 0) & ~is_signup & (moved >= lo) & (moved < hi)
    start = np.where(move, moved, start)

    key = (owner << 32) | (start - EPOCH_2021)  # seconds since 2021 fit in 32 bits
    key.sort()
    return key >> 32, (key & 0xFFFFFFFF) + EPOCH_2021


def _deal_factor(users: Users, owner: np.ndarray, offered: np.ndarray) -> np.ndarray:
    """Booking-rate factor of a session: up on an offer, down without, for deal-minded users.

    With o the user's chance of an offer and d their discount sensitivity, an offered
    session books 1 + d (1 - o) / o times as often and another 1 - d times as often, so the
    user's expected bookings do not change: a share d of them moves onto offers.
    """
    f, h = users.latent.flight_discount, users.latent.hotel_discount
    o = (1.0 - (1.0 - f) * (1.0 - h))[owner]
    d = users.latent.deal[owner]
    return np.where(offered, 1.0 + d * (1.0 - o) / np.maximum(o, 1e-6), 1.0 - d)


def draw_sessions(rng: np.random.Generator, users: Users) -> Sessions:
    """Session owners, start times, discount offers and which sessions book a trip.

    A session books with probability BOOK_REFERENCE x the user's propensity x damping (heavy
    browsers convert less per session) x the deal factor; each is an independent draw.
    """
    n_pre, n_post, covered = _session_counts(rng, users)
    owner, start = _session_times(rng, users, n_pre, n_post)
    # Browsing intensity = sessions per post-window length (205 days), not counting the
    # sign-up session: after the cut-off from the post-window count, before it from the
    # user's whole history (a short pre-window alone would be too noisy).
    late = users.day_signup >= CUTOFF_DAY
    extra = np.where(late, (n_post - 1) * POST_TRIALS / (POST_TRIALS - 1), n_post)
    post_intensity = extra / np.maximum(covered, 0.05)
    pre_days = np.clip(CUTOFF_DAY - users.day_signup, 0, None)
    pre_intensity = (n_pre - 1 + n_post) / (pre_days + POST_DAYS) * POST_DAYS
    is_post = start > CUTOFF_DAY * DAY
    intensity = np.where(is_post, post_intensity[owner], pre_intensity[owner])
    damping = np.clip((np.maximum(intensity, 1.0) / 8.0) ** -BOOK_ELASTICITY, 0.75, 2.0)
    n = len(owner)
    flight_offer = rng.random(n) < users.latent.flight_discount[owner]
    hotel_offer = rng.random(n) < users.latent.hotel_discount[owner]
    rate = BOOK_REFERENCE * users.latent.propensity[owner] * damping
    rate *= _deal_factor(users, owner, flight_offer | hotel_offer)
    book = rng.random(n) < np.minimum(rate, MAX_BOOK)
    return Sessions(owner, start, flight_offer, hotel_offer, book, damping)
