"""Trip features: counts, spend, party size, distance, destinations and booking habits per user,
as SQL over the same session rows (traveltide.features.build).

A trip is the first booking session of a trip_id, booked in the window and not cancelled
(`is_trip`); its flight or hotel stay counts when the session booked it and its row joined.
Every other session row holds 0 in each trip value, so per-user sums over all rows are sums
over trips, and users without trips get 0. Distance comes from the `distances` lookup
(geo.haversine_km of each home/destination pair) and a destination's country from `airports`.
"""

from __future__ import annotations

from traveltide.features.catalog import LAST_MINUTE_DAYS
from traveltide.features.sql import double, flag, ratio, seconds, strict

_DAY_S = double(86_400.0)

# Flags, in the order they build on each other (a later one may use an earlier one).
FLAGS: dict[str, str] = {
    "is_trip": f"first_booking AND NOT {flag('trip_cancelled')}",
    "flight": (
        f"is_trip AND {flag('flight_booked')} AND (departure_time IS NOT NULL OR "
        "base_fare_usd IS NOT NULL OR destination_airport IS NOT NULL OR "
        "origin_airport IS NOT NULL)"
    ),
    "hotel": (
        f"is_trip AND {flag('hotel_booked')} AND (hotel_name IS NOT NULL OR "
        "nights IS NOT NULL OR check_in_time IS NOT NULL)"
    ),
    "round_trip": "flight AND return_time IS NOT NULL",
    "f_disc": "coalesce(flight_discount_amount, 0.0)",
    "h_disc": "coalesce(hotel_discount_amount, 0.0)",
    "gross": "hotel_per_room_usd * rooms * nights",
    "lead": (
        f"CASE WHEN is_trip THEN ((CASE WHEN flight THEN {seconds('departure_time')} "
        f"ELSE {seconds('check_in_time')} END) - start_us / 1e6) / {_DAY_S} ELSE 0.0 END"
    ),
}


def _on(flag_name: str, value: str, zero: str = "0.0") -> str:
    return f"CASE WHEN {flag_name} THEN {value} ELSE {zero} END"


# Per session row: 0 unless it is a trip (with a flight / hotel stay).
VALUES: dict[str, str] = {
    "fare": _on("flight", "base_fare_usd"),
    "fare_per_seat": _on("flight", "base_fare_usd / NULLIF(seats, 0)"),
    "seats_f": _on("flight", "seats", "0"),
    "bags": _on("flight", "checked_bags", "0"),
    "trip_days": _on(
        "round_trip", f"({seconds('return_time')} - {seconds('departure_time')}) / {_DAY_S}"
    ),
    "km": _on("flight", "km_one * CASE WHEN round_trip THEN 2.0 ELSE 1.0 END"),
    "km_flight": _on("flight", "km_one"),
    "known": "flight AND dest_country IS NOT NULL AND home_country IS NOT NULL",
    "ads": _on("flight", "f_disc * base_fare_usd"),
    "flight_spend": _on("flight", "base_fare_usd * (1.0 - f_disc)"),
    "price": _on("hotel", "hotel_per_room_usd"),
    "rooms_h": _on("hotel", "rooms", "0"),
    "nights_h": _on("hotel", "nights", "0"),
    "hotel_spend": _on("hotel", "gross * (1.0 - h_disc)"),
    "hotel_saving": _on("hotel", "gross * h_disc"),
    "city": (
        "CASE WHEN NOT is_trip THEN NULL WHEN flight THEN lower(trim(destination)) "
        "ELSE lower(trim(regexp_replace(hotel_name, '^.* - ', ''))) END"
    ),
}

AGGREGATES: dict[str, str] = {
    "trips": "count_if(is_trip)",
    "flights": "count_if(flight)",
    "hotels": "count_if(hotel)",
    "flight_only": "count_if(flight AND NOT hotel)",
    "hotel_only": "count_if(hotel AND NOT flight)",
    "packages": "count_if(flight AND hotel)",
    **{
        f"{name}_sum": strict("sum", name)
        for name in (
            "fare",
            "fare_per_seat",
            "seats_f",
            "bags",
            "trip_days",
            "km",
            "ads",
            "flight_spend",
            "price",
            "rooms_h",
            "nights_h",
            "hotel_spend",
            "hotel_saving",
            "lead",
        )
    },
    "km_max": strict("max", "km_flight"),
    "one_way": "count_if(flight AND NOT round_trip)",
    "round_trips": "count_if(round_trip)",
    "known_country": "count_if(known)",
    "abroad": "count_if(known AND dest_country <> home_country)",
    "discounted": "count_if((flight AND f_disc > 0) OR (hotel AND h_disc > 0))",
    "last_minute": f"count_if(is_trip AND lead < {double(LAST_MINUTE_DAYS)})",
    "first_trip_us": "min(CASE WHEN is_trip THEN start_us END)",
    "last_trip_us": "max(CASE WHEN is_trip THEN start_us END)",
}

SETS: dict[str, str] = {"destinations": "count(DISTINCT city)"}

_SPEND = "(flight_spend_sum + hotel_spend_sum)"
_SPAN_DAYS = (
    f"CASE WHEN trips > 0 THEN (last_trip_us / 1e6 - first_trip_us / 1e6) / {_DAY_S} ELSE 0.0 END"
)

FEATURES: dict[str, str] = {
    "avg_lead_days": ratio("lead_sum", "trips"),
    "std_lead_days": f"sqrt({ratio('lead_ss', 'trips')})",  # lead_ss: build.SPREAD
    "last_minute_share": ratio("last_minute", "trips"),
    "n_trips": "trips",
    "n_flights": "flights",
    "n_hotels": "hotels",
    "n_flight_only_trips": "flight_only",
    "n_hotel_only_trips": "hotel_only",
    "package_share": ratio("packages", "trips"),
    "flight_spend_usd": "flight_spend_sum",
    "hotel_spend_usd": "hotel_spend_sum",
    "total_spend_usd": _SPEND,
    "spend_per_trip_usd": ratio(_SPEND, "trips"),
    "avg_base_fare_usd": ratio("fare_sum", "flights"),
    "avg_fare_per_seat_usd": ratio("fare_per_seat_sum", "flights"),
    "avg_hotel_price_usd": ratio("price_sum", "hotels"),
    "avg_seats": ratio("seats_f_sum", "flights"),
    "avg_bags": ratio("bags_sum", "flights"),
    "total_checked_bags": "bags_sum",
    "one_way_share": ratio("one_way", "flights"),
    "avg_trip_days": ratio("trip_days_sum", "round_trips"),
    "avg_rooms": ratio("rooms_h_sum", "hotels"),
    "avg_nights": ratio("nights_h_sum", "hotels"),
    "total_nights": "nights_h_sum",
    "total_km": "km_sum",
    "avg_km": ratio("km_sum", "flights"),
    "max_flight_km": "km_max",
    "n_destinations": "destinations",
    "international_share": ratio("abroad", "known_country"),
    "avg_days_between_trips": ratio(_SPAN_DAYS, "greatest(trips - 1, 0)"),
    "discounted_trip_share": ratio("discounted", "trips"),
    "ads_usd": "ads_sum",
    "hotel_discount_usd": "hotel_saving_sum",
}
