"""Trip features: one row per trip booked in the window and not cancelled, then counts,
spend, party size, distance, destinations and booking habits per user."""

from __future__ import annotations

import numpy as np
import pandas as pd

from traveltide.features.arrays import (
    DAY_SECONDS,
    UserGroups,
    epoch_seconds,
    flag,
    floats,
    per_distinct,
    ratio,
)
from traveltide.features.catalog import LAST_MINUTE_DAYS
from traveltide.geo import AIRPORTS, haversine_km

_COUNTRY_OF_AIRPORT: dict[str, str] = {a.iata: a.country for a in AIRPORTS}


def _hotel_city(name: str) -> str:
    """'<Brand> - <city>' -> 'city' (the whole name when it has no ' - ')."""
    return name.rsplit(" - ", 1)[-1].strip().lower()


def trip_table(s: pd.DataFrame) -> pd.DataFrame:
    """One row per trip (non-cancelled, booked in the window) with its derived values."""
    trips = s[s["first_booking"].to_numpy(bool) & ~flag(s["trip_cancelled"])]
    flight_row = (
        trips["departure_time"].notna()
        | trips["base_fare_usd"].notna()
        | trips["destination_airport"].notna()
        | trips["origin_airport"].notna()
    )
    hotel_row = (
        trips["hotel_name"].notna() | trips["nights"].notna() | trips["check_in_time"].notna()
    )
    flight = flag(trips["flight_booked"]) & flight_row.to_numpy(bool)
    hotel = flag(trips["hotel_booked"]) & hotel_row.to_numpy(bool)
    fare = floats(trips["base_fare_usd"])
    seats = floats(trips["seats"])
    departure = epoch_seconds(trips["departure_time"])
    back = epoch_seconds(trips["return_time"])
    round_trip = flight & ~np.isnan(back)
    km_one = haversine_km(
        floats(trips["home_airport_lat"]),
        floats(trips["home_airport_lon"]),
        floats(trips["destination_airport_lat"]),
        floats(trips["destination_airport_lon"]),
    )
    f_disc = np.nan_to_num(floats(trips["flight_discount_amount"]))
    h_disc = np.nan_to_num(floats(trips["hotel_discount_amount"]))
    price = floats(trips["hotel_per_room_usd"])
    rooms = floats(trips["rooms"])
    nights = floats(trips["nights"])
    gross_hotel = price * rooms * nights
    booked_at = epoch_seconds(trips["session_start"])
    check_in = epoch_seconds(trips["check_in_time"])
    lead = (np.where(flight, departure, check_in) - booked_at) / DAY_SECONDS
    city = np.where(
        flight,
        per_distinct(trips["destination"], lambda c: c.strip().lower()),
        per_distinct(trips["hotel_name"], _hotel_city),
    )
    dest_country = per_distinct(trips["destination_airport"], _COUNTRY_OF_AIRPORT.get)
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
            "bags": on(flight, floats(trips["checked_bags"])),
            "one_way": flight & ~round_trip,
            "round_trip": round_trip,
            "trip_days": on(round_trip, (back - departure) / DAY_SECONDS),
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
    g = UserGroups(ids=ids, codes=np.searchsorted(ids, trips["user_id"].to_numpy()))

    def total(col: str) -> np.ndarray:
        return g.total(trips[col].to_numpy("float64"))

    n_trips = g.count()
    n_flights, n_hotels = total("flight"), total("hotel")
    lead = trips["lead"].to_numpy("float64")
    avg_lead = ratio(g.total(lead), n_trips)
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
        "package_share": ratio(total("package"), n_trips),
        "flight_spend_usd": total("flight_spend"),
        "hotel_spend_usd": total("hotel_spend"),
        "total_spend_usd": spend,
        "spend_per_trip_usd": ratio(spend, n_trips),
        "avg_base_fare_usd": ratio(total("fare"), n_flights),
        "avg_fare_per_seat_usd": ratio(total("fare_per_seat"), n_flights),
        "avg_hotel_price_usd": ratio(total("price"), n_hotels),
        "avg_seats": ratio(total("seats"), n_flights),
        "avg_bags": ratio(total("bags"), n_flights),
        "total_checked_bags": total("bags"),
        "one_way_share": ratio(total("one_way"), n_flights),
        "avg_trip_days": ratio(total("trip_days"), total("round_trip")),
        "avg_rooms": ratio(total("rooms"), n_hotels),
        "avg_nights": ratio(total("nights"), n_hotels),
        "total_nights": total("nights"),
        "total_km": total("km"),
        "avg_km": ratio(total("km"), n_flights),
        "max_flight_km": g.extreme(trips["km_one"].to_numpy("float64"), largest=True),
        "n_destinations": np.bincount(pairs // max(n_city, 1), minlength=g.n).astype("float64"),
        "international_share": ratio(total("abroad"), total("known_country")),
        "avg_days_between_trips": ratio(
            np.where(n_trips > 0, span / DAY_SECONDS, 0.0), np.maximum(n_trips - 1, 0)
        ),
        "avg_lead_days": avg_lead,
        "std_lead_days": np.sqrt(ratio(lead_ss, n_trips)),
        "last_minute_share": ratio(total("last_minute"), n_trips),
        "discounted_trip_share": ratio(total("discounted"), n_trips),
        "ads_usd": total("ads"),
        "hotel_discount_usd": total("hotel_discount"),
    }
    return pd.DataFrame(out, index=index)
