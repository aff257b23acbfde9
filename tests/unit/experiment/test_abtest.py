"""Tests of the A/B engine: every figure against scipy/statsmodels computed here directly."""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)

from traveltide.errors import ConfigError, DataError
from traveltide.experiment import abtest as ab

WEIGHTS = {"A": 1.0, "B": 1.0, "C": 1.0}
PERKS = np.array(["p1", "p2", "p3", "p4", "p5"])


def make_table(counts: dict[str, tuple[int, int]], *, seed: int = 0) -> pd.DataFrame:
    """Rows with exact (n, conversions) per arm; converters get lognormal revenue."""
    rng = np.random.default_rng(seed)
    parts, start = [], 0
    for arm, (n, x) in counts.items():
        converted = np.zeros(n, dtype=bool)
        converted[:x] = True
        rng.shuffle(converted)
        revenue = np.where(converted, rng.lognormal(5.7, 0.3, n), 0.0)
        parts.append(
            pd.DataFrame(
                {
                    "user_id": np.arange(start, start + n),
                    "group": arm,
                    "converted": converted,
                    "revenue": revenue,
                }
            )
        )
        start += n
    return pd.concat(parts, ignore_index=True)


def arm(group: str, n: int, x: int) -> ab.ArmStats:
    return ab.ArmStats(group, n, x, math.nan, math.nan)


# --------------------------------------------------------------------------- assignment


class TestAssignGroups:
    def test_matches_documented_hash(self):
        ids = [1, 22, 333, 4444, 55555]
        got = ab.assign_groups(ids, weights={"B": 1, "A": 3}, seed=9)
        for uid, group in zip(ids, got, strict=True):
            digest = hashlib.blake2b(f"9:{uid}".encode(), digest_size=8).digest()
            u = ((int.from_bytes(digest, "big") >> 11) + 0.5) / 2**53
            assert group == ("A" if u < 0.75 else "B")  # arms cut in sorted name order

    def test_deterministic_and_order_free(self):
        ids = pd.Series(np.arange(10_000) * 3 + 5)
        first = ab.assign_groups(ids, weights=WEIGHTS, seed=42)
        again = ab.assign_groups(ids, weights=WEIGHTS, seed=42)
        shuffled = ids.sample(frac=1.0, random_state=1)
        moved = ab.assign_groups(shuffled, weights=WEIGHTS, seed=42)
        assert first.equals(again)
        assert moved.sort_index().equals(first)
        assert first.name == "group"

    def test_stable_when_users_are_added_or_removed(self):
        old = np.arange(5_000)
        grown = np.concatenate([np.arange(20_000, 25_000), old[::-1][:4_000]])
        before = pd.Series(ab.assign_groups(old, weights=WEIGHTS, seed=3).to_numpy(), index=old)
        after = pd.Series(ab.assign_groups(grown, weights=WEIGHTS, seed=3).to_numpy(), index=grown)
        common = after.index.intersection(before.index)
        assert len(common) == 4_000
        assert (before[common] == after[common]).all()

    def test_seed_changes_assignment(self):
        ids = np.arange(2_000)
        a = ab.assign_groups(ids, weights=WEIGHTS, seed=1)
        b = ab.assign_groups(ids, weights=WEIGHTS, seed=2)
        assert 0.5 < (a != b).mean() < 0.8  # independent draws disagree ~2/3 of the time

    def test_weights_respected(self):
        got = ab.assign_groups(np.arange(200_000), weights={"A": 1, "B": 2, "C": 1}, seed=7)
        share = got.value_counts(normalize=True)
        assert share["A"] == pytest.approx(0.25, abs=0.005)
        assert share["B"] == pytest.approx(0.50, abs=0.005)
        assert share["C"] == pytest.approx(0.25, abs=0.005)

    def test_string_ids_and_float_ids(self):
        as_int = ab.assign_groups([10, 11, 12], weights=WEIGHTS, seed=0)
        as_float = ab.assign_groups(pd.Series([10.0, 11.0, 12.0]), weights=WEIGHTS, seed=0)
        as_text = ab.assign_groups(["10", "11", "12"], weights=WEIGHTS, seed=0)
        assert as_int.tolist() == as_float.tolist() == as_text.tolist()

    def test_stratified_balances_each_stratum(self):
        sizes = {"s7": 7, "s100": 100, "s1001": 1001, "s2": 2}
        strata = pd.Series(np.repeat(list(sizes), list(sizes.values())))
        ids = np.arange(len(strata))
        w = {"A": 1, "B": 2, "C": 1}
        got = ab.assign_groups(ids, weights=w, seed=5, strata=strata)
        table = pd.crosstab(strata, got)
        for stratum, n in sizes.items():
            for group, weight in w.items():
                count = table.loc[stratum].get(group, 0)
                assert abs(count - n * weight / 4) <= 1, (stratum, group, count)

    def test_stratified_marginals_are_unbiased(self):
        n = 30_000
        got = ab.assign_groups(
            np.arange(n), weights=WEIGHTS, seed=11, strata=pd.Series(np.arange(n))
        )  # every stratum of size 1
        share = got.value_counts(normalize=True)
        for group in WEIGHTS:
            assert share[group] == pytest.approx(1 / 3, abs=0.015)

    @pytest.mark.parametrize(
        ("weights", "needle"),
        [
            ({}, "weights"),
            ({"A": 0.0}, "weights.A"),
            ({"A": -1, "B": 1}, "weights.A"),
            ({"A": 1, "B": "x"}, "weights.B"),
            ({"": 1.0}, "weights"),
            ({"A": math.nan}, "weights.A"),
            ({"A": True}, "weights.A"),
            ([1, 2], "weights"),
        ],
    )
    def test_bad_weights_name_the_param(self, weights, needle):
        with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
            ab.assign_groups([1, 2], weights=weights, seed=0)

    def test_duplicate_or_missing_ids_are_data_errors(self):
        with pytest.raises(DataError, match=r"'user_id'.*rows 2, 4"):
            ab.assign_groups([1, 2, 3, 2], weights=WEIGHTS, seed=0)
        with pytest.raises(DataError, match=r"'user_id'.*row 2"):
            ab.assign_groups(pd.Series([1.0, np.nan]), weights=WEIGHTS, seed=0)

    def test_strata_length_mismatch(self):
        with pytest.raises(ConfigError, match="strata"):
            ab.assign_groups([1, 2, 3], weights=WEIGHTS, seed=0, strata=pd.Series(["x"]))


