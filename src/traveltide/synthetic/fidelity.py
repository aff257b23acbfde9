"""How close a TravelTide database is to the real one's published figures (shared FACTS.md).

`fidelity` recomputes, with pandas, every figure FACTS.md gives: table sizes and full-table
counts, Elena's cohort (sessions after a date, users with more than N of them), the
distributions inside it and its per-user table (`traveltide.synthetic.per_user`: each per-user
distribution as a TVD figure, correlations across users, average page clicks). Counts are
scaled by `scale` (the generator's size factor), so a small synthetic database is compared
with a proportionally small target.

Tolerances are absolute (|value - target| <= tolerance). For counts and shares they never go
below three standard deviations of sampling noise, so a correct generator at a small scale is
not flagged for noise; at full scale the stated relative bounds apply to all but the smallest
cohort counts (cancellations, users who never booked: a few hundred events each).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from traveltide.synthetic.generate import SyntheticDatabase
from traveltide.synthetic.per_user import (
    CORRELATIONS,
    FidelityDistribution,
    correlation,
    distributions,
    per_user_counts,
)
from traveltide.synthetic.table_counts import TableCounts, table_counts


@dataclass(frozen=True)
class FidelityFigure:
    """One figure of FACTS.md: its target, the database's value, and whether it is close."""

    name: str
    target: float
    value: float
    tolerance: float
    ok: bool


@dataclass(frozen=True)
class Fidelity:
    """Every figure (each per-user distribution's TVD among them) and the distributions."""

    figures: list[FidelityFigure]
    distributions: list[FidelityDistribution]


# Full-table figures of FACTS.md (unscaled).
USERS = 1_020_926
SESSIONS = 5_408_063
FLIGHTS = 1_901_038
HOTELS = 1_918_617
SESSIONS_WITHOUT_TRIP_SHARE = 3_072_218 / SESSIONS
FLIGHT_DISCOUNT_SESSIONS = 885_796
HOTEL_DISCOUNT_SESSIONS = 691_380
FLIGHTS_WITHOUT_RETURN = 88_734
HOTEL_NEGATIVE_NIGHTS = 12_067
CANCELLATIONS_BY_YEAR = {2021: 3_132, 2022: 32_700, 2023: 54_838}
SIGNUPS_BY_YEAR = {2021: 75_555, 2022: 427_441, 2023: 517_930}
SESSIONS_AFTER_CUTOFF = 3_102_850
BORN_2006 = 43_000


class _Figures:
    """Collects figures with a shared scale."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.items: list[FidelityFigure] = []

    def add(self, name: str, target: float, value: float, tolerance: float) -> None:
        value = float(value)
        ok = bool(np.isfinite(value) and abs(value - target) <= tolerance + 1e-9)
        self.items.append(FidelityFigure(name, float(target), value, float(tolerance), ok))

    def count(self, name: str, real: float, value: float, rel: float) -> None:
        """A count scaled from the real database; noise floor 3 sqrt(target)."""
        target = real * self.scale
        self.add(name, target, value, max(rel * target, 3.0 * math.sqrt(max(target, 1.0))))

    def share(self, name: str, target: float, value: float, tol: float, n: int) -> None:
        """A proportion over n items; noise floor 3 binomial standard errors."""
        noise = 3.0 * math.sqrt(target * (1.0 - target) / max(n, 1))
        self.add(name, target, value, max(tol, noise))

    def mean(self, name: str, target: float, value: float, rel: float) -> None:
        self.add(name, target, value, rel * abs(target))

    def estimate(self, name: str, target: float, value: float, rel: float, se: float) -> None:
        """A statistic with standard error se; noise floor 3 se."""
        self.add(name, target, value, max(rel * abs(target), 3.0 * se))


def _days(a: pd.Timestamp | float, iso: str) -> float:
    """Whole days from the date `iso` to timestamp a (NaN for a missing timestamp)."""
    if pd.isna(a):
        return float("nan")
    return float((pd.Timestamp(a).normalize() - pd.Timestamp(iso)).days)


def cohort_rows(db: SyntheticDatabase, after: pd.Timestamp, min_sessions: int) -> pd.DataFrame:
    """Cohort sessions left-joined with users, flights and hotels. A user's rows are all in one
    chunk of a chunked database, so the cohort is the chunks' cohorts one after the other."""
    s = db.sessions[db.sessions["session_start"] > after]
    counts = s.groupby("user_id").size()
    keep = counts.index[counts > min_sessions]
    s = s[s["user_id"].isin(keep)]
    return (
        s.merge(db.users, on="user_id", how="left")
        .merge(db.flights, on="trip_id", how="left")
        .merge(db.hotels, on="trip_id", how="left")
    )


