"""User-level features: one row per user of the cleaned cohort sessions.

Every feature is listed in CATALOG with its definition and unit (the README's feature catalog
is generated from it). Users without a trip get 0 for trip averages, never NaN: "no bags on no
flights" is 0 bags for clustering, and the count features say how many trips there were.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from traveltide.config import FeaturesConfig
from traveltide.errors import DataError
from traveltide.geo import haversine_km


@dataclass(frozen=True)
class Feature:
    name: str
    definition: str
    unit: str


CATALOG: tuple[Feature, ...] = (
    Feature("n_sessions", "sessions in the cohort window", "sessions"),
    Feature("total_page_clicks", "sum of page_clicks", "clicks"),
    Feature("avg_page_clicks", "mean page_clicks per session", "clicks"),
    Feature("avg_session_seconds", "mean session_end - session_start", "s"),
    Feature("conversion_rate", "booking sessions / sessions", "ratio"),
    Feature("browse_only_ratio", "sessions without trip_id / sessions", "ratio"),
    Feature("weekend_share", "sessions starting on Saturday or Sunday / sessions", "ratio"),
    Feature("n_trips", "booked trips that were not cancelled", "trips"),
    Feature("n_flights", "non-cancelled trips with a flight", "trips"),
    Feature("n_hotels", "non-cancelled trips with a hotel", "trips"),
    Feature("package_share", "trips with flight and hotel / trips", "ratio"),
    Feature("n_cancelled_trips", "booked trips later cancelled", "trips"),
    Feature("cancellation_rate", "cancelled trips / booked trips", "ratio"),
    Feature("flight_discount_share", "sessions with flight_discount / sessions", "ratio"),
    Feature("hotel_discount_share", "sessions with hotel_discount / sessions", "ratio"),
    Feature("avg_flight_discount", "mean flight_discount_amount where offered", "fraction"),
    Feature("avg_hotel_discount", "mean hotel_discount_amount where offered", "fraction"),
    Feature("ads_usd", "sum of flight_discount_amount x base_fare_usd over flights", "USD"),
    Feature("total_km", "haversine km home airport -> destination, doubled for returns", "km"),
    Feature("avg_km", "total_km / flights", "km"),
    Feature("ads_per_km", "ads_usd / total_km", "USD/km"),
    Feature(
        "bargain_hunter_index",
        "ads_per_km x flight_discount_share x avg_flight_discount",
        "USD/km",
    ),
    Feature("flight_spend_usd", "sum base_fare_usd x (1 - flight discount)", "USD"),
    Feature("hotel_spend_usd", "sum hotel_per_room_usd x rooms x nights x (1 - discount)", "USD"),
    Feature("total_spend_usd", "flight_spend_usd + hotel_spend_usd", "USD"),
    Feature("avg_base_fare_usd", "mean base_fare_usd per flight", "USD"),
    Feature("avg_hotel_price_usd", "mean hotel_per_room_usd per hotel stay", "USD/room-night"),
    Feature("avg_seats", "mean seats per flight", "seats"),
    Feature("avg_bags", "mean checked_bags per flight", "bags"),
    Feature("one_way_share", "flights without return / flights", "ratio"),
    Feature("avg_rooms", "mean rooms per hotel stay", "rooms"),
    Feature("avg_nights", "mean cleaned nights per hotel stay", "nights"),
    Feature("avg_lead_days", "mean days from booking session to departure or check-in", "days"),
    Feature("age_years", "whole years from birthdate to features.reference_date", "years"),
    Feature("married", "1 if married", "0/1"),
    Feature("has_children", "1 if has children", "0/1"),
    Feature("tenure_days", "days from sign_up_date to features.reference_date", "days"),
    Feature("recency_days", "days from the last session to features.reference_date", "days"),
    Feature(
        "rfm_score", "sum of recency, frequency (trips), monetary (spend) quintiles 1-5", "3-15"
    ),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in CATALOG)


def _safe_div(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den with 0 where den is 0 (a user with no flights has 0 km per flight)."""
    den = den.astype("float64")
    return (num.astype("float64") / den.where(den != 0)).fillna(0.0)


def _trips(sessions: pd.DataFrame) -> pd.DataFrame:
    """One row per non-cancelled booked trip (its booking session)."""
    booked = sessions[sessions["is_booking"] & ~sessions["trip_cancelled"]]
    return booked.drop_duplicates("trip_id").copy()