# --------------------------------------------------------------------------- simulation


MODEL = ab.ResponseModel(
    base_rate=0.10, fit_lift=0.06, any_perk_lift=0.02, revenue_mean=320.0, revenue_sd=90.0, seed=4
)


def sim_table(n: int) -> pd.DataFrame:
    """A third no perk (None / "none" / NaN), a third fitting perk, a third unfitting perk."""
    ids = np.arange(n)
    fit = PERKS[ids % 5]
    kind = ids % 3
    perk = np.where(kind == 1, fit, PERKS[(ids + 1) % 5]).astype(object)
    nothing = np.array([None, "none", np.nan], dtype=object)[(ids // 3) % 3]
    perk[kind == 0] = nothing[kind == 0]
    return pd.DataFrame(
        {"user_id": ids, "group": np.array(["C", "B", "A"])[kind], "perk": perk, "fit_perk": fit}
    )


class TestSimulateOutcomes:
    def test_rates_follow_the_model(self):
        out = ab.simulate_outcomes(sim_table(90_000), model=MODEL)
        expected = {
            "C": MODEL.base_rate - MODEL.any_perk_lift,  # no perk
            "B": MODEL.base_rate + MODEL.fit_lift,  # fitting perk
            "A": MODEL.base_rate,
        }  # unfitting perk
        for group, p in expected.items():
            rate = out.loc[out.group == group, "converted"].mean()
            assert abs(rate - p) < 4 * math.sqrt(p * (1 - p) / 30_000), group

    def test_revenue_zero_unless_converted_and_moments(self):
        out = ab.simulate_outcomes(sim_table(90_000), model=MODEL)
        assert (out.loc[~out.converted, "revenue"] == 0).all()
        paid = out.loc[out.converted, "revenue"]
        assert (paid > 0).all()
        assert paid.mean() == pytest.approx(MODEL.revenue_mean, rel=0.02)
        assert paid.std() == pytest.approx(MODEL.revenue_sd, rel=0.08)

    def test_deterministic_row_order_free_and_seeded(self):
        table = sim_table(3_000)
        a = ab.simulate_outcomes(table, model=MODEL)
        b = ab.simulate_outcomes(table.sample(frac=1.0, random_state=2), model=MODEL)
        c = ab.simulate_outcomes(table, model=MODEL, seed=MODEL.seed + 1)
        assert a.equals(ab.simulate_outcomes(table, model=MODEL))
        assert a.equals(b.sort_index())
        assert not a["converted"].equals(c["converted"])
        assert "converted" not in table.columns  # the input is not mutated

    def test_noise_keeps_mean_rate(self):
        noisy = ab.ResponseModel(0.3, 0.0, 0.0, 100.0, 0.0, noise_sd=0.1, seed=1)
        out = ab.simulate_outcomes(sim_table(60_000).assign(perk="p1"), model=noisy)
        assert out.converted.mean() == pytest.approx(0.3, abs=0.01)
        assert set(out.loc[out.converted, "revenue"]) == {100.0}  # sd 0: constant revenue

    def test_missing_column(self):
        with pytest.raises(DataError, match="fit_perk"):
            ab.simulate_outcomes(sim_table(10).drop(columns="fit_perk"), model=MODEL)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("base_rate", 1.5),
            ("revenue_mean", 0.0),
            ("revenue_sd", -1.0),
            ("noise_sd", -0.1),
            ("fit_lift", "x"),
            ("seed", 1.5),
        ],
    )
    def test_bad_model(self, field, value):
        kwargs = dict(
            base_rate=0.1, fit_lift=0.06, any_perk_lift=0.02, revenue_mean=320.0, revenue_sd=90.0
        )
        kwargs[field] = value
        with pytest.raises(ConfigError, match=field):
            ab.ResponseModel(**kwargs)


# --------------------------------------------------------------------------- validation


def good_results() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": np.arange(1, 11),
            "group": list("ABCABCABCA"),
            "converted": [True, False] * 5,
            "revenue": [100.0, 0.0] * 5,
        }
    )


def _set(column, positions, value):
    def mutate(df):
        df = df.copy()
        df[column] = df[column].astype(object)
        for p in positions:
            df.loc[p, column] = value
        return df

    return mutate


class TestLoadOutcomes:
    def test_valid_file_is_typed(self):
        raw = good_results().assign(converted=[1, 0] * 5, extra="x")
        out = ab.load_outcomes(raw, known_users=range(1, 20), groups=WEIGHTS)
        assert list(out.columns) == list(ab.RESULT_COLUMNS)
        assert out["converted"].dtype == bool
        assert out["revenue"].dtype == float
        assert out["converted"].sum() == 5

    @pytest.mark.parametrize(
        ("mutate", "column", "rows"),
        [
            (_set("user_id", [3], 2), "'user_id'", "rows 2, 4"),
            (_set("user_id", [5], 999), "'user_id'", "row 6"),
            (_set("group", [2, 8], "D"), "'group'", "rows 3, 9"),
            (_set("revenue", [7], np.nan), "'revenue'", "row 8"),
            (_set("group", [0], None), "'group'", "row 1"),
            (_set("converted", [1], "maybe"), "'converted'", "row 2"),
            (_set("revenue", [4], "abc"), "'revenue'", "row 5"),
            (_set("revenue", [2], -5.0), "'revenue'", "row 3"),
            (_set("revenue", [1, 3], 50.0), "'revenue'", "rows 2, 4"),
            (_set("group", list(range(7)), "Z"), "'group'", "rows 1, 2, 3, 4, 5 and 2 more"),
        ],
        ids=[
            "duplicate",
            "unknown-user",
            "unknown-group",
            "missing-revenue",
            "missing-group",
            "not-bool",
            "not-numeric",
            "negative",
            "revenue-unconverted",
            "many-rows",
        ],
    )
    def test_bad_rows_are_named_in_one_line(self, mutate, column, rows):
        with pytest.raises(DataError) as info:
            ab.load_outcomes(mutate(good_results()), known_users=range(1, 11), groups=WEIGHTS)
        message = str(info.value)
        assert column in message and rows in message and "\n" not in message

    def test_message_names_the_file_and_plain_values(self):
        bad = good_results()
        bad.loc[[3, 8], "user_id"] = [998, 999]  # stays int64: numpy scalars in the message
        with pytest.raises(DataError) as info:
            ab.load_outcomes(bad, known_users=range(1, 11), groups=WEIGHTS, what="results.csv")
        assert str(info.value) == (
            "results.csv column 'user_id': 2 unknown user(s), not in the cohort (e.g. 998) "
            "at rows 4, 9"
        )

    def test_missing_column(self):
        with pytest.raises(DataError, match="'revenue'"):
            ab.load_outcomes(
                good_results().drop(columns="revenue"), known_users=range(11), groups=WEIGHTS
            )

    def test_empty(self):
        with pytest.raises(DataError, match="no rows"):
            ab.load_outcomes(good_results().iloc[:0], known_users=range(11), groups=WEIGHTS)


