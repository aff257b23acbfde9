"""The four source tables of TravelTide, as in shared FACTS.md, and checks against them.

One declaration serves the generator (which column to produce, with which dtype), the
extract stage (reading each column as its logical type, whichever physical type the database
declared: `traveltide.sources.physical_types`) and the PostgreSQL loader (DDL).
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Literal

import numpy as np
import pandas as pd

from traveltide.errors import DataError

LogicalType = Literal["int", "text", "bool", "date", "timestamp", "decimal"]

TABLES: dict[str, dict[str, LogicalType]] = {
    "users": {
        "user_id": "int",
        "birthdate": "date",
        "gender": "text",
        "married": "bool",
        "has_children": "bool",
        "home_country": "text",
        "home_city": "text",
        "home_airport": "text",
        "home_airport_lat": "decimal",
        "home_airport_lon": "decimal",
        "sign_up_date": "date",
    },
    "sessions": {
        "session_id": "text",
        "user_id": "int",
        "trip_id": "text",
        "session_start": "timestamp",
        "session_end": "timestamp",
        "flight_discount": "bool",
        "hotel_discount": "bool",
        "flight_discount_amount": "decimal",
        "hotel_discount_amount": "decimal",
        "flight_booked": "bool",
        "hotel_booked": "bool",
        "page_clicks": "int",
        "cancellation": "bool",
    },
    "flights": {
        "trip_id": "text",
        "origin_airport": "text",
        "destination": "text",
        "destination_airport": "text",
        "seats": "int",
        "return_flight_booked": "bool",
        "departure_time": "timestamp",
        "return_time": "timestamp",
        "checked_bags": "int",
        "trip_airline": "text",
        "destination_airport_lat": "decimal",
        "destination_airport_lon": "decimal",
        "base_fare_usd": "decimal",
    },
    "hotels": {
        "trip_id": "text",
        "hotel_name": "text",
        "nights": "int",
        "rooms": "int",
        "check_in_time": "timestamp",
        "check_out_time": "timestamp",
        "hotel_per_room_usd": "decimal",
    },
}

PRIMARY_KEYS: dict[str, str] = {
    "users": "user_id",
    "sessions": "session_id",
    "flights": "trip_id",
    "hotels": "trip_id",
}

# Columns that may be NULL in a row that exists (FACTS.md): browse-only sessions have no trip,
# undiscounted sessions no discount amount, one-way flights no return. Everything else is
# required, and a NULL there is bad input, not missing information.
NULLABLE: dict[str, frozenset[str]] = {
    "users": frozenset(),
    "sessions": frozenset({"trip_id", "flight_discount_amount", "hotel_discount_amount"}),
    "flights": frozenset({"return_time"}),
    "hotels": frozenset(),
}

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int, np.integer),
    "decimal": (int, float, decimal.Decimal, np.integer, np.floating),
    "bool": (bool, np.bool_),
    "date": (dt.date,),
    "timestamp": (dt.datetime, np.datetime64),
    "text": (str,),
}


def _matches(series: pd.Series, logical: LogicalType) -> bool:
    """Whether a column can hold the logical type (NULL-only columns pass).

    Object columns (what a driver returns for a nullable column after a LEFT JOIN) pass when
    every non-null value has a fitting Python type.
    """
    values = series.dropna()
    if values.empty:
        return True
    kind = series.dtype.kind
    if kind == "O":
        ok = values.map(lambda v: isinstance(v, _PY_TYPES[logical])).all()
        if logical in ("int", "decimal"):
            ok = ok and not values.map(lambda v: isinstance(v, bool | np.bool_)).any()
        return bool(ok)
    if logical == "int":
        return kind in "iu" or (kind == "f" and bool((values % 1 == 0).all()))
    if logical == "decimal":
        return kind in "iuf"
    if logical == "bool":
        return kind == "b" or series.dtype.name == "boolean"
    if logical in ("date", "timestamp"):
        return kind == "M"
    return pd.api.types.is_string_dtype(series.dtype)


def validate_columns(df: pd.DataFrame, table: str, columns: dict[str, LogicalType]) -> None:
    """Raise DataError naming the first missing or mistyped column of `table`."""
    for column, logical in columns.items():
        if column not in df.columns:
            raise DataError(f"{table}: missing column '{column}' (expected {logical})")
        if not _matches(df[column], logical):
            raise DataError(f"{table}.{column}: expected {logical}, got dtype {df[column].dtype}")
