"""The feature catalog: every feature's name, group, definition and unit, and the terms the
definitions use.

docs/features.md and data/features/catalog.csv are generated from CATALOG and TERMS
(`python -m traveltide.features.catalog --write-docs docs/features.md`); a test keeps the
committed docs equal to it, and another checks the computed table has exactly these columns.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the features stage writes catalog.csv without pandas (`catalog_csv`)
    import pandas as pd

LONG_SESSION_SECONDS = 300.0  # about the 96th percentile of cohort session durations
LAST_MINUTE_DAYS = 7.0

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


def catalog_frame() -> pd.DataFrame:
    """CATALOG as a table (name, group, definition, unit), as catalog.csv holds it."""
    import pandas as pd

    return pd.DataFrame(
        [(f.name, f.group, f.definition, f.unit) for f in CATALOG],
        columns=["name", "group", "definition", "unit"],
    )


def catalog_csv() -> str:
    """catalog.csv: CATALOG as CSV text (pandas' `to_csv` format, without importing pandas)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "group", "definition", "unit"])
    writer.writerows((f.name, f.group, f.definition, f.unit) for f in CATALOG)
    return out.getvalue()


def catalog_markdown() -> str:
    """docs/features.md: the terms and one table row per feature, generated from CATALOG."""
    lines = [
        "# User features",
        "",
        "<!-- Generated from traveltide.features.catalog.CATALOG; do not edit by hand. "
        "Regenerate with",
        "     python -m traveltide.features.catalog --write-docs docs/features.md -->",
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
        "Each definition is computed once, as SQL (`src/traveltide/features/`: sessions.py, "
        "trips.py, users.py, build.py, scores.py), on DuckDB or on Spark ([Spark](spark.md)).",
        "",
        "The RFM scores are computed without ranking every user in the feature query: a score "
        "depends on a value only through its rank, so it is 1 + the number of cut-offs it "
        "passes, cut-off k being the value at the last rank whose score is k. One narrow query "
        "per ranked column finds the four cut-offs; the feature table is then written per "
        "range of user ids, with the same bytes as one query with the rank window.",
        "",
        "| name | group | definition | unit |",
        "|---|---|---|---|",
    ]
    for f in CATALOG:
        definition = f.definition.replace("|", "\\|")
        lines.append(f"| `{f.name}` | {f.group} | {definition} | {f.unit} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m traveltide.features.catalog --write-docs docs/features.md`."""
    parser = argparse.ArgumentParser(prog="python -m traveltide.features.catalog")
    parser.add_argument("--write-docs", type=Path, required=True, help="markdown file to write")
    args = parser.parse_args(argv)
    from traveltide.io import write_text

    write_text(catalog_markdown(), args.write_docs)


if __name__ == "__main__":
    main()
