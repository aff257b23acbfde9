"""A tiny hand-built cohort for the feature tests (tests/unit/features): three users in
extract's format, what clean hands to features, and every feature's value computed by hand."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.metrics.pairwise import haversine_distances

from traveltide.config import FeaturesConfig
from traveltide.features.build import build_features
from traveltide.features.catalog import CATALOG
from traveltide.geo import AIRPORTS
from traveltide.sources.extract import cohort_columns

REF = dt.date(2024, 8, 19)
CONFIG = FeaturesConfig(reference_date=REF)
AIRPORT = {a.iata: a for a in AIRPORTS}

USERS = {
    1: {
        "birthdate": "1990-08-20",  # turns 34 the day after REF: 33
        "married": True,
        "has_children": True,
        "home_country": "usa",
        "home_airport": "JFK",
        "sign_up_date": "2022-08-19",
    },
    2: {
        "birthdate": "1980-08-19",  # turns 44 on REF
        "married": False,
        "has_children": None,
        "home_country": "usa",
        "home_airport": "JFK",
        "sign_up_date": "2023-01-01",
    },
    3: {
        "birthdate": "2000-01-01",
        "married": None,
        "has_children": False,
        "home_country": "canada",
        "home_airport": "YYZ",
        "sign_up_date": "2022-12-31",
    },
}


def flight(dest: str, seats: int, bags: int, fare: float, dep: str, ret: str | None) -> dict:
    a = AIRPORT[dest]
    return {
        "origin_airport": "JFK",
        "destination": a.city,
        "destination_airport": dest,
        "destination_airport_lat": a.lat,
        "destination_airport_lon": a.lon,
        "seats": seats,
        "checked_bags": bags,
        "base_fare_usd": fare,
        "departure_time": dep,
        "return_time": ret,
        "return_flight_booked": ret is not None,
        "trip_airline": "delta air lines",
    }


def hotel(name: str, nights: int, rooms: int, price: float, check_in: str, out: str) -> dict:
    return {
        "hotel_name": name,
        "nights": nights,
        "rooms": rooms,
        "hotel_per_room_usd": price,
        "check_in_time": check_in,
        "check_out_time": out,
    }


def session(
    user: int,
    n: int,
    start: str,
    seconds: int,
    clicks: int,
    trip: str | None = None,
    *,
    fd: float | None = None,
    hd: float | None = None,
    cancel: bool = False,
    fl: dict | None = None,
    ho: dict | None = None,
) -> dict:
    u = USERS[user]
    home = AIRPORT[u["home_airport"]]
    t0 = pd.Timestamp(start)
    row = {
        **u,
        "gender": "F",
        "home_city": home.city,
        "home_airport_lat": home.lat,
        "home_airport_lon": home.lon,
        "session_id": f"{user}-{n:032x}",
        "user_id": user,
        "trip_id": trip,
        "session_start": t0,
        "session_end": t0 + pd.Timedelta(seconds=seconds),
        "flight_discount": cancel or fd is not None,
        "hotel_discount": cancel or hd is not None,
        "flight_discount_amount": None if cancel else fd,
        "hotel_discount_amount": None if cancel else hd,
        "flight_booked": cancel or fl is not None,
        "hotel_booked": cancel or ho is not None,
        "page_clicks": clicks,
        "cancellation": cancel,
    }
    return {**row, **(fl or {}), **(ho or {})}


def cohort_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows with extract's columns and dtypes (missing values NULL)."""
    out = {}
    for col, (_, logical) in cohort_columns().items():
        values = [r.get(col) for r in rows]
        if logical == "int":
            out[col] = pd.array(values, dtype="Int64")
        elif logical == "decimal":
            out[col] = pd.to_numeric(pd.Series(values, dtype=object)).astype("float64")
        elif logical == "bool":
            out[col] = pd.array(values, dtype="boolean")
        elif logical in ("date", "timestamp"):
            out[col] = pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[us]")
        else:
            out[col] = pd.Series(values, dtype=object)
    return pd.DataFrame(out)


def cleaned(rows: list[dict]) -> pd.DataFrame:
    """What clean hands to features (its contract), without clean's repairs and caps: the rows
    here need none, and the hand-computed values must not move when clean's defaults do."""
    df = cohort_frame(rows)
    cancel = df["cancellation"].fillna(False).astype(bool)
    cancelled = set(df.loc[cancel, "trip_id"].dropna())
    return df.assign(
        cancellation=cancel.to_numpy(),
        trip_cancelled=df["trip_id"].isin(cancelled).to_numpy(),
        session_seconds=(df["session_end"] - df["session_start"]).dt.total_seconds(),
        is_booking=(df["trip_id"].notna() & ~cancel).to_numpy(),
    )


