"""Argument and table checks shared by the experiment modules, with one-line messages.

Contract errors (a bad parameter, a malformed table) raise ConfigError or DataError naming the
parameter or column and the first offending rows, 1-based over data rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from traveltide.errors import ConfigError, DataError

_MAX_ROWS_SHOWN = 5


def check_alpha(alpha: float, *, param: str = "alpha") -> float:
    """Validate a significance level (0, 0.5]; a contract error, so it raises."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha <= 0.5:
        raise ConfigError(f"{param}: must be a number in (0, 0.5], got {alpha!r}")
    return float(alpha)


def check_choice(value: Any, options: Sequence[str], *, param: str) -> str:
    if value not in options:
        raise ConfigError(f"{param}: must be one of {', '.join(options)}, got {value!r}")
    return str(value)


def rows(mask: np.ndarray | pd.Series) -> str:
    """Name the first offending rows, 1-based over data rows (row 1 = first data row)."""
    positions = np.flatnonzero(np.asarray(mask, dtype=bool)) + 1
    shown = ", ".join(str(p) for p in positions[:_MAX_ROWS_SHOWN])
    more = len(positions) - _MAX_ROWS_SHOWN
    label = "row" if len(positions) == 1 else "rows"
    return f"{label} {shown}" + (f" and {more} more" if more > 0 else "")


def show(value: Any) -> str:
    """A value for an error message: numpy scalars as plain Python (7, not np.int64(7))."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def as_series(values: Iterable[Any] | pd.Series, name: str) -> pd.Series:
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, np.ndarray | pd.Index):
        return pd.Series(values, name=name)
    return pd.Series(list(values), name=name)


def check_ids(ids: pd.Series, *, what: str) -> None:
    """Ids must be present and unique: a duplicate would count one user twice."""
    missing = ids.isna().to_numpy()
    if missing.any():
        raise DataError(
            f"{what} column 'user_id': {missing.sum()} missing id(s) at {rows(missing)}"
        )
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        example = ids[dup].iloc[0]
        raise DataError(
            f"{what} column 'user_id': {int(ids.duplicated().sum())} duplicated id(s) "
            f"(e.g. {show(example)}) at {rows(dup)}"
        )


def bool_like(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Coerce true/false, 1/0, yes/no to bool; return the values and a mask of failures."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(bool), np.zeros(len(values), dtype=bool)
    if pd.api.types.is_integer_dtype(values.dtype):
        bad = ~values.isin([0, 1]).to_numpy()
        return values.astype(bool), bad
    mapping = {
        "true": True,
        "false": False,
        "1": True,
        "0": False,
        "yes": True,
        "no": False,
        "1.0": True,
        "0.0": False,
    }
    text = values.map(lambda v: str(v).strip().lower())
    parsed = text.map(mapping)
    bad = parsed.isna().to_numpy()
    return parsed.where(~bad, False).astype(bool), bad
