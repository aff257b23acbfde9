"""SQL building blocks of the clean and feature queries (DuckDB's dialect, portable to Spark).

Two rules make the queries say what the feature catalog says:

- An average or share over nothing is 0 (`ratio`), never NULL; a NULL in a value a feature
  needs is kept (`strict`): it reaches the table as NULL and the features stage stops naming
  the feature and a user. Plain SQL aggregates skip NULLs, which would hide it.
- Literals are exact: a float from Python is written in exponent form, which both engines read
  as a DOUBLE (a plain `2953.6947` would be a DECIMAL).
"""

from __future__ import annotations

import math

DAY_US = 86_400_000_000  # microseconds in a day


def ratio(num: str, den: str) -> str:
    """num / den, 0 where den is 0; NULL where num is NULL (or den, with num not 0)."""
    return f"CASE WHEN ({den}) = 0 AND ({num}) IS NOT NULL THEN 0.0 ELSE ({num}) / ({den}) END"


def strict(aggregate: str, value: str) -> str:
    """`aggregate(value)` over the group, NULL when any row's value is NULL."""
    return f"CASE WHEN count(*) = count({value}) THEN {aggregate}({value}) END"


def flag(column: str) -> str:
    """A nullable boolean column with NULL as false."""
    return f"coalesce({column}, false)"


def seconds(column: str) -> str:
    """A timestamp as float seconds since 1970-01-01 (microseconds / 1e6, exactly rounded)."""
    return f"epoch_us({column}) / 1e6"


def double(value: float) -> str:
    """`value` as a DOUBLE literal that reads back as the same float.

    >>> double(2953.6947), double(1e-05), double(3.0)
    ('2953.6947e0', '1e-05', '3.0e0')
    """
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"no SQL literal for {value}")
    text = repr(value)
    return text if "e" in text else f"{text}e0"


def columns(names: list[str], replaced: dict[str, str]) -> str:
    """A SELECT list of `names` in their order, some replaced by an expression of that name."""
    return ",\n  ".join(f"{replaced[n]} AS {n}" if n in replaced else n for n in names)