# --------------------------------------------------------------------------- statistics


class TestConversionTest:
    def test_matches_statsmodels(self):
        res = ab.conversion_test(arm("B", 1500, 210), arm("C", 1450, 160), alpha=0.1)
        z, p = proportions_ztest([210, 160], [1500, 1450])
        low, high = confint_proportions_2indep(210, 1500, 160, 1450, method="newcomb", alpha=0.1)
        assert res.z_statistic == pytest.approx(z)
        assert res.p_value == res.p_value_z == pytest.approx(p)
        assert (res.lift_ci_low, res.lift_ci_high) == pytest.approx((low, high))
        assert res.lift_abs == pytest.approx(210 / 1500 - 160 / 1450)
        assert not res.fisher_used and math.isnan(res.p_value_fisher)

    def test_delta_method_relative_ci(self):
        pt, pc, nt, nc = 210 / 1500, 160 / 1450, 1500, 1450
        res = ab.conversion_test(arm("B", nt, 210), arm("C", nc, 160))
        se = math.sqrt(pt * (1 - pt) / nt / pc**2 + pt**2 * pc * (1 - pc) / nc / pc**4)
        assert res.lift_rel == pytest.approx(pt / pc - 1)
        assert res.lift_rel_ci_low == pytest.approx(pt / pc - 1 - 1.959963984540054 * se)
        assert res.lift_rel_ci_high == pytest.approx(pt / pc - 1 + 1.959963984540054 * se)

    def test_delta_method_coverage(self):
        rng = np.random.default_rng(8)
        n, pc, pt = 5_000, 0.10, 0.12
        xt, xc = rng.binomial(n, pt, 2_000), rng.binomial(n, pc, 2_000)
        hits = [
            (r := ab.conversion_test(arm("T", n, a), arm("C", n, b))).lift_rel_ci_low
            <= pt / pc - 1
            <= r.lift_rel_ci_high
            for a, b in zip(xt, xc, strict=True)
        ]
        assert 0.93 <= np.mean(hits) <= 0.97

    def test_fisher_when_expected_cell_small(self):
        res = ab.conversion_test(arm("A", 15, 2), arm("C", 16, 7))
        fisher = stats.fisher_exact([[2, 13], [7, 9]])
        assert res.fisher_used
        assert res.p_value == res.p_value_fisher == pytest.approx(fisher.pvalue)
        assert res.p_value_z == pytest.approx(proportions_ztest([2, 7], [15, 16])[1])

    def test_zero_control_rate(self):
        res = ab.conversion_test(arm("A", 100, 5), arm("C", 100, 0))
        assert math.isnan(res.lift_rel) and "relative lift undefined" in res.note
        assert math.isfinite(res.p_value)

    @pytest.mark.parametrize(
        ("t", "c", "needle"),
        [
            (arm("A", 0, 0), arm("C", 10, 2), "'A' has no users"),
            (arm("A", 10, 2), arm("C", 0, 0), "'C' has no users"),
            (arm("A", 10, 0), arm("C", 10, 0), "no conversions"),
            (arm("A", 10, 10), arm("C", 10, 10), "every user converted"),
        ],
    )
    def test_degenerate(self, t, c, needle):
        res = ab.conversion_test(t, c)
        assert needle in res.error
        assert math.isnan(res.p_value) and math.isnan(res.lift_abs)


class TestRevenueTest:
    def test_matches_scipy(self):
        rng = np.random.default_rng(1)
        t = np.where(rng.random(800) < 0.15, rng.lognormal(5.7, 0.3, 800), 0.0)
        c = np.where(rng.random(700) < 0.12, rng.lognormal(5.7, 0.3, 700), 0.0)
        res = ab.revenue_test(t, c, alpha=0.1)
        welch = stats.ttest_ind(t, c, equal_var=False)
        ci = welch.confidence_interval(confidence_level=0.9)
        mw = stats.mannwhitneyu(t, c, alternative="two-sided")
        assert res.revenue_welch_t == pytest.approx(welch.statistic)
        assert res.revenue_welch_p_value == pytest.approx(welch.pvalue)
        assert (res.revenue_diff_ci_low, res.revenue_diff_ci_high) == pytest.approx(
            (ci.low, ci.high)
        )
        assert res.revenue_mw_u == pytest.approx(mw.statistic)
        assert res.revenue_mw_p_value == pytest.approx(mw.pvalue)
        assert res.revenue_diff == pytest.approx(t.mean() - c.mean())

    def test_all_equal_revenue(self):
        res = ab.revenue_test(np.zeros(50), np.zeros(40))
        assert "zero variance" in res.revenue_error
        assert math.isnan(res.revenue_welch_p_value) and math.isnan(res.revenue_mw_p_value)

    def test_constant_within_arms(self):
        res = ab.revenue_test(np.full(30, 5.0), np.full(30, 3.0))
        assert "Welch t undefined" in res.revenue_error
        assert math.isnan(res.revenue_welch_p_value)
        mw = stats.mannwhitneyu(np.full(30, 5.0), np.full(30, 3.0), alternative="two-sided")
        assert res.revenue_mw_p_value == pytest.approx(mw.pvalue)

    def test_too_small(self):
        assert "fewer than 2" in ab.revenue_test(np.array([1.0]), np.array([1.0, 2])).revenue_error


COUNTS = {"A": (3000, 345), "B": (2950, 380), "C": (3050, 310)}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return make_table(COUNTS, seed=3)


