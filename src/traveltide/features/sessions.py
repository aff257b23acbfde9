"""Session features: browsing behaviour, discount exposure and cancellations per user, as SQL.

`ROWS` derives each session's values (one row per cleaned session, view `sessions`),
`AGGREGATES` sums them per user, and `FEATURES` turns the sums into the catalog's features.
The trip and user modules add theirs to the same three steps (traveltide.features.build).
"""

from __future__ import annotations

from traveltide.features.catalog import LONG_SESSION_SECONDS
from traveltide.features.sql import DAY_US, double, flag, ratio, strict

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

# The earliest booking session of each trip_id (a trip booked twice counts once), by user,
# start and session: a per-trip minimum joined back (`first_key`), far cheaper than a window.
FIRSTS = (
    "SELECT trip_id AS first_trip, "
    "min({'u': user_id, 's': session_start, 'i': session_id}) AS first_key "
    f"FROM sessions WHERE {flag('is_booking')} GROUP BY trip_id"
)

# Per session (`day`: days since 1970-01-01, a Thursday, so (day + 3) % 7 is 0 on Mondays).
ROWS: dict[str, str] = {
    "start_us": "epoch_us(session_start)",
    "day": f"epoch_us(session_start) // {DAY_US}",
    "cancel": flag("cancellation"),
    "booking": flag("is_booking"),
    "offer_f": f"{flag('flight_discount')} AND NOT {flag('cancellation')}",
    "offer_h": f"{flag('hotel_discount')} AND NOT {flag('cancellation')}",
    "first_booking": f"{flag('is_booking')} AND coalesce(first_key.i = session_id, false)",
}

AGGREGATES: dict[str, str] = {
    "n": "count(*)",
    "clicks": strict("sum", "page_clicks"),
    "clicks_max": strict("max", "page_clicks"),
    "seconds": strict("sum", "session_seconds"),
    "long_sessions": f"count_if(session_seconds > {double(LONG_SESSION_SECONDS)})",
    "bookings": "count_if(booking)",
    "browse_only": "count_if(trip_id IS NULL)",
    "weekend": "count_if((day + 3) % 7 >= 5)",
    "weekend_bookings": "count_if((day + 3) % 7 >= 5 AND booking)",
    "first_us": "min(start_us)",
    "last_us": "max(start_us)",
    "not_cancel": "count_if(NOT cancel)",
    "offers_f": "count_if(offer_f)",
    "offers_h": "count_if(offer_h)",
    "amount_f": "sum(coalesce(flight_discount_amount, 0.0))",
    "amounts_f": "count(flight_discount_amount)",
    "amount_h": "sum(coalesce(hotel_discount_amount, 0.0))",
    "amounts_h": "count(hotel_discount_amount)",
    "used_f": f"count_if(offer_f AND booking AND {flag('flight_booked')})",
    "used_h": f"count_if(offer_h AND booking AND {flag('hotel_booked')})",
    "cancelled": f"count_if(first_booking AND {flag('trip_cancelled')})",
}

# Aggregates that sort or hash values within each user: a query of their own, which costs far
# less than folding them into AGGREGATES (traveltide.features.build).
SETS: dict[str, str] = {
    "clicks_median": strict("median", "page_clicks"),
    "weeks": "count(DISTINCT (day + 3) // 7)",  # calendar weeks, Monday to Sunday
    "months": "count(DISTINCT year(session_start) * 12 + month(session_start))",
}

FEATURES: dict[str, str] = {
    "n_sessions": "n",
    "total_page_clicks": "clicks",
    "avg_page_clicks": ratio("clicks", "n"),
    "median_page_clicks": "clicks_median",
    "max_page_clicks": "clicks_max",
    "avg_session_seconds": ratio("seconds", "n"),
    "long_session_share": ratio("long_sessions", "n"),
    "conversion_rate": ratio("bookings", "n"),
    "browse_only_ratio": ratio("browse_only", "n"),
    "weekend_share": ratio("weekend", "n"),
    "weekend_booking_share": ratio("weekend_bookings", "bookings"),
    "sessions_per_active_week": ratio("n", "weeks"),
    "sessions_per_active_month": ratio("n", "months"),
    "active_span_days": f"(last_us / 1e6 - first_us / 1e6) / {double(86_400.0)}",
    "flight_discount_share": ratio("offers_f", "not_cancel"),
    "hotel_discount_share": ratio("offers_h", "not_cancel"),
    "avg_flight_discount": ratio("amount_f", "amounts_f"),
    "avg_hotel_discount": ratio("amount_h", "amounts_h"),
    "flight_discount_used_share": ratio("used_f", "offers_f"),
    "hotel_discount_used_share": ratio("used_h", "offers_h"),
    "n_cancelled_trips": "cancelled",
}
