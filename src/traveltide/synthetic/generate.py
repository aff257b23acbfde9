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
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pyarrow as pa

from traveltide import geo
from traveltide.config import PERKS as CONFIG_PERKS
from traveltide.config import GenerateConfig
from traveltide.errors import ConfigError
from traveltide.schema import TABLES

log = logging.getLogger(__name__)

REAL_USERS = 1_020_926
DAY = 86_400
HOUR = 3_600


def _day(iso: str) -> int:
    """Days since the epoch of an ISO date."""
    return int(np.datetime64(iso, "D").astype("int64"))


SIGNUP_YEARS: tuple[tuple[str, str, int], ...] = (  # first day, day after last, real sign-ups
    ("2021-04-01", "2022-01-01", 75_555),
    ("2022-01-01", "2023-01-01", 427_441),
    ("2023-01-01", "2023-07-21", 517_930),
)
SIGNUP_GROWTH_DAYS = 280.0  # e-folding time of the sign-up rate within a year
CUTOFF_DAY = _day("2023-01-04")  # cohort sessions start strictly after this midnight
END_DAY = _day("2023-07-29")  # sessions end before this midnight (last day 2023-07-28)
POST_DAYS = END_DAY - CUTOFF_DAY
AGE_REFERENCE_DAY = _day("2023-07-01")
OLDEST_BIRTH_DAY = _day("1935-01-01")
YOUNGEST_BIRTH_YEAR_DAY = _day("2006-01-01")  # under-17s sign up as born in 2006 (spike)
_EPOCH_2021 = _day("2021-01-01") * DAY  # origin of the 32-bit sort keys
MIN_TRIP_KM = 300.0  # shortest flight / trip from the home airport
MAX_LEAD_DAYS = 354  # latest departure 2024-07-16 for a session on 2023-07-28
FAR_AHEAD = 0.02  # share of trips that are long holidays booked most of a year ahead
FAR_AHEAD_MIN_DAYS = 250
ONE_WAY_ELASTICITY = 0.5  # one-way share ~ damping ** elasticity

# Session-count model (calibrated to FACTS: 5.41M sessions, 3.10M after the cut-off, cohort).
POWER_SHARE = 0.0006  # power users: the cohort's rare 11-12 session users
POWER_ACTIVITY = 2.4
POST_TRIALS = 12  # at most 12 sessions after the cut-off: the cohort's maximum
POST_P = 0.292  # per-trial probability for a user active over the whole post window
LATE_P = 0.28  # same for users who signed up after the cut-off (1 + Binomial(11, .))
PRE_GROWTH_DAYS = 600.0  # pre-cut-off activity grows with the platform (e-folding days)
PRE_RATE = 0.0175  # extra sessions per day before the cut-off
BOOK_ELASTICITY = 0.3  # booking propensity ~ (sessions per post window / 8) ** -elasticity
FLIGHT_ONLY_ELASTICITY = 2.0  # flight-only share ~ damping ** elasticity
CANCEL_SCALE = 1.0
CANCEL_ELASTICITY = 1.0  # light users, who have fewer later sessions, cancel a bit more often
CANCEL_GAP_DAYS = 2.0  # mean days from a booking to its cancellation
DEAL_HOTEL = 0.5  # share of deal bookings that discount the hotel too
DISCOUNT_SCALE = 1.0

# Hotel data quirks (FACTS: nights = floor((out - in) / 24h) in ~91% of rows, 1.6% reversed).
REVERSED_SHARE = 0.0145  # rows with check_out < check_in (short stays only)
REVERSED_NEGATIVE = 0.45  # of those, nights recorded as the negative floor
CALENDAR_NIGHTS = 0.0816  # other rows recording calendar nights instead of the floor
CHECK_OUT_HOUR = 11
HABIT = 0.85  # share of trips with the user's usual seats, bags and rooms

