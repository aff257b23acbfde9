"""The "no result" form of every statistical result, and JSON-safe values."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from traveltide.experiment.power import PowerResult
from traveltide.experiment.results import json_value, no_result
from traveltide.experiment.stats import ConversionTest, OmnibusResult, SRMResult


class TestNoResult:
    def test_missing_figures_by_type(self):
        res = no_result(OmnibusResult, arms=("A",), error="fewer than two arms have users")
        assert math.isnan(res.statistic) and math.isnan(res.min_expected)
        assert res.dof == 0 and res.arms == ("A",) and res.note is None
        assert res.error == "fewer than two arms have users"

    def test_bool_and_optional_fields(self):
        conv = no_result(ConversionTest, treatment="A", control="C", error="x")
        assert conv.fisher_used is False and math.isnan(conv.p_value)
        srm = no_result(SRMResult, observed={}, expected={}, note="not assessable")
        assert srm.flag is None and srm.assessable is False and srm.threshold == 0.001

    def test_given_values_win(self):
        given = dict(treatment="A", control="C", n_treatment=0, n_control=5, baseline_rate=0.1)
        res = no_result(
            PowerResult,
            **given,
            target_rate=0.12,
            effect_size=0.06,
            alpha=0.05,
            target_power=0.8,
            error="arm 'A' has no users",
        )
        assert res.n_control == 5 and math.isnan(res.power) and math.isnan(res.mde_abs)

    def test_a_field_without_a_missing_value_must_be_given(self):
        @dataclass
        class Named:
            name: str
            p_value: float

        with pytest.raises(TypeError, match=r"Named\.name"):
            no_result(Named)


def test_json_value():
    assert json_value(np.int64(7)) == 7 and type(json_value(np.int64(7))) is int
    assert json_value(math.nan) is None and json_value(np.float64(math.inf)) is None
    assert json_value((1.5, math.nan)) == [1.5, None]
