"""The generator's calendar: day and hour lengths, the cohort window, day-of-week arithmetic.

Times inside the generator are int64 seconds (or days) since the epoch.
"""

from __future__ import annotations

import numpy as np

DAY = 86_400
HOUR = 3_600


def iso_day(iso: str) -> int:
    """Days since the epoch of an ISO date."""
    return int(np.datetime64(iso, "D").astype("int64"))


CUTOFF_DAY = iso_day("2023-01-04")  # cohort sessions start strictly after this midnight
END_DAY = iso_day("2023-07-29")  # sessions end before this midnight (last day 2023-07-28)
POST_DAYS = END_DAY - CUTOFF_DAY
EPOCH_2021 = iso_day("2021-01-01") * DAY  # origin of the 32-bit sort keys


def day_of_week(days: np.ndarray) -> np.ndarray:
    """Monday = 0 ... Sunday = 6 (1970-01-01 was a Thursday)."""
    return (days + 3) % 7
