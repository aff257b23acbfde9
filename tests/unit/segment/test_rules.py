import pandas as pd
import pytest

from traveltide.config import Rule, RulesConfig
from traveltide.errors import ConfigError
from traveltide.segment.rules import segment_by_rules


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


def test_unknown_feature_is_a_config_error():
    bad = RulesConfig((Rule("x", "nope", 0.5, "free_checked_bag"),), "rest", "free_checked_bag")
    with pytest.raises(ConfigError, match=r"rules.priority\[0\].feature 'nope'"):
        segment_by_rules(features(), bad)
