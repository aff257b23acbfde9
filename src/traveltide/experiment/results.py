"""What every statistical result of the experiment shares: a "no result" form and JSON flattening.

Statistical edge cases (an empty arm, no conversions, zero variance) never raise: they return
the usual result dataclass with its figures missing (NaN) and an ``error`` or ``note`` saying
why, as GrowthBook's statistics engine does. ``no_result`` builds such a result for any of them.
"""

from __future__ import annotations

import math
import types
from dataclasses import MISSING, fields
from typing import Any, TypeVar, get_type_hints

import numpy as np

T = TypeVar("T")

NAN = float("nan")

# The value of a figure that could not be computed, by its declared type.
_MISSING_VALUE: dict[Any, Any] = {float: NAN, int: 0, bool: False}


def no_result(cls: type[T], **given: Any) -> T:
    """A result of dataclass ``cls`` whose figures could not be computed.

    Every field not ``given`` and without a default is NaN (float), 0 (int, a count),
    False (bool) or None (optional). The caller gives the names and the ``error`` or ``note``.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Test:
    ...     arm: str
    ...     p_value: float
    ...     error: str | None = None
    >>> no_result(Test, arm="A", error="arm 'A' has no users")
    Test(arm='A', p_value=nan, error="arm 'A' has no users")
    """
    hints = get_type_hints(cls)
    values = dict(given)
    for f in fields(cls):  # type: ignore[arg-type]  # cls is a dataclass
        if f.name in values or f.default is not MISSING:
            continue
        hint = hints[f.name]
        if hint in _MISSING_VALUE:
            values[f.name] = _MISSING_VALUE[hint]
        elif isinstance(hint, types.UnionType) and type(None) in hint.__args__:
            values[f.name] = None
        else:
            raise TypeError(f"{cls.__name__}.{f.name}: no missing value for {hint}; give it")
    return cls(**values)


def json_value(value: Any) -> Any:
    """A JSON-safe scalar: numpy scalars unwrapped, NaN/inf become None, tuples to lists."""
    if isinstance(value, tuple | list):
        return [json_value(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
