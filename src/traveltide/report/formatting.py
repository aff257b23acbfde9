"""How the report writes numbers and names: percentages, percentage points, p-values, A/B arms.

Shared by the executive summary, the HTML tables and the plot data, so a figure reads the same
wherever it appears.
"""

from __future__ import annotations

import math
from typing import Any

ARM_NAMES = {"A": "rule perks (A)", "B": "ML perks (B)", "C": "control (C)"}


def is_number(value: Any) -> bool:
    """A finite int or float (not a bool, not NaN): a figure a sentence may quote."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def share(part: float, whole: float) -> str:
    """'42%' of ``whole``, 'n/a' when the whole is 0."""
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


def pts(value: Any) -> str:
    """A rate difference in percentage points, 'n/a' when missing."""
    return "n/a" if not isinstance(value, int | float) else f"{100 * value:+.2f} pts"


def pct(value: Any, digits: int = 1) -> str:
    """A rate as a percentage, 'n/a' when missing."""
    return "n/a" if not isinstance(value, int | float) else f"{100 * value:.{digits}f}%"


def pval(value: Any) -> str:
    """A p-value to three significant digits, 'n/a' when missing."""
    return "n/a" if not isinstance(value, int | float) else f"{value:.3g}"


def ci(low: Any, high: Any, fmt: Any) -> str:
    """' [low, high]' with each bound written by ``fmt``, empty when a bound is missing."""
    return "" if low is None or high is None else f" [{fmt(low)}, {fmt(high)}]"
