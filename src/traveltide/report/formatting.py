"""How the report writes numbers: percentages, percentage points, p-values, dollars, and the
tagged numbers of its opening answers.

Shared by the answers, the HTML tables and the plot data, so a figure reads the same wherever
it appears. `tagged` wraps a number in a span naming where it comes from (`data-src`) and its
exact value, so a test can check every number a reader sees against the pipeline's files.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any, TypeGuard

ARM_NAMES = {"A": "rule perks (A)", "B": "ML perks (B)", "C": "control (C)"}

# data-fmt -> formatter of a tagged number (docs/report.md lists the data-src forms)
FORMATS: dict[str, Callable[[float], str]] = {
    "int": lambda v: f"{v:,.0f}",
    "pct0": lambda v: f"{100 * v:.0f}%",
    "pct1": lambda v: f"{100 * v:.1f}%",
    "top": lambda v: f"{100 * (1 - v):.0f}%",  # a quantile as the share above it
    "pts1": lambda v: f"{100 * v:+.1f} points",
    "size1": lambda v: f"{100 * v:.1f} points",  # a size in points, not a change
    "f2": lambda v: f"{v:.2f}",
    "g3": lambda v: _significant(v, 3),
    "usd0": lambda v: f"${v:,.0f}" if v >= 0 else f"-${-v:,.0f}",
    "usd2": lambda v: f"${v:,.2f}" if v >= 0 else f"-${-v:,.2f}",
    "dusd2": lambda v: f"+${v:,.2f}" if v >= 0 else f"-${-v:,.2f}",  # a difference
}


def _significant(value: float, digits: int) -> str:
    """`value` to about `digits` significant digits, without an exponent or trailing zeros:
    4990.886 -> '4,991', 2.0 -> '2', 0.00029743 -> '0.000297'."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if abs(value) >= 10 ** (digits - 1):
        return f"{value:,.0f}"
    decimals = digits - 1 - math.floor(math.log10(abs(value)))
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def is_number(value: Any) -> TypeGuard[int | float]:
    """A finite int or float (not a bool, not NaN): a figure a sentence may quote."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def tagged(value: Any, src: str, fmt: str) -> str:
    """`value` written by FORMATS[fmt] inside a span that names its source (`src`)."""
    text = FORMATS[fmt](value)
    return (
        f'<span class="n" data-src="{html.escape(src)}" data-value="{float(value)!r}" '
        f'data-fmt="{fmt}">{html.escape(text)}</span>'
    )


def share(part: float, whole: float) -> str:
    """'42%' of ``whole``, 'n/a' when the whole is 0."""
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


def pts(value: Any) -> str:
    """A rate difference in percentage points, 'n/a' when missing."""
    return "n/a" if not is_number(value) else f"{100 * value:+.2f} pts"


def pct(value: Any, digits: int = 1) -> str:
    """A rate as a percentage, 'n/a' when missing."""
    return "n/a" if not is_number(value) else f"{100 * value:.{digits}f}%"


def pval(value: Any) -> str:
    """A p-value to three significant digits, 'n/a' when missing."""
    return "n/a" if not is_number(value) else f"{value:.3g}"


def ci(low: Any, high: Any, fmt: Any) -> str:
    """' [low, high]' with each bound written by ``fmt``, empty when a bound is missing."""
    return "" if low is None or high is None else f" [{fmt(low)}, {fmt(high)}]"


def join_words(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
