"""Human names for what the pipeline calls by code: segments, perks, arms, policies, features.

The report shows these names everywhere (text, tables, plots); the exports keep the codes
beside them. A code without an entry (a segment a user adds to `rules.priority`) reads as
its words: `weekend_flyer` -> "Weekend flyer".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

SEGMENT_NAMES = {
    "frequent_canceller": "Frequent cancellers",
    "bargain_hunter": "Bargain hunters",
    "family_traveller": "Family travellers",
    "big_spender": "Big spenders",
    "hotel_lover": "Hotel lovers",
    "casual_browser": "Casual browsers",
}
PERK_NAMES = {
    "no_cancellation_fees": "No cancellation fees",
    "exclusive_discounts": "Exclusive discounts",
    "free_checked_bag": "Free checked bag",
    "one_night_free_hotel_with_flight": "Free hotel night with a flight",
    "free_hotel_meal": "Free hotel meal",
}
ARM_NAMES = {"A": "rule perks", "B": "ML group perks", "C": "a random perk"}
ARM_LONG = {
    "A": "their rule segment's perk (A)",
    "B": "their ML group's perk (B)",
    "C": "a random perk (C, the control)",
}
POLICY_NAMES = {
    "rules": "Rule perks (A)",
    "clusters": "ML group perks (B)",
    "random_perk": "A random perk (C)",
    "no_perk": "No perk",
    "best_perk_per_segment": "Best perk per rule segment",
    "best_perk_per_cluster": "Best perk per ML group",
    "uplift_model": "Personalised perk (uplift model)",
}
# plain words for the features the rules, the perk signals and the key traits name
FEATURE_WORDS = {
    "n_sessions": "sessions",
    "avg_page_clicks": "page clicks per session",
    "avg_session_seconds": "session length",
    "conversion_rate": "share of sessions that book",
    "browse_only_ratio": "share of sessions that only browse",
    "weekend_share": "weekend sessions",
    "avg_lead_days": "days booked ahead",
    "last_minute_share": "last-minute bookings",
    "n_trips": "trips",
    "n_flights": "flights",
    "n_hotels": "hotel stays",
    "n_flight_only_trips": "flight-only trips",
    "n_hotel_only_trips": "hotel-only trips",
    "package_share": "flight-and-hotel packages",
    "flight_spend_usd": "flight spend",
    "hotel_spend_usd": "hotel spend",
    "total_spend_usd": "total spend",
    "spend_per_trip_usd": "spend per trip",
    "avg_base_fare_usd": "fare per booking",
    "avg_fare_per_seat_usd": "fare per seat",
    "avg_hotel_price_usd": "hotel price per night",
    "avg_seats": "seats per booking",
    "avg_bags": "checked bags per flight",
    "total_checked_bags": "checked bags",
    "one_way_share": "one-way flights",
    "avg_rooms": "hotel rooms per stay",
    "avg_nights": "nights per hotel stay",
    "total_nights": "hotel nights",
    "total_km": "distance flown",
    "avg_km": "distance per flight",
    "international_share": "international flights",
    "flight_discount_share": "sessions with a flight discount",
    "hotel_discount_share": "sessions with a hotel discount",
    "flight_discount_used_share": "flight discounts used",
    "hotel_discount_used_share": "hotel discounts used",
    "discounted_trip_share": "discounted trips",
    "ads_usd": "discount dollars",
    "ads_per_km": "discount dollars per km",
    "bargain_hunter_index": "discount dollars per km flown",
    "recency_days": "days since the last session",
    "monetary_score": "spend score",
    "frequency_score": "trip-count score",
    "rfm_score": "RFM score",
    "n_cancelled_trips": "cancelled trips",
    "cancellation_rate": "share of trips cancelled",
    "age_years": "age",
    "married": "married",
    "has_children": "with children",
    "tenure_days": "time since sign-up",
}
NOISE = -1  # the cluster of users a density-based clustering leaves out


def words(code: Any) -> str:
    """A code in words with a capital first letter: `weekend_flyer` -> "Weekend flyer"."""
    text = str(code).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def segment_name(code: Any) -> str:
    """The rule segment's human name."""
    return SEGMENT_NAMES.get(str(code), words(code))


def perk_name(code: Any) -> str:
    """The perk's human name; no perk (the empty code) reads "No perk"."""
    return PERK_NAMES.get(str(code), words(code)) if str(code) else "No perk"


def policy_name(code: Any) -> str:
    """A policy of the policy-value table: `all_free_hotel_meal` -> "Everyone: Free hotel meal"."""
    code = str(code)
    if code.startswith("all_"):
        return f"Everyone: {perk_name(code.removeprefix('all_'))}"
    return POLICY_NAMES.get(code, words(code))


def feature_words(feature: Any) -> str:
    """The feature in plain words (its name in words where no phrase is known)."""
    return FEATURE_WORDS.get(str(feature), words(feature).lower())


def group_names(contingency: pd.DataFrame) -> dict[str, str]:
    """A human name per ML cluster (by its id as text), from the rule segments inside it.

    "Group 3: mostly Bargain hunters" when one segment is at least half of the cluster,
    else its two largest segments; noise (-1) is "No group (noise)". `contingency` is the
    compare stage's table: rule segments as rows, clusters as columns.
    """
    out: dict[str, str] = {}
    for cluster in contingency.columns:
        label = str(cluster)
        if label == str(NOISE):
            out[label] = "No group (noise)"
            continue
        counts = contingency[cluster].sort_values(ascending=False, kind="stable")
        total = float(counts.sum())
        if total <= 0:
            out[label] = f"Group {label}"
            continue
        top = counts.index[0]
        if counts.iloc[0] / total >= 0.5:
            out[label] = f"Group {label}: mostly {segment_name(top)}"
        else:
            second = counts.index[1] if len(counts) > 1 else top
            out[label] = f"Group {label}: {segment_name(top)} and {segment_name(second).lower()}"
    return out


def cluster_label(cluster: Any, names: Mapping[str, str]) -> str:
    """The cluster's human name, or "Group <id>" when the table had no column for it."""
    label = str(cluster)
    if label == str(NOISE):
        return "No group (noise)"
    return names.get(label, f"Group {label}")
