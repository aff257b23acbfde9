"""The whole analysis: SRM, omnibus, the comparison family, flat metrics and edge cases."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from traveltide.errors import ConfigError, DataError
from traveltide.experiment.analysis import analyse, comparison_pairs
from traveltide.experiment.verdict import INCONCLUSIVE, NO_DIFFERENCE

WEIGHTS = {"A": 1.0, "B": 1.0, "C": 1.0}
COUNTS = {"A": (3000, 345), "B": (2950, 380), "C": (3050, 310)}


@pytest.fixture(scope="module")
def table(make_table) -> pd.DataFrame:
    return make_table(COUNTS, seed=3)


def test_comparison_pairs():
    assert comparison_pairs(["A", "B", "C"], control="C") == [("A", "C"), ("B", "C"), ("B", "A")]
    assert comparison_pairs(["A", "B", "C"], direct=False) == [("A", "C"), ("B", "C")]


class TestAnalyse:
    def test_srm_and_omnibus_match_scipy(self, table):
        d = analyse(table, weights=WEIGHTS).to_dict()
        n = [v[0] for v in COUNTS.values()]
        srm = stats.chisquare(n, [sum(n) / 3] * 3)
        cells = [[x, n - x] for n, x in COUNTS.values()]
        omni = stats.chi2_contingency(cells, correction=False)
        assert d["srm_p_value"] == pytest.approx(srm.pvalue)
        assert d["srm_statistic"] == pytest.approx(srm.statistic)
        assert d["srm_flag"] is False and d["srm_assessable"] is True
        assert d["omnibus_p_value"] == pytest.approx(omni.pvalue)
        assert d["omnibus_statistic"] == pytest.approx(omni.statistic)
        assert d["omnibus_dof"] == 2

    @pytest.mark.parametrize("method", ["holm", "fdr_bh"])
    def test_comparisons_and_correction(self, table, method):
        """One family: A vs C, B vs C and the direct B vs A, adjusted together."""
        d = analyse(table, weights=WEIGHTS, correction=method, alpha=0.05).to_dict()
        pairs = [("A", "C"), ("B", "C"), ("B", "A")]
        assert d["comparisons"] == ["A_vs_C", "B_vs_C", "B_vs_A"]
        raw = [
            proportions_ztest([COUNTS[t][1], COUNTS[c][1]], [COUNTS[t][0], COUNTS[c][0]])[1]
            for t, c in pairs
        ]
        _, adjusted, _, _ = multipletests(raw, alpha=0.05, method=method)
        for (t, c), p, p_adj in zip(pairs, raw, adjusted, strict=True):
            (nt, xt), (nc, xc) = COUNTS[t], COUNTS[c]
            low, high = confint_proportions_2indep(xt, nt, xc, nc, method="newcomb")
            key = f"{t}_vs_{c}_"
            assert d[key + "p_value"] == pytest.approx(p)
            assert d[key + "p_adj"] == pytest.approx(p_adj)
            assert d[key + "lift_abs"] == pytest.approx(xt / nt - xc / nc)
            assert d[key + "lift_ci_low"] == pytest.approx(low)
            assert d[key + "lift_ci_high"] == pytest.approx(high)
            assert d[key + "significant"] == bool(p_adj < 0.05)

    def test_without_direct_comparisons_the_family_is_vs_control(self, table):
        res = analyse(table, weights=WEIGHTS, direct=False)
        raw = [c.conversion.p_value for c in res.comparisons]
        _, adjusted, _, _ = multipletests(raw, method="holm")
        assert res.direct == () and "B_vs_A_p_value" not in res.to_dict()
        assert [c.p_adj for c in res.comparisons] == pytest.approx(list(adjusted))

    def test_revenue_family_matches_scipy(self, table):
        d = analyse(table, weights=WEIGHTS).to_dict()
        rev = {g: r.to_numpy() for g, r in table.groupby("group")["revenue"]}
        pairs = [("A", "C"), ("B", "C"), ("B", "A")]
        welch = [stats.ttest_ind(rev[t], rev[c], equal_var=False).pvalue for t, c in pairs]
        _, adjusted, _, _ = multipletests(welch, method="holm")
        for (t, c), p, p_adj in zip(pairs, welch, adjusted, strict=True):
            mw = stats.mannwhitneyu(rev[t], rev[c], alternative="two-sided")
            key = f"{t}_vs_{c}_"
            assert d[key + "revenue_welch_p_value"] == pytest.approx(p)
            assert d[key + "revenue_p_adj"] == pytest.approx(p_adj)
            assert d[key + "revenue_mw_p_value"] == pytest.approx(mw.pvalue)
            assert d[key + "revenue_diff"] == pytest.approx(rev[t].mean() - rev[c].mean())
            assert d[f"{t}_revenue_per_user"] == pytest.approx(rev[t].mean())

    def test_flat_metrics_are_json_safe(self, table):
        d = analyse(table, weights=WEIGHTS).to_dict()
        json.dumps(d, allow_nan=False)
        for key in (
            "srm_p_value",
            "srm_flag",
            "omnibus_p_value",
            "A_vs_C_lift_abs",
            "A_vs_C_lift_rel",
            "A_vs_C_lift_ci_low",
            "A_vs_C_p_value",
            "A_vs_C_p_adj",
            "B_vs_C_lift_abs",
            "verdict_winner",
            "verdict_reason",
        ):
            assert key in d
        assert d["A_vs_C_p_value_fisher"] is None  # NaN becomes None

    def test_analysis_is_frozen_and_asdict_friendly(self, table):
        from dataclasses import FrozenInstanceError, asdict

        res = analyse(table, weights=WEIGHTS)
        assert asdict(res)["verdict"]["winner"] == res.verdict.winner
        with pytest.raises(FrozenInstanceError):
            res.alpha = 0.1  # type: ignore[misc]

    def test_contract_errors_raise(self, table):
        with pytest.raises(DataError, match="'group'.*'D'"):
            analyse(table.assign(group="D"), weights=WEIGHTS)
        with pytest.raises(DataError, match="'converted'"):
            analyse(table.drop(columns="converted"), weights=WEIGHTS)
        with pytest.raises(ConfigError, match="correction"):
            analyse(table, weights=WEIGHTS, correction="bonferroni")  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="alpha"):
            analyse(table, weights=WEIGHTS, alpha=1.5)


class TestEdgeCases:
    def test_empty_arm(self, make_table):
        res = analyse(make_table({"B": (500, 60), "C": (500, 50)}), weights=WEIGHTS)
        d = res.to_dict()
        assert "'A' has no users" in d["A_vs_C_error"]
        assert d["A_vs_C_p_value"] is None and d["A_vs_C_lift_abs"] is None
        assert d["B_vs_C_p_value"] is not None
        assert "empty arm" in res.omnibus.note and res.omnibus.dof == 1
        json.dumps(d, allow_nan=False)

    def test_zero_conversions_everywhere(self, make_table):
        res = analyse(make_table({"A": (300, 0), "B": (300, 0), "C": (300, 0)}), weights=WEIGHTS)
        d = res.to_dict()
        assert "no conversions" in d["omnibus_error"]
        assert "no conversions" in d["A_vs_C_error"] and d["A_vs_C_p_value"] is None
        assert "zero variance" in d["A_vs_C_revenue_error"]
        assert res.verdict.winner == INCONCLUSIVE and "no conversions" in res.verdict.reason
        json.dumps(d, allow_nan=False)

    def test_zero_variance_revenue(self, make_table):
        table = make_table({"A": (300, 30), "B": (300, 40), "C": (300, 30)}).assign(revenue=0.0)
        d = analyse(table, weights=WEIGHTS).to_dict()
        assert "zero variance" in d["B_vs_C_revenue_error"]
        assert d["B_vs_C_revenue_welch_p_value"] is None
        assert d["B_vs_C_p_value"] is not None  # conversion is still tested

    def test_control_not_configured(self, make_table):
        res = analyse(
            make_table({"A": (300, 30), "B": (300, 40), "C": (300, 30)}),
            weights=WEIGHTS,
            control="D",
        )
        d = res.to_dict()
        assert "'D'" in d["error"] and "'D'" in d["A_vs_D_error"]
        assert res.verdict.winner == INCONCLUSIVE
        json.dumps(d, allow_nan=False)

    def test_control_without_users(self, make_table):
        res = analyse(make_table({"A": (300, 30), "B": (300, 40)}), weights=WEIGHTS)
        assert all("'C' has no users" in c.conversion.error for c in res.comparisons)
        assert res.verdict.winner == INCONCLUSIVE

    def test_too_few_users_for_srm(self, make_table):
        res = analyse(make_table({"A": (3, 1), "B": (4, 2), "C": (3, 1)}), weights=WEIGHTS)
        assert res.srm.assessable is False and res.srm.flag is None
        assert "not assessable" in res.srm.note
        assert res.comparisons[0].conversion.fisher_used
        assert res.verdict.winner == NO_DIFFERENCE

    def test_empty_table(self, make_table):
        empty = make_table({"A": (0, 0)})
        res = analyse(empty, weights=WEIGHTS)
        assert res.srm.assessable is False and res.omnibus.error
        assert res.verdict.winner == INCONCLUSIVE
        json.dumps(res.to_dict(), allow_nan=False)
