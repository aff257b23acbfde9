"""The hotels table: one row per trip with a hotel, with the real data's nights quirks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from traveltide import geo
from traveltide.synthetic.columns import strings, timestamps
from traveltide.synthetic.dates import DAY, HOUR
from traveltide.synthetic.personas import persona_param
from traveltide.synthetic.trips import Trips, party_size
from traveltide.synthetic.users import Users

# Hotel data quirks (FACTS: nights = floor((out - in) / 24h) in ~91% of rows, 1.6% reversed).
REVERSED_SHARE = 0.0145  # rows with check_out < check_in (short stays only)
REVERSED_NEGATIVE = 0.45  # of those, nights recorded as the negative floor
CALENDAR_NIGHTS = 0.0816  # other rows recording calendar nights instead of the floor
CHECK_OUT_HOUR = 11

HOTEL_SIGMA = 0.29  # per stay, beside the user's spend factor (latents.SPEND_SHAPE)

# Hotel brands by price tier (price per room-night below the tier's bound, USD).
HOTEL_TIERS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (95.0, ("Motel 6", "Super 8", "Days Inn", "Red Roof Inn", "Best Western", "Comfort Inn")),
    (
        170.0,
        (
            "Holiday Inn",
            "Hampton Inn",
            "Courtyard",
            "Hilton Garden Inn",
            "Radisson",
            "Wyndham",
            "Crowne Plaza",
        ),
    ),
    (
        330.0,
        (
            "Marriott",
            "Hilton",
            "Hyatt",
            "Sheraton",
            "Westin",
            "InterContinental",
            "Fairmont",
            "Kimpton",
        ),
    ),
    (
        np.inf,
        (
            "Four Seasons",
            "Ritz-Carlton",
            "St. Regis",
            "Mandarin Oriental",
            "Waldorf Astoria",
            "Rosewood",
            "Park Hyatt",
            "Aman",
        ),
    ),
)


def draw_hotels(
    rng: np.random.Generator, users: Users, trips: Trips, trip_ids: pd.Series
) -> pd.DataFrame:
    """Hotels table: one row per trip with a hotel, with the real data's nights quirks.

    Check-in is in the afternoon and check-out at 11:00, so floor((out - in) / 24h) is the
    calendar nights minus one; that floor is what most rows record. Some rows record the
    calendar nights instead, and a few short stays have check-in and check-out swapped
    (some of those record the negative floor).
    """
    rows = np.flatnonzero(trips.kind != 2)
    persona = users.persona[trips.owner[rows]]
    n = len(rows)
    dests = geo.destinations()
    dest = trips.dest[rows]
    k = trips.nights[rows]
    rooms = party_size(rng, users.rooms[trips.owner[rows]], persona, "rooms", 1)

    start = trips.departure[rows]
    day = start // DAY
    check_in = day * DAY + 14 * HOUR + rng.integers(0, 96, n) * 300
    package = trips.kind[rows] == 0
    after_flight = np.minimum(start + rng.integers(18, 48, n) * 300, day * DAY + DAY - 60)
    check_in = np.where(package, np.maximum(check_in, after_flight), check_in)
    check_out = (day + k) * DAY + CHECK_OUT_HOUR * HOUR

    short = k <= 2
    p_rev = min(1.0, REVERSED_SHARE * n / max(int(short.sum()), 1))
    reversed_ = short & (rng.random(n) < p_rev)
    negative = reversed_ & (rng.random(n) < REVERSED_NEGATIVE)
    calendar = ~reversed_ & (rng.random(n) < CALENDAR_NIGHTS)
    nights = np.where(negative, -k, np.where(calendar, k, k - 1))
    check_in, check_out = (
        np.where(reversed_, check_out, check_in),
        np.where(reversed_, check_in, check_out),
    )

    cost = np.array([a.cost for a in dests])[dest]
    price = persona_param("hotel")[persona] * users.latent.spend[trips.owner[rows]] * cost
    price = np.maximum(np.round(price * np.exp(HOTEL_SIGMA * rng.standard_normal(n))), 10.0)

    bounds = np.array([b for b, _ in HOTEL_TIERS])
    tier = np.searchsorted(bounds, price, side="right")
    tier = np.minimum(tier, len(HOTEL_TIERS) - 1)
    sizes = np.array([len(brands) for _, brands in HOTEL_TIERS])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    brand = offsets[tier] + (rng.random(n) * sizes[tier]).astype("int64")
    brands = [b for _, names in HOTEL_TIERS for b in names]
    names = [f"{b} - {a.city}" for b in brands for a in dests]

    return pd.DataFrame(
        {
            "trip_id": trip_ids.iloc[rows].reset_index(drop=True),
            "hotel_name": strings(names, brand * len(dests) + dest),
            "nights": nights.astype("int64"),
            "rooms": rooms.astype("int64"),
            "check_in_time": timestamps(check_in),
            "check_out_time": timestamps(check_out),
            "hotel_per_room_usd": price.astype("float64"),
        },
        copy=False,
    )
