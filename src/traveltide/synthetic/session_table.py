"""The sessions table: discounts, page clicks, duration, booking flags and ids of every session."""

from __future__ import annotations

import numpy as np
import pandas as pd

from traveltide.synthetic.columns import timestamps
from traveltide.synthetic.draws import draw_pmf, pmf_table
from traveltide.synthetic.ids import compose_ids, hex32
from traveltide.synthetic.personas import persona_param
from traveltide.synthetic.sessions import Sessions
from traveltide.synthetic.trips import Trips
from traveltide.synthetic.users import Users

FLIGHT_STEPS = np.round(np.arange(1, 13) * 0.05, 2)  # 0.05 .. 0.60
HOTEL_STEPS = np.round(np.arange(1, 10) * 0.05, 2)  # 0.05 .. 0.45
# fmt: off
FLIGHT_PMF = {
    "regular": (0.17, 0.55, 0.14, 0.10, 0.03, 0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "generous": (0.01, 0.30, 0.38, 0.28, 0.02, 0.005, 0.003, 0.001, 0.0005, 0.0003, 0.0002, 0.0002),
}
HOTEL_PMF = {
    "regular": (0.42, 0.38, 0.12, 0.055, 0.015, 0.006, 0.003, 0.001, 0.0),
    "generous": (0.10, 0.45, 0.33, 0.08, 0.02, 0.01, 0.005, 0.003, 0.002),
}
# fmt: on

CLICK_SIGMA = 0.6  # log-sd of page clicks between one user's sessions
CLICK_TAIL = 0.004  # share of sessions with a runaway click count ...
CLICK_TAIL_SIGMA = 1.5  # ... whose log-sd is this
MAX_CLICKS = 600  # clicks in one session, at most (the real maximum is 566)
BOOKING_CLICKS = 2.7  # booking sessions take more clicks than browsing ones
CANCEL_CLICKS = 0.6
SECONDS_PER_CLICK = 1.62  # scales the personas' seconds per click
SECONDS_EXPONENT = 0.8  # long sessions take fewer seconds per click (pages already cached)
TIMEOUT_SECONDS = 7_200
TIMEOUT_SHARE = 0.0004  # sessions left open until the server's timeout


def session_frame(
    rng: np.random.Generator,
    users: Users,
    sessions: Sessions,
    trips: Trips,
    cancels: np.ndarray,
    trip_hex: np.ndarray,
) -> pd.DataFrame:
    """Sessions table: discounts, clicks, duration, booking flags and ids."""
    n = len(sessions.owner)
    persona = users.persona[sessions.owner]
    book = sessions.book
    cancel = cancels >= 0
    trip_of = np.full(n, -1, dtype="int64")
    trip_of[trips.session] = np.arange(len(trips.session))
    trip_of = np.where(cancel, cancels, trip_of)
    has_trip = trip_of >= 0

    f_disc, h_disc = sessions.flight_offer, sessions.hotel_offer
    generous = (rng.random(n) < persona_param("generous")[persona]).astype("int64")
    f_amount = FLIGHT_STEPS[draw_pmf(rng, pmf_table(list(FLIGHT_PMF.values())), generous)]
    h_amount = HOTEL_STEPS[draw_pmf(rng, pmf_table(list(HOTEL_PMF.values())), generous)]
    f_amount = np.where(f_disc & ~cancel, f_amount, np.nan)
    h_amount = np.where(h_disc & ~cancel, h_amount, np.nan)

    median = users.latent.clicks[sessions.owner] * np.where(
        book, BOOKING_CLICKS, np.where(cancel, CANCEL_CLICKS, 1.0)
    )
    sigma = np.where(rng.random(n) < CLICK_TAIL, CLICK_TAIL_SIGMA, CLICK_SIGMA)
    clicks = np.clip(np.round(median * np.exp(sigma * rng.standard_normal(n))), 1, MAX_CLICKS)
    pace = persona_param("seconds")[persona] * SECONDS_PER_CLICK
    seconds = clicks**SECONDS_EXPONENT * pace * np.exp(0.25 * rng.standard_normal(n))
    seconds = np.clip(np.round(seconds), 6, TIMEOUT_SECONDS)
    seconds = np.where(rng.random(n) < TIMEOUT_SHARE, TIMEOUT_SECONDS, seconds)

    kind = np.where(has_trip, trips.kind[np.maximum(trip_of, 0)], -1)
    flight_booked = (book & (kind != 1)) | cancel
    hotel_booked = (book & (kind != 2)) | cancel
    user_ids = users.ids(sessions.owner)

    return pd.DataFrame(
        {
            "session_id": compose_ids(user_ids, hex32(rng, n)),
            "user_id": user_ids,
            "trip_id": compose_ids(user_ids, trip_hex[trip_of[has_trip]], has_trip),
            "session_start": timestamps(sessions.start),
            "session_end": timestamps(sessions.start + seconds.astype("int64")),
            "flight_discount": f_disc | cancel,
            "hotel_discount": h_disc | cancel,
            "flight_discount_amount": f_amount,
            "hotel_discount_amount": h_amount,
            "flight_booked": flight_booked,
            "hotel_booked": hotel_booked,
            "page_clicks": clicks.astype("int64"),
            "cancellation": cancel,
        },
        copy=False,
    )
