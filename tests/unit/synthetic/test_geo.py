"""The airports the generator draws homes and destinations from, and their distances."""

from __future__ import annotations

import re

import numpy as np

from traveltide.geo import AIRPORTS, destinations, haversine_km, home_airports


def test_haversine_known_distances_and_vectorised() -> None:
    jfk_lhr = haversine_km(40.6413, -73.7781, 51.4700, -0.4543)
    assert abs(float(jfk_lhr) - 5540) < 5
    lat = np.array([40.6413, 33.9416])
    lon = np.array([-73.7781, -118.4085])
    out = haversine_km(lat, lon, lat[::-1], lon[::-1])
    assert out.shape == (2,) and abs(out[0] - 3983) < 10 and out[0] == out[1]
    assert haversine_km(10.0, 20.0, 10.0, 20.0) == 0.0


def test_airport_table_is_consistent() -> None:
    codes = [a.iata for a in AIRPORTS]
    assert len(codes) == len(set(codes)) and all(re.fullmatch(r"[A-Z]{3}", c) for c in codes)
    assert {a.country for a in home_airports()} == {"usa", "canada"}
    cities = [a.city for a in destinations()]
    assert len(cities) == len(set(cities))
    assert {"london", "paris", "cancun", "tokyo"} <= set(cities)
    assert all(-90 <= a.lat <= 90 and -180 <= a.lon <= 180 for a in AIRPORTS)