class TestAnalyse:
    def test_srm_and_omnibus_match_scipy(self, table):
        d = ab.analyse(table, weights=WEIGHTS).to_dict()
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
        d = ab.analyse(table, weights=WEIGHTS, correction=method, alpha=0.05).to_dict()
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
        res = ab.analyse(table, weights=WEIGHTS, direct=False)
        raw = [c.conversion.p_value for c in res.comparisons]
        _, adjusted, _, _ = multipletests(raw, method="holm")
        assert res.direct == () and "B_vs_A_p_value" not in res.to_dict()
        assert [c.p_adj for c in res.comparisons] == pytest.approx(list(adjusted))

    def test_revenue_family_matches_scipy(self, table):
        d = ab.analyse(table, weights=WEIGHTS).to_dict()
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
        d = ab.analyse(table, weights=WEIGHTS).to_dict()
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

        res = ab.analyse(table, weights=WEIGHTS)
        assert asdict(res)["verdict"]["winner"] == res.verdict.winner
        with pytest.raises(FrozenInstanceError):
            res.alpha = 0.1  # type: ignore[misc]

    def test_contract_errors_raise(self, table):
        with pytest.raises(DataError, match="'group'.*'D'"):
            ab.analyse(table.assign(group="D"), weights=WEIGHTS)
        with pytest.raises(DataError, match="'converted'"):
            ab.analyse(table.drop(columns="converted"), weights=WEIGHTS)
        with pytest.raises(ConfigError, match="correction"):
            ab.analyse(table, weights=WEIGHTS, correction="bonferroni")  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="alpha"):
            ab.analyse(table, weights=WEIGHTS, alpha=1.5)


def holm_p(counts: dict[str, tuple[int, int]]) -> dict[tuple[str, str], float]:
    """Holm-adjusted z-test p-values of A-C, B-C, B-A computed here with statsmodels."""
    pairs = [("A", "C"), ("B", "C"), ("B", "A")]
    raw = [
        proportions_ztest([counts[t][1], counts[c][1]], [counts[t][0], counts[c][0]])[1]
        for t, c in pairs
    ]
    return dict(zip(pairs, multipletests(raw, method="holm")[1], strict=True))


class TestVerdict:
    def test_clear_winner(self):
        counts = {"A": (4000, 440), "B": (4000, 640), "C": (4000, 400)}
        v = ab.analyse(make_table(counts), weights=WEIGHTS).verdict
        p = holm_p(counts)
        assert p["B", "C"] < 0.05 and p["B", "A"] < 0.05  # the premise, checked independently
        assert v.winner == "B"
        assert "B" in v.reason and "C" in v.reason and "above A" in v.reason
        assert v.reason.endswith(".")
        assert set(v.significant_arms) == {"B"}

    def test_both_beat_control_but_not_each_other_is_a_tie(self):
        counts = {"A": (4000, 600), "B": (4000, 640), "C": (4000, 400)}
        p = holm_p(counts)
        assert p["A", "C"] < 0.05 and p["B", "C"] < 0.05 and p["B", "A"] > 0.05
        v = ab.analyse(make_table(counts), weights=WEIGHTS).verdict
        assert v.winner == ab.TIE
        assert "B vs A" in v.reason and set(v.significant_arms) == {"A", "B"}

    def test_beating_control_alone_does_not_beat_the_other_treatment(self):
        """B beats C, A does not, but B vs A is not significant: no winner is claimed."""
        counts = {"A": (3000, 375), "B": (3000, 420), "C": (3000, 330)}
        p = holm_p(counts)
        assert p["B", "C"] < 0.05 and p["A", "C"] > 0.05 and p["B", "A"] > 0.05
        v = ab.analyse(make_table(counts), weights=WEIGHTS).verdict
        assert v.winner == ab.TIE and v.significant_arms == ("B",)
        assert "no treatment is shown to beat" in v.reason

    def test_winner_needs_the_direct_comparison(self):
        counts = {"A": (4000, 400), "B": (4000, 560), "C": (4000, 410)}
        table = make_table(counts)
        assert ab.analyse(table, weights=WEIGHTS).verdict.winner == "B"
        # the same data without the direct comparison prove nothing about B vs A
        assert ab.analyse(table, weights=WEIGHTS, direct=False).verdict.winner == ab.TIE

    def test_single_treatment_wins_against_control_alone(self):
        table = make_table({"B": (4000, 560), "C": (4000, 410)})
        v = ab.analyse(table, weights={"B": 1, "C": 1}).verdict
        assert v.winner == "B"

    def test_no_difference(self):
        v = ab.analyse(
            make_table({"A": (2000, 200), "B": (2000, 205), "C": (2000, 198)}), weights=WEIGHTS
        ).verdict
        assert v.winner == ab.NO_DIFFERENCE

    def test_control_wins_when_all_treatments_lose(self):
        v = ab.analyse(
            make_table({"A": (4000, 250), "B": (4000, 260), "C": (4000, 420)}), weights=WEIGHTS
        ).verdict
        assert v.winner == "C"

    def test_srm_makes_it_inconclusive(self):
        res = ab.analyse(
            make_table({"A": (3000, 300), "B": (3000, 600), "C": (2000, 200)}), weights=WEIGHTS
        )
        expected = stats.chisquare([3000, 3000, 2000], [8000 / 3] * 3).pvalue
        assert res.srm.flag is True and res.srm.p_value == pytest.approx(expected)
        assert res.verdict.winner == ab.INCONCLUSIVE and "ratio mismatch" in res.verdict.reason


class TestSRMAndOmnibus:
    def test_srm_flags_only_below_threshold(self):
        moderate = {"A": 1000, "B": 1000, "C": 1110}
        p = stats.chisquare(list(moderate.values()), [3110 / 3] * 3).pvalue
        assert 0.001 < p < 0.05  # "significant" but not an SRM at the 0.001 bar
        res = ab.srm_test(moderate, weights=WEIGHTS)
        assert res.p_value == pytest.approx(p) and res.flag is False
        assert ab.srm_test({"A": 1000, "B": 1000, "C": 1200}, weights=WEIGHTS).flag is True

    def test_srm_uses_unequal_weights(self):
        counts = {"A": 500, "B": 1000, "C": 480}
        res = ab.srm_test(counts, weights={"A": 1, "B": 2, "C": 1})
        expected = stats.chisquare([500, 1000, 480], [495, 990, 495])
        assert res.p_value == pytest.approx(expected.pvalue)
        assert res.expected == pytest.approx({"A": 495, "B": 990, "C": 495})

    def test_two_arm_omnibus_is_uncorrected_and_equals_z_squared(self):
        res = ab.omnibus_test([arm("B", 400, 60), arm("C", 420, 45)])
        direct = stats.chi2_contingency([[60, 340], [45, 375]], correction=False)
        z, _ = proportions_ztest([60, 45], [400, 420])
        assert res.p_value == pytest.approx(direct.pvalue)
        assert res.statistic == pytest.approx(z**2)
        assert res.dof == 1


