"""The calibration harness itself: worlds, one replication of each kind, the summaries (the
calibration's verdicts are in tests/calibration and `make calibrate`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from traveltide.config import PERKS, ABTestConfig
from traveltide.experiment.calibration import (
    aa_replication,
    aa_summary,
    make_world,
    policy_replication,
    policy_summary,
    toy_world,
)


@pytest.fixture(scope="module")
def config(ab_params) -> ABTestConfig:
    return ABTestConfig.from_params(ab_params())


def test_toy_world_is_seeded_and_complete():
    a, b = toy_world(300, seed=3), toy_world(300, seed=3)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert a.users["user_id"].tolist() == a.truth["user_id"].tolist()
    assert set(a.users["perk_rules"]) <= set(PERKS) and (a.truth["propensity"] > 0).all()
    assert not a.truth.equals(toy_world(300, seed=4).truth)


def test_make_world_aligns_the_pipeline_tables():
    toy = toy_world(200, seed=1)
    rules = toy.users[["user_id", "segment", "perk_rules"]].rename(columns={"perk_rules": "perk"})
    clusters = toy.users[["user_id", "cluster", "perk_ml"]].rename(columns={"perk_ml": "perk"})
    shuffled = toy.features.sample(frac=1, random_state=0)
    world = make_world(rules, clusters.iloc[::-1], shuffled, toy.truth.iloc[::-1])
    assert world.users["user_id"].tolist() == sorted(toy.users["user_id"])
    assert world.features["user_id"].tolist() == world.users["user_id"].tolist()
    assert world.truth["user_id"].tolist() == world.users["user_id"].tolist()


def test_one_aa_replication(config):
    row = aa_replication(toy_world(600, seed=1), config, seed=0)
    assert isinstance(row["verdict_claims"], bool)
    assert {"A_vs_C:conversion:p", "B_vs_A:net_value_adjusted:covers"} <= set(row)
    summary = aa_summary([row, aa_replication(toy_world(600, seed=1), config, seed=1)], 0.05)
    assert set(summary.columns) == {
        "comparison",
        "metric",
        "replications",
        "false_positive_rate",
        "coverage",
    }
    assert (summary["replications"] == 2).all()


def test_one_policy_replication(config):
    frame = policy_replication(toy_world(600, seed=1), config, seed=0)
    assert {"truth", "covers"} <= set(frame.columns) and frame["truth"].notna().all()
    random = frame.query("policy == 'random_perk' and metric == 'conversion'")
    assert random["truth"].nunique() == 1 and 0 < random["truth"].iloc[0] < 1
    summary = policy_summary([frame])
    assert len(summary) == 99 and np.isfinite(summary["bias"]).all()
