"""Airport and city reference data, and great-circle distance.

A small in-code table of real IATA codes with their real coordinates: the home airports of
TravelTide's US and Canadian users and the destinations they fly to (domestic business hubs,
leisure cities and a set of international ones). The synthetic generator draws from it; the
feature stage measures flight distance with `haversine_km`, the same formula as the production
database's `haversine_distance` SQL function.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np

from traveltide.portable import LONG

EARTH_RADIUS_KM = 6371.0

Region = Literal["business", "leisure", "international"]
REGIONS: tuple[Region, ...] = ("business", "leisure", "international")


class Airport(NamedTuple):
    """One airport: where it is, who lives near it, and what kind of destination it is."""

    iata: str
    city: str  # lower case, as in the database's destination and home_city columns
    country: str  # 'usa', 'canada' or a lower-case country name
    lat: float
    lon: float
    home_weight: float  # relative share of users living there (0: nobody, e.g. abroad)
    region: Region | None  # destination kind; None: not a destination (a city's 2nd airport)
    cost: float  # hotel price index of the city (1.0 = average)


# fmt: off
AIRPORTS: tuple[Airport, ...] = (
    # United States
    Airport("JFK", "new york", "usa", 40.6413, -73.7781, 5.0, "business", 1.45),
    Airport("LGA", "new york", "usa", 40.7769, -73.8740, 4.0, None, 1.45),
    Airport("EWR", "newark", "usa", 40.6895, -74.1745, 2.0, None, 1.10),
    Airport("LAX", "los angeles", "usa", 33.9416, -118.4085, 7.0, "leisure", 1.25),
    Airport("ORD", "chicago", "usa", 41.9742, -87.9073, 5.0, "business", 1.15),
    Airport("DFW", "dallas", "usa", 32.8998, -97.0403, 4.0, "business", 0.95),
    Airport("IAH", "houston", "usa", 29.9902, -95.3368, 4.0, "business", 0.90),
    Airport("ATL", "atlanta", "usa", 33.6407, -84.4277, 3.5, "business", 0.95),
    Airport("PHL", "philadelphia", "usa", 39.8744, -75.2424, 3.0, "business", 1.00),
    Airport("PHX", "phoenix", "usa", 33.4352, -112.0101, 3.0, "leisure", 0.90),
    Airport("SAT", "san antonio", "usa", 29.5337, -98.4698, 2.0, "leisure", 0.80),
    Airport("SAN", "san diego", "usa", 32.7338, -117.1933, 2.5, "leisure", 1.15),
    Airport("AUS", "austin", "usa", 30.1975, -97.6664, 2.0, "business", 1.00),
    Airport("SJC", "san jose", "usa", 37.3639, -121.9289, 1.5, "business", 1.10),
    Airport("SFO", "san francisco", "usa", 37.6213, -122.3790, 2.5, "business", 1.40),
    Airport("SEA", "seattle", "usa", 47.4502, -122.3088, 2.5, "business", 1.15),
    Airport("DEN", "denver", "usa", 39.8561, -104.6737, 2.5, "business", 1.00),
    Airport("DCA", "washington", "usa", 38.8512, -77.0402, 2.5, "business", 1.25),
    Airport("BOS", "boston", "usa", 42.3656, -71.0096, 2.5, "business", 1.30),
    Airport("DTW", "detroit", "usa", 42.2162, -83.3554, 2.0, "business", 0.85),
    Airport("MSP", "minneapolis", "usa", 44.8848, -93.2223, 1.5, "business", 0.90),
    Airport("MIA", "miami", "usa", 25.7959, -80.2870, 2.0, "leisure", 1.20),
    Airport("MCO", "orlando", "usa", 28.4312, -81.3081, 1.5, "leisure", 0.95),
    Airport("TPA", "tampa", "usa", 27.9755, -82.5332, 1.5, "leisure", 0.90),
    Airport("LAS", "las vegas", "usa", 36.0840, -115.1537, 1.5, "leisure", 0.85),
    Airport("CLT", "charlotte", "usa", 35.2144, -80.9473, 1.5, "business", 0.90),
    Airport("BNA", "nashville", "usa", 36.1263, -86.6774, 1.0, "leisure", 1.00),
    Airport("MSY", "new orleans", "usa", 29.9934, -90.2580, 1.0, "leisure", 1.00),
    Airport("PDX", "portland", "usa", 45.5898, -122.5951, 1.5, "leisure", 0.95),
    Airport("SLC", "salt lake city", "usa", 40.7899, -111.9791, 1.0, "leisure", 0.85),
    Airport("STL", "st. louis", "usa", 38.7487, -90.3700, 1.0, None, 0.80),
    Airport("MCI", "kansas city", "usa", 39.2976, -94.7139, 1.0, None, 0.80),
    Airport("IND", "indianapolis", "usa", 39.7173, -86.2944, 1.0, None, 0.80),
    Airport("CMH", "columbus", "usa", 39.9980, -82.8919, 1.0, None, 0.80),
    Airport("PIT", "pittsburgh", "usa", 40.4919, -80.2329, 1.0, None, 0.80),
    Airport("CLE", "cleveland", "usa", 41.4117, -81.8498, 1.0, None, 0.80),
    Airport("BWI", "baltimore", "usa", 39.1774, -76.6684, 1.0, None, 0.90),
    Airport("RDU", "raleigh", "usa", 35.8801, -78.7880, 1.0, None, 0.85),
    Airport("SMF", "sacramento", "usa", 38.6951, -121.5908, 1.0, None, 0.85),
    Airport("JAX", "jacksonville", "usa", 30.4941, -81.6879, 1.0, None, 0.80),
    Airport("MKE", "milwaukee", "usa", 42.9472, -87.8966, 0.8, None, 0.80),
    Airport("ABQ", "albuquerque", "usa", 35.0402, -106.6090, 0.8, None, 0.75),
    Airport("HNL", "honolulu", "usa", 21.3187, -157.9225, 0.5, "leisure", 1.50),
    Airport("SJU", "san juan", "usa", 18.4394, -66.0018, 0.0, "leisure", 1.05),
    # Canada
    Airport("YYZ", "toronto", "canada", 43.6777, -79.6248, 9.0, "business", 1.10),
    Airport("YUL", "montreal", "canada", 45.4706, -73.7408, 5.0, "leisure", 1.00),
    Airport("YVR", "vancouver", "canada", 49.1967, -123.1815, 5.0, "leisure", 1.15),
    Airport("YYC", "calgary", "canada", 51.1215, -114.0076, 3.0, "business", 0.90),
    Airport("YEG", "edmonton", "canada", 53.3097, -113.5800, 2.5, None, 0.80),
    Airport("YOW", "ottawa", "canada", 45.3225, -75.6692, 2.0, "business", 0.95),
    Airport("YWG", "winnipeg", "canada", 49.9100, -97.2399, 1.5, None, 0.75),
    Airport("YQB", "quebec", "canada", 46.7911, -71.3933, 1.0, "leisure", 0.90),
    Airport("YHZ", "halifax", "canada", 44.8808, -63.5086, 1.0, None, 0.85),
    Airport("YYJ", "victoria", "canada", 48.6469, -123.4258, 0.7, "leisure", 0.95),
    # International destinations
    Airport("LHR", "london", "united kingdom", 51.4700, -0.4543, 0.0, "international", 1.45),
    Airport("CDG", "paris", "france", 49.0097, 2.5479, 0.0, "international", 1.40),
    Airport("FCO", "rome", "italy", 41.8003, 12.2389, 0.0, "international", 1.20),
    Airport("BCN", "barcelona", "spain", 41.2974, 2.0833, 0.0, "international", 1.10),
    Airport("AMS", "amsterdam", "netherlands", 52.3105, 4.7683, 0.0, "international", 1.25),
    Airport("DUB", "dublin", "ireland", 53.4264, -6.2499, 0.0, "international", 1.15),
    Airport("LIS", "lisbon", "portugal", 38.7742, -9.1342, 0.0, "international", 0.95),
    Airport("ATH", "athens", "greece", 37.9364, 23.9445, 0.0, "international", 0.90),
    Airport("CUN", "cancun", "mexico", 21.0365, -86.8771, 0.0, "international", 1.05),
    Airport("MEX", "mexico city", "mexico", 19.4361, -99.0719, 0.0, "international", 0.75),
    Airport("SJD", "los cabos", "mexico", 23.1518, -109.7210, 0.0, "international", 1.20),
    Airport("PUJ", "punta cana", "dominican republic", 18.5674, -68.3634, 0.0,
            "international", 1.00),
    Airport("MBJ", "montego bay", "jamaica", 18.5037, -77.9134, 0.0, "international", 1.00),
    Airport("HND", "tokyo", "japan", 35.5494, 139.7798, 0.0, "international", 1.20),
    Airport("HKG", "hong kong", "china", 22.3080, 113.9185, 0.0, "international", 1.15),
    Airport("SIN", "singapore", "singapore", 1.3644, 103.9915, 0.0, "international", 1.20),
    Airport("BKK", "bangkok", "thailand", 13.6900, 100.7501, 0.0, "international", 0.65),
    Airport("DXB", "dubai", "united arab emirates", 25.2532, 55.3657, 0.0,
            "international", 1.25),
    Airport("SYD", "sydney", "australia", -33.9399, 151.1753, 0.0, "international", 1.20),
)
# fmt: on


def home_airports() -> tuple[Airport, ...]:
    """Airports users live near (positive home_weight), in table order."""
    return tuple(a for a in AIRPORTS if a.home_weight > 0)


def destinations() -> tuple[Airport, ...]:
    """One airport per destination city, in table order."""
    return tuple(a for a in AIRPORTS if a.region is not None)


def route_km() -> np.ndarray:
    """Great-circle km from each home airport (rows) to each destination (columns).

    The generator looks its millions of flights up here instead of computing each one.
    """
    homes, dests = home_airports(), destinations()
    return haversine_km(
        np.array([a.lat for a in homes])[:, None],
        np.array([a.lon for a in homes])[:, None],
        np.array([a.lat for a in dests])[None, :],
        np.array([a.lon for a in dests])[None, :],
    )


def haversine_km(
    lat1: np.ndarray | float,
    lon1: np.ndarray | float,
    lat2: np.ndarray | float,
    lon2: np.ndarray | float,
) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (vectorised, broadcasts).

    Same formula as the production database's `haversine_distance`. NaN in, NaN out.

    Computed in long double, then rounded to float64, so that the result does not depend on
    the CPU (`traveltide.portable`).

    >>> round(float(haversine_km(40.6413, -73.7781, 51.4700, -0.4543)))
    5540
    """
    phi1 = np.radians(np.asarray(lat1, dtype=LONG))
    phi2 = np.radians(np.asarray(lat2, dtype=LONG))
    dphi = phi2 - phi1
    dlmb = np.radians(np.asarray(lon2, dtype=LONG) - np.asarray(lon1, dtype=LONG))
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    return km.astype("float64")
