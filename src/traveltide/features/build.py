"""User-level features: one row per user of the cleaned cohort sessions.

Every feature is listed in CATALOG with its group, definition and unit; docs/features.md is
generated from it and TERMS
(`python -m traveltide.features.build --write-docs docs/features.md`), and
a test keeps the two equal. A value that is undefined for a user (an average over no trips, a
share of no sessions) is 0, never NaN: the count features say how many trips there were. A NULL
in a column a feature needs (e.g. seats of a booked flight) is not skipped: it reaches the table
as NaN and `check_finite` stops the stage naming the feature and a user.

Everything is vectorised: rows are sorted by user_id, session_start, session_id and per-user
sums are `np.bincount` over them, so there is no per-user Python, and the float sums add in one
fixed order: the table is byte-identical for the same sessions in any row order.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from traveltide.config import FeaturesConfig
from traveltide.errors import DataError
from traveltide.geo import AIRPORTS, haversine_km

LONG_SESSION_SECONDS = 300.0  # about the 96th percentile of cohort session durations
LAST_MINUTE_DAYS = 7.0
_DAY_SECONDS = 86_400.0

TERMS: tuple[str, ...] = (
    "session: a row of the cleaned cohort (cancellation sessions included unless said otherwise)",
    "booking session: a session with a trip_id that is not a cancellation session",
    "trip: a trip_id booked by a booking session in the window whose trip was not cancelled "
    "(clean marks a trip cancelled when any of its sessions has cancellation = true)",
    "flight / hotel stay: a trip whose booking session has flight_booked / hotel_booked and "
    "whose flights / hotels row joined",
)

GROUPS: tuple[str, ...] = (
    "behaviour",
    "transactions",
    "discounts",
    "rfm",
    "cancellations",
    "demographics",
)


@dataclass(frozen=True)
class Feature:
    name: str
    group: str
    definition: str
    unit: str


def _f(group: str) -> Any:
    return lambda name, definition, unit: Feature(name, group, definition, unit)


_B, _T, _D, _R, _C, _P = (_f(g) for g in GROUPS)

CATALOG: tuple[Feature, ...] = (
    # behaviour: every session of the window
    _B("n_sessions", "sessions in the cohort window (cancellation sessions included)", "sessions"),
    _B("total_page_clicks", "sum of page_clicks over sessions", "clicks"),
    _B("avg_page_clicks", "total_page_clicks / n_sessions", "clicks"),
    _B("median_page_clicks", "median page_clicks per session", "clicks"),
    _B("max_page_clicks", "largest page_clicks of a session", "clicks"),
    _B(
        "avg_session_seconds",
        "mean of session_end - session_start over sessions (clean swapped reversed times)",
        "s",
    ),
    _B(
        "long_session_share",
        f"sessions lasting more than {LONG_SESSION_SECONDS:.0f} s / n_sessions",
        "ratio",
    ),
    _B("conversion_rate", "booking sessions / n_sessions", "ratio"),
    _B("browse_only_ratio", "sessions without trip_id / n_sessions", "ratio"),
    _B("weekend_share", "sessions starting on Saturday or Sunday / n_sessions", "ratio"),
    _B(
        "weekend_booking_share",
        "booking sessions starting on Saturday or Sunday / booking sessions; 0 without any",
        "ratio",
    ),
    _B(
        "sessions_per_active_week",
        "n_sessions / distinct calendar weeks (Monday to Sunday) with a session",
        "sessions/week",
    ),
    _B(
        "sessions_per_active_month",
        "n_sessions / distinct calendar months with a session",
        "sessions/month",
    ),
    _B(
        "active_span_days",
        "days from the first to the last session_start (fractional); 0 with one session",
        "days",
    ),
    _B(
        "avg_lead_days",
        "mean over trips of days from the booking session_start to departure_time "
        "(check_in_time for trips without flight); 0 without trips",
        "days",
    ),
    _B(
        "std_lead_days",
        "population standard deviation (ddof 0) of the lead days of avg_lead_days; "
        "0 with fewer than 2 trips",
        "days",
    ),
    _B(
        "last_minute_share",
        f"trips with lead days below {LAST_MINUTE_DAYS:.0f} / n_trips; 0 without trips",
        "ratio",
    ),
    # transactions: non-cancelled trips
    _T("n_trips", "trips booked in the window and not cancelled", "trips"),
    _T("n_flights", "trips with a flight", "trips"),
    _T("n_hotels", "trips with a hotel stay", "trips"),
    _T("n_flight_only_trips", "trips with a flight and no hotel stay", "trips"),
    _T("n_hotel_only_trips", "trips with a hotel stay and no flight", "trips"),
    _T("package_share", "trips with flight and hotel stay / n_trips; 0 without trips", "ratio"),
    _T(
        "flight_spend_usd",
        "sum over flights of base_fare_usd x (1 - flight_discount_amount, NULL as 0)",
        "USD",
    ),
    _T(
        "hotel_spend_usd",
        "sum over hotel stays of hotel_per_room_usd x rooms x nights (cleaned) "
        "x (1 - hotel_discount_amount, NULL as 0)",
        "USD",
    ),
    _T("total_spend_usd", "flight_spend_usd + hotel_spend_usd", "USD"),
    _T("spend_per_trip_usd", "total_spend_usd / n_trips; 0 without trips", "USD/trip"),
    _T("avg_base_fare_usd", "sum of base_fare_usd / n_flights; 0 without flights", "USD"),
    _T(
        "avg_fare_per_seat_usd",
        "mean over flights of base_fare_usd / seats; 0 without flights",
        "USD/seat",
    ),
    _T(
        "avg_hotel_price_usd",
        "sum of hotel_per_room_usd / n_hotels; 0 without hotel stays",
        "USD/room-night",
    ),
    _T("avg_seats", "sum of seats / n_flights; 0 without flights", "seats"),
    _T("avg_bags", "sum of checked_bags / n_flights; 0 without flights", "bags"),
    _T("total_checked_bags", "sum of checked_bags over flights", "bags"),
    _T(
        "one_way_share",
        "flights without return_time / n_flights; 0 without flights",
        "ratio",
    ),
    _T(
        "avg_trip_days",
        "mean over flights with a return_time of days from departure_time to return_time; "
        "0 without such flights",
        "days",
    ),
    _T("avg_rooms", "sum of rooms / n_hotels; 0 without hotel stays", "rooms"),
    _T("avg_nights", "sum of cleaned nights / n_hotels; 0 without hotel stays", "nights"),
    _T("total_nights", "sum of cleaned nights over hotel stays", "nights"),
    _T(
        "total_km",
        "sum over flights of the haversine km from home airport to destination airport, "
        "doubled when the flight has a return_time",
        "km",
    ),
    _T("avg_km", "total_km / n_flights; 0 without flights", "km"),
    _T(
        "max_flight_km",
        "largest one-way haversine km of a flight; 0 without flights",
        "km",
    ),
    _T(
        "n_destinations",
        "distinct destination cities of trips: flights' destination, else the city of "
        "hotel_name ('<brand> - <city>'), trimmed and lower case; 0 without trips",
        "cities",
    ),
    _T(
        "international_share",
        "flights whose destination airport's country (by geo.AIRPORTS) differs from "
        "home_country / flights where both are known (airport in geo.AIRPORTS, home_country "
        "not NULL); 0 without such flights",
        "ratio",
    ),
    _T(
        "avg_days_between_trips",
        "days from the first to the last trip's booking session_start / (n_trips - 1); "
        "0 with fewer than 2 trips",
        "days",
    ),
    # discounts
    _D(
        "flight_discount_share",
        "non-cancellation sessions with flight_discount / non-cancellation sessions "
        "(cancellation sessions carry the flag without an amount); 0 without such sessions",
        "ratio",
    ),
    _D(
        "hotel_discount_share",
        "as flight_discount_share, for hotel_discount",
        "ratio",
    ),
    _D(
        "avg_flight_discount",
        "mean of the non-NULL flight_discount_amount over sessions; 0 without any",
        "fraction",
    ),
    _D(
        "avg_hotel_discount",
        "mean of the non-NULL hotel_discount_amount over sessions; 0 without any",
        "fraction",
    ),
    _D(
        "flight_discount_used_share",
        "booking sessions with flight_booked among the sessions counted in "
        "flight_discount_share / those sessions; 0 without any",
        "ratio",
    ),
    _D(
        "hotel_discount_used_share",
        "booking sessions with hotel_booked among the sessions counted in "
        "hotel_discount_share / those sessions; 0 without any",
        "ratio",
    ),
    _D(
        "discounted_trip_share",
        "trips with flight_discount_amount > 0 on the flight or hotel_discount_amount > 0 "
        "on the hotel stay / n_trips; 0 without trips",
        "ratio",
    ),
    _D(
        "ads_usd",
        "ADS: sum over flights of flight_discount_amount (NULL as 0) x base_fare_usd",
        "USD",
    ),
    _D(
        "hotel_discount_usd",
        "sum over hotel stays of hotel_discount_amount (NULL as 0) x hotel_per_room_usd "
        "x rooms x nights",
        "USD",
    ),
    _D("ads_per_km", "ads_usd / total_km; 0 without flights", "USD/km"),
    _D(
        "bargain_hunter_index",
        "ads_per_km x flight_discount_share x avg_flight_discount",
        "USD/km",
    ),
    # rfm
    _R(
        "recency_days",
        "days from the last session_start's date to features.reference_date",
        "days",
    ),
    _R(
        "recency_score",
        "ceil(5 x rank / n_users), clipped to 1-5, ranking users from the largest "
        "recency_days (rank 1) to the smallest, ties at their lowest rank: 5 = most recent",
        "1-5",
    ),
    _R(
        "frequency_score",
        "as recency_score, ranking n_trips from the smallest (rank 1): 5 = most trips",
        "1-5",
    ),
    _R(
        "monetary_score",
        "as recency_score, ranking total_spend_usd from the smallest (rank 1): 5 = most spend",
        "1-5",
    ),
    _R("rfm_score", "recency_score + frequency_score + monetary_score", "3-15"),
    # cancellations
    _C(
        "n_cancelled_trips",
        "trips booked in the window (by a booking session) and later cancelled",
        "trips",
    ),
    _C(
        "cancellation_rate",
        "n_cancelled_trips / (n_trips + n_cancelled_trips); 0 without booked trips",
        "ratio",
    ),
    # demographics
    _P(
        "age_years",
        "whole years from birthdate to features.reference_date (a birthday on it counts)",
        "years",
    ),
    _P("married", "1 if married is true, else 0 (false or NULL)", "0/1"),
    _P("has_children", "1 if has_children is true, else 0 (false or NULL)", "0/1"),
    _P("tenure_days", "days from sign_up_date to features.reference_date", "days"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in CATALOG)

# Columns of clean's sessions table that the features read.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "user_id",
    "session_id",
    "trip_id",
    "session_start",
    "session_seconds",
    "page_clicks",
    "cancellation",
    "is_booking",
    "trip_cancelled",
    "flight_discount",
    "hotel_discount",
    "flight_discount_amount",
    "hotel_discount_amount",
    "flight_booked",
    "hotel_booked",
    "birthdate",
    "married",
    "has_children",
    "sign_up_date",
    "home_country",
    "home_airport_lat",
    "home_airport_lon",
    "origin_airport",
    "destination",
    "destination_airport",
    "destination_airport_lat",
    "destination_airport_lon",
    "seats",
    "checked_bags",
    "departure_time",
    "return_time",
    "base_fare_usd",
    "hotel_name",
    "nights",
    "rooms",
    "check_in_time",
    "hotel_per_room_usd",
)

_COUNTRY_OF_AIRPORT: dict[str, str] = {a.iata: a.country for a in AIRPORTS}


def _div(num: pd.Series | np.ndarray, den: pd.Series | np.ndarray) -> np.ndarray:
    """num / den with 0 where den is 0 (a user with no flights has 0 km per flight).

    NaN in `num` stays NaN, so a missing value still reaches check_finite.
    """
    num = np.asarray(num, dtype="float64")
    den = np.asarray(den, dtype="float64")
    out = np.zeros(len(num), dtype="float64")
    np.divide(num, den, out=out, where=den != 0)
    out[np.isnan(num)] = np.nan
    return out


def _flag(series: pd.Series) -> np.ndarray:
    """A nullable boolean column as numpy bool, NULL as False."""
    return series.fillna(False).to_numpy(dtype=bool)


def _float(series: pd.Series) -> np.ndarray:
    """A nullable numeric column as float64, NULL as NaN."""
    return series.astype("float64").to_numpy()


def _seconds(series: pd.Series) -> np.ndarray:
    """Timestamps as float seconds since the epoch, NaT as NaN."""
    values = series.astype("datetime64[us]").to_numpy()
    out = values.astype("int64").astype("float64") / 1e6
    out[np.isnat(values)] = np.nan
    return out


def _per_distinct(values: pd.Series, fn: Callable[[Any], Any]) -> np.ndarray:
    """`fn` applied once per distinct non-NULL value (names and airports repeat a lot).

    Returns an object array; NULL values and values `fn` maps to None become None.
    """
    codes, uniques = pd.factorize(values)
    mapped = np.array([*(fn(u) for u in uniques), None], dtype=object)
    return mapped[codes]  # code -1 (NULL) picks the trailing None


def _quintile(values: pd.Series, *, ascending: bool = True) -> pd.Series:
    """Score 1..5 by rank quintile; ties share their minimum rank so the score is deterministic."""
    ranks = values.rank(method="min", ascending=ascending, pct=True)
    return np.ceil(ranks * 5).clip(1, 5).astype("int64")


@dataclass(frozen=True)
class _Groups:
    """Rows grouped by user: `codes[i]` is the position of row i's user in the sorted `ids`.

    Sums are `np.bincount` over the rows in their (sorted) order: fast, with no hashing, and
    the same float result every time. NaN in a value makes its user's sum NaN.
    """

    ids: np.ndarray
    codes: np.ndarray

    @property
    def n(self) -> int:
        return len(self.ids)

    def total(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.codes, weights=np.asarray(values, "float64"), minlength=self.n)

    def count(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=self.n).astype("float64")

    def extreme(self, values: np.ndarray, *, largest: bool, empty: float = 0.0) -> np.ndarray:
        """Per-user max (or min) of `values`; `empty` for users without rows."""
        out = np.full(self.n, -np.inf if largest else np.inf)
        (np.maximum if largest else np.minimum).at(out, self.codes, values)
        out[self.count() == 0] = empty
        return out


def read_sessions(path: str | Path) -> pd.DataFrame:
    """Clean's sessions, only the columns features read (a third less memory at full scale)."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: missing input (clean's sessions); run `dvc repro` to rebuild it")
    present = set(pq.read_schema(path).names)
    return pd.read_parquet(path, columns=[c for c in REQUIRED_COLUMNS if c in present])


