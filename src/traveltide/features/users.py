"""User features: age, family and tenure from the user's own record."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from traveltide.features.arrays import flag


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
            "married": flag(users["married"]).astype("float64"),
            "has_children": flag(users["has_children"]).astype("float64"),
            "tenure_days": (ref - users["sign_up_date"]).dt.days.astype("float64"),
        },
        index=users.index,
    )