T1_FLIGHT = flight("LHR", 2, 1, 1000.0, "2023-03-08 09:00", "2023-03-15 09:00")
T1_HOTEL = hotel("Hilton - london", 7, 1, 200.0, "2023-03-08 15:00", "2023-03-15 11:00")
T4_HOTEL = hotel("Hilton - london", 3, 1, 100.0, "2023-05-01 15:00", "2023-05-04 11:00")


def tiny_rows() -> list[dict]:
    return [
        # user 1: four bookings (one package, one hotel only, one one-way flight, one cancelled)
        session(1, 1, "2023-02-04 10:00", 120, 10, fd=0.10),  # Sat, browse
        session(1, 2, "2023-02-06 09:00", 600, 30, "T1", fd=0.2, hd=0.1, fl=T1_FLIGHT, ho=T1_HOTEL),
        session(
            1,
            3,
            "2023-03-20 12:00",
            60,
            5,
            "T2",
            ho=hotel("Aman - London ", 2, 2, 150.0, "2023-03-22 12:00", "2023-03-24 11:00"),
        ),
        session(
            1,
            4,
            "2023-03-25 08:00",
            30,
            7,
            "T3",
            hd=0.05,
            fl=flight("ORD", 1, 0, 300.0, "2023-04-24 08:00", None),
        ),  # Sat
        session(1, 5, "2023-04-01 20:00", 400, 20, "T4", ho=T4_HOTEL),  # Sat
        session(1, 6, "2023-04-03 20:00", 90, 8, "T4", cancel=True, ho=T4_HOTEL),
        # user 2: browses twice, never books
        session(2, 1, "2023-05-06 14:00", 45, 3, hd=0.15),  # Sat
        session(2, 2, "2023-05-08 14:00", 15, 4),
        # user 3: only the cancellation of a trip booked before the window
        session(3, 1, "2023-06-10 10:00", 100, 12, "T9", cancel=True, fl=T1_FLIGHT),  # Sat
    ]


def tiny_features() -> pd.DataFrame:
    """The feature table of the tiny cohort, indexed by user_id."""
    return build_features(cleaned(tiny_rows()), CONFIG).set_index("user_id")


def sk_km(a: str, b: str) -> float:
    """Great-circle km by scikit-learn (radians in, unit sphere out)."""
    pa, pb = AIRPORT[a], AIRPORT[b]
    rad = np.radians([[pa.lat, pa.lon], [pb.lat, pb.lon]])
    return float(haversine_distances(rad)[0, 1] * 6371.0)


def scores(values: list[float], *, higher_is_better: bool = True) -> list[int]:
    """RFM score by scipy's min-rank: ceil(5 x rank / n), clipped to 1..5."""
    x = np.asarray(values, float) if higher_is_better else -np.asarray(values, float)
    pct = rankdata(x, method="min") / len(x)
    return [int(min(5, max(1, math.ceil(5 * p)))) for p in pct]


