"""RFM scores from four cut-offs per column equal the window they replace (rank over every
user) and scipy's min-rank, with ties, NULLs and any number of users."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import rankdata

from traveltide.engines.duck import DuckDBEngine
from traveltide.features.scores import cutoffs_sql, rank_limits, score_of_rank, score_sql


@pytest.mark.parametrize("n", [*range(1, 130), 999, 1000, 1001, 1_013_274, 10_118_440])
def test_rank_limits_are_the_last_rank_of_each_score(n):
    limits = rank_limits(n)
    ranks = range(1, n + 1) if n < 2000 else [r for k in limits for r in (k - 1, k, k + 1)]
    for rank in ranks:
        if 1 <= rank <= n:  # score = 1 + the limits the rank is beyond
            assert score_of_rank(rank, n) == 1 + sum(rank > limit for limit in limits)
    assert limits == sorted(limits) and limits[0] >= 0 and limits[-1] < n


def scipy_scores(values: np.ndarray, direction: str) -> list[float | None]:
    """ceil(5 x min-rank / n) among the non-NULL values (NULLs rank last), n counting all."""
    known = ~np.isnan(values)
    x = values[known] if direction == "ASC" else -values[known]
    ranks = np.full(len(values), np.nan)
    ranks[known] = rankdata(x, method="min")
    return [None if math.isnan(r) else float(score_of_rank(int(r), len(values))) for r in ranks]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_cutoff_scores_equal_the_rank_window_and_scipy(seed, direction):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    values = rng.choice([0.0, 0.0, 1.0, 2.5, 3.0, 7.0, 1e6], n) + rng.integers(0, 2, n) * (
        rng.random(n) if seed % 2 else 0
    )
    values[rng.random(n) < 0.1 * (seed % 3)] = np.nan  # seeds 1, 2, 4, 5: NULLs
    engine = DuckDBEngine()
    rows = [(i, None if math.isnan(v) else float(v)) for i, v in enumerate(values)]
    engine.lookup("t", {"id": "BIGINT", "v": "DOUBLE"}, rows)
    limits = rank_limits(n)
    found = engine.rows(cutoffs_sql({"s": ("v", direction), "other": ("id", "ASC")}, limits, "t"))
    at = {position: value for name, position, value in found if name == "s"}
    ours = engine.rows(
        f"SELECT CAST({score_sql('v', direction, limits, at)} AS DOUBLE) FROM t ORDER BY id"
    )
    window = f"rank() OVER (ORDER BY v {direction} NULLS LAST) / count(*) OVER ()"
    score = f"CAST(least(greatest(ceil(({window}) * 5), 1), 5) AS DOUBLE)"
    theirs = engine.rows(
        f"SELECT CASE WHEN v IS NULL THEN NULL ELSE {score} END FROM t ORDER BY id"
    )
    engine.close()
    assert [r[0] for r in ours] == [r[0] for r in theirs] == scipy_scores(values, direction)
