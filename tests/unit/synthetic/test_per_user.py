"""Per-user figures: the helpers on known numbers, and the generated cohort against FACTS.md."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from traveltide.synthetic.generate import SyntheticDatabase
from traveltide.synthetic.per_user import (
    FIRST_BIN,
    MAX_TVD,
    TARGETS,
    correlation,
    distributions,
    expected_tvd,
    per_user_counts,
    shares,
    tvd,
)


def _cohort(db: SyntheticDatabase) -> pd.DataFrame:
    s = db.sessions[db.sessions["session_start"] > "2023-01-04"]
    n = s.groupby("user_id").size()
    return s[s["user_id"].isin(n.index[n > 7])]


def test_shares_put_everything_above_the_last_bin_into_it() -> None:
    assert shares(np.array([0, 1, 1, 5, 9]), 0, 3).tolist() == [0.2, 0.4, 0.4]
    assert shares(np.array([8, 8, 9, 12]), 8, 4).tolist() == [0.5, 0.25, 0.0, 0.25]
    assert np.isnan(shares(np.array([], dtype="int64"), 0, 3)).all()


def test_tvd_is_half_the_l1_distance_and_its_noise_matches_a_simulation() -> None:
    assert tvd(np.array([0.5, 0.5]), np.array([1.0, 0.0])) == 0.5
    assert tvd(np.array([0.2, 0.8]), np.array([0.2, 0.8])) == 0.0
    target = np.array(TARGETS["per_user_trip_sessions"][1]) / 100
    target /= target.sum()
    draws = np.random.default_rng(0).multinomial(300, target, size=4_000) / 300
    simulated = 0.5 * np.abs(draws - target).sum(axis=1)
    assert expected_tvd(target, 300) == pytest.approx(simulated.mean(), rel=0.03)
    assert np.quantile(simulated, 0.999) < 4 * expected_tvd(target, 300)  # the noise floor


def test_correlation_matches_scipy_and_is_nan_when_undefined() -> None:
    rng = np.random.default_rng(1)
    x = pd.Series(rng.poisson(3, 200))
    y = pd.Series(x + rng.normal(0, 2, 200))
    assert correlation(x, y) == pytest.approx(stats.pearsonr(x, y).statistic)
    assert np.isnan(correlation(x, pd.Series(np.ones(200))))
    assert np.isnan(correlation(x[:2], y[:2]))


def test_per_user_counts_on_a_hand_made_cohort() -> None:
    cohort = pd.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2],
            "session_start": pd.to_datetime(["2023-02-01"] * 5),
            "trip_id": ["1-a", "1-a", None, None, "2-b"],
            "flight_booked": [True, True, False, False, False],
            "hotel_booked": [True, True, False, False, True],
            "cancellation": [False, True, False, False, False],
            "flight_discount": [True, True, False, True, False],
            "page_clicks": [30, 5, 10, 4, 6],
        }
    )
    counts = per_user_counts(cohort)
    assert counts.loc[1].to_dict() == {
        "sessions": 3,
        "trip_sessions": 2,
        "flight_sessions": 2,
        "hotel_sessions": 2,
        "cancellation_sessions": 1,
        "flight_discount_sessions": 2,
        "mean_page_clicks": 15.0,
    }
    assert counts.loc[2, "hotel_sessions"] == 1 and counts.loc[2, "mean_page_clicks"] == 5.0


def test_distributions_compare_shares_with_the_normalised_targets() -> None:
    per_user = pd.DataFrame(
        {
            "sessions": [8, 8, 9, 11],
            "trip_sessions": [0, 1, 2, 9],
            "flight_sessions": [0, 0, 2, 3],
            "cancellation_sessions": [0, 0, 0, 3],
        }
    )
    found = {d.name: d for d in distributions(per_user)}
    assert set(found) == set(TARGETS)
    sessions = found["per_user_sessions"]
    assert sessions.value == (0.5, 0.25, 0.0, 0.25) and sessions.users == 4
    target = np.array([81.8, 16.0, 2.0, 0.1]) / 99.9
    assert sessions.target == pytest.approx(target)
    assert sessions.tvd == pytest.approx(0.5 * np.abs(target - [0.5, 0.25, 0.0, 0.25]).sum())
    assert sessions.tolerance == pytest.approx(4 * expected_tvd(target, 4))  # noise at n = 4
    assert found["per_user_trip_sessions"].value[-1] == 0.25  # 9 trips: in the 7+ bin
    assert all(d.tolerance >= MAX_TVD for d in found.values())


@pytest.mark.parametrize("name", list(TARGETS))
def test_generated_cohort_follows_the_real_per_user_distributions(
    moderate: tuple[SyntheticDatabase, float], name: str
) -> None:
    """Chi-square goodness of fit of the cohort's per-user counts (about 300 users) to FACTS.md,
    bins pooled to an expected count of at least 5. A generator that gives each persona a
    nearly fixed trip count (1.4% of users with one trip session, 14.3% in the real cohort)
    fails this at p < 1e-9."""
    db, _ = moderate
    counts = per_user_counts(_cohort(db))
    bins, percent = TARGETS[name]
    target = np.asarray(percent) / np.sum(percent)
    observed = shares(
        counts[name.removeprefix("per_user_")].to_numpy(), FIRST_BIN.get(name, 0), len(bins)
    )
    n = len(counts)
    expected, seen = _pooled(target * n, observed * n)
    p = stats.chisquare(seen, expected).pvalue
    assert p > 1e-3, (name, bins, np.round(observed, 3), p)


def _pooled(expected: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Adjacent bins from the right merged until each expects at least 5."""
    e, o = list(expected), list(observed)
    while len(e) > 2 and e[-1] < 5:
        e[-2:] = [e[-2] + e[-1]]
        o[-2:] = [o[-2] + o[-1]]
    return np.array(e), np.array(o)