class TestEdgeCases:
    def test_empty_arm(self):
        res = ab.analyse(make_table({"B": (500, 60), "C": (500, 50)}), weights=WEIGHTS)
        d = res.to_dict()
        assert "'A' has no users" in d["A_vs_C_error"]
        assert d["A_vs_C_p_value"] is None and d["A_vs_C_lift_abs"] is None
        assert d["B_vs_C_p_value"] is not None
        assert "empty arm" in res.omnibus.note and res.omnibus.dof == 1
        json.dumps(d, allow_nan=False)

    def test_zero_conversions_everywhere(self):
        res = ab.analyse(make_table({"A": (300, 0), "B": (300, 0), "C": (300, 0)}), weights=WEIGHTS)
        d = res.to_dict()
        assert "no conversions" in d["omnibus_error"]
        assert "no conversions" in d["A_vs_C_error"] and d["A_vs_C_p_value"] is None
        assert "zero variance" in d["A_vs_C_revenue_error"]
        assert res.verdict.winner == ab.INCONCLUSIVE and "no conversions" in res.verdict.reason
        json.dumps(d, allow_nan=False)

    def test_zero_variance_revenue(self):
        table = make_table({"A": (300, 30), "B": (300, 40), "C": (300, 30)}).assign(revenue=0.0)
        d = ab.analyse(table, weights=WEIGHTS).to_dict()
        assert "zero variance" in d["B_vs_C_revenue_error"]
        assert d["B_vs_C_revenue_welch_p_value"] is None
        assert d["B_vs_C_p_value"] is not None  # conversion is still tested

    def test_control_not_configured(self):
        res = ab.analyse(
            make_table({"A": (300, 30), "B": (300, 40), "C": (300, 30)}),
            weights=WEIGHTS,
            control="D",
        )
        d = res.to_dict()
        assert "'D'" in d["error"] and "'D'" in d["A_vs_D_error"]
        assert res.verdict.winner == ab.INCONCLUSIVE
        json.dumps(d, allow_nan=False)

    def test_control_without_users(self):
        res = ab.analyse(make_table({"A": (300, 30), "B": (300, 40)}), weights=WEIGHTS)
        assert all("'C' has no users" in c.conversion.error for c in res.comparisons)
        assert res.verdict.winner == ab.INCONCLUSIVE

    def test_too_few_users_for_srm(self):
        res = ab.analyse(make_table({"A": (3, 1), "B": (4, 2), "C": (3, 1)}), weights=WEIGHTS)
        assert res.srm.assessable is False and res.srm.flag is None
        assert "not assessable" in res.srm.note
        assert res.comparisons[0].conversion.fisher_used
        assert res.verdict.winner == ab.NO_DIFFERENCE

    def test_empty_table(self):
        empty = make_table({"A": (0, 0)})
        res = ab.analyse(empty, weights=WEIGHTS)
        assert res.srm.assessable is False and res.omnibus.error
        assert res.verdict.winner == ab.INCONCLUSIVE
        json.dumps(res.to_dict(), allow_nan=False)


# --------------------------------------------------------------------------- planning


class TestPowerAnalysis:
    def test_matches_normal_ind_power(self):
        plan = ab.power_analysis(
            {"A": 1200, "B": 900, "C": 1000}, control="C", baseline_rate=0.1, mde=0.03
        )
        h = proportion_effectsize(0.13, 0.10)
        for r in plan.comparisons:
            expected = NormalIndPower().power(
                h, nobs1=r.n_treatment, alpha=0.05, ratio=1000 / r.n_treatment
            )
            assert r.power == pytest.approx(expected)
            assert r.effect_size == pytest.approx(h)

    def test_mde_and_required_n_round_trip(self):
        plan = ab.power_analysis(
            {"A": 2000, "C": 2500}, baseline_rate=0.1, mde=0.2, mde_kind="relative", power=0.8
        )
        r = plan.comparisons[0]
        engine = NormalIndPower()
        ratio = 2500 / 2000
        h_mde = proportion_effectsize(0.1 + r.mde_abs, 0.1)
        assert engine.power(h_mde, nobs1=2000, alpha=0.05, ratio=ratio) == pytest.approx(
            0.8, abs=1e-4
        )
        h = proportion_effectsize(0.12, 0.1)
        assert engine.power(h, r.n_required_treatment, 0.05, ratio=ratio) >= 0.8
        assert engine.power(h, r.n_required_treatment - 1, 0.05, ratio=ratio) < 0.8
        assert r.mde_rel == pytest.approx(r.mde_abs / 0.1)

    def test_bonferroni_plan(self):
        plan = ab.power_analysis(
            dict(A=1000, B=1000, C=1000), baseline_rate=0.1, mde=0.03, correction="bonferroni"
        )
        assert plan.alpha_per_comparison == pytest.approx(0.025)
        h = proportion_effectsize(0.13, 0.10)
        assert plan.comparisons[0].power == pytest.approx(
            NormalIndPower().power(h, 1000, 0.025, ratio=1.0)
        )

    def test_pairs_include_the_direct_comparison(self):
        pairs = ab.comparison_pairs(["A", "B", "C"], control="C")
        assert pairs == [("A", "C"), ("B", "C"), ("B", "A")]
        plan = ab.power_analysis(
            {"A": 1200, "B": 900, "C": 1000},
            baseline_rate=0.11,
            mde=0.02,
            correction="bonferroni",
            pairs=pairs,
        )
        h = proportion_effectsize(0.13, 0.11)
        assert plan.alpha_per_comparison == pytest.approx(0.05 / 3)
        direct = plan.comparisons[2]
        assert (direct.treatment, direct.control) == ("B", "A")
        assert direct.power == pytest.approx(
            NormalIndPower().power(h, nobs1=900, alpha=0.05 / 3, ratio=1200 / 900)
        )
        assert plan.to_dict()["B_vs_A_power"] == pytest.approx(direct.power)

    def test_unknown_arm_in_pairs(self):
        plan = ab.power_analysis(
            {"A": 10, "C": 10}, baseline_rate=0.1, mde=0.02, pairs=[("B", "A")]
        )
        assert "'B'" in plan.error and plan.comparisons == ()

    def test_edge_cases_do_not_raise(self):
        missing = ab.power_analysis({"A": 10, "B": 10}, baseline_rate=0.1, mde=0.02)
        assert "'C'" in missing.error and missing.comparisons == ()
        empty = ab.power_analysis({"A": 0, "C": 10}, baseline_rate=0.1, mde=0.02)
        assert "'A' has no users" in empty.comparisons[0].error
        json.dumps(empty.to_dict(), allow_nan=False)
        assert empty.to_dict()["A_vs_C_power"] is None

    @pytest.mark.parametrize(
        ("kwargs", "needle"),
        [
            ({"baseline_rate": 0.0, "mde": 0.1}, "baseline_rate"),
            ({"baseline_rate": 0.1, "mde": -0.1}, "mde"),
            ({"baseline_rate": 0.9, "mde": 0.2}, "mde"),
            ({"baseline_rate": 0.1, "mde": 0.1, "alpha": 0.0}, "alpha"),
            ({"baseline_rate": 0.1, "mde": 0.1, "mde_kind": "ratio"}, "mde_kind"),
        ],
    )
    def test_bad_params(self, kwargs, needle):
        with pytest.raises(ConfigError, match=needle):
            ab.power_analysis({"A": 10, "C": 10}, **kwargs)

    def test_bad_sizes(self):
        with pytest.raises(ConfigError, match=r"n_per_arm\.A"):
            ab.power_analysis({"A": -1, "C": 10}, baseline_rate=0.1, mde=0.02)


