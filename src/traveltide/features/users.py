"""User features: age, family and tenure from the user's own record, as SQL (the user's
columns repeat on each of their sessions; traveltide.features.build)."""

from __future__ import annotations

import datetime as dt

from traveltide.features.sql import DAY_US, double, flag

AGGREGATES: dict[str, str] = {
    "birthdate": "min(birthdate)",
    "married": f"bool_or({flag('married')})",
    "has_children": f"bool_or({flag('has_children')})",
    "sign_up_us": "min(epoch_us(sign_up_date))",
}


def features(reference: dt.date) -> dict[str, str]:
    """Age, family and tenure anchored at the reference date (a birthday on it counts)."""
    ref_us = (reference - dt.date(1970, 1, 1)).days * DAY_US
    had_birthday = (
        f"month(birthdate) < {reference.month} OR "
        f"(month(birthdate) = {reference.month} AND day(birthdate) <= {reference.day})"
    )
    return {
        "age_years": (
            f"{reference.year} - year(birthdate) - CASE WHEN {had_birthday} THEN 0 ELSE 1 END"
        ),
        "married": "CASE WHEN married THEN 1.0 ELSE 0.0 END",
        "has_children": "CASE WHEN has_children THEN 1.0 ELSE 0.0 END",
        "tenure_days": f"floor(({ref_us} - sign_up_us) / {double(DAY_US)})",
    }