FLIGHT_STEPS = np.round(np.arange(1, 13) * 0.05, 2)  # 0.05 .. 0.60
HOTEL_STEPS = np.round(np.arange(1, 10) * 0.05, 2)  # 0.05 .. 0.45
# fmt: off
FLIGHT_PMF = {
    "regular": (0.17, 0.55, 0.14, 0.10, 0.03, 0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "generous": (0.01, 0.30, 0.38, 0.28, 0.02, 0.005, 0.003, 0.001, 0.0005, 0.0003, 0.0002, 0.0002),
}
HOTEL_PMF = {
    "regular": (0.42, 0.38, 0.12, 0.055, 0.015, 0.006, 0.003, 0.001, 0.0),
    "generous": (0.10, 0.45, 0.33, 0.08, 0.02, 0.01, 0.005, 0.003, 0.002),
}
# fmt: on

PERKS = CONFIG_PERKS  # the five perks of the rewards programme, defined once in config


@dataclass(frozen=True)
class Persona:
    """Behavioural parameters of one latent persona (all per user, session or trip)."""

    share: float  # of all users
    perk: str  # the perk this persona values most (one of PERKS)
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

GENDERS: tuple[tuple[str, float], ...] = (("F", 0.885), ("M", 0.113), ("O", 0.002))
USA_SHARE = 0.83

CLICK_SIGMA = 0.72  # log-sd of page clicks within a persona
CLICK_TAIL = 0.004  # share of sessions with a runaway click count
BOOKING_CLICKS = 1.55  # booking sessions take more clicks than browsing ones
CANCEL_CLICKS = 0.6
SECONDS_PER_CLICK = 0.95  # scales the personas' seconds per click
TIMEOUT_SECONDS = 7_200
TIMEOUT_SHARE = 0.0004  # sessions left open until the server's timeout

FARE_BASE = 155.0  # USD per seat, round trip, before the distance term
FARE_PER_KM = 0.085  # USD per seat and km of the one-way distance
FARE_SIGMA = 0.38
ONE_WAY_FARE = 0.6
PROMO_SHARE = 0.002  # near-free promotional fares (the real minimum is 2.41 USD)
HOTEL_SIGMA = 0.38

# Airlines by market; within a market the weights are a rough share of seats.
AIRLINES: tuple[tuple[str, float, float, float], ...] = (
    # name, weight for US domestic, Canadian domestic, international
    ("Delta Air Lines", 0.20, 0.04, 0.10),
    ("American Airlines", 0.20, 0.04, 0.10),
    ("United Airlines", 0.18, 0.05, 0.10),
    ("Southwest Airlines", 0.17, 0.00, 0.01),
    ("JetBlue Airways", 0.06, 0.00, 0.03),
    ("Alaska Airlines", 0.06, 0.01, 0.00),
    ("Spirit Airlines", 0.05, 0.00, 0.01),
    ("Frontier Airlines", 0.04, 0.00, 0.00),
    ("Hawaiian Airlines", 0.02, 0.00, 0.00),
    ("Air Canada", 0.01, 0.50, 0.10),
    ("WestJet", 0.01, 0.28, 0.04),
    ("Porter Airlines", 0.00, 0.08, 0.00),
    ("British Airways", 0.00, 0.00, 0.07),
    ("Air France", 0.00, 0.00, 0.06),
    ("Lufthansa", 0.00, 0.00, 0.05),
    ("KLM", 0.00, 0.00, 0.04),
    ("Aeromexico", 0.00, 0.00, 0.05),
    ("Japan Airlines", 0.00, 0.00, 0.03),
    ("Emirates", 0.00, 0.00, 0.02),
    ("Singapore Airlines", 0.00, 0.00, 0.02),
    ("Cathay Pacific", 0.00, 0.00, 0.02),
    ("Qantas", 0.00, 0.00, 0.01),
    ("Iberia", 0.00, 0.00, 0.02),
    ("Aer Lingus", 0.00, 0.00, 0.02),
)
# Hotel brands by price tier (price per room-night below the tier's bound, USD).
HOTEL_TIERS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (95.0, ("Motel 6", "Super 8", "Days Inn", "Red Roof Inn", "Best Western", "Comfort Inn")),
    (
        170.0,
        (
            "Holiday Inn",
            "Hampton Inn",
            "Courtyard",
            "Hilton Garden Inn",
            "Radisson",
            "Wyndham",
            "Crowne Plaza",
        ),
    ),
    (
        330.0,
        (
            "Marriott",
            "Hilton",
            "Hyatt",
            "Sheraton",
            "Westin",
            "InterContinental",
            "Fairmont",
            "Kimpton",
        ),
    ),
    (
        np.inf,
        (
            "Four Seasons",
            "Ritz-Carlton",
            "St. Regis",
            "Mandarin Oriental",
            "Waldorf Astoria",
            "Rosewood",
            "Park Hyatt",
            "Aman",
        ),
    ),
)


@dataclass(frozen=True)
class SyntheticDatabase:
    """The four TravelTide tables plus the ground-truth persona of every user."""

    users: pd.DataFrame
    sessions: pd.DataFrame
    flights: pd.DataFrame
    hotels: pd.DataFrame
    personas: pd.DataFrame  # user_id, persona: never part of the four tables


@dataclass(frozen=True)
class _Users:
    day_signup: np.ndarray  # days since epoch, ascending (user_id order)
    persona: np.ndarray  # int index into PERSONAS
    home: np.ndarray  # index into geo.home_airports()
    usa: np.ndarray  # bool
    seats: np.ndarray  # habitual party size, bags and rooms of the user's trips
    bags: np.ndarray
    rooms: np.ndarray