def _full_table(f: _Figures, t: TableCounts) -> None:
    """Sizes and full-table counts."""
    f.count("users_rows", USERS, t.users, 0.02)
    f.count("sessions_rows", SESSIONS, t.sessions, 0.02)
    f.count("flights_rows", FLIGHTS, t.flights, 0.02)
    f.count("hotels_rows", HOTELS, t.hotels, 0.02)
    without_trip = t.sessions_without_trip / t.sessions if t.sessions else float("nan")
    f.share(
        "sessions_without_trip_share", SESSIONS_WITHOUT_TRIP_SHARE, without_trip, 0.02, t.sessions
    )
    f.count("flight_discount_sessions", FLIGHT_DISCOUNT_SESSIONS, t.flight_discount_sessions, 0.05)
    f.count("hotel_discount_sessions", HOTEL_DISCOUNT_SESSIONS, t.hotel_discount_sessions, 0.05)
    f.count("flights_without_return", FLIGHTS_WITHOUT_RETURN, t.flights_without_return, 0.10)
    f.count("hotel_negative_nights", HOTEL_NEGATIVE_NIGHTS, t.hotel_negative_nights, 0.15)
    for year, real in CANCELLATIONS_BY_YEAR.items():
        f.count(f"cancellations_{year}", real, t.cancellations_by_year.get(year, 0), 0.10)
    for year, real in SIGNUPS_BY_YEAR.items():
        f.count(f"signups_{year}", real, t.signups_by_year.get(year, 0), 0.02)
    f.add("first_signup_days_vs_2021-04-01", 0, _days(t.first_signup, "2021-04-01"), 0)
    f.add("last_signup_days_vs_2023-07-20", 0, _days(t.last_signup, "2023-07-20"), 0)
    f.count("sessions_after_cutoff", SESSIONS_AFTER_CUTOFF, t.sessions_after_cutoff, 0.03)
    f.count("users_born_2006", BORN_2006, t.users_born_2006, 0.15)
    f.add("oldest_birth_year", 1935, t.oldest_birth_year, 1)
    f.add("youngest_birth_year", 2006, t.youngest_birth_year, 0)


def _cohort_counts(f: _Figures, c: pd.DataFrame) -> None:
    """Elena's cohort: sizes, trips, cancellations and the booking mix."""
    per_user = c.groupby("user_id").size()
    n_users = len(per_user)
    f.count("cohort_users", 5_998, n_users, 0.05)
    f.count("cohort_sessions", 49_211, len(c), 0.05)
    f.add("cohort_sessions_per_user_mean", 8.20, per_user.mean() if n_users else np.nan, 0.15)
    f.add("cohort_sessions_per_user_median", 8, per_user.median() if n_users else np.nan, 0)
    f.add("cohort_sessions_per_user_max", 12, per_user.max() if n_users else np.nan, 0)
    f.count("cohort_distinct_trips", 16_099, c["trip_id"].nunique(), 0.05)
    f.count("cohort_cancellation_sessions", 610, c["cancellation"].sum(), 0.05)
    f.count("cohort_browse_only_sessions", 32_509, c["trip_id"].isna().sum(), 0.05)
    f.count(
        "cohort_users_with_cancellation", 595, c.loc[c["cancellation"], "user_id"].nunique(), 0.05
    )
    booking = c[c["trip_id"].notna() & ~c["cancellation"]]
    f.count("cohort_booking_sessions", 16_092, len(booking), 0.05)
    f.count("cohort_users_never_booked", 522, n_users - booking["user_id"].nunique(), 0.05)
    fb, hb = booking["flight_booked"], booking["hotel_booked"]
    nb = len(booking)
    f.share("booking_mix_flight_and_hotel", 0.741, (fb & hb).mean(), 0.02, nb)
    f.share("booking_mix_hotel_only", 0.148, (~fb & hb).mean(), 0.02, nb)
    f.share("booking_mix_flight_only", 0.111, (fb & ~hb).mean(), 0.02, nb)
    n = len(c)
    f.share("flight_booked_share", 0.291, c["flight_booked"].mean(), 0.015, n)
    f.share("hotel_booked_share", 0.303, c["hotel_booked"].mean(), 0.015, n)
    f.share("both_booked_share", 0.255, (c["flight_booked"] & c["hotel_booked"]).mean(), 0.015, n)
    f.add(
        "cohort_last_session_days_vs_2023-07-28",
        0,
        _days(c["session_start"].max(), "2023-07-28"),
        0,
    )
    slack = 10 if f.scale >= 0.5 else 90
    f.add(
        "last_departure_days_vs_2024-07-16",
        0,
        _days(c["departure_time"].max(), "2024-07-16"),
        slack,
    )
    f.add(
        "last_check_out_days_vs_2024-08-13",
        0,
        _days(c["check_out_time"].max(), "2024-08-13"),
        slack + 10,
    )
    f.add(
        "last_return_days_vs_2024-08-19", 0, _days(c["return_time"].max(), "2024-08-19"), slack + 10
    )


