"""The ab_test block of params.yaml: the shipped values, and errors naming the bad key."""

from __future__ import annotations

import pytest

from traveltide.config import ABTestConfig
from traveltide.errors import ConfigError


class TestABTestConfig:
    def test_shipped_params_are_valid(self, ab_params):
        config = ABTestConfig.from_params(ab_params())
        assert config.outcomes == "simulate" and config.stratify_by is None
        assert 0 < config.plan.baseline_rate < 1 and config.response.noise_sd >= 0

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
            ({"plan": [1]}, "ab_test.plan"),
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
