"""The flights table: one row per trip with a flight (route, seats, bags, times, airline, fare)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from traveltide import geo
from traveltide.synthetic.columns import strings, timestamps
from traveltide.synthetic.dates import DAY, HOUR
from traveltide.synthetic.draws import draw_pmf, pmf_table
from traveltide.synthetic.personas import persona_param
from traveltide.synthetic.trips import Trips, party_size
from traveltide.synthetic.users import Users

ONE_WAY_ELASTICITY = 0.5  # one-way share ~ damping ** elasticity
FARE_BASE = 139.0  # USD per seat, round trip, before the distance term
FARE_PER_KM = 0.085  # USD per seat and km of the one-way distance
FARE_SIGMA = 0.28  # per trip, beside the user's spend factor (latents.SPEND_SHAPE)
ONE_WAY_FARE = 0.6
PROMO_SHARE = 0.002  # near-free promotional fares (the real minimum is 2.41 USD)

# Airlines by market; within a market the weights are a rough share of seats.
AIRLINES: tuple[tuple[str, float, float, float], ...] = (
    # name, weight for US domestic, Canadian domestic, international
    ("Delta Air Lines", 0.20, 0.04, 0.10),
    ("American Airlines", 0.20, 0.04, 0.10),
    ("United Airlines", 0.18, 0.05, 0.10),
    ("Southwest Airlines", 0.17, 0.00, 0.01),
    ("JetBlue Airways", 0.06, 0.00, 0.03),
    ("Alaska Airlines", 0.06, 0.01, 0.00),
    ("Spirit Airlines", 0.05, 0.00, 0.01),
    ("Frontier Airlines", 0.04, 0.00, 0.00),
    ("Hawaiian Airlines", 0.02, 0.00, 0.00),
    ("Air Canada", 0.01, 0.50, 0.10),
    ("WestJet", 0.01, 0.28, 0.04),
    ("Porter Airlines", 0.00, 0.08, 0.00),
    ("British Airways", 0.00, 0.00, 0.07),
    ("Air France", 0.00, 0.00, 0.06),
    ("Lufthansa", 0.00, 0.00, 0.05),
    ("KLM", 0.00, 0.00, 0.04),
    ("Aeromexico", 0.00, 0.00, 0.05),
    ("Japan Airlines", 0.00, 0.00, 0.03),
    ("Emirates", 0.00, 0.00, 0.02),
    ("Singapore Airlines", 0.00, 0.00, 0.02),
    ("Cathay Pacific", 0.00, 0.00, 0.02),
    ("Qantas", 0.00, 0.00, 0.01),
    ("Iberia", 0.00, 0.00, 0.02),
    ("Aer Lingus", 0.00, 0.00, 0.02),
)


def draw_flights(
    rng: np.random.Generator,
    users: Users,
    trips: Trips,
    trip_ids: pd.Series,
    damping: np.ndarray,
) -> pd.DataFrame:
    """Flights table: one row per trip with a flight."""
    rows = np.flatnonzero(trips.kind != 1)
    persona = users.persona[trips.owner[rows]]
    n = len(rows)
    homes, dests = geo.home_airports(), geo.destinations()
    home = users.home[trips.owner[rows]]
    dest = trips.dest[rows]
    dest_lat = np.array([a.lat for a in dests])[dest]
    dest_lon = np.array([a.lon for a in dests])[dest]
    km = geo.route_km()[home, dest]
    owner = trips.owner[rows]
    seats = party_size(rng, users.seats[owner], persona, "seats", 1)
    bags = rng.binomial(seats, users.latent.bag[owner])  # each traveller checks one or none
    occasional = damping[trips.session[rows]] ** ONE_WAY_ELASTICITY  # occasional: more one-way
    rate = np.clip(persona_param("one_way")[persona] * occasional, 0.0, 1.0)
    one_way = rng.random(n) < rate

    departure = trips.departure[rows]
    package = trips.kind[rows] == 0
    check_out_day = departure // DAY + trips.nights[rows]
    ret_package = check_out_day * DAY + 12 * HOUR + rng.integers(0, 120, n) * 300
    ret_solo = departure + (trips.nights[rows] - 1) * DAY + rng.integers(36, 120, n) * 300
    ret = np.where(package, ret_package, ret_solo)

    per_seat = (FARE_BASE + FARE_PER_KM * km) * np.exp(FARE_SIGMA * rng.standard_normal(n))
    fare = per_seat * persona_param("fare")[persona] * users.latent.spend[owner] * seats
    fare *= np.where(one_way, ONE_WAY_FARE, 1.0)
    promo = rng.random(n) < PROMO_SHARE
    fare = np.where(promo, fare * rng.uniform(0.005, 0.1, n), fare)

    intl = np.array([a.region == "international" for a in dests])[dest]
    market = np.where(intl, 2, np.where(users.usa[trips.owner[rows]], 0, 1))
    weights = [a[1:] for a in AIRLINES]  # per airline: US, Canadian, international
    airline_cum = pmf_table([[w[m] for w in weights] for m in range(3)])
    airline = draw_pmf(rng, airline_cum, market)

    frame = pd.DataFrame(
        {
            "trip_id": trip_ids.iloc[rows].reset_index(drop=True),
            "origin_airport": strings([a.iata for a in homes], home),
            "destination": strings([a.city for a in dests], dest),
            "destination_airport": strings([a.iata for a in dests], dest),
            "seats": seats.astype("int64"),
            "return_flight_booked": ~one_way,
            "departure_time": timestamps(departure),
            "return_time": timestamps(ret, ~one_way),
            "checked_bags": bags.astype("int64"),
            "trip_airline": strings([a[0] for a in AIRLINES], airline),
            "destination_airport_lat": dest_lat,
            "destination_airport_lon": dest_lon,
            "base_fare_usd": np.round(np.maximum(fare, 1.0), 2),
        },
        copy=False,
    )
    return frame