@dataclass(frozen=True)
class _Sessions:
    owner: np.ndarray  # user index (user_id - 1), non-decreasing
    start: np.ndarray  # seconds since epoch, increasing within a user
    book: np.ndarray  # bool: the session books a new trip
    damping: np.ndarray  # per session: propensity factor of browsing intensity (1 at 8 / window)


@dataclass(frozen=True)
class _Trips:
    session: np.ndarray  # index of the booking session
    owner: np.ndarray
    kind: np.ndarray  # 0 flight+hotel, 1 hotel only, 2 flight only
    dest: np.ndarray  # index into geo.destinations()
    departure: np.ndarray  # seconds; trip start (check-in day for hotel-only trips)
    nights: np.ndarray  # calendar nights of the stay (>= 1)


# --------------------------------------------------------------------------- helpers


def _persona_param(name: str) -> np.ndarray:
    """One persona attribute as an array indexed by persona code."""
    return np.array([getattr(PROFILES[p], name) for p in PERSONAS], dtype="float64")


def _pmf_table(rows: Sequence[Sequence[float]]) -> np.ndarray:
    """Cumulative probabilities of ragged pmfs, padded to one width, each row ending in 1."""
    width = max(len(r) for r in rows)
    table = np.zeros((len(rows), width))
    for i, row in enumerate(rows):
        table[i, : len(row)] = np.asarray(row) / np.sum(row)
    cum = np.cumsum(table, axis=1)
    cum[:, -1] = 1.0
    return cum


