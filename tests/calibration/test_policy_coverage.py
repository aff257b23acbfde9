"""Policy values from the random control: do their 95% intervals cover the true values?

120 replications of the A/B/C design on a synthetic cohort of 4,000 users whose latent
truth is known (``experiment.calibration``): assignment, outcomes, the policies learned from
C and every estimator, rerun with another seed each time. `make calibrate` runs 500 on the
pipeline's own cohort; this smaller run checks the same with binomial tolerances.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from traveltide.config import ABTestConfig, read_params
from traveltide.experiment.calibration import policy_replication, policy_summary, toy_world

ROOT = Path(__file__).resolve().parents[2]
REPLICATIONS = 120


@pytest.fixture(scope="module")
def coverage() -> pd.DataFrame:
    config = ABTestConfig.from_params(read_params(ROOT / "params.yaml"))
    world = toy_world(4_000, seed=2)
    frames = [policy_replication(world, config, seed) for seed in range(REPLICATIONS)]
    return policy_summary(frames)


def test_every_policy_estimator_and_metric_is_checked(coverage):
    assert len(coverage) == 11 * 3 * 3
    assert (coverage["replications"] == REPLICATIONS).all()


def test_intervals_cover_the_true_policy_values(coverage):
    """On average over the 99 (policy, estimator, metric) cells 93-97%; no cell below 87%
    (four binomial standard errors under 95% at 120 replications)."""
    assert 0.93 <= coverage["coverage"].mean() <= 0.97, coverage
    worst = coverage.nsmallest(3, "coverage")
    assert (coverage["coverage"] >= 0.87).all(), worst


def test_estimates_are_unbiased(coverage):
    """Every bias within three standard errors of the mean error over the replications."""
    se_of_mean = coverage["sd_error"] / REPLICATIONS**0.5
    assert (coverage["bias"].abs() <= 3.5 * se_of_mean).all(), coverage