# --------------------------------------------------------------------------- calibration


class TestCalibration:
    """Simulated experiments through the real test functions (counts drawn vectorised)."""

    def test_aa_conversion_false_positive_rate(self):
        rng = np.random.default_rng(2024)
        n, p, sims = 2_000, 0.1, 4_000
        xt, xc = rng.binomial(n, p, sims), rng.binomial(n, p, sims)
        pvals = np.array(
            [
                ab.conversion_test(arm("A", n, a), arm("C", n, b)).p_value
                for a, b in zip(xt, xc, strict=True)
            ]
        )
        assert np.isfinite(pvals).all()
        assert 0.035 <= (pvals < 0.05).mean() <= 0.065

    def test_aa_revenue_false_positive_rate(self):
        rng = np.random.default_rng(7)
        n, sims = 400, 1_500
        conv = rng.random((sims, 2, n)) < 0.15
        revenue = np.where(conv, rng.lognormal(5.7, 0.3, (sims, 2, n)), 0.0)
        pvals = np.array([ab.revenue_test(r[0], r[1]).revenue_welch_p_value for r in revenue])
        assert 0.035 <= (pvals < 0.05).mean() <= 0.065

    def test_aa_through_the_hashed_simulation(self):
        """1,000 A/A experiments drawn by the pipeline's own hash-based simulation."""
        ids = np.arange(2_000)
        table = pd.DataFrame(
            {
                "user_id": ids,
                "group": ab.assign_groups(ids, weights={"A": 1, "C": 1}, seed=1),
                "perk": "p1",
                "fit_perk": "p1",
            }
        )
        model = ab.ResponseModel(0.1, 0.05, 0.0, 300.0, 80.0)  # everyone fits: p = 0.15
        is_a = (table["group"] == "A").to_numpy()
        pvals = []
        for seed in range(1_000):
            converted = ab.simulate_outcomes(table, model=model, seed=seed)["converted"].to_numpy()
            a = arm("A", int(is_a.sum()), int(converted[is_a].sum()))
            c = arm("C", int((~is_a).sum()), int(converted[~is_a].sum()))
            pvals.append(ab.conversion_test(a, c).p_value)
        assert 0.035 <= np.mean(np.array(pvals) < 0.05) <= 0.065

    def test_aa_end_to_end_family_wise(self):
        ids = np.arange(3_000)
        table = pd.DataFrame(
            {
                "user_id": ids,
                "group": ab.assign_groups(ids, weights=WEIGHTS, seed=1),
                "perk": "p1",
                "fit_perk": "p2",
            }
        )
        model = ab.ResponseModel(0.1, 0.0, 0.0, 300.0, 80.0)
        wins = [
            ab.analyse(
                ab.simulate_outcomes(table, model=model, seed=s),
                weights=WEIGHTS,
                correction="fdr_bh",
            ).verdict.winner
            != ab.NO_DIFFERENCE
            for s in range(150)
        ]
        # Under the complete null BH controls the family-wise error at alpha, like Holm
        # (statsmodels' Holm branch calls gc.collect() per call: too slow for 150 runs).
        assert np.mean(wins) <= 0.10

    def test_simulated_power_matches_analytic(self):
        rng = np.random.default_rng(99)
        n, p0, p1, sims = 2_000, 0.10, 0.125, 2_000
        plan = ab.power_analysis({"B": n, "C": n}, baseline_rate=p0, mde=p1 - p0)
        xt, xc = rng.binomial(n, p1, sims), rng.binomial(n, p0, sims)
        pvals = np.array(
            [
                ab.conversion_test(arm("B", n, a), arm("C", n, b)).p_value
                for a, b in zip(xt, xc, strict=True)
            ]
        )
        analytic = NormalIndPower().power(proportion_effectsize(p1, p0), n, 0.05)
        assert plan.comparisons[0].power == pytest.approx(analytic)
        assert abs((pvals < 0.05).mean() - analytic) <= 0.05


# --------------------------------------------------------------------------- config


def _ab_params(**changes) -> dict:
    from traveltide.config import read_params

    params = read_params(ROOT / "params.yaml")
    block = params["ab_test"]
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        target = block
        for parent in parents:
            target = target[parent]
        target[key] = value
    return params


