"""The vectorised draws: systematic picks and grouped pmf draws."""

from __future__ import annotations

import numpy as np

from traveltide.synthetic.draws import draw_pmf, pmf_table, systematic


def test_systematic_picks_floor_or_ceil_of_the_expected_count() -> None:
    rng = np.random.default_rng(0)
    owner = np.repeat(np.arange(1000), 8)
    picks = systematic(rng, owner, np.full(len(owner), 0.3), 1000)
    counts = np.bincount(owner, weights=picks)
    assert set(np.unique(counts)) <= {2.0, 3.0}
    assert abs(counts.mean() - 2.4) < 0.05


def test_draw_pmf_matches_probabilities() -> None:
    cum = pmf_table([(0.0, 1.0), (0.2, 0.3, 0.5)])
    group = np.repeat([0, 1], 50_000)
    draws = draw_pmf(np.random.default_rng(1), cum, group)
    assert (draws[:50_000] == 1).all()
    shares = np.bincount(draws[50_000:], minlength=3) / 50_000
    assert np.allclose(shares, [0.2, 0.3, 0.5], atol=0.01)
