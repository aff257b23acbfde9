"""The defects an independent statistical review found, one test each (issue 25, item 8).

Each test fails on the code the review read and passes now; the A/A bound lives in
tests/calibration (with a check that it rejects a miscalibrated test).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_effectsize

from traveltide.errors import ConfigError, DataError
from traveltide.experiment.analysis import analyse, comparison_pairs
from traveltide.experiment.power import power_analysis
from traveltide.experiment.stats import ArmStats, conversion_test

ROOT = Path(__file__).resolve().parents[3]
WEIGHTS = {"A": 1.0, "B": 1.0, "C": 1.0}
COUNTS = {"A": (600, 70), "B": (600, 80), "C": (600, 60)}


@pytest.fixture
def table(make_table) -> pd.DataFrame:
    return make_table(COUNTS, seed=2)


class TestAnalyseChecksLikeLoadOutcomes:
    def test_duplicate_user_ids(self, table):
        bad = table.copy()
        bad.loc[5, "user_id"] = bad.loc[4, "user_id"]
        with pytest.raises(DataError, match=r"'user_id'.*duplicated.*rows 5, 6"):
            analyse(bad, weights=WEIGHTS)

    def test_negative_revenue(self, table):
        bad = table.copy()
        row = int(bad.index[bad["converted"]][0])
        bad.loc[row, "revenue"] = -10.0
        with pytest.raises(DataError, match=rf"'revenue'.*negative.*row {row + 1}\b"):
            analyse(bad, weights=WEIGHTS)

    def test_revenue_without_a_conversion(self, table):
        bad = table.copy()
        row = int(bad.index[~bad["converted"]][0])
        bad.loc[row, "revenue"] = 50.0
        with pytest.raises(DataError, match=rf"'revenue'.*converted is false at row {row + 1}\b"):
            analyse(bad, weights=WEIGHTS)


def test_relative_lift_ci_does_not_collapse_without_treatment_conversions():
    res = conversion_test(
        ArmStats("A", 400, 0, math.nan, math.nan), ArmStats("C", 400, 12, math.nan, math.nan)
    )
    low, high = confint_proportions_2indep(0, 400, 12, 400, compare="ratio", method="log-adjusted")
    assert (res.lift_rel_ci_low, res.lift_rel_ci_high) == pytest.approx((low - 1, high - 1))
    assert res.lift_rel_ci_high > res.lift_rel_ci_low > -1  # an interval, inside (-1, inf)


class TestPlan:
    def test_b_vs_a_is_planned_over_a_expected_rate(self):
        plan = power_analysis(
            {"A": 1000, "B": 1000, "C": 1000},
            baseline_rate=0.10,
            mde=0.02,
            pairs=comparison_pairs(WEIGHTS),
        )
        direct = plan.comparisons[2]
        assert (direct.treatment, direct.control) == ("B", "A")
        assert direct.baseline_rate == pytest.approx(0.12)  # A is planned at 10% + 2 points
        h = proportion_effectsize(0.14, 0.12)
        assert direct.power == pytest.approx(NormalIndPower().power(h, 1000, 0.05, ratio=1.0))

    @pytest.mark.parametrize(("correction", "level"), [("holm", 0.05 / 3), ("fdr_bh", 0.05)])
    def test_the_plan_follows_the_correction(self, correction, level):
        plan = power_analysis(
            {"A": 1000, "B": 1000, "C": 1000},
            baseline_rate=0.10,
            mde=0.02,
            correction=correction,
            pairs=comparison_pairs(WEIGHTS),
        )
        assert plan.alpha_per_comparison == pytest.approx(level)

    def test_planned_figures_carry_the_plan_prefix(self):
        plan = power_analysis({"A": 1000, "C": 1000}, baseline_rate=0.10, mde=0.02)
        keys = plan.to_dict()
        assert "plan_A_vs_C_power" in keys and "plan_A_vs_C_effect_size" in keys
        assert not [k for k in keys if not k.startswith("plan_")]


def test_a_control_missing_from_the_weights_is_an_error(table):
    with pytest.raises(ConfigError, match=r"control: 'D' is not among the arms"):
        analyse(table, weights=WEIGHTS, control="D")


def test_the_ab_docs_quote_no_results():
    """A/B results (rates, lifts, p-values) change with every run: the docs leave them to
    the metrics and the report. Only the calibration table, written by `make calibrate`,
    quotes measured figures."""
    doc = (ROOT / "docs/ab-testing.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- calibrate:begin -->", "<!-- calibrate:end -->"
    assert doc.count(begin) == doc.count(end) == 1
    outside = doc.split(begin)[0] + doc.split(end)[1]
    about_ab = [p for p in readme.split("\n\n") if re.search(r"A/B|ab_test|verdict|lift", p)]
    assert about_ab, "the README says nothing about the A/B test: the check would pass on nothing"
    prose = re.sub(r"```.*?```", "", outside + "\n\n".join(about_ab), flags=re.S)
    results = re.findall(
        r"\d+\.\d+%|\bp\s*=?\s*0\.\d+|[+-]\d+\.\d+ points|\(\d[\d,]* of \d[\d,]*\)", prose
    )
    assert results == []
