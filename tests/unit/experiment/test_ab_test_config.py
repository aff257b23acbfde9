"""The ab_test block of params.yaml: the shipped values, and errors naming the bad key."""

from __future__ import annotations

import pytest

from traveltide.config import PERKS, ABTestConfig
from traveltide.errors import ConfigError


class TestABTestConfig:
    def test_shipped_params_are_valid(self, ab_params):
        config = ABTestConfig.from_params(ab_params())
        assert config.outcomes == "simulate" and config.stratify_by is None
        assert 0 < config.plan.baseline_rate < 1 and config.response.noise_sd >= 0
        assert config.response.fit_source == "latent" and config.decision.metric == "net_value"
        assert set(config.costs) == set(PERKS) and config.design == "all"

    @pytest.mark.parametrize(
        ("change", "needle"),
        [
            ({"outcomes": "/tmp/results.csv"}, "ab_test.outcomes"),
            ({"outcomes": "data/campaign/results.txt"}, "ab_test.outcomes"),
            ({"outcomes": "data/campaign/../../x.csv"}, "ab_test.outcomes"),
            ({"outcomes": 5}, "ab_test.outcomes"),
            ({"stratify_by": "segment"}, "ab_test.stratify_by"),
            ({"plan__power": 1.5}, "ab_test.plan.power"),
            ({"plan__mde_kind": "ratio"}, "ab_test.plan.mde_kind"),
            ({"plan__baseline_rate": 0.9, "plan__mde": 0.2}, "ab_test.plan.baseline_rate"),
            ({"response__noise_sd": -0.1}, "ab_test.response.noise_sd"),
            ({"response__fit_source": "personas"}, "ab_test.response.fit_source"),
            ({"plan": [1]}, "ab_test.plan"),
            ({"plan__baseline_rate": 0.5, "plan__mde": 0.25}, "ab_test.plan.baseline_rate"),
            ({"costs": {"free_hotel_meal": 1.0}}, "ab_test.costs"),
            ({"costs__free_checked_bag": -1.0}, "ab_test.costs.free_checked_bag"),
            ({"design": "some"}, "ab_test.design"),
            ({"revenue_cap": 0.2}, "ab_test.revenue_cap"),
            ({"adjust_for": ["n trips"]}, r"ab_test.adjust_for\[0\]"),
            ({"decision__metric": "profit"}, "ab_test.decision.metric"),
            ({"decision__prior_sd": 0.0}, "ab_test.decision.prior_sd"),
            ({"results__group_mismatch": "ignore"}, "ab_test.results.group_mismatch"),
            ({"results__min_coverage": 1.5}, "ab_test.results.min_coverage"),
            ({"policy__folds": 1}, "ab_test.policy.folds"),
        ],
    )
    def test_bad_values_name_the_key(self, ab_params, change, needle):
        with pytest.raises(ConfigError, match=r"^params\.yaml: " + needle.replace(".", r"\.")):
            ABTestConfig.from_params(ab_params(**change))

    def test_missing_new_key_is_named(self, ab_params):
        params = ab_params()
        del params["ab_test"]["plan"]["mde"]
        with pytest.raises(ConfigError, match=r"missing key ab_test\.plan\.mde"):
            ABTestConfig.from_params(params)
