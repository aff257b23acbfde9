"""The users table: sign-up days, persona, demographics, home airport, party size, latent traits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from traveltide import geo
from traveltide.synthetic.columns import strings, timestamps
from traveltide.synthetic.dates import DAY, iso_day
from traveltide.synthetic.draws import draw_pmf, pmf_table, split_counts
from traveltide.synthetic.latents import Latents, draw_latents
from traveltide.synthetic.personas import PERSONAS, PROFILES, persona_param

SIGNUP_YEARS: tuple[tuple[str, str, int], ...] = (  # first day, day after last, real sign-ups
    ("2021-04-01", "2022-01-01", 75_555),
    ("2022-01-01", "2023-01-01", 427_441),
    ("2023-01-01", "2023-07-21", 517_930),
)
SIGNUP_GROWTH_DAYS = 280.0  # e-folding time of the sign-up rate within a year
AGE_REFERENCE_DAY = iso_day("2023-07-01")
OLDEST_BIRTH_DAY = iso_day("1935-01-01")
YOUNGEST_BIRTH_YEAR_DAY = iso_day("2006-01-01")  # under-17s sign up as born in 2006 (spike)
GENDERS: tuple[tuple[str, float], ...] = (("F", 0.885), ("M", 0.113), ("O", 0.002))
USA_SHARE = 0.83


@dataclass(frozen=True)
class Users:
    """The users' latent attributes, as arrays in user_id order."""

    day_signup: np.ndarray  # days since epoch, ascending (user_id order)
    persona: np.ndarray  # int index into PERSONAS
    home: np.ndarray  # index into geo.home_airports()
    usa: np.ndarray  # bool
    seats: np.ndarray  # habitual party size and rooms of the user's trips
    rooms: np.ndarray
    latent: Latents  # the persona's means times the user's own factors
    first_id: int = 1  # user_id of the first user (index 0): users come in chunks of ids

    def ids(self, index: np.ndarray) -> np.ndarray:
        """user_id of users by their index in these arrays."""
        return index + self.first_id


def signup_days(rng: np.random.Generator, n: int) -> np.ndarray:
    """Sign-up days of all n users, ascending (they order the user ids): FACTS' yearly counts,
    growing exponentially within a year."""
    counts = split_counts(n, [c for _, _, c in SIGNUP_YEARS])
    parts = []
    for (first, stop, _), k in zip(SIGNUP_YEARS, counts, strict=True):
        length = iso_day(stop) - iso_day(first)
        x = SIGNUP_GROWTH_DAYS * np.log1p(rng.random(k) * np.expm1(length / SIGNUP_GROWTH_DAYS))
        parts.append(iso_day(first) + np.minimum(np.floor(x), length - 1).astype("int64"))
    return np.sort(np.concatenate(parts))


def draw_users(
    rng: np.random.Generator, day_signup: np.ndarray, first_id: int = 1
) -> tuple[Users, pd.DataFrame]:
    """Users table and latent attributes of the users with these sign-up days (`signup_days`),
    whose ids start at `first_id`."""
    n = len(day_signup)
    persona = rng.choice(len(PERSONAS), size=n, p=_normalised(persona_param("share")))

    mean, sd = (np.array([PROFILES[p].age[i] for p in PERSONAS]) for i in (0, 1))
    age_years = rng.normal(mean[persona], sd[persona])
    birth = AGE_REFERENCE_DAY - np.round(age_years * 365.2425).astype("int64")
    too_young = birth >= YOUNGEST_BIRTH_YEAR_DAY + 365
    birth = np.where(too_young, YOUNGEST_BIRTH_YEAR_DAY + rng.integers(0, 365, n), birth)
    birth = np.maximum(birth, OLDEST_BIRTH_DAY)

    gender = draw_pmf(rng, pmf_table([[w for _, w in GENDERS]]), np.zeros(n, "int64"))
    married = rng.random(n) < persona_param("married")[persona]
    children = rng.random(n) < persona_param("children")[persona]

    homes = geo.home_airports()
    usa = rng.random(n) < USA_SHARE
    weights = [[a.home_weight if a.country == c else 0.0 for a in homes] for c in ("canada", "usa")]
    home = draw_pmf(rng, pmf_table(weights), usa.astype("int64"))

    lat = np.array([a.lat for a in homes])
    lon = np.array([a.lon for a in homes])
    users = pd.DataFrame(
        {
            "user_id": np.arange(first_id, first_id + n, dtype="int64"),
            "birthdate": timestamps(birth * DAY),
            "gender": strings([g for g, _ in GENDERS], gender),
            "married": married,
            "has_children": children,
            "home_country": strings(["canada", "usa"], usa.astype("int64")),
            "home_city": strings([a.city for a in homes], home),
            "home_airport": strings([a.iata for a in homes], home),
            "home_airport_lat": lat[home],
            "home_airport_lon": lon[home],
            "sign_up_date": timestamps(day_signup * DAY),
        },
        copy=False,
    )
    party = (
        1 + draw_pmf(rng, pmf_table([PROFILES[p].seats for p in PERSONAS]), persona),
        1 + draw_pmf(rng, pmf_table([PROFILES[p].rooms for p in PERSONAS]), persona),
    )
    latent = draw_latents(rng, persona)
    return Users(day_signup, persona, home, usa, *party, latent, first_id), users


def _normalised(w: np.ndarray) -> np.ndarray:
    """Weights scaled to sum to 1."""
    return w / w.sum()