def prepare_sessions(sessions: pd.DataFrame) -> pd.DataFrame:
    """The columns features read, sorted by user_id, session_start, session_id, plus
    `first_booking`: the row is the earliest booking session of its trip_id.

    Sorting first makes every per-user float sum add in the same order whatever the row order
    of the input, so the feature table is byte-identical for the same sessions.
    """
    if sessions.empty:
        raise DataError("features: the cleaned cohort has no sessions")
    missing = [c for c in REQUIRED_COLUMNS if c not in sessions.columns]
    if missing:
        raise DataError(f"features: clean's sessions lack column(s) {', '.join(missing)}")
    for key in ("user_id", "session_start", "session_id"):
        if sessions[key].isna().any():
            raise DataError(f"features: clean's sessions have a NULL {key}")
    s = sessions[list(REQUIRED_COLUMNS)].reset_index(drop=True)
    s["user_id"] = s["user_id"].astype("int64")
    user = s["user_id"].to_numpy()
    start = s["session_start"].to_numpy("datetime64[us]").astype("int64")
    du, ds = np.diff(user), np.diff(start)
    if not ((du > 0) | ((du == 0) & (ds > 0))).all():  # not already strictly in order
        order = np.lexsort((start, user))
        if ((np.diff(user[order]) == 0) & (np.diff(start[order]) == 0)).any():
            # Same user and start: only then is the (costly) string sort on session_id needed.
            keys = s[["user_id", "session_start", "session_id"]].astype({"session_id": str})
            order = keys.sort_values(list(keys.columns), kind="stable").index.to_numpy()
        s = s.take(order).reset_index(drop=True)
    booking = np.flatnonzero(_flag(s["is_booking"]))
    first = np.zeros(len(s), dtype=bool)
    first[booking[~s["trip_id"].iloc[booking].duplicated().to_numpy()]] = True
    s["first_booking"] = first
    return s