def _cohort_distributions(f: _Figures, c: pd.DataFrame) -> None:
    """Session-level distributions inside the cohort (FACTS' table)."""
    n = len(c)
    f.mean("page_clicks_mean", 17.59, c["page_clicks"].mean(), 0.10)
    f.add("page_clicks_median", 13, c["page_clicks"].median(), 2)
    f.mean("page_clicks_sd", 21.5, c["page_clicks"].std(), 0.25)
    fd, hd = c["flight_discount_amount"].dropna(), c["hotel_discount_amount"].dropna()
    f.share("flight_discount_amount_share", 8_282 / 49_211, len(fd) / max(n, 1), 0.02, n)
    f.add("flight_discount_amount_mean", 0.140, fd.mean(), 0.01)
    f.share("hotel_discount_amount_share", 6_205 / 49_211, len(hd) / max(n, 1), 0.02, n)
    f.add("hotel_discount_amount_mean", 0.112, hd.mean(), 0.01)
    fare = c["base_fare_usd"].dropna()
    f.mean("base_fare_usd_mean", 525.90, fare.mean(), 0.10)
    f.mean("base_fare_usd_median", 381.77, fare.median(), 0.10)
    price = c["hotel_per_room_usd"].dropna()
    f.mean("hotel_per_room_usd_mean", 177.94, price.mean(), 0.10)
    f.mean("hotel_per_room_usd_median", 148.0, price.median(), 0.10)
    f.add("hotel_per_room_usd_integer_share", 1.0, (price % 1 == 0).mean(), 0)
    nights = c["nights"].dropna()
    nh = len(nights)
    f.mean("nights_mean", 3.67, nights.mean(), 0.10)
    f.share("nights_nonpositive_share", 0.09, (nights <= 0).mean(), 0.02, nh)
    hrows = c.dropna(subset=["nights"])
    span = (hrows["check_out_time"] - hrows["check_in_time"]).dt.total_seconds()
    floor = np.floor(span / 86_400.0)
    f.share("nights_equal_floor_share", 0.91, (floor == hrows["nights"]).mean(), 0.02, nh)
    f.share("check_out_before_check_in_share", 0.016, (span < 0).mean(), 0.006, nh)
    f.mean("rooms_mean", 1.19, c["rooms"].dropna().mean(), 0.05)
    f.mean("seats_mean", 1.22, c["seats"].mean(), 0.05)
    f.mean("checked_bags_mean", 0.59, c["checked_bags"].mean(), 0.10)
    seconds = (c["session_end"] - c["session_start"]).dt.total_seconds()
    f.add("session_seconds_median", 60, seconds.median(), 6)
    f.mean("session_seconds_mean", 86.96, seconds.mean(), 0.10)
    f.add("session_seconds_max", 7_200, seconds.max(), 0)


