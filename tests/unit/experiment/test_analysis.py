"""The whole analysis: SRM, omnibus, the comparison families, net value, triggered B vs A,
regression adjustment, revenue capping, guardrails and edge cases; figures against
scipy/statsmodels on the same numbers."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, asdict

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats import rates
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from traveltide.errors import ConfigError, DataError
from traveltide.experiment.analysis import analyse, comparison_pairs
from traveltide.experiment.means import adjusted_test
from traveltide.experiment.verdict import INCONCLUSIVE, NO_DIFFERENCE

WEIGHTS = {"A": 1.0, "B": 1.0, "C": 1.0}
COUNTS = {"A": (3000, 345), "B": (2950, 380), "C": (3050, 310)}
PAIRS = [("A", "C"), ("B", "C"), ("B", "A")]


@pytest.fixture(scope="module")
def table(make_table) -> pd.DataFrame:
    return make_table(COUNTS, seed=3)


def test_comparison_pairs():
    assert comparison_pairs(["A", "B", "C"], control="C") == PAIRS
    assert comparison_pairs(["A", "B", "C"], direct=False) == [("A", "C"), ("B", "C")]


class TestAnalyse:
    def test_srm_and_omnibus_match_scipy(self, table):
        res = analyse(table, weights=WEIGHTS)
        n = [v[0] for v in COUNTS.values()]
        srm = stats.chisquare(n, [sum(n) / 3] * 3)
        omni = stats.chi2_contingency([[x, n - x] for n, x in COUNTS.values()], correction=False)
        assert res.srm.p_value == pytest.approx(srm.pvalue)
        assert res.srm.statistic == pytest.approx(srm.statistic)
        assert res.srm.flag is False and res.srm.assessable is True
        assert res.omnibus.p_value == pytest.approx(omni.pvalue)
        assert res.omnibus.statistic == pytest.approx(omni.statistic) and res.omnibus.dof == 2

    @pytest.mark.parametrize("method", ["holm", "fdr_bh"])
    def test_conversion_family(self, table, method):
        """One family: A vs C, B vs C and the direct B vs A, adjusted together."""
        res = analyse(table, weights=WEIGHTS, correction=method, metric="conversion")
        assert [c.name for c in res.all_comparisons] == ["A_vs_C", "B_vs_C", "B_vs_A"]
        raw = [
            proportions_ztest([COUNTS[t][1], COUNTS[c][1]], [COUNTS[t][0], COUNTS[c][0]])[1]
            for t, c in PAIRS
        ]
        _, adjusted, _, _ = multipletests(raw, alpha=0.05, method=method)
        for c, p, p_adj in zip(res.all_comparisons, raw, adjusted, strict=True):
            (nt, xt), (nc, xc) = COUNTS[c.treatment], COUNTS[c.control]
            low, high = confint_proportions_2indep(xt, nt, xc, nc, method="newcomb")
            assert c.conversion.p_value == pytest.approx(p)
            assert c.p_adj == pytest.approx(p_adj) == pytest.approx(c.decision.p_adj)
            assert c.conversion.lift_abs == pytest.approx(xt / nt - xc / nc)
            assert (c.conversion.lift_ci_low, c.conversion.lift_ci_high) == pytest.approx(
                (low, high)
            )
            assert c.significant == bool(p_adj < 0.05) == c.decision.significant

    def test_revenue_and_net_value_families_match_scipy(self, table):
        costs = {"p1": 20.0, "p2": 60.0}
        perked = table.assign(perk=np.where(table.index % 2 == 0, "p1", "p2"))
        res = analyse(perked, weights=WEIGHTS, costs=costs)
        cost = np.where(perked["converted"], perked["perk"].map(costs), 0.0)
        net = perked.assign(net=perked["revenue"] - cost)
        rev = {g: r.to_numpy() for g, r in net.groupby("group")["revenue"]}
        val = {g: r.to_numpy() for g, r in net.groupby("group")["net"]}
        welch = [stats.ttest_ind(rev[t], rev[c], equal_var=False).pvalue for t, c in PAIRS]
        net_p = [stats.ttest_ind(val[t], val[c], equal_var=False).pvalue for t, c in PAIRS]
        rev_adj, net_adj = (multipletests(p, method="holm")[1] for p in (welch, net_p))
        for i, c in enumerate(res.all_comparisons):
            t, b = c.treatment, c.control
            mw = stats.mannwhitneyu(rev[t], rev[b], alternative="two-sided")
            assert c.revenue.welch_p_value == pytest.approx(welch[i])
            assert c.revenue_p_adj == pytest.approx(rev_adj[i])
            assert c.revenue.mw_p_value == pytest.approx(mw.pvalue)
            assert c.net_value.diff == pytest.approx(val[t].mean() - val[b].mean())
            assert c.net_value.welch_p_value == pytest.approx(net_p[i])
            assert c.net_value_p_adj == pytest.approx(net_adj[i])
            assert c.decision.metric == "net_value"
            assert c.decision.p_adj == pytest.approx(net_adj[i])  # no covariates: Welch
        arm = {a.group: a for a in res.arms}
        assert arm["A"].net_value_mean == pytest.approx(val["A"].mean())
        assert arm["A"].cost_mean == pytest.approx(cost[perked["group"] == "A"].mean())
        paid = perked[(perked["group"] == "B") & perked["converted"]]["revenue"]
        assert arm["B"].revenue_per_converter == pytest.approx(paid.mean())

    def test_regression_adjustment_drives_the_decision(self, table):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(len(table), 2)) + table["revenue"].to_numpy()[:, None] / 300
        res = analyse(table, weights=WEIGHTS, metric="revenue", covariates=x)
        for c in res.all_comparisons:
            t = (table["group"] == c.treatment).to_numpy()
            b = (table["group"] == c.control).to_numpy()
            y = table["revenue"].to_numpy()
            direct = adjusted_test(y[t], y[b], x[t], x[b])
            assert c.adjusted["revenue"].p_value == pytest.approx(direct.p_value)
            assert c.decision.adjusted and c.decision.p_value == pytest.approx(direct.p_value)
            assert c.adjusted["revenue"].variance_reduction > 0.1
        with pytest.raises(DataError, match="covariates"):
            analyse(table, weights=WEIGHTS, covariates=x[:10])

    def test_too_few_users_to_adjust_falls_back_to_the_unadjusted_test(self, make_table):
        small = make_table({"A": (25, 5), "B": (25, 6), "C": (25, 4)})
        x = np.random.default_rng(1).normal(size=(75, 2))
        c = analyse(small, weights=WEIGHTS, metric="revenue", covariates=x).comparisons[0]
        assert "too few users" in c.adjusted["revenue"].error
        assert not c.decision.adjusted
        assert c.decision.p_value == pytest.approx(c.revenue.welch_p_value)

    def test_triggered_b_vs_a(self, table):
        """B vs A on the users whose perks differ is in the family; the all-users B vs A is
        reported beside it."""
        trig = table.assign(triggered=table.index % 4 == 0)
        res = analyse(trig, weights=WEIGHTS, metric="conversion")
        (direct,), (beside,) = res.direct, res.beside
        assert (direct.name, direct.in_family) == ("B_vs_A_triggered", True)
        assert (beside.name, beside.in_family) == ("B_vs_A", False)
        on = trig[trig["triggered"]]
        n = on.groupby("group")["converted"].agg(["sum", "size"])
        _, p = proportions_ztest(n.loc[["B", "A"], "sum"], n.loc[["B", "A"], "size"])
        assert direct.conversion.p_value == pytest.approx(p)
        raw = [c.conversion.p_value for c in res.comparisons] + [p]
        assert direct.p_adj == pytest.approx(multipletests(raw, method="holm")[1][2])
        assert np.isnan(beside.p_adj) and not beside.significant

    def test_exposure_adjusted_rates(self, table):
        days = np.random.default_rng(2).uniform(1, 30, len(table))
        res = analyse(table.assign(exposure_days=days), weights=WEIGHTS)
        c = res.comparisons[1]  # B vs C
        on = {g: (table["group"] == g).to_numpy() for g in "BC"}
        x = {g: int(table["converted"][on[g]].sum()) for g in "BC"}
        e = {g: float(days[on[g]].sum()) for g in "BC"}
        test = rates.test_poisson_2indep(x["B"], e["B"], x["C"], e["C"], method="score")
        low, high = rates.confint_poisson_2indep(x["B"], e["B"], x["C"], e["C"], method="score")
        assert c.exposure.p_value == pytest.approx(test.pvalue)
        assert (c.exposure.ci_low, c.exposure.ci_high) == pytest.approx((low, high))
        assert c.exposure.rate_treatment == pytest.approx(1000 * x["B"] / e["B"])

    def test_revenue_is_capped_at_the_pooled_quantile(self, table):
        res = analyse(table, weights=WEIGHTS, cap_quantile=0.9)
        paid = table.loc[table["converted"], "revenue"]
        assert res.revenue_cap == pytest.approx(np.quantile(paid, 0.9))
        assert res.revenue_capped == int((paid > res.revenue_cap).sum())
        capped = table["revenue"].clip(upper=res.revenue_cap)
        assert res.arms[0].revenue_mean == pytest.approx(capped[table["group"] == "A"].mean())
        with pytest.raises(ConfigError, match="revenue_cap"):
            analyse(table, weights=WEIGHTS, cap_quantile=0.2)

    def test_guardrails(self, table):
        cancelled = table["converted"] & (table["group"] == "B") & (table.index % 2 == 0)
        costly = table.assign(cancelled=cancelled.to_numpy(), perk="p")
        res = analyse(
            costly,
            weights=WEIGHTS,
            costs={"p": 200.0},
            max_cancellation_increase=0.02,
            min_margin=0.5,
        )
        rails = {(g.arm, g.metric): g for g in res.guardrails}
        assert rails["B", "cancellation_increase"].failing  # half of B's bookings cancelled
        assert not rails["A", "cancellation_increase"].failing
        assert rails["A", "margin"].failing  # a 200 USD perk on ~300 USD bookings
        assert rails["A", "margin"].value == pytest.approx(
            1 - 200 * COUNTS["A"][1] / table.loc[table["group"] == "A", "revenue"].sum()
        )

    def test_analysis_is_frozen_and_asdict_friendly(self, table):
        res = analyse(table, weights=WEIGHTS)
        assert asdict(res)["verdict"]["winner"] == res.verdict.winner
        with pytest.raises(FrozenInstanceError):
            res.alpha = 0.1  # type: ignore[misc]

    def test_contract_errors_raise(self, table):
        with pytest.raises(DataError, match="'group'.*'D'"):
            analyse(table.assign(group="D"), weights=WEIGHTS)
        with pytest.raises(DataError, match="'converted'"):
            analyse(table.drop(columns="converted"), weights=WEIGHTS)
        with pytest.raises(DataError, match="'perk'"):
            analyse(table, weights=WEIGHTS, costs={"p": 1.0})
        with pytest.raises(DataError, match="no rows"):
            analyse(table.iloc[:0], weights=WEIGHTS)
        with pytest.raises(ConfigError, match="correction"):
            analyse(table, weights=WEIGHTS, correction="bonferroni")  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="alpha"):
            analyse(table, weights=WEIGHTS, alpha=1.5)
        with pytest.raises(ConfigError, match="metric"):
            analyse(table, weights=WEIGHTS, metric="profit")


class TestEdgeCases:
    def test_empty_arm(self, make_table):
        res = analyse(make_table({"B": (500, 60), "C": (500, 50)}), weights=WEIGHTS)
        a_vs_c = res.comparisons[0]
        assert "'A' has no users" in a_vs_c.conversion.error
        assert np.isnan(a_vs_c.conversion.p_value) and np.isfinite(res.comparisons[1].p_adj)
        assert "empty arm" in res.omnibus.note and res.omnibus.dof == 1

    def test_zero_conversions_everywhere(self, make_table):
        res = analyse(
            make_table({"A": (300, 0), "B": (300, 0), "C": (300, 0)}),
            weights=WEIGHTS,
            metric="conversion",
        )
        assert "no conversions" in res.omnibus.error
        assert "no conversions" in res.comparisons[0].conversion.error
        assert "zero variance" in res.comparisons[0].revenue.error
        assert res.verdict.winner == INCONCLUSIVE and "no conversions" in res.verdict.reason

    def test_zero_variance_revenue(self, make_table):
        table = make_table({"A": (300, 30), "B": (300, 40), "C": (300, 30)}).assign(revenue=0.0)
        c = analyse(table, weights=WEIGHTS).comparisons[1]
        assert "zero variance" in c.revenue.error and np.isnan(c.revenue.welch_p_value)
        assert np.isfinite(c.conversion.p_value)  # conversion is still tested

    def test_control_without_users(self, make_table):
        res = analyse(make_table({"A": (300, 30), "B": (300, 40)}), weights=WEIGHTS)
        assert all("'C' has no users" in c.conversion.error for c in res.comparisons)
        assert res.verdict.winner == INCONCLUSIVE

    def test_too_few_users_for_srm(self, make_table):
        res = analyse(
            make_table({"A": (3, 1), "B": (4, 2), "C": (3, 1)}),
            weights=WEIGHTS,
            metric="conversion",
        )
        assert res.srm.assessable is False and res.srm.flag is None
        assert "not assessable" in res.srm.note
        assert res.comparisons[0].conversion.fisher_used
        assert res.verdict.winner == NO_DIFFERENCE
