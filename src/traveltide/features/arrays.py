"""NumPy building blocks of the feature modules: column conversions and per-user sums.

Rows are sorted by user (see `sessions.prepare_sessions`), so per-user sums are `np.bincount`
over them: no per-user Python, and the float sums add in one fixed order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

DAY_SECONDS = 86_400.0


def ratio(num: pd.Series | np.ndarray, den: pd.Series | np.ndarray) -> np.ndarray:
    """num / den with 0 where den is 0 (a user with no flights has 0 km per flight).

    NaN in `num` stays NaN, so a missing value still reaches check_finite.
    """
    num = np.asarray(num, dtype="float64")
    den = np.asarray(den, dtype="float64")
    out = np.zeros(len(num), dtype="float64")
    np.divide(num, den, out=out, where=den != 0)
    out[np.isnan(num)] = np.nan
    return out


def flag(series: pd.Series) -> np.ndarray:
    """A nullable boolean column as numpy bool, NULL as False."""
    return series.fillna(False).to_numpy(dtype=bool)


def floats(series: pd.Series) -> np.ndarray:
    """A nullable numeric column as float64, NULL as NaN."""
    return series.astype("float64").to_numpy()


def epoch_seconds(series: pd.Series) -> np.ndarray:
    """Timestamps as float seconds since the epoch, NaT as NaN."""
    values = series.astype("datetime64[us]").to_numpy()
    out = values.astype("int64").astype("float64") / 1e6
    out[np.isnat(values)] = np.nan
    return out


def per_distinct(values: pd.Series, fn: Callable[[Any], Any]) -> np.ndarray:
    """`fn` applied once per distinct non-NULL value (names and airports repeat a lot).

    Returns an object array; NULL values and values `fn` maps to None become None.
    """
    codes, uniques = pd.factorize(values)
    mapped = np.array([*(fn(u) for u in uniques), None], dtype=object)
    return mapped[codes]  # code -1 (NULL) picks the trailing None


@dataclass(frozen=True)
class UserGroups:
    """Rows grouped by user: `codes[i]` is the position of row i's user in the sorted `ids`.

    Sums are `np.bincount` over the rows in their (sorted) order: fast, with no hashing, and
    the same float result every time. NaN in a value makes its user's sum NaN.
    """

    ids: np.ndarray
    codes: np.ndarray

    @property
    def n(self) -> int:
        return len(self.ids)

    def total(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.codes, weights=np.asarray(values, "float64"), minlength=self.n)

    def count(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=self.n).astype("float64")

    def extreme(self, values: np.ndarray, *, largest: bool, empty: float = 0.0) -> np.ndarray:
        """Per-user max (or min) of `values`; `empty` for users without rows."""
        out = np.full(self.n, -np.inf if largest else np.inf)
        (np.maximum if largest else np.minimum).at(out, self.codes, values)
        out[self.count() == 0] = empty
        return out


def sorted_groups(user_ids: np.ndarray) -> UserGroups:
    """Groups of rows sorted by user_id."""
    new_user = np.r_[True, user_ids[1:] != user_ids[:-1]]
    return UserGroups(ids=user_ids[new_user], codes=np.cumsum(new_user) - 1)