def _draw_pmf(rng: np.random.Generator, cum: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Index drawn from row `group[i]` of a cumulative pmf table, for every i."""
    # Row g of the table shifted by g is one increasing sequence; a draw u from row g is
    # the number of row-g entries <= u, i.e. a single searchsorted of u + g.
    width = cum.shape[1]
    stacked = (cum + np.arange(len(cum))[:, None]).ravel()
    u = rng.random(len(group)) + group
    return np.searchsorted(stacked, u, side="right") - group * width


def _split_counts(total: int, weights: Sequence[float]) -> np.ndarray:
    """Integer counts proportional to weights summing exactly to total (largest remainder)."""
    w = np.asarray(weights, dtype="float64")
    raw = total * w / w.sum()
    counts = np.floor(raw).astype("int64")
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def _day_of_week(days: np.ndarray) -> np.ndarray:
    """Monday = 0 ... Sunday = 6 (1970-01-01 was a Thursday)."""
    return (days + 3) % 7


def _timestamps(seconds: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """int64 seconds since the epoch -> datetime64[us], NaT where not valid."""
    out = seconds.astype("int64") * 1_000_000
    if valid is not None:
        out = np.where(valid, out, np.iinfo("int64").min)
    return out.view("datetime64[us]")


def _strings(vocab: Sequence[str], codes: np.ndarray) -> pd.Series:
    """A pandas str column of vocab[codes], built in one pass without Python objects."""
    encoded = [v.encode() for v in vocab]
    lengths = np.array([len(e) for e in encoded], dtype="int64")
    matrix = np.zeros((len(encoded), max(lengths.max(), 1)), dtype="uint8")
    for i, e in enumerate(encoded):
        matrix[i, : len(e)] = np.frombuffer(e, dtype="uint8")
    row_len = lengths[codes]
    chars = matrix[codes]
    data = chars[np.arange(matrix.shape[1]) < row_len[:, None]]
    offsets = np.concatenate([[0], np.cumsum(row_len)]).astype("int64")
    arr = pa.LargeStringArray.from_buffers(
        len(codes), pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data))
    )
    return pd.Series(arr, dtype="str")


_HEX4 = np.frombuffer(
    b"".join(f"{i:04x}".encode() for i in range(65_536)), dtype="uint32"
)  # 16-bit value -> its 4 hex digits, as one uint32 of ASCII bytes


def _hex32(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random ids of 32 lowercase hex digits, as an (n, 32) uint8 array of ASCII codes."""
    raw = rng.bit_generator.random_raw(2 * n).astype("uint64")  # 128 random bits per id
    return _HEX4[raw.view("uint16")].view("uint8").reshape(n, 32)


def _digit_counts(values: np.ndarray) -> np.ndarray:
    """Number of decimal digits of positive integers."""
    counts = np.ones(len(values), dtype="int64")
    for power in range(1, 19):
        counts += values >= 10**power
    return counts


def _compose_ids(
    user_ids: np.ndarray, hexchars: np.ndarray, valid: np.ndarray | None = None
) -> pd.Series:
    """str column '<user_id>-<32 hex>' (NULL where not valid) built from byte blocks.

    Rows must be grouped by non-decreasing user_id (true for every table here), so rows with
    the same number of digits form a few contiguous blocks that are filled as 2-D arrays.
    `hexchars` holds one row per valid row.
    """
    ids = user_ids if valid is None else user_ids[valid]
    if len(ids) and np.any(np.diff(ids) < 0):
        raise ValueError("_compose_ids needs rows grouped by non-decreasing user_id")
    ndig = _digit_counts(ids)
    data = np.empty(int((ndig + 33).sum()), dtype="uint8")
    cuts = np.concatenate([[0], np.flatnonzero(np.diff(ndig)) + 1, [len(ids)]])
    pos = 0
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        d = int(ndig[a])
        block = data[pos : pos + (b - a) * (d + 33)].reshape(b - a, d + 33)
        for j in range(d):
            block[:, j] = (ids[a:b] // 10 ** (d - 1 - j)) % 10 + ord("0")
        block[:, d] = ord("-")
        block[:, d + 1 :] = hexchars[a:b]
        pos += (b - a) * (d + 33)
    row_len = ndig + 33
    bitmap = None
    null_count = 0
    if valid is not None:
        full = np.zeros(len(user_ids), dtype="int64")
        full[valid] = row_len
        row_len = full
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        null_count = int((~valid).sum())
    offsets = np.concatenate([[0], np.cumsum(row_len)]).astype("int64")
    arr = pa.LargeStringArray.from_buffers(
        len(user_ids), pa.py_buffer(offsets), pa.py_buffer(data), bitmap, null_count
    )
    return pd.Series(arr, dtype="str")


# --------------------------------------------------------------------------- users


def _signup_days(rng: np.random.Generator, n: int) -> np.ndarray:
    """Sign-up days, ascending: FACTS' yearly counts, growing exponentially within a year."""
    counts = _split_counts(n, [c for _, _, c in SIGNUP_YEARS])
    parts = []
    for (first, stop, _), k in zip(SIGNUP_YEARS, counts, strict=True):
        length = _day(stop) - _day(first)
        x = SIGNUP_GROWTH_DAYS * np.log1p(rng.random(k) * np.expm1(length / SIGNUP_GROWTH_DAYS))
        parts.append(_day(first) + np.minimum(np.floor(x), length - 1).astype("int64"))
    return np.sort(np.concatenate(parts))


def _draw_users(rng: np.random.Generator, n: int) -> tuple[_Users, pd.DataFrame]:
    """Users table and their latent attributes."""
    day_signup = _signup_days(rng, n)
    persona = rng.choice(len(PERSONAS), size=n, p=_normalised(_persona_param("share")))

    mean, sd = (np.array([PROFILES[p].age[i] for p in PERSONAS]) for i in (0, 1))
    age_years = rng.normal(mean[persona], sd[persona])
    birth = AGE_REFERENCE_DAY - np.round(age_years * 365.2425).astype("int64")
    too_young = birth >= YOUNGEST_BIRTH_YEAR_DAY + 365
    birth = np.where(too_young, YOUNGEST_BIRTH_YEAR_DAY + rng.integers(0, 365, n), birth)
    birth = np.maximum(birth, OLDEST_BIRTH_DAY)

    gender = _draw_pmf(rng, _pmf_table([[w for _, w in GENDERS]]), np.zeros(n, "int64"))
    married = rng.random(n) < _persona_param("married")[persona]
    children = rng.random(n) < _persona_param("children")[persona]

    homes = geo.home_airports()
    usa = rng.random(n) < USA_SHARE
    weights = [[a.home_weight if a.country == c else 0.0 for a in homes] for c in ("canada", "usa")]
    home = _draw_pmf(rng, _pmf_table(weights), usa.astype("int64"))

    lat = np.array([a.lat for a in homes])
    lon = np.array([a.lon for a in homes])
    users = pd.DataFrame(
        {
            "user_id": np.arange(1, n + 1, dtype="int64"),
            "birthdate": _timestamps(birth * DAY),
            "gender": _strings([g for g, _ in GENDERS], gender),
            "married": married,
            "has_children": children,
            "home_country": _strings(["canada", "usa"], usa.astype("int64")),
            "home_city": _strings([a.city for a in homes], home),
            "home_airport": _strings([a.iata for a in homes], home),
            "home_airport_lat": lat[home],
            "home_airport_lon": lon[home],
            "sign_up_date": _timestamps(day_signup * DAY),
        },
        copy=False,
    )
    party = (
        1 + _draw_pmf(rng, _pmf_table([PROFILES[p].seats for p in PERSONAS]), persona),
        _draw_pmf(rng, _pmf_table([PROFILES[p].bags for p in PERSONAS]), persona),
        1 + _draw_pmf(rng, _pmf_table([PROFILES[p].rooms for p in PERSONAS]), persona),
    )
    return _Users(day_signup, persona, home, usa, *party), users


def _normalised(w: np.ndarray) -> np.ndarray:
    """Weights scaled to sum to 1."""
    return w / w.sum()


# --------------------------------------------------------------------------- sessions


def _session_counts(
    rng: np.random.Generator, users: _Users
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sessions before and after the cut-off per user, and the post window's covered share.

    Before: the sign-up session plus Poisson(rate x days). After: Binomial(12, p) for users
    who were there all along; 1 + Binomial(11, p') scaled by the covered share for later ones.
    """
    power = rng.random(len(users.persona)) < POWER_SHARE  # a few users browse far more
    activity = _persona_param("activity")[users.persona] * np.where(power, POWER_ACTIVITY, 1.0)
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
    rng: np.random.Generator, users: _Users, n_pre: np.ndarray, n_post: np.ndarray
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
    dow = _day_of_week(start // DAY)
    to_weekday = np.where(dow == 5, -DAY, np.where(dow == 6, DAY, 0))
    to_weekend = np.where(dow == 0, -DAY, np.where(dow == 4, DAY, 0))
    u = rng.random(len(owner))
    shift = np.where(u < _persona_param("weekday")[persona], to_weekday, 0)
    shift = np.where(u < _persona_param("weekend")[persona], to_weekend, shift)
    moved = start + shift
    move = (shift != 0) & ~is_signup & (moved >= lo) & (moved < hi)
    start = np.where(move, moved, start)

    key = (owner << 32) | (start - _EPOCH_2021)  # seconds since 2021 fit in 32 bits
    key.sort()
    return key >> 32, (key & 0xFFFFFFFF) + _EPOCH_2021


def _draw_sessions(rng: np.random.Generator, users: _Users) -> _Sessions:
    """Session owners, start times and which sessions book a trip."""
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
    propensity = np.clip(_persona_param("book")[users.persona[owner]] * damping, 0.0, 0.95)
    book = _systematic(rng, owner, propensity, len(users.persona))
    return _Sessions(owner, start, book, damping)


def _systematic(
    rng: np.random.Generator, owner: np.ndarray, rate: np.ndarray, n_users: int
) -> np.ndarray:
    """Which events (rows grouped by owner) are picked, event i with probability rate[i].

    With C the running sum of a user's rates, event i is picked when floor(C_i + phase) >
    floor(C_(i-1) + phase), with a random phase per user: a run of events with rates
    summing to x then holds floor(x) or ceil(x) picks. Counts reflect the persona rather
    than coin-flip noise, with the same expectation as independent draws.
    """
    counts = np.bincount(owner, minlength=n_users)
    total = np.cumsum(rate)
    before_user = np.concatenate([[0.0], total])[np.cumsum(counts) - counts]
    after = total - before_user[owner] + rng.random(n_users)[owner]
    return np.floor(after) > np.floor(after - rate)


# --------------------------------------------------------------------------- trips


def _draw_destinations(
    rng: np.random.Generator, persona: np.ndarray, home: np.ndarray
) -> np.ndarray:
    """Destination index per trip: a region by persona, then one of its cities at least
    MIN_TRIP_KM from the home airport (nobody flies Newark -> New York)."""
    dests = geo.destinations()
    km = geo.route_km()  # home x destination
    region = _draw_pmf(rng, _pmf_table([PROFILES[p].regions for p in PERSONAS]), persona)
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


def _trip_kinds(rng: np.random.Generator, persona: np.ndarray, damping: np.ndarray) -> np.ndarray:
    """0 flight+hotel, 1 hotel only, 2 flight only, by persona.

    Occasional users (damping > 1) book flight-only trips more often than heavy planners,
    which is why the whole table has more flight-only trips than the cohort.
    """
    mix = np.array([PROFILES[p].mix for p in PERSONAS])[persona]
    flight_only = np.minimum(mix[:, 2] * damping**FLIGHT_ONLY_ELASTICITY, 1.0 - mix[:, 1])
    u = rng.random(len(persona))
    return np.where(u < flight_only, 2, np.where(u < flight_only + mix[:, 1], 1, 0))


def _draw_trips(rng: np.random.Generator, users: _Users, sessions: _Sessions) -> _Trips:
    """One trip per booking session: kind, destination, start and length of stay."""
    session = np.flatnonzero(sessions.book)
    owner = sessions.owner[session]
    persona = users.persona[owner]
    n = len(session)
    kind = _trip_kinds(rng, persona, sessions.damping[session])
    dest = _draw_destinations(rng, persona, users.home[owner])

    # exponential lead time truncated at MAX_LEAD_DAYS (inverse CDF: no spike at the cap)
    scale = _persona_param("lead")[persona]
    u = rng.random(n)
    lead = -scale * np.log1p(-u * -np.expm1(-MAX_LEAD_DAYS / scale))
    far = rng.random(n) < FAR_AHEAD  # next year's long holiday, whatever the persona
    lead = np.where(far, rng.uniform(FAR_AHEAD_MIN_DAYS, MAX_LEAD_DAYS, n), lead)
    day = sessions.start[session] // DAY + np.floor(lead).astype("int64")
    hour = rng.integers(6, 20, n) * HOUR + rng.integers(0, 12, n) * 300
    departure = day * DAY + hour
    departure = np.maximum(departure, sessions.start[session] + 2 * HOUR)
    weekday = rng.random(n) < _persona_param("weekday")[persona]
    dow = _day_of_week(departure // DAY)
    departure += np.where(weekday & (dow >= 5), (7 - dow) * DAY, 0)

    mean, shape = (np.array([PROFILES[p].nights[i] for p in PERSONAS]) for i in (0, 1))
    excess = rng.gamma(shape[persona], (mean[persona] - 1.0) / shape[persona])
    nights = 1 + rng.poisson(excess) + np.where(far, rng.integers(7, 31, n), 0)
    return _Trips(session, owner, kind, dest, departure, nights.astype("int64"))


def _habit(
    rng: np.random.Generator, usual: np.ndarray, persona: np.ndarray, field: str, base: int
) -> np.ndarray:
    """A trip's party size (seats, bags, rooms): mostly the user's usual, else a fresh draw."""
    fresh = base + _draw_pmf(
        rng, _pmf_table([getattr(PROFILES[p], field) for p in PERSONAS]), persona
    )
    return np.where(rng.random(len(usual)) < HABIT, usual, fresh)


def _draw_flights(
    rng: np.random.Generator,
    users: _Users,
    trips: _Trips,
    trip_ids: pd.Series,
    damping: np.ndarray,
) -> pd.DataFrame:
    """Flights table: one row per trip with a flight."""
    rows = np.flatnonzero(trips.kind != 1)
    persona = users.persona[trips.owner[rows]]
    n = len(rows)
    homes, dests = geo.home_airports(), geo.destinations()
    home = users.home[trips.owner[rows]]
    dest = trips.dest[rows]
    dest_lat = np.array([a.lat for a in dests])[dest]
    dest_lon = np.array([a.lon for a in dests])[dest]
    km = geo.route_km()[home, dest]
    owner = trips.owner[rows]
    seats = _habit(rng, users.seats[owner], persona, "seats", 1)
    bags = _habit(rng, users.bags[owner], persona, "bags", 0)
    occasional = damping[trips.session[rows]] ** ONE_WAY_ELASTICITY  # occasional: more one-way
    rate = np.clip(_persona_param("one_way")[persona] * occasional, 0.0, 1.0)
    one_way = _systematic(rng, owner, rate, len(users.persona))  # habitual, not coin flips

    departure = trips.departure[rows]
    package = trips.kind[rows] == 0
    check_out_day = departure // DAY + trips.nights[rows]
    ret_package = check_out_day * DAY + 12 * HOUR + rng.integers(0, 120, n) * 300
    ret_solo = departure + (trips.nights[rows] - 1) * DAY + rng.integers(36, 120, n) * 300
    ret = np.where(package, ret_package, ret_solo)

    per_seat = (FARE_BASE + FARE_PER_KM * km) * np.exp(FARE_SIGMA * rng.standard_normal(n))
    fare = per_seat * _persona_param("fare")[persona] * seats
    fare *= np.where(one_way, ONE_WAY_FARE, 1.0)
    promo = rng.random(n) < PROMO_SHARE
    fare = np.where(promo, fare * rng.uniform(0.005, 0.1, n), fare)

    intl = np.array([a.region == "international" for a in dests])[dest]
    market = np.where(intl, 2, np.where(users.usa[trips.owner[rows]], 0, 1))
    airline_cum = _pmf_table([[a[1 + m] for a in AIRLINES] for m in range(3)])
    airline = _draw_pmf(rng, airline_cum, market)

    frame = pd.DataFrame(
        {
            "trip_id": trip_ids.iloc[rows].reset_index(drop=True),
            "origin_airport": _strings([a.iata for a in homes], home),
            "destination": _strings([a.city for a in dests], dest),
            "destination_airport": _strings([a.iata for a in dests], dest),
            "seats": seats.astype("int64"),
            "return_flight_booked": ~one_way,
            "departure_time": _timestamps(departure),
            "return_time": _timestamps(ret, ~one_way),
            "checked_bags": bags.astype("int64"),
            "trip_airline": _strings([a[0] for a in AIRLINES], airline),
            "destination_airport_lat": dest_lat,
            "destination_airport_lon": dest_lon,
            "base_fare_usd": np.round(np.maximum(fare, 1.0), 2),
        },
        copy=False,
    )
    return frame


def _draw_hotels(
    rng: np.random.Generator, users: _Users, trips: _Trips, trip_ids: pd.Series
) -> pd.DataFrame:
    """Hotels table: one row per trip with a hotel, with the real data's nights quirks.

    Check-in is in the afternoon and check-out at 11:00, so floor((out - in) / 24h) is the
    calendar nights minus one; that floor is what most rows record. Some rows record the
    calendar nights instead, and a few short stays have check-in and check-out swapped
    (some of those record the negative floor).
    """
    rows = np.flatnonzero(trips.kind != 2)
    persona = users.persona[trips.owner[rows]]
    n = len(rows)
    dests = geo.destinations()
    dest = trips.dest[rows]
    k = trips.nights[rows]
    rooms = _habit(rng, users.rooms[trips.owner[rows]], persona, "rooms", 1)

    start = trips.departure[rows]
    day = start // DAY
    check_in = day * DAY + 14 * HOUR + rng.integers(0, 96, n) * 300
    package = trips.kind[rows] == 0
    after_flight = np.minimum(start + rng.integers(18, 48, n) * 300, day * DAY + DAY - 60)
    check_in = np.where(package, np.maximum(check_in, after_flight), check_in)
    check_out = (day + k) * DAY + CHECK_OUT_HOUR * HOUR

    short = k <= 2
    p_rev = min(1.0, REVERSED_SHARE * n / max(int(short.sum()), 1))
    reversed_ = short & (rng.random(n) < p_rev)
    negative = reversed_ & (rng.random(n) < REVERSED_NEGATIVE)
    calendar = ~reversed_ & (rng.random(n) < CALENDAR_NIGHTS)
    nights = np.where(negative, -k, np.where(calendar, k, k - 1))
    check_in, check_out = (
        np.where(reversed_, check_out, check_in),
        np.where(reversed_, check_in, check_out),
    )

    cost = np.array([a.cost for a in dests])[dest]
    price = _persona_param("hotel")[persona] * cost
    price = np.maximum(np.round(price * np.exp(HOTEL_SIGMA * rng.standard_normal(n))), 10.0)

    bounds = np.array([b for b, _ in HOTEL_TIERS])
    tier = np.searchsorted(bounds, price, side="right")
    tier = np.minimum(tier, len(HOTEL_TIERS) - 1)
    sizes = np.array([len(brands) for _, brands in HOTEL_TIERS])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    brand = offsets[tier] + (rng.random(n) * sizes[tier]).astype("int64")
    brands = [b for _, names in HOTEL_TIERS for b in names]
    names = [f"{b} - {a.city}" for b in brands for a in dests]

    return pd.DataFrame(
        {
            "trip_id": trip_ids.iloc[rows].reset_index(drop=True),
            "hotel_name": _strings(names, brand * len(dests) + dest),
            "nights": nights.astype("int64"),
            "rooms": rooms.astype("int64"),
            "check_in_time": _timestamps(check_in),
            "check_out_time": _timestamps(check_out),
            "hotel_per_room_usd": price.astype("float64"),
        },
        copy=False,
    )


def _draw_cancellations(
    rng: np.random.Generator, users: _Users, sessions: _Sessions, trips: _Trips
) -> tuple[_Sessions, _Trips, np.ndarray]:
    """Cancel trips; return sessions and trips re-sorted, and the trip each session cancels.

    A persona cancels a share of its trips, spread evenly over each user's trips (the same
    phase rule as bookings). Cancellations follow their booking closely (a few days, never
    past the trip's start): the user's next session that books nothing becomes the
    cancellation and moves to that time, or, when the user has no such later session, a
    new session is added (not for users already at 12 sessions after the cut-off). Two
    trips never share a cancelling session.
    """
    n = len(sessions.owner)
    rate = _persona_param("cancel")[users.persona] * CANCEL_SCALE
    rate = np.clip(rate[trips.owner] * sessions.damping[trips.session] ** CANCEL_ELASTICITY, 0, 1)
    wants = _systematic(rng, trips.owner, rate, len(users.persona))
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
    order = np.argsort((owner << 32) | (start - _EPOCH_2021), kind="stable")
    new_pos = np.empty(len(owner), dtype="int64")
    new_pos[order] = np.arange(len(owner))
    sessions = _Sessions(owner[order], start[order], book[order], damping[order])
    return sessions, replace(trips, session=new_pos[trips.session]), cancels[order]


# --------------------------------------------------------------------------- session table


def _session_frame(
    rng: np.random.Generator,
    users: _Users,
    sessions: _Sessions,
    trips: _Trips,
    cancels: np.ndarray,
    trip_hex: np.ndarray,
) -> pd.DataFrame:
    """Sessions table: discounts, clicks, duration, booking flags and ids."""
    n = len(sessions.owner)
    persona = users.persona[sessions.owner]
    book = sessions.book
    cancel = cancels >= 0
    trip_of = np.full(n, -1, dtype="int64")
    trip_of[trips.session] = np.arange(len(trips.session))
    trip_of = np.where(cancel, cancels, trip_of)
    has_trip = trip_of >= 0

    f_disc = rng.random(n) < _persona_param("flight_discount")[persona] * DISCOUNT_SCALE
    h_disc = rng.random(n) < _persona_param("hotel_discount")[persona] * DISCOUNT_SCALE
    deal = book & (rng.random(n) < _persona_param("deal_seeker")[persona])
    f_disc |= deal
    h_disc |= deal & (rng.random(n) < DEAL_HOTEL)
    generous = (rng.random(n) < _persona_param("generous")[persona]).astype("int64")
    f_amount = FLIGHT_STEPS[_draw_pmf(rng, _pmf_table(list(FLIGHT_PMF.values())), generous)]
    h_amount = HOTEL_STEPS[_draw_pmf(rng, _pmf_table(list(HOTEL_PMF.values())), generous)]
    f_amount = np.where(f_disc & ~cancel, f_amount, np.nan)
    h_amount = np.where(h_disc & ~cancel, h_amount, np.nan)

    median = _persona_param("clicks")[persona] * np.where(
        book, BOOKING_CLICKS, np.where(cancel, CANCEL_CLICKS, 1.0)
    )
    sigma = np.where(rng.random(n) < CLICK_TAIL, 2.2 * CLICK_SIGMA, CLICK_SIGMA)
    clicks = np.maximum(1, np.round(median * np.exp(sigma * rng.standard_normal(n))))
    pace = _persona_param("seconds")[persona] * SECONDS_PER_CLICK
    seconds = clicks * pace * np.exp(0.3 * rng.standard_normal(n))
    seconds = np.clip(np.round(seconds), 6, TIMEOUT_SECONDS)
    seconds = np.where(rng.random(n) < TIMEOUT_SHARE, TIMEOUT_SECONDS, seconds)

    kind = np.where(has_trip, trips.kind[np.maximum(trip_of, 0)], -1)
    flight_booked = (book & (kind != 1)) | cancel
    hotel_booked = (book & (kind != 2)) | cancel
    user_ids = sessions.owner + 1

    return pd.DataFrame(
        {
            "session_id": _compose_ids(user_ids, _hex32(rng, n)),
            "user_id": user_ids,
            "trip_id": _compose_ids(user_ids, trip_hex[trip_of[has_trip]], has_trip),
            "session_start": _timestamps(sessions.start),
            "session_end": _timestamps(sessions.start + seconds.astype("int64")),
            "flight_discount": f_disc | cancel,
            "hotel_discount": h_disc | cancel,
            "flight_discount_amount": f_amount,
            "hotel_discount_amount": h_amount,
            "flight_booked": flight_booked,
            "hotel_booked": hotel_booked,
            "page_clicks": clicks.astype("int64"),
            "cancellation": cancel,
        },
        copy=False,
    )


# --------------------------------------------------------------------------- entry point


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
    users, users_frame = _draw_users(streams[0], n_users)
    sessions = _draw_sessions(streams[1], users)
    trips = _draw_trips(streams[2], users, sessions)
    trip_hex = _hex32(streams[3], len(trips.session))
    trip_ids = _compose_ids(trips.owner + 1, trip_hex)
    sessions, trips, cancels = _draw_cancellations(streams[4], users, sessions, trips)
    damping = sessions.damping  # indexed by trips.session, which the re-sort keeps valid
    sessions_frame = _session_frame(streams[5], users, sessions, trips, cancels, trip_hex)
    del sessions, cancels, trip_hex  # free ~200 MB before the trip tables
    flights = _draw_flights(streams[6], users, trips, trip_ids, damping)
    hotels = _draw_hotels(streams[6], users, trips, trip_ids)
    personas = pd.DataFrame(
        {
            "user_id": users_frame["user_id"].to_numpy(),
            "persona": _strings(list(PERSONAS), users.persona),
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