def _quintile(values: pd.Series, *, ascending: bool = True) -> pd.Series:
    """Score 1..5 by rank quintile; ties share a rank so the score is deterministic."""
    ranks = values.rank(method="min", ascending=ascending, pct=True)
    return np.ceil(ranks * 5).clip(1, 5).astype("int64")


def session_features(sessions: pd.DataFrame) -> pd.DataFrame:
    """Browsing behaviour and discount exposure, from every session."""
    s = sessions.assign(
        weekend=sessions["session_start"].dt.dayofweek >= 5,
        browse=sessions["trip_id"].isna(),
        fdisc=sessions["flight_discount"].fillna(False).astype(bool),
        hdisc=sessions["hotel_discount"].fillna(False).astype(bool),
    )
    g = s.groupby("user_id", sort=True)
    out = pd.DataFrame(
        {
            "n_sessions": g.size(),
            "total_page_clicks": g["page_clicks"].sum().astype("float64"),
            "avg_page_clicks": g["page_clicks"].mean().astype("float64"),
            "avg_session_seconds": g["session_seconds"].mean(),
            "conversion_rate": g["is_booking"].mean(),
            "browse_only_ratio": g["browse"].mean(),
            "weekend_share": g["weekend"].mean(),
            "flight_discount_share": g["fdisc"].mean(),
            "hotel_discount_share": g["hdisc"].mean(),
            "avg_flight_discount": g["flight_discount_amount"].mean(),
            "avg_hotel_discount": g["hotel_discount_amount"].mean(),
            "last_session": g["session_start"].max(),
        }
    )
    booked_trips = s[s["is_booking"]].drop_duplicates("trip_id")
    cancelled = booked_trips[booked_trips["trip_cancelled"]].groupby("user_id").size()
    out["n_booked_trips"] = booked_trips.groupby("user_id").size().reindex(out.index, fill_value=0)
    out["n_cancelled_trips"] = cancelled.reindex(out.index, fill_value=0)
    return out


