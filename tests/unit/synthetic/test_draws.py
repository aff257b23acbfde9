"""The vectorised draws: grouped pmf draws and proportional splits."""

from __future__ import annotations

import numpy as np

from traveltide.synthetic.draws import draw_pmf, pmf_table, split_counts


def test_split_counts_sum_exactly_and_follow_the_weights() -> None:
    counts = split_counts(10, [1.0, 1.0, 1.0])
    assert counts.sum() == 10 and sorted(counts.tolist()) == [3, 3, 4]
    assert split_counts(1000, [75_555, 427_441, 517_930]).tolist() == [74, 419, 507]


def test_draw_pmf_matches_probabilities() -> None:
    cum = pmf_table([(0.0, 1.0), (0.2, 0.3, 0.5)])
    group = np.repeat([0, 1], 50_000)
    draws = draw_pmf(np.random.default_rng(1), cum, group)
    assert (draws[:50_000] == 1).all()
    shares = np.bincount(draws[50_000:], minlength=3) / 50_000
    assert np.allclose(shares, [0.2, 0.3, 0.5], atol=0.01)