def _cohort_trips(f: _Figures, c: pd.DataFrame) -> None:
    """Trip-level shares inside the cohort (one row per distinct trip)."""
    flights = c.dropna(subset=["seats"]).drop_duplicates("trip_id")
    nf = len(flights)
    seats, bags = flights["seats"], flights["checked_bags"]
    for name, target, hit in (
        ("seats_1_share", 0.85, seats == 1),
        ("seats_2_share", 0.11, seats == 2),
        ("seats_3_share", 0.03, seats == 3),
        ("seats_4plus_share", 0.01, seats >= 4),
        ("checked_bags_0_share", 0.48, bags == 0),
        ("checked_bags_1_share", 0.46, bags == 1),
        ("checked_bags_2_share", 0.04, bags == 2),
        ("checked_bags_3plus_share", 0.01, bags >= 3),
    ):
        f.share(name, target, hit.mean(), 0.03 if target > 0.2 else 0.015, nf)
    f.share("one_way_share", 0.04, flights["return_time"].isna().mean(), 0.015, nf)
    f.mean("base_fare_usd_p99", 3_160.0, flights["base_fare_usd"].quantile(0.99), 0.20)
    hotels = c.dropna(subset=["nights"]).drop_duplicates("trip_id")
    f.mean("hotel_per_room_usd_p99", 620.0, hotels["hotel_per_room_usd"].quantile(0.99), 0.20)


def _cohort_demographics(f: _Figures, c: pd.DataFrame) -> None:
    """Demographics of the cohort's users."""
    u = c.drop_duplicates("user_id")
    n = len(u)
    f.share("gender_f_share", 0.885, (u["gender"] == "F").mean(), 0.02, n)
    f.share("home_country_usa_share", 0.83, (u["home_country"] == "usa").mean(), 0.02, n)
    f.share("married_share", 0.44, u["married"].mean(), 0.03, n)
    f.share("has_children_share", 0.33, u["has_children"].mean(), 0.03, n)


def _cohort_users(f: _Figures, c: pd.DataFrame) -> list[FidelityDistribution]:
    """FACTS.md's per-user table: distributions (as TVD figures), correlations, clicks."""
    per_user = per_user_counts(c)
    found = distributions(per_user)
    for d in found:
        f.add(f"{d.name}_tvd", 0.0, d.tvd, d.tolerance)
    n = len(per_user)
    root_n = math.sqrt(max(n, 1))
    trips = per_user["trip_sessions"]
    for name, (column, target, tol) in CORRELATIONS.items():
        value = correlation(trips, per_user[column])
        f.add(name, target, value, max(tol, 3.0 * (1.0 - target**2) / root_n))
    clicks = per_user["mean_page_clicks"]
    sd = float(clicks.std()) if n > 1 else float("nan")
    f.estimate("per_user_page_clicks_mean", 17.6, clicks.mean(), 0.10, 8.7 / root_n)
    f.estimate("per_user_page_clicks_sd", 8.7, sd, 0.15, 8.7 / root_n)
    f.estimate("per_user_page_clicks_median", 15.6, clicks.median(), 0.10, 1.25 * 8.7 / root_n)
    f.add("per_user_page_clicks_max", 109.0, clicks.max(), 109.0)  # a max: within a factor 2
    return found


def fidelity_of_parts(counts: TableCounts, cohort: pd.DataFrame, *, scale: float) -> Fidelity:
    """Every FACTS.md figure from a database's table counts and its cohort rows (`cohort_rows`):
    what a chunked database keeps of itself (`traveltide.synthetic.write`)."""
    f = _Figures(scale)
    _full_table(f, counts)
    _cohort_counts(f, cohort)
    _cohort_distributions(f, cohort)
    _cohort_trips(f, cohort)
    _cohort_demographics(f, cohort)
    found = _cohort_users(f, cohort)
    return Fidelity(f.items, found)


def fidelity_report(
    db: SyntheticDatabase,
    *,
    session_start_after: str = "2023-01-04",
    min_sessions: int = 7,
    scale: float = 1.0,
) -> Fidelity:
    """Every FACTS.md figure for `db` (target: counts x scale), and the per-user distributions."""
    after = pd.Timestamp(session_start_after)
    cohort = cohort_rows(db, after, min_sessions)
    return fidelity_of_parts(table_counts(db, after), cohort, scale=scale)


def fidelity(
    db: SyntheticDatabase,
    *,
    session_start_after: str = "2023-01-04",
    min_sessions: int = 7,
    scale: float = 1.0,
) -> list[FidelityFigure]:
    """Every FACTS.md figure for `db`: target (counts x scale), value, tolerance, ok."""
    report = fidelity_report(
        db, session_start_after=session_start_after, min_sessions=min_sessions, scale=scale
    )
    return report.figures


def fidelity_frame(figures: list[FidelityFigure]) -> pd.DataFrame:
    """The figures as a table (one row per figure), for logs and reports."""
    return pd.DataFrame([vars(x) for x in figures])