def _groups(user_ids: np.ndarray) -> _Groups:
    """Groups of rows sorted by user_id."""
    new_user = np.r_[True, user_ids[1:] != user_ids[:-1]]
    return _Groups(ids=user_ids[new_user], codes=np.cumsum(new_user) - 1)


def session_features(s: pd.DataFrame) -> pd.DataFrame:
    """Browsing behaviour, discount exposure and cancellations (`s` from prepare_sessions)."""
    user = s["user_id"].to_numpy()
    g = _groups(user)
    new_user = np.r_[True, user[1:] != user[:-1]]
    start = s["session_start"]
    start_s = _seconds(start)
    cancel = _flag(s["cancellation"])
    booking = _flag(s["is_booking"])
    weekend = (start.dt.dayofweek >= 5).to_numpy(bool)
    seconds = _float(s["session_seconds"])
    clicks = _float(s["page_clicks"])
    offer_f = _flag(s["flight_discount"]) & ~cancel
    offer_h = _flag(s["hotel_discount"]) & ~cancel
    f_amount = _float(s["flight_discount_amount"])
    h_amount = _float(s["hotel_discount_amount"])
    day = start.to_numpy("datetime64[us]").astype("datetime64[D]").astype("int64")
    week = (day + 3) // 7  # 1970-01-01 was a Thursday: weeks start on Monday
    month = (start.dt.year * 12 + start.dt.month).to_numpy("int64")
    new_week = new_user | np.r_[True, week[1:] != week[:-1]]  # rows are in time order
    new_month = new_user | np.r_[True, month[1:] != month[:-1]]
    cancelled = s["first_booking"].to_numpy(bool) & _flag(s["trip_cancelled"])
    n = g.count()
    n_booking = g.total(booking)
    not_cancel = g.total(~cancel)
    n_offer_f, n_offer_h = g.total(offer_f), g.total(offer_h)
    first_row = np.flatnonzero(new_user)
    last_row = np.r_[first_row[1:], len(user)] - 1
    out = {
        "n_sessions": n,
        "total_page_clicks": g.total(clicks),
        "avg_page_clicks": _div(g.total(clicks), n),
        "median_page_clicks": pd.Series(clicks).groupby(g.codes).median(skipna=False).to_numpy(),
        "max_page_clicks": np.maximum.reduceat(clicks, first_row),
        "avg_session_seconds": _div(g.total(seconds), n),
        "long_session_share": _div(g.total(seconds > LONG_SESSION_SECONDS), n),
        "conversion_rate": _div(n_booking, n),
        "browse_only_ratio": _div(g.total(s["trip_id"].isna().to_numpy(bool)), n),
        "weekend_share": _div(g.total(weekend), n),
        "weekend_booking_share": _div(g.total(weekend & booking), n_booking),
        "sessions_per_active_week": _div(n, g.total(new_week)),
        "sessions_per_active_month": _div(n, g.total(new_month)),
        "active_span_days": (start_s[last_row] - start_s[first_row]) / _DAY_SECONDS,
        "flight_discount_share": _div(n_offer_f, not_cancel),
        "hotel_discount_share": _div(n_offer_h, not_cancel),
        "avg_flight_discount": _div(g.total(np.nan_to_num(f_amount)), g.total(~np.isnan(f_amount))),
        "avg_hotel_discount": _div(g.total(np.nan_to_num(h_amount)), g.total(~np.isnan(h_amount))),
        "flight_discount_used_share": _div(
            g.total(offer_f & booking & _flag(s["flight_booked"])), n_offer_f
        ),
        "hotel_discount_used_share": _div(
            g.total(offer_h & booking & _flag(s["hotel_booked"])), n_offer_h
        ),
        "n_cancelled_trips": g.total(cancelled),
        "last_session_day": np.floor(start_s[last_row] / _DAY_SECONDS),  # since 1970-01-01
    }
    return pd.DataFrame(out, index=pd.Index(g.ids, name="user_id"))