def expected_tiny() -> dict[int, dict[str, float]]:
    lhr, ord_ = sk_km("JFK", "LHR"), sk_km("JFK", "ORD")
    total_km = 2 * lhr + ord_  # LHR is a round trip, ORD one way
    last = {1: dt.date(2023, 4, 3), 2: dt.date(2023, 5, 8), 3: dt.date(2023, 6, 10)}
    recency = {u: float((REF - d).days) for u, d in last.items()}
    r = scores([recency[1], recency[2], recency[3]], higher_is_better=False)
    f = scores([3, 0, 0])
    m = scores([2960.0, 0.0, 0.0])
    zero_trip = {
        name: 0.0
        for f_ in CATALOG
        if f_.group in ("transactions", "cancellations") or f_.name.endswith("lead_days")
        for name in [f_.name]
    }
    zero_trip["last_minute_share"] = 0.0
    u1 = {
        "n_sessions": 6,
        "total_page_clicks": 80,  # 10 + 30 + 5 + 7 + 20 + 8
        "avg_page_clicks": 80 / 6,
        "median_page_clicks": 9,  # (8 + 10) / 2
        "max_page_clicks": 30,
        "avg_session_seconds": 1300 / 6,  # 120 + 600 + 60 + 30 + 400 + 90
        "long_session_share": 2 / 6,  # 600 s and 400 s
        "conversion_rate": 4 / 6,  # T1..T4 bookings; the cancellation is not one
        "browse_only_ratio": 1 / 6,
        "weekend_share": 3 / 6,  # Feb 4, Mar 25, Apr 1
        "weekend_booking_share": 2 / 4,  # T3, T4
        "sessions_per_active_week": 6 / 5,  # weeks of Jan 30, Feb 6, Mar 20 (x2), Mar 27, Apr 3
        "sessions_per_active_month": 6 / 3,
        "active_span_days": 58 + 10 / 24,  # Feb 4 10:00 -> Apr 3 20:00
        "avg_lead_days": (30 + 2 + 30) / 3,  # T1 departure, T2 check-in, T3 departure
        "std_lead_days": float(np.std([30, 2, 30])),
        "last_minute_share": 1 / 3,  # T2: 2 days
        "n_trips": 3,  # T4 cancelled
        "n_flights": 2,
        "n_hotels": 2,
        "n_flight_only_trips": 1,
        "n_hotel_only_trips": 1,
        "package_share": 1 / 3,
        "flight_spend_usd": 1000 * 0.8 + 300,
        "hotel_spend_usd": 200 * 1 * 7 * 0.9 + 150 * 2 * 2,
        "total_spend_usd": 2960,
        "spend_per_trip_usd": 2960 / 3,
        "avg_base_fare_usd": (1000 + 300) / 2,
        "avg_fare_per_seat_usd": (1000 / 2 + 300 / 1) / 2,
        "avg_hotel_price_usd": (200 + 150) / 2,
        "avg_seats": 3 / 2,
        "avg_bags": 1 / 2,
        "total_checked_bags": 1,
        "one_way_share": 1 / 2,
        "avg_trip_days": 7,
        "avg_rooms": 3 / 2,
        "avg_nights": 9 / 2,
        "total_nights": 9,
        "total_km": total_km,
        "avg_km": total_km / 2,
        "max_flight_km": lhr,
        "n_destinations": 2,  # london (T1, and T2's 'Aman - London '), chicago
        "international_share": 1 / 2,  # LHR abroad, ORD domestic
        "avg_days_between_trips": (47 - 1 / 24) / 2,  # Feb 6 09:00 -> Mar 25 08:00
        "flight_discount_share": 2 / 5,  # of 5 non-cancellation sessions
        "hotel_discount_share": 2 / 5,
        "avg_flight_discount": (0.10 + 0.2) / 2,
        "avg_hotel_discount": (0.1 + 0.05) / 2,
        "flight_discount_used_share": 1 / 2,  # T1 used it, the browse session did not
        "hotel_discount_used_share": 1 / 2,  # T1 used it, T3 booked no hotel
        "discounted_trip_share": 1 / 3,
        "ads_usd": 0.2 * 1000,
        "hotel_discount_usd": 0.1 * 200 * 1 * 7,
        "ads_per_km": 200 / total_km,
        "bargain_hunter_index": 200 / total_km * (2 / 5) * 0.15,
        "recency_days": recency[1],
        "recency_score": r[0],
        "frequency_score": f[0],
        "monetary_score": m[0],
        "rfm_score": r[0] + f[0] + m[0],
        "n_cancelled_trips": 1,
        "cancellation_rate": 1 / 4,
        "age_years": 33,
        "married": 1,
        "has_children": 1,
        "tenure_days": (REF - dt.date(2022, 8, 19)).days,
    }
    u2 = {
        **zero_trip,
        "n_sessions": 2,
        "total_page_clicks": 7,
        "avg_page_clicks": 3.5,
        "median_page_clicks": 3.5,
        "max_page_clicks": 4,
        "avg_session_seconds": 30,
        "long_session_share": 0,
        "conversion_rate": 0,
        "browse_only_ratio": 1,
        "weekend_share": 1 / 2,
        "weekend_booking_share": 0,
        "sessions_per_active_week": 1,
        "sessions_per_active_month": 2,
        "active_span_days": 2,
        "flight_discount_share": 0,
        "hotel_discount_share": 1 / 2,
        "avg_flight_discount": 0,
        "avg_hotel_discount": 0.15,
        "flight_discount_used_share": 0,
        "hotel_discount_used_share": 0,
        "discounted_trip_share": 0,
        "ads_usd": 0,
        "hotel_discount_usd": 0,
        "ads_per_km": 0,
        "bargain_hunter_index": 0,
        "recency_days": recency[2],
        "recency_score": r[1],
        "frequency_score": f[1],
        "monetary_score": m[1],
        "rfm_score": r[1] + f[1] + m[1],
        "age_years": 44,
        "married": 0,
        "has_children": 0,  # NULL
        "tenure_days": (REF - dt.date(2023, 1, 1)).days,
    }
    u3 = {
        **u2,
        "n_sessions": 1,
        "total_page_clicks": 12,
        "avg_page_clicks": 12,
        "median_page_clicks": 12,
        "max_page_clicks": 12,
        "avg_session_seconds": 100,
        "browse_only_ratio": 0,  # the cancellation session has a trip_id
        "weekend_share": 1,
        "sessions_per_active_week": 1,
        "sessions_per_active_month": 1,
        "active_span_days": 0,
        "hotel_discount_share": 0,  # no non-cancellation session
        "avg_hotel_discount": 0,  # the cancellation's amounts are NULL
        "recency_days": recency[3],
        "recency_score": r[2],
        "frequency_score": f[2],
        "monetary_score": m[2],
        "rfm_score": r[2] + f[2] + m[2],
        "age_years": 24,
        "married": 0,  # NULL
        "has_children": 0,
        "tenure_days": (REF - dt.date(2022, 12, 31)).days,
    }
    return {1: u1, 2: u2, 3: u3}
