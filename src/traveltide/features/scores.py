"""The RFM rank scores, without a window over every user in the feature query.

A score is ceil(rank / n x 5) clipped to 1..5: users ranked by one column (ties at their lowest
rank, NULLs last), n users in all. It depends on a user's value only through its rank, and it
never falls as the rank grows, so it equals 1 + the number of cut-offs k = 1..4 the value
passes, where cut-off k is the value at position R_k, the last rank whose score is at most k
(`rank_limits`, with the engines' floating-point steps: r / n, times 5, ceil). One narrow
query per column finds the cut-offs (`cutoffs_sql`); the feature query compares each value
with four literals (`score_sql`). It then holds no window, so DuckDB runs it per range of
users, and Spark does not gather the wide rows of every user on one task.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from traveltide.features.sql import double

# score -> (column ranked, direction): rank 1 is the first user in that order
SCORES: dict[str, tuple[str, str]] = {
    "recency_score": ("recency_days", "DESC"),
    "frequency_score": ("n_trips", "ASC"),
    "monetary_score": ("total_spend_usd", "ASC"),
}
LEVELS = 5


def score_of_rank(rank: int, n: int) -> int:
    """ceil(rank / n x 5) clipped to 1..5, as the engines compute it in doubles."""
    return min(max(math.ceil(rank / n * LEVELS), 1), LEVELS)


def rank_limits(n: int) -> list[int]:
    """R_1..R_4 for n users: the largest rank in 0..n whose score is at most k."""
    limits = []
    for k in range(1, LEVELS):
        rank = min(n, k * n // LEVELS + 2)  # above the exact k x n / 5 by more than rounding
        while rank > 0 and score_of_rank(rank, n) > k:
            rank -= 1
        limits.append(rank)
    return limits


def cutoffs_sql(columns: Mapping[str, tuple[str, str]], limits: Sequence[int], source: str) -> str:
    """(name, position, value) at each limit of each named (column, direction)'s non-NULL
    values in that order: one query, so Spark runs one job for every score."""
    wanted = ", ".join(str(r) for r in sorted({r for r in limits if r > 0})) or "0"
    return "\nUNION ALL\n".join(
        f"SELECT '{name}' AS score, position, v FROM (SELECT {column} AS v, row_number() OVER "
        f"(ORDER BY {column} {direction}) AS position FROM {source} "
        f"WHERE {column} IS NOT NULL) ranked_{name} WHERE position IN ({wanted})"
        for name, (column, direction) in columns.items()
    )


def _literal(value: float) -> str:
    """A DOUBLE literal; NaN and infinities too (the table check then names the feature)."""
    if math.isfinite(value):
        return double(value)
    text = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return f"CAST('{text}' AS DOUBLE)"


def score_sql(column: str, direction: str, limits: Sequence[int], at: Mapping[int, float]) -> str:
    """The score of `column` as SQL: 1 + the cut-offs its value passes. `at` holds the value
    at each limit's position (`cutoffs_sql`); a limit of 0 is passed by every value, a limit
    beyond the non-NULL values by none."""
    beyond = ">" if direction == "ASC" else "<"
    terms = ["1"]
    for rank in limits:
        if rank == 0:
            terms.append("1")
        elif rank in at:
            terms.append(f"CASE WHEN {column} {beyond} {_literal(at[rank])} THEN 1 ELSE 0 END")
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE {' + '.join(terms)} END"
