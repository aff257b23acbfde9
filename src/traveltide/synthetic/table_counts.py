"""The full-table counts behind FACTS.md's figures, per chunk of a database and summed.

A chunked database (`traveltide.synthetic.generate.generate_chunks`) is never whole in memory:
each chunk's counts are taken while it is written, and `merge_counts` adds them up (sums for
counts, the earliest and latest for dates). The figures computed from the sum equal those of
the whole database.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from functools import reduce

import pandas as pd

from traveltide.synthetic.generate import SyntheticDatabase

_EARLIEST = ("first_signup", "oldest_birth_year")  # merged by min; the other dates by max
_LATEST = ("last_signup", "youngest_birth_year")


@dataclass(frozen=True)
class TableCounts:
    """Row counts and the full-table counts of FACTS.md of one database or chunk."""

    users: int
    sessions: int
    flights: int
    hotels: int
    sessions_without_trip: int
    flight_discount_sessions: int
    hotel_discount_sessions: int
    flights_without_return: int
    hotel_negative_nights: int
    sessions_after_cutoff: int
    users_born_2006: int
    first_signup: pd.Timestamp
    last_signup: pd.Timestamp
    oldest_birth_year: float  # NaN for a chunk without users
    youngest_birth_year: float
    cancellations_by_year: dict[int, int] = field(default_factory=dict)
    signups_by_year: dict[int, int] = field(default_factory=dict)


def _by_year(dates: pd.Series) -> dict[int, int]:
    return {int(k): int(v) for k, v in dates.dt.year.value_counts().items()}


def table_counts(db: SyntheticDatabase, after: pd.Timestamp) -> TableCounts:
    """The counts of one database (or chunk); `after` is the cohort's session boundary."""
    s, fl, h, u = db.sessions, db.flights, db.hotels, db.users
    born = u["birthdate"].dt.year
    return TableCounts(
        users=len(u),
        sessions=len(s),
        flights=len(fl),
        hotels=len(h),
        sessions_without_trip=int(s["trip_id"].isna().sum()),
        flight_discount_sessions=int(s["flight_discount"].sum()),
        hotel_discount_sessions=int(s["hotel_discount"].sum()),
        flights_without_return=int(fl["return_time"].isna().sum()),
        hotel_negative_nights=int((h["nights"] < 0).sum()),
        sessions_after_cutoff=int((s["session_start"] > after).sum()),
        users_born_2006=int((born == 2006).sum()),
        first_signup=u["sign_up_date"].min(),
        last_signup=u["sign_up_date"].max(),
        oldest_birth_year=float(born.min()),
        youngest_birth_year=float(born.max()),
        cancellations_by_year=_by_year(s.loc[s["cancellation"], "session_start"]),
        signups_by_year=_by_year(u["sign_up_date"]),
    )


def _merge_two(a: TableCounts, b: TableCounts) -> TableCounts:
    merged: dict[str, object] = {}
    for f in fields(TableCounts):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name in _EARLIEST:  # the Series skips NaN and NaT, which Python's min does not
            merged[f.name] = pd.Series([x, y]).min()
        elif f.name in _LATEST:
            merged[f.name] = pd.Series([x, y]).max()
        elif isinstance(x, dict):
            merged[f.name] = dict(sorted((Counter(x) + Counter(y)).items()))
        else:
            merged[f.name] = x + y
    return TableCounts(**merged)  # type: ignore[arg-type]


def merge_counts(parts: list[TableCounts]) -> TableCounts:
    """The counts of the database whose chunks have these counts."""
    if not parts:
        raise ValueError("merge_counts needs at least one part")
    return reduce(_merge_two, parts)
