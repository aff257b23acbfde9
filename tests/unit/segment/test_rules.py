import pandas as pd
import pytest

from traveltide.config import Rule, RulesConfig
from traveltide.errors import ConfigError
from traveltide.io import to_json
from traveltide.segment.rules import rules_metrics, segment_by_rules


def features():
    return pd.DataFrame(
        {
            "user_id": [1, 2, 3, 4, 5],
            "cancellation_rate": [0.0, 0.0, 0.5, 0.0, 0.0],
            "avg_bags": [0.0, 2.0, 3.0, 1.0, 0.0],
        }
    )


CONFIG = RulesConfig(
    priority=(
        Rule("canceller", "cancellation_rate", 0.5, "no_cancellation_fees"),
        Rule("bagger", "avg_bags", 0.6, "free_checked_bag"),
    ),
    default_segment="rest",
    default_perk="exclusive_discounts",
)


def test_priority_order_and_default():
    seg, thresholds = segment_by_rules(features(), CONFIG)
    # user 3 passes both rules: the first one wins; zero-valued users never pass a rule
    assert seg["segment"].tolist() == ["rest", "bagger", "canceller", "rest", "rest"]
    assert seg["perk"].tolist()[2] == "no_cancellation_fees"
    assert [t.users for t in thresholds] == [1, 1]
    assert thresholds[1].threshold == pytest.approx(1.4)  # numpy's linear quantile of avg_bags


def test_metrics_count_segments_and_perks_and_name_each_threshold():
    seg, thresholds = segment_by_rules(features(), CONFIG)
    metrics = rules_metrics(seg, thresholds)
    assert list(metrics) == ["users", "segment_sizes", "perk_mix", "thresholds"]
    assert metrics["users"] == 5
    assert metrics["segment_sizes"] == {"bagger": 1, "canceller": 1, "rest": 3}
    assert metrics["perk_mix"] == {
        "exclusive_discounts": 3,
        "free_checked_bag": 1,
        "no_cancellation_fees": 1,
    }
    assert metrics["thresholds"][1] == {
        "segment": "bagger",
        "feature": "avg_bags",
        "quantile": 0.6,
        "threshold": pytest.approx(1.4),
        "users": 1,
    }
    to_json(metrics)  # strict JSON: the stage writes it as metrics/segment_rules.json


def test_unknown_feature_is_a_config_error():
    bad = RulesConfig((Rule("x", "nope", 0.5, "free_checked_bag"),), "rest", "free_checked_bag")
    with pytest.raises(ConfigError, match=r"rules.priority\[0\].feature 'nope'"):
        segment_by_rules(features(), bad)
