"""The ab_test run from both segmentations: simulated or a campaign's outcomes, plan, analysis.

``run_ab_test`` is called on in-memory tables; one test runs the stage script in a
subprocess to check its one-line error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize, proportions_ztest

from traveltide.config import ABTestConfig
from traveltide.experiment.outcomes import read_results
from traveltide.experiment.run import ABTestOutputs, inputs_needed, run_ab_test
from traveltide.experiment.verdict import NO_DIFFERENCE, TIE
from traveltide.io import write_csv, write_json, write_parquet
from traveltide.synthetic.personas import PERSONA_PERK

ROOT = Path(__file__).resolve().parents[3]
STAGE_PATHS = ("features", "rules", "clusters", "personas", "campaign", "users", "arms", "metrics")
SIGNALS = {
    "no_cancellation_fees": "cancellation_rate",
    "exclusive_discounts": "bargain_hunter_index",
    "free_checked_bag": "avg_bags",
    "one_night_free_hotel_with_flight": "total_spend_usd",
    "free_hotel_meal": "avg_nights",
}


@pytest.fixture(scope="module")
def inputs() -> SimpleNamespace:
    """Tiny upstream outputs: both segmentations (clusters in another order) and features."""
    rng = np.random.default_rng(5)
    n = 900
    ids = np.arange(1000, 1000 + n) * 7
    seg = rng.choice(["s1", "s2", "s3"], n)
    clu = rng.integers(0, 4, n)
    seg_perk = {"s1": "free_hotel_meal", "s2": "free_checked_bag", "s3": "exclusive_discounts"}
    clu_perk = ["free_hotel_meal", "no_cancellation_fees", "exclusive_discounts", "free_hotel_meal"]
    rules = pd.DataFrame({"user_id": ids, "segment": seg, "perk": [seg_perk[s] for s in seg]})
    clusters = pd.DataFrame(
        {
            "user_id": ids[::-1],  # another order: the run aligns by user_id
            "cluster": clu[::-1],
            "cluster_name": "c",
            "perk": [clu_perk[c] for c in clu[::-1]],
        }
    )
    features = pd.DataFrame({"user_id": ids})
    for column in SIGNALS.values():
        features[column] = rng.lognormal(0, 1, n)
    return SimpleNamespace(rules=rules, clusters=clusters, features=features)


def run(inputs: SimpleNamespace, params: dict, **optional) -> ABTestOutputs:
    return run_ab_test(
        inputs.rules,
        inputs.clusters,
        config=ABTestConfig.from_params(params),
        features=inputs.features,
        signals=SIGNALS,
        **optional,
    )


def campaign_results(inputs: SimpleNamespace, ab_params) -> pd.DataFrame:
    """A campaign's results file as the simulated run would have it."""
    return run(inputs, ab_params()).users[["user_id", "group", "converted", "revenue"]]


def results_file(folder: Path, results: pd.DataFrame, name: str) -> pd.DataFrame:
    """Write a results file into ``folder``/data/campaign and read it as the stage does."""
    campaign = folder / "data/campaign"
    campaign.mkdir(parents=True, exist_ok=True)
    if name.endswith(".csv"):
        results.to_csv(campaign / name, index=False)
    else:
        results.to_parquet(campaign / name)
    return read_results(campaign / name, campaign)


class TestInputsNeeded:
    def test_each_config_reads_one_optional_input(self, ab_params):
        def need(**changes):
            return inputs_needed(ABTestConfig.from_params(ab_params(**changes)))

        assert need() == {"features"}
        assert need(response__fit_source="personas") == {"personas"}
        assert need(outcomes="data/campaign/results.csv") == {"results"}

    def test_a_needed_input_that_is_missing_is_named(self, inputs, ab_params):
        config = ABTestConfig.from_params(ab_params())
        with pytest.raises(ValueError, match="needs features"):
            run_ab_test(inputs.rules, inputs.clusters, config=config, signals=SIGNALS)