def trip_features(trips: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Spend, distance and party size from non-cancelled trips."""
    has_flight = trips["flight_booked"].fillna(False).astype(bool) & trips["base_fare_usd"].notna()
    has_hotel = trips["hotel_booked"].fillna(False).astype(bool) & trips["nights"].notna()
    fdisc = trips["flight_discount_amount"].fillna(0.0)
    hdisc = trips["hotel_discount_amount"].fillna(0.0)
    one_way = trips["return_time"].isna()
    km = haversine_km(
        trips["home_airport_lat"].to_numpy(float),
        trips["home_airport_lon"].to_numpy(float),
        trips["destination_airport_lat"].to_numpy(float),
        trips["destination_airport_lon"].to_numpy(float),
    ) * np.where(one_way, 1.0, 2.0)
    start = trips["session_start"]
    lead = (trips["departure_time"].fillna(trips["check_in_time"]) - start).dt.total_seconds()
    t = pd.DataFrame(
        {
            "user_id": trips["user_id"].to_numpy(),
            "flight": has_flight.to_numpy(),
            "hotel": has_hotel.to_numpy(),
            "package": (has_flight & has_hotel).to_numpy(),
            "km": np.where(has_flight, km, 0.0),
            "ads": np.where(has_flight, fdisc * trips["base_fare_usd"].fillna(0.0), 0.0),
            "flight_spend": np.where(
                has_flight, trips["base_fare_usd"].fillna(0.0) * (1 - fdisc), 0.0
            ),
            "hotel_spend": np.where(
                has_hotel,
                trips["hotel_per_room_usd"].fillna(0.0)
                * trips["rooms"].fillna(0).astype("float64")
                * trips["nights"].fillna(0).astype("float64")
                * (1 - hdisc),
                0.0,
            ),
            "fare": trips["base_fare_usd"].where(has_flight),
            "price": trips["hotel_per_room_usd"].where(has_hotel),
            "seats": trips["seats"].astype("float64").where(has_flight),
            "bags": trips["checked_bags"].astype("float64").where(has_flight),
            "one_way": one_way.where(has_flight).astype("float64"),
            "rooms": trips["rooms"].astype("float64").where(has_hotel),
            "nights": trips["nights"].astype("float64").where(has_hotel),
            "lead_days": lead / 86_400.0,
        }
    )
    g = t.groupby("user_id", sort=True)
    sums = g[["flight", "hotel", "package", "km", "ads", "flight_spend", "hotel_spend"]].sum()
    means = g[["fare", "price", "seats", "bags", "one_way", "rooms", "nights", "lead_days"]].mean()
    out = pd.DataFrame(index=index)
    out["n_trips"] = g.size().reindex(index, fill_value=0)
    out["n_flights"] = sums["flight"].reindex(index, fill_value=0)
    out["n_hotels"] = sums["hotel"].reindex(index, fill_value=0)
    out["package_share"] = _safe_div(sums["package"].reindex(index, fill_value=0), out["n_trips"])
    for col in ("km", "ads", "flight_spend", "hotel_spend"):
        out[col] = sums[col].reindex(index, fill_value=0.0)
    for col in means.columns:
        out[col] = means[col].reindex(index)
    return out


def demographic_features(users: pd.DataFrame, reference: dt.date) -> pd.DataFrame:
    """Age, family and tenure, anchored at the reference date."""
    ref = pd.Timestamp(reference)
    birth = users["birthdate"]
    had_birthday = (birth.dt.month < ref.month) | (
        (birth.dt.month == ref.month) & (birth.dt.day <= ref.day)
    )
    age = ref.year - birth.dt.year - (~had_birthday).astype(int)
    return pd.DataFrame(
        {
            "age_years": age.astype("float64"),
            "married": users["married"].fillna(False).astype("float64"),
            "has_children": users["has_children"].fillna(False).astype("float64"),
            "tenure_days": (ref - users["sign_up_date"]).dt.days.astype("float64"),
        },
        index=users.index,
    )


def build_features(sessions: pd.DataFrame, config: FeaturesConfig) -> pd.DataFrame:
    """The feature table: `user_id` then CATALOG's features, sorted by user_id, no NaN/inf."""
    if sessions.empty:
        raise DataError("features: the cleaned cohort has no sessions")
    sess = session_features(sessions)
    trips = trip_features(_trips(sessions), sess.index)
    users = sessions.drop_duplicates("user_id").set_index("user_id").sort_index()
    demo = demographic_features(users, config.reference_date)
    ref = pd.Timestamp(config.reference_date)
    f = pd.concat([sess, trips, demo], axis=1)
    f["cancellation_rate"] = _safe_div(f["n_cancelled_trips"], f["n_booked_trips"])
    f["ads_usd"] = f["ads"]
    f["total_km"] = f["km"]
    f["avg_km"] = _safe_div(f["km"], f["n_flights"])
    f["ads_per_km"] = _safe_div(f["ads"], f["km"])
    f["avg_flight_discount"] = f["avg_flight_discount"].fillna(0.0)
    f["avg_hotel_discount"] = f["avg_hotel_discount"].fillna(0.0)
    f["bargain_hunter_index"] = (
        f["ads_per_km"] * f["flight_discount_share"] * f["avg_flight_discount"]
    )
    f["flight_spend_usd"] = f["flight_spend"]
    f["hotel_spend_usd"] = f["hotel_spend"]
    f["total_spend_usd"] = f["flight_spend"] + f["hotel_spend"]
    renames = {
        "fare": "avg_base_fare_usd",
        "price": "avg_hotel_price_usd",
        "seats": "avg_seats",
        "bags": "avg_bags",
        "one_way": "one_way_share",
        "rooms": "avg_rooms",
        "nights": "avg_nights",
        "lead_days": "avg_lead_days",
    }
    for src, dst in renames.items():
        f[dst] = f[src].fillna(0.0)
    f["recency_days"] = (ref - f["last_session"]).dt.days.astype("float64")
    f["rfm_score"] = (
        _quintile(f["recency_days"], ascending=False)
        + _quintile(f["n_trips"].astype("float64"))
        + _quintile(f["total_spend_usd"])
    )
    table = f[list(FEATURE_NAMES)].astype("float64")
    table.index.name = "user_id"
    table = table.reset_index()
    table["user_id"] = table["user_id"].astype("int64")
    check_finite(table)
    return table


def check_finite(table: pd.DataFrame) -> None:
    """Every feature is a finite number; else name the feature and how many users are bad."""
    values = table[list(FEATURE_NAMES)].to_numpy(float)
    bad = ~np.isfinite(values)
    if bad.any():
        col = int(np.argmax(bad.any(axis=0)))
        first = table["user_id"].iloc[int(bad[:, col].argmax())]
        raise DataError(
            f"features: '{FEATURE_NAMES[col]}' is NaN or infinite for "
            f"{int(bad[:, col].sum())} users (first user_id {first})"
        )