class TestABTestConfig:
    def test_shipped_params_are_valid(self):
        from traveltide.config import ABTestConfig

        config = ABTestConfig.from_params(_ab_params())
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
    def test_bad_values_name_the_key(self, change, needle):
        from traveltide.config import ABTestConfig

        with pytest.raises(ConfigError, match=r"^params\.yaml: " + needle.replace(".", r"\.")):
            ABTestConfig.from_params(_ab_params(**change))

    def test_missing_new_key_is_named(self):
        from traveltide.config import ABTestConfig

        params = _ab_params()
        del params["ab_test"]["plan"]["mde"]
        with pytest.raises(ConfigError, match=r"missing key ab_test\.plan\.mde"):
            ABTestConfig.from_params(params)


# --------------------------------------------------------------------------- the stage


ROOT = Path(__file__).resolve().parents[3]
STAGE_PATHS = ("features", "rules", "clusters", "personas", "campaign", "users", "arms", "metrics")
SIGNALS = {
    "no_cancellation_fees": "cancellation_rate",
    "exclusive_discounts": "bargain_hunter_index",
    "free_checked_bag": "avg_bags",
    "one_night_free_hotel_with_flight": "total_spend_usd",
    "free_hotel_meal": "avg_nights",
}


def _stage_module():
    spec = importlib.util.spec_from_file_location("ab_test_stage", ROOT / "stages/ab_test.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def stage_dir(tmp_path, monkeypatch) -> Path:
    """Tiny upstream outputs (rules, clusters, features) for the ab_test stage, run from there
    (ab_test.outcomes is relative to the repository root, where DVC runs the stage)."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(5)
    n = 900
    ids = np.arange(1000, 1000 + n) * 7
    seg = rng.choice(["s1", "s2", "s3"], n)
    clu = rng.integers(0, 4, n)
    seg_perk = {"s1": "free_hotel_meal", "s2": "free_checked_bag", "s3": "exclusive_discounts"}
    clu_perk = ["free_hotel_meal", "no_cancellation_fees", "exclusive_discounts", "free_hotel_meal"]
    data = tmp_path / "data"
    (data / "segments").mkdir(parents=True)
    (data / "campaign").mkdir()
    (data / "features").mkdir()
    pd.DataFrame({"user_id": ids, "segment": seg, "perk": [seg_perk[s] for s in seg]}).to_parquet(
        data / "segments/rules.parquet"
    )
    pd.DataFrame(
        {
            "user_id": ids[::-1],  # another order: the stage aligns by user_id
            "cluster": clu[::-1],
            "cluster_name": "c",
            "perk": [clu_perk[c] for c in clu[::-1]],
        }
    ).to_parquet(data / "segments/clusters.parquet")
    features = pd.DataFrame({"user_id": ids})
    for column in SIGNALS.values():
        features[column] = rng.lognormal(0, 1, n)
    features.to_parquet(data / "features/user_features.parquet")
    return tmp_path


def _paths(root: Path, out: str = "out") -> argparse.Namespace:
    names = {
        "features": "data/features/user_features.parquet",
        "rules": "data/segments/rules.parquet",
        "clusters": "data/segments/clusters.parquet",
        "personas": "data/raw/personas.parquet",
        "campaign": "data/campaign",
        "users": f"{out}/users.parquet",
        "arms": f"{out}/arms.csv",
        "metrics": f"{out}/ab_test.json",
    }
    return argparse.Namespace(**{k: root / v for k, v in names.items()})


def _run_stage(root: Path, params: dict, out: str = "out") -> dict:
    params = {**params, "perks": {"signals": SIGNALS}}
    paths = _paths(root, out)
    _stage_module().main(params, paths)
    return json.loads(paths.metrics.read_text())


class TestStage:
    def test_simulated_run_writes_users_plan_and_analysis(self, stage_dir):
        metrics = _run_stage(stage_dir, _ab_params())
        users = pd.read_parquet(stage_dir / "out/users.parquet")
        assert list(users.columns) == [
            "user_id",
            "group",
            "perk",
            "fit_perk",
            "converted",
            "revenue",
        ]
        rules = pd.read_parquet(stage_dir / "data/segments/rules.parquet").set_index("user_id")
        ml = pd.read_parquet(stage_dir / "data/segments/clusters.parquet").set_index("user_id")
        by = users.set_index("user_id")
        a, b = by[by.group == "A"], by[by.group == "B"]
        assert (a["perk"] == rules.loc[a.index, "perk"]).all()
        assert (b["perk"] == ml.loc[b.index, "perk"]).all()
        # the analysis equals statsmodels on the written per-user table
        counts = {
            g: (int((users.group == g).sum()), int(users.converted[users.group == g].sum()))
            for g in "ABC"
        }
        raw = [
            proportions_ztest([counts[t][1], counts[c][1]], [counts[t][0], counts[c][0]])[1]
            for t, c in [("A", "C"), ("B", "C"), ("B", "A")]
        ]
        adjusted = multipletests(raw, method="holm")[1]
        for key, p in zip(("A_vs_C", "B_vs_C", "B_vs_A"), adjusted, strict=True):
            assert metrics[f"{key}_p_adj"] == pytest.approx(p)
        # the plan: power at the assigned sizes, Bonferroni over the three comparisons
        plan = _ab_params()["ab_test"]["plan"]
        h = proportion_effectsize(plan["baseline_rate"] + plan["mde"], plan["baseline_rate"])
        for t, c in [("A", "C"), ("B", "C"), ("B", "A")]:
            expected = NormalIndPower().power(
                h, nobs1=counts[t][0], alpha=0.05 / 3, ratio=counts[c][0] / counts[t][0]
            )
            assert metrics[f"{t}_vs_{c}_power"] == pytest.approx(expected)
            assert metrics[f"{t}_vs_{c}_mde_abs"] > 0
        assert metrics["outcomes"] == "simulate" and metrics["fit_source"] == "behaviour"
        assert metrics["verdict_winner"] in {"A", "B", "C", ab.TIE, ab.NO_DIFFERENCE}
        arms = pd.read_csv(stage_dir / "out/arms.csv")
        assert list(arms["comparison"]) == ["A vs C", "B vs C"]

    def test_outputs_are_byte_deterministic(self, stage_dir):
        _run_stage(stage_dir, _ab_params(), out="one")
        _run_stage(stage_dir, _ab_params(), out="two")
        for name in ("users.parquet", "arms.csv", "ab_test.json"):
            assert (stage_dir / "one" / name).read_bytes() == (
                stage_dir / "two" / name
            ).read_bytes()

    @pytest.mark.parametrize(
        ("stratify_by", "column"), [("cluster", "cluster"), ("rule_segment", "segment")]
    )
    def test_stratified_assignment_balances_each_stratum(self, stage_dir, stratify_by, column):
        metrics = _run_stage(stage_dir, _ab_params(stratify_by=stratify_by))
        users = pd.read_parquet(stage_dir / "out/users.parquet")
        source = "clusters" if column == "cluster" else "rules"
        strata = pd.read_parquet(stage_dir / f"data/segments/{source}.parquet")
        table = pd.crosstab(
            users.merge(strata, on="user_id")[column], users.sort_values("user_id").group.to_numpy()
        )
        for stratum, row in table.iterrows():
            assert row.max() - row.min() <= 1, (stratum, row.to_dict())
        assert metrics["stratify_by"] == stratify_by

    def _results(self, stage_dir) -> pd.DataFrame:
        _run_stage(stage_dir, _ab_params(), out="sim")
        users = pd.read_parquet(stage_dir / "sim/users.parquet")
        return users[["user_id", "group", "converted", "revenue"]]

    def test_real_results_file_is_analysed(self, stage_dir):
        results = self._results(stage_dir).iloc[:-50].copy()  # 50 cohort users without outcome
        results.loc[results.index[:3], "group"] = "C"  # a campaign that moved some users
        results["converted"] = results["converted"].astype(int)  # 1/0 in the file
        results.to_csv(stage_dir / "data/campaign/results.csv", index=False)
        metrics = _run_stage(stage_dir, _ab_params(outcomes="data/campaign/results.csv"))
        moved = int((self._results(stage_dir).group.iloc[:3] != "C").sum())
        assert metrics["outcomes_users"] == len(results)
        assert metrics["outcomes_users_missing"] == 50
        assert metrics["outcomes_group_mismatch"] == moved
        assert "fit_source" not in metrics
        n = {g: int((results.group == g).sum()) for g in "ABC"}
        x = {g: int(results.converted[results.group == g].sum()) for g in "ABC"}
        z, p = proportions_ztest([x["B"], x["C"]], [n["B"], n["C"]])
        assert metrics["B_vs_C_p_value"] == pytest.approx(p)
        assert metrics["srm_p_value"] == pytest.approx(
            stats.chisquare([n[g] for g in "ABC"], [len(results) / 3] * 3).pvalue
        )
        users = pd.read_parquet(stage_dir / "out/users.parquet")
        assert list(users.columns) == ["user_id", "group", "perk", "converted", "revenue"]
        assert users["user_id"].is_monotonic_increasing and len(users) == len(results)

    def test_results_parquet_is_read(self, stage_dir):
        self._results(stage_dir).to_parquet(stage_dir / "data/campaign/results.parquet")
        metrics = _run_stage(stage_dir, _ab_params(outcomes="data/campaign/results.parquet"))
        simulated = json.loads((stage_dir / "sim/ab_test.json").read_text())
        assert metrics["B_vs_C_p_value"] == pytest.approx(simulated["B_vs_C_p_value"])

    def test_results_outside_the_campaign_folder_are_refused(self, stage_dir):
        self._results(stage_dir).to_csv(stage_dir / "results.csv", index=False)
        with pytest.raises(ConfigError, match=r"ab_test\.outcomes must be a file inside"):
            _run_stage(stage_dir, _ab_params(outcomes="results.csv"))

    def test_bad_results_file_stops_the_stage_with_one_line(self, stage_dir):
        results = self._results(stage_dir)
        results.loc[[3, 8], "user_id"] = [1, 2]  # rows 4 and 9 of the file: unknown users
        results.to_csv(stage_dir / "data/campaign/results.csv", index=False)
        params = _ab_params(outcomes="data/campaign/results.csv")
        params["perks"] = {"signals": SIGNALS}
        (stage_dir / "params.yaml").write_text(yaml.safe_dump(params))
        args = [f"--{name}={getattr(_paths(Path('.')), name)}" for name in STAGE_PATHS]
        proc = subprocess.run(
            [sys.executable, str(ROOT / "stages/ab_test.py"), *args],
            cwd=stage_dir,
            capture_output=True,
            text=True,
            env={**os.environ, "TRAVELTIDE_LOG_LEVEL": "WARNING"},
            timeout=120,
        )
        assert proc.returncode == 1
        lines = proc.stderr.strip().splitlines()
        assert lines == [
            "error: ab_test: data/campaign/results.csv column 'user_id': 2 unknown user(s), "
            "not in the cohort (e.g. 1) at rows 4, 9"
        ], proc.stderr
        assert not (stage_dir / "out/users.parquet").exists()


# --------------------------------------------------------------------------- report sections


class TestReportSections:
    def metrics(self, counts) -> dict:
        res = ab.analyse(make_table(counts), weights=WEIGHTS)
        plan = ab.power_analysis(
            {g: n for g, (n, _) in counts.items()},
            baseline_rate=0.1,
            mde=0.02,
            correction="bonferroni",
            pairs=ab.comparison_pairs(WEIGHTS),
        )
        return {**res.to_dict(), **plan.to_dict()}

    def test_verdict_and_power_tables(self):
        from traveltide.report.page import ab_power_section, ab_verdict_section

        m = self.metrics({"A": (4000, 440), "B": (4000, 640), "C": (4000, 400)})
        verdict = ab_verdict_section(m)
        assert "<strong>Winner: B</strong>" in verdict
        assert verdict.count("<tr>") == 1 + 3  # header + A vs C, B vs C, B vs A
        assert f"{100 * m['B_vs_A_lift_abs']:+.2f} pts" in verdict
        assert "no mismatch" in verdict
        power = ab_power_section(m)
        assert power.count("<tr>") == 1 + 3
        assert f"{100 * m['B_vs_A_power']:.1f}%" in power
        assert "Bonferroni over 3" in power

    def test_sections_survive_edge_cases(self):
        from traveltide.report.page import ab_power_section, ab_verdict_section

        m = self.metrics({"A": (0, 0), "B": (300, 0), "C": (300, 0)})
        verdict = ab_verdict_section(m)
        assert "has no users" in verdict and "inconclusive" in verdict
        assert "has no users" in ab_power_section(m)
        assert "n/a" in ab_verdict_section({})