class TestSimulated:
    def test_simulated_run_gives_users_plan_and_analysis(self, inputs, ab_params):
        out = run(inputs, ab_params())
        users, metrics = out.users, out.metrics
        assert list(users.columns) == [
            "user_id",
            "group",
            "perk",
            "fit_perk",
            "converted",
            "revenue",
        ]
        rules = inputs.rules.set_index("user_id")
        ml = inputs.clusters.set_index("user_id")
        by = users.set_index("user_id")
        a, b = by[by.group == "A"], by[by.group == "B"]
        assert (a["perk"] == rules.loc[a.index, "perk"]).all()
        assert (b["perk"] == ml.loc[b.index, "perk"]).all()
        # the analysis equals statsmodels on the per-user table
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
        plan = ab_params()["ab_test"]["plan"]
        h = proportion_effectsize(plan["baseline_rate"] + plan["mde"], plan["baseline_rate"])
        for t, c in [("A", "C"), ("B", "C"), ("B", "A")]:
            expected = NormalIndPower().power(
                h, nobs1=counts[t][0], alpha=0.05 / 3, ratio=counts[c][0] / counts[t][0]
            )
            assert metrics[f"{t}_vs_{c}_power"] == pytest.approx(expected)
            assert metrics[f"{t}_vs_{c}_mde_abs"] > 0
        assert metrics["outcomes"] == "simulate" and metrics["fit_source"] == "behaviour"
        assert metrics["verdict_winner"] in {"A", "B", "C", TIE, NO_DIFFERENCE}
        assert list(out.arms["comparison"]) == ["A vs C", "B vs C"]
        assert out.arms.loc[1, "p_adj"] == pytest.approx(metrics["B_vs_C_p_adj"])
        assert out.arms.loc[1, "power"] == pytest.approx(metrics["B_vs_C_power"])

    def test_outputs_are_byte_deterministic(self, inputs, ab_params, tmp_path):
        for folder in ("one", "two"):
            out = run(inputs, ab_params())
            write_parquet(out.users, tmp_path / folder / "users.parquet")
            write_csv(out.arms, tmp_path / folder / "arms.csv")
            write_json(out.metrics, tmp_path / folder / "ab_test.json")
        for name in ("users.parquet", "arms.csv", "ab_test.json"):
            assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()

    @pytest.mark.parametrize(
        ("stratify_by", "column"), [("cluster", "cluster"), ("rule_segment", "segment")]
    )
    def test_stratified_assignment_balances_each_stratum(
        self, inputs, ab_params, stratify_by, column
    ):
        out = run(inputs, ab_params(stratify_by=stratify_by))
        users = out.users
        strata = inputs.clusters if column == "cluster" else inputs.rules
        table = pd.crosstab(
            users.merge(strata, on="user_id")[column], users.sort_values("user_id").group.to_numpy()
        )
        for stratum, row in table.iterrows():
            assert row.max() - row.min() <= 1, (stratum, row.to_dict())
        assert out.metrics["stratify_by"] == stratify_by

    def test_perk_fit_by_persona(self, inputs, ab_params):
        names = sorted(PERSONA_PERK)
        personas = pd.DataFrame(
            {
                "user_id": inputs.rules["user_id"],
                "persona": [names[i % len(names)] for i in range(len(inputs.rules))],
            }
        )
        out = run_ab_test(
            inputs.rules,
            inputs.clusters,
            config=ABTestConfig.from_params(ab_params(response__fit_source="personas")),
            personas=personas,
        )
        expected = out.users["user_id"].map(personas.set_index("user_id")["persona"])
        assert (out.users["fit_perk"] == expected.map(PERSONA_PERK)).all()
        assert out.metrics["fit_source"] == "personas"


class TestCampaignResults:
    def test_real_results_file_is_analysed(self, inputs, ab_params, tmp_path):
        simulated = campaign_results(inputs, ab_params)
        results = simulated.iloc[:-50].copy()  # 50 cohort users without outcome
        results.loc[results.index[:3], "group"] = "C"  # a campaign that moved some users
        results["converted"] = results["converted"].astype(int)  # 1/0 in the file
        read = results_file(tmp_path, results, "results.csv")
        out = run(inputs, ab_params(outcomes="data/campaign/results.csv"), results=read)
        metrics = out.metrics
        moved = int((simulated.group.iloc[:3] != "C").sum())
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
        users = out.users
        assert list(users.columns) == ["user_id", "group", "perk", "converted", "revenue"]
        assert users["user_id"].is_monotonic_increasing and len(users) == len(results)

    def test_results_parquet_is_read(self, inputs, ab_params, tmp_path):
        simulated = run(inputs, ab_params())
        read = results_file(tmp_path, campaign_results(inputs, ab_params), "results.parquet")
        out = run(inputs, ab_params(outcomes="data/campaign/results.parquet"), results=read)
        assert out.metrics["B_vs_C_p_value"] == pytest.approx(simulated.metrics["B_vs_C_p_value"])

    def test_bad_results_file_stops_the_stage_with_one_line(self, inputs, ab_params, tmp_path):
        """The stage script in a subprocess, run from a folder laid out like the repository
        (ab_test.outcomes is relative to the repository root, where DVC runs the stage)."""
        results = campaign_results(inputs, ab_params)
        results.loc[[3, 8], "user_id"] = [1, 2]  # rows 4 and 9 of the file: unknown users
        names = {
            "features": "data/features/user_features.parquet",
            "rules": "data/segments/rules.parquet",
            "clusters": "data/segments/clusters.parquet",
            "personas": "data/raw/personas.parquet",
            "campaign": "data/campaign",
            "users": "out/users.parquet",
            "arms": "out/arms.csv",
            "metrics": "out/ab_test.json",
        }
        for name in ("features", "rules", "clusters"):
            (tmp_path / names[name]).parent.mkdir(parents=True, exist_ok=True)
            getattr(inputs, name).to_parquet(tmp_path / names[name])
        results_file(tmp_path, results, "results.csv")
        params = ab_params(outcomes="data/campaign/results.csv")
        params["perks"] = {"signals": SIGNALS}
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        proc = subprocess.run(
            [sys.executable, str(ROOT / "stages/ab_test.py")]
            + [f"--{name}={names[name]}" for name in STAGE_PATHS],
            cwd=tmp_path,
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
        assert not (tmp_path / "out/users.parquet").exists()


def test_metrics_are_json(inputs, ab_params):
    json.dumps(run(inputs, ab_params()).metrics, allow_nan=False)