def _hotel_city(name: str) -> str:
    """'<Brand> - <city>' -> 'city' (the whole name when it has no ' - ')."""
    return name.rsplit(" - ", 1)[-1].strip().lower()


def trip_table(s: pd.DataFrame) -> pd.DataFrame:
    """One row per trip (non-cancelled, booked in the window) with its derived values."""
    trips = s[s["first_booking"].to_numpy(bool) & ~_flag(s["trip_cancelled"])]
    flight_row = (
        trips["departure_time"].notna()
        | trips["base_fare_usd"].notna()
        | trips["destination_airport"].notna()
        | trips["origin_airport"].notna()
    )
    hotel_row = (
        trips["hotel_name"].notna() | trips["nights"].notna() | trips["check_in_time"].notna()
    )
    flight = _flag(trips["flight_booked"]) & flight_row.to_numpy(bool)
    hotel = _flag(trips["hotel_booked"]) & hotel_row.to_numpy(bool)
    fare = _float(trips["base_fare_usd"])
    seats = _float(trips["seats"])
    departure = _seconds(trips["departure_time"])
    back = _seconds(trips["return_time"])
    round_trip = flight & ~np.isnan(back)
    km_one = haversine_km(
        _float(trips["home_airport_lat"]),
        _float(trips["home_airport_lon"]),
        _float(trips["destination_airport_lat"]),
        _float(trips["destination_airport_lon"]),
    )
    f_disc = np.nan_to_num(_float(trips["flight_discount_amount"]))
    h_disc = np.nan_to_num(_float(trips["hotel_discount_amount"]))
    price = _float(trips["hotel_per_room_usd"])
    rooms = _float(trips["rooms"])
    nights = _float(trips["nights"])
    gross_hotel = price * rooms * nights
    booked_at = _seconds(trips["session_start"])
    check_in = _seconds(trips["check_in_time"])
    lead = (np.where(flight, departure, check_in) - booked_at) / _DAY_SECONDS
    city = np.where(
        flight,
        _per_distinct(trips["destination"], lambda c: c.strip().lower()),
        _per_distinct(trips["hotel_name"], _hotel_city),
    )
    dest_country = _per_distinct(trips["destination_airport"], _COUNTRY_OF_AIRPORT.get)
    home = trips["home_country"].to_numpy(object)
    known = flight & pd.notna(dest_country) & pd.notna(home)
    with np.errstate(divide="ignore", invalid="ignore"):  # rows without flight: 0 seats
        fare_per_seat = fare / seats

    def on(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
        """values where mask, else 0 (NaN inside the mask stays NaN)."""
        return np.where(mask, values, 0.0)

    return pd.DataFrame(
        {
            "user_id": trips["user_id"].to_numpy(),
            "booked_at": booked_at,
            "flight": flight,
            "hotel": hotel,
            "package": flight & hotel,
            "flight_only": flight & ~hotel,
            "hotel_only": hotel & ~flight,
            "fare": on(flight, fare),
            "fare_per_seat": on(flight, fare_per_seat),
            "seats": on(flight, seats),
            "bags": on(flight, _float(trips["checked_bags"])),
            "one_way": flight & ~round_trip,
            "round_trip": round_trip,
            "trip_days": on(round_trip, (back - departure) / _DAY_SECONDS),
            "km": on(flight, km_one * np.where(round_trip, 2.0, 1.0)),
            "km_one": on(flight, km_one),
            "known_country": known,
            "abroad": known & (dest_country != home),
            "ads": on(flight, f_disc * fare),
            "flight_spend": on(flight, fare * (1.0 - f_disc)),
            "price": on(hotel, price),
            "rooms": on(hotel, rooms),
            "nights": on(hotel, nights),
            "hotel_spend": on(hotel, gross_hotel * (1.0 - h_disc)),
            "hotel_discount": on(hotel, gross_hotel * h_disc),
            "discounted": (flight & (f_disc > 0)) | (hotel & (h_disc > 0)),
            "lead": lead,
            "last_minute": lead < LAST_MINUTE_DAYS,
            "city": pd.factorize(city)[0],  # -1: unknown
        }
    ).reset_index(drop=True)


def trip_features(trips: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Per-user trip counts, spend, party size, distance and habits (0 for users without trips).

    `trips` from trip_table, `index` the sorted user_ids of the cohort.
    """
    ids = index.to_numpy()
    g = _Groups(ids=ids, codes=np.searchsorted(ids, trips["user_id"].to_numpy()))

    def total(col: str) -> np.ndarray:
        return g.total(trips[col].to_numpy("float64"))

    n_trips = g.count()
    n_flights, n_hotels = total("flight"), total("hotel")
    lead = trips["lead"].to_numpy("float64")
    avg_lead = _div(g.total(lead), n_trips)
    lead_ss = g.total((lead - avg_lead[g.codes]) ** 2)
    booked_at = trips["booked_at"].to_numpy("float64")
    span = g.extreme(booked_at, largest=True) - g.extreme(booked_at, largest=False)
    city = trips["city"].to_numpy()
    n_city = int(city.max()) + 1 if len(city) else 0
    pairs = np.unique(g.codes[city >= 0] * n_city + city[city >= 0])
    spend = total("flight_spend") + total("hotel_spend")
    out = {
        "n_trips": n_trips,
        "n_flights": n_flights,
        "n_hotels": n_hotels,
        "n_flight_only_trips": total("flight_only"),
        "n_hotel_only_trips": total("hotel_only"),
        "package_share": _div(total("package"), n_trips),
        "flight_spend_usd": total("flight_spend"),
        "hotel_spend_usd": total("hotel_spend"),
        "total_spend_usd": spend,
        "spend_per_trip_usd": _div(spend, n_trips),
        "avg_base_fare_usd": _div(total("fare"), n_flights),
        "avg_fare_per_seat_usd": _div(total("fare_per_seat"), n_flights),
        "avg_hotel_price_usd": _div(total("price"), n_hotels),
        "avg_seats": _div(total("seats"), n_flights),
        "avg_bags": _div(total("bags"), n_flights),
        "total_checked_bags": total("bags"),
        "one_way_share": _div(total("one_way"), n_flights),
        "avg_trip_days": _div(total("trip_days"), total("round_trip")),
        "avg_rooms": _div(total("rooms"), n_hotels),
        "avg_nights": _div(total("nights"), n_hotels),
        "total_nights": total("nights"),
        "total_km": total("km"),
        "avg_km": _div(total("km"), n_flights),
        "max_flight_km": g.extreme(trips["km_one"].to_numpy("float64"), largest=True),
        "n_destinations": np.bincount(pairs // max(n_city, 1), minlength=g.n).astype("float64"),
        "international_share": _div(total("abroad"), total("known_country")),
        "avg_days_between_trips": _div(
            np.where(n_trips > 0, span / _DAY_SECONDS, 0.0), np.maximum(n_trips - 1, 0)
        ),
        "avg_lead_days": avg_lead,
        "std_lead_days": np.sqrt(_div(lead_ss, n_trips)),
        "last_minute_share": _div(total("last_minute"), n_trips),
        "discounted_trip_share": _div(total("discounted"), n_trips),
        "ads_usd": total("ads"),
        "hotel_discount_usd": total("hotel_discount"),
    }
    return pd.DataFrame(out, index=index)


def demographic_features(users: pd.DataFrame, reference: dt.date) -> pd.DataFrame:
    """Age, family and tenure, anchored at the reference date."""
    ref = pd.Timestamp(reference)
    birth = users["birthdate"]
    had_birthday = (birth.dt.month < ref.month) | (
        (birth.dt.month == ref.month) & (birth.dt.day <= ref.day)
    )
    age = ref.year - birth.dt.year - (~had_birthday).astype("float64")
    return pd.DataFrame(
        {
            "age_years": age.astype("float64"),
            "married": _flag(users["married"]).astype("float64"),
            "has_children": _flag(users["has_children"]).astype("float64"),
            "tenure_days": (ref - users["sign_up_date"]).dt.days.astype("float64"),
        },
        index=users.index,
    )


def build_features(sessions: pd.DataFrame, config: FeaturesConfig) -> pd.DataFrame:
    """The feature table: `user_id` then CATALOG's features, sorted by user_id, no NaN/inf."""
    s = prepare_sessions(sessions)
    last_day = s["session_start"].max()
    if pd.Timestamp(config.reference_date) < last_day.normalize():
        raise DataError(
            f"features.reference_date {config.reference_date} is before the last session "
            f"({last_day.date()}): recency, age and tenure must be anchored after the data"
        )
    sess = session_features(s)
    trips = trip_features(trip_table(s), sess.index)
    users = s.drop_duplicates("user_id").set_index("user_id")
    demo = demographic_features(users, config.reference_date)
    f = pd.concat([sess, trips, demo], axis=1)
    ref_day = float(np.datetime64(config.reference_date, "D").astype("int64"))
    f["recency_days"] = ref_day - f["last_session_day"]
    f["cancellation_rate"] = _div(f["n_cancelled_trips"], f["n_trips"] + f["n_cancelled_trips"])
    f["ads_per_km"] = _div(f["ads_usd"], f["total_km"])
    f["bargain_hunter_index"] = (
        f["ads_per_km"] * f["flight_discount_share"] * f["avg_flight_discount"]
    )
    f["recency_score"] = _quintile(f["recency_days"], ascending=False)
    f["frequency_score"] = _quintile(f["n_trips"].astype("float64"))
    f["monetary_score"] = _quintile(f["total_spend_usd"])
    f["rfm_score"] = f["recency_score"] + f["frequency_score"] + f["monetary_score"]
    table = f[list(FEATURE_NAMES)].astype("float64") + 0.0  # + 0.0 turns -0.0 into 0.0
    table.index.name = "user_id"
    table = table.reset_index()
    table["user_id"] = table["user_id"].astype("int64")
    check_finite(table)
    return table


def check_finite(table: pd.DataFrame) -> None:
    """Every feature is a finite number; else name the feature(s), a user_id and how many."""
    values = table[list(FEATURE_NAMES)].to_numpy(float)
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    cols = np.flatnonzero(bad.any(axis=0))
    col = int(cols[0])
    rows = np.flatnonzero(bad[:, col])
    others = [FEATURE_NAMES[c] for c in cols[1:]]
    also = f"; also NaN or infinite: {', '.join(others)}" if others else ""
    raise DataError(
        f"features: '{FEATURE_NAMES[col]}' is NaN or infinite for {len(rows)} user(s), "
        f"e.g. user_id {int(table['user_id'].iloc[rows[0]])} (a NULL in a column it needs)"
        f"{also}"
    )


def feature_metrics(table: pd.DataFrame) -> dict[str, Any]:
    """metrics/features.json: size, users without trips, share of zero values per group.

    `constant_features` lists features with one value for every user: they carry no
    information for clustering in this cohort.
    """
    values = table[list(FEATURE_NAMES)]
    zero = values.eq(0.0).mean()
    by_group = {
        group: round(float(zero[[f.name for f in CATALOG if f.group == group]].mean()), 6)
        for group in GROUPS
    }
    constant = [name for name in FEATURE_NAMES if values[name].nunique() <= 1]
    return {
        "n_users": len(table),
        "n_features": len(FEATURE_NAMES),
        "n_users_without_trips": int((values["n_trips"] == 0).sum()),
        "zero_share": by_group,
        "constant_features": constant,
    }


def catalog_frame() -> pd.DataFrame:
    """CATALOG as a table (name, group, definition, unit), for catalog.csv."""
    return pd.DataFrame(
        [(f.name, f.group, f.definition, f.unit) for f in CATALOG],
        columns=["name", "group", "definition", "unit"],
    )


def catalog_markdown() -> str:
    """docs/features.md: the terms and one table row per feature, generated from CATALOG."""
    lines = [
        "# User features",
        "",
        "<!-- Generated from traveltide.features.build.CATALOG; do not edit by hand. "
        "Regenerate with",
        "     python -m traveltide.features.build --write-docs docs/features.md -->",
        "",
        f"{len(CATALOG)} numeric features, one row per user of the cleaned cohort "
        "(`data/features/user_features.parquet`, column `user_id` then the features below).",
        "",
        "Terms used by the definitions:",
        "",
        *[f"- {term}" for term in TERMS],
        "",
        "An average or share over nothing (no trips, no flights, no discount offered) is 0, "
        "never NaN; a NULL in a column a feature needs stops the stage with the feature and a "
        "user_id.",
        "",
        "| name | group | definition | unit |",
        "|---|---|---|---|",
    ]
    for f in CATALOG:
        definition = f.definition.replace("|", "\\|")
        lines.append(f"| `{f.name}` | {f.group} | {definition} | {f.unit} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m traveltide.features.build --write-docs docs/features.md`."""
    parser = argparse.ArgumentParser(prog="python -m traveltide.features.build")
    parser.add_argument("--write-docs", type=Path, required=True, help="markdown file to write")
    args = parser.parse_args(argv)
    from traveltide.io import write_text

    write_text(catalog_markdown(), args.write_docs)


if __name__ == "__main__":
    main()
