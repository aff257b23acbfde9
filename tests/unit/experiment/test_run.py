"""The ab_test run from both segmentations: simulated from latent truth or a campaign's
outcomes by intention to treat, the plan, the analysis, policy values and the decision.

``run_ab_test`` is called on in-memory tables; two tests run the stage script in a
subprocess (its outputs, and its one-line error).
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
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from traveltide.config import PERKS, ABTestConfig
from traveltide.errors import DataError
from traveltide.experiment.outcomes import read_results
from traveltide.experiment.run import ABTestOutputs, inputs_needed, run_ab_test
from traveltide.experiment.simulate import AFFINITY
from traveltide.io import write_csv, write_json, write_parquet

ROOT = Path(__file__).resolve().parents[3]
STAGE_PATHS = ("features", "rules", "clusters", "personas", "campaign")
STAGE_PATHS += ("users", "arms", "policy_values", "summary", "metrics")
SIGNALS = {
    "no_cancellation_fees": "cancellation_rate",
    "exclusive_discounts": "bargain_hunter_index",
    "free_checked_bag": "avg_bags",
    "one_night_free_hotel_with_flight": "total_spend_usd",
    "free_hotel_meal": "avg_nights",
}
FEATURES = ("n_trips", "age_years", "has_children", *SIGNALS.values())


@pytest.fixture(scope="module")
def inputs() -> SimpleNamespace:
    """Tiny upstream outputs: both segmentations (clusters in another order), features and
    the cohort's latent truth."""
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
    propensity = rng.gamma(4, 0.25, n)
    features = pd.DataFrame({"user_id": ids})
    for column in FEATURES:
        features[column] = rng.lognormal(0, 1, n)
    features["n_trips"] = rng.poisson(3 * propensity)
    truth = pd.DataFrame(
        {
            "user_id": ids,
            "persona": "p",
            "propensity": propensity,
            "spend": rng.lognormal(0, 0.3, n),
        }
    )
    for perk in PERKS:
        truth[AFFINITY + perk] = rng.normal(size=n)
    return SimpleNamespace(rules=rules, clusters=clusters, features=features, personas=truth)


def run(inputs: SimpleNamespace, params: dict, **optional) -> ABTestOutputs:
    optional.setdefault("personas", inputs.personas)
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
    users = run(inputs, ab_params()).users
    return users[["user_id", "group", "converted", "revenue"]]


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
    def test_each_config_reads_what_it_uses(self, ab_params):
        def need(**changes):
            return inputs_needed(ABTestConfig.from_params(ab_params(**changes)))

        assert need() == {"features", "personas"}
        assert need(response__fit_source="behaviour") == {"features"}
        assert need(outcomes="data/campaign/results.csv") == {"features", "results"}

    def test_a_needed_input_that_is_missing_is_named(self, inputs, ab_params):
        config = ABTestConfig.from_params(ab_params())
        with pytest.raises(ValueError, match="needs personas"):
            run_ab_test(inputs.rules, inputs.clusters, config=config, features=inputs.features)


class TestSimulated:
    def test_users_metrics_summary_and_tables(self, inputs, ab_params):
        out = run(inputs, ab_params())
        users, metrics = out.users, out.metrics
        assert list(users.columns) == [
            "user_id",
            "group",
            "perk",
            "converted",
            "cancelled",
            "revenue",
            "triggered",
            "revenue_capped",
            "cost",
            "net_value",
        ]
        rules = inputs.rules.set_index("user_id")
        ml = inputs.clusters.set_index("user_id")
        by = users.set_index("user_id")
        a, b = by[by.group == "A"], by[by.group == "B"]
        assert (a["perk"] == rules.loc[a.index, "perk"]).all()
        assert (b["perk"] == ml.loc[b.index, "perk"]).all()
        assert (by["triggered"] == (rules["perk"] != ml.loc[rules.index, "perk"])).all()
        costs = ab_params()["ab_test"]["costs"]
        charged = np.where(users["converted"], users["perk"].map(costs).fillna(0.0), 0.0)
        assert users["cost"].to_numpy() == pytest.approx(charged)
        # metrics are the key numbers; the summary has every figure and the text
        assert all(v is None or isinstance(v, int | float) for v in metrics.values())
        assert 30 <= len(metrics) <= 45
        assert all(out.summary[k] == v for k, v in metrics.items())
        assert out.summary["experiment_users"] == len(users) == 900
        assert out.summary["triggered_users"] == int(users["triggered"].sum())
        assert out.summary["B_vs_A_revenue_welch_p_value"] is not None
        assert out.summary["verdict"]["winner"] in {
            "A",
            "B",
            "C",
            "tie",
            "no significant difference",
        }
        assert out.summary["verdict"]["metric"] == "net_value"
        assert "expected loss" in out.summary["decision"]["rule"]
        assert out.summary["settings"]["fit_source"] == "latent"
        assert out.summary["comparisons"]["B_vs_A_triggered"]["in_family"] is True
        assert list(out.arms["comparison"]) == [
            "A vs C",
            "B vs C",
            "B vs A (triggered)",
            "B vs A",
        ]
        assert out.arms.loc[1, "p_adj"] == pytest.approx(metrics["B_vs_C_p_adj"])
        assert set(out.policy_values["estimator"]) == {"ipw", "snipw", "dr"}
        assert metrics["policy_rules_net_value"] == pytest.approx(
            out.policy_values.query(
                "policy == 'rules' and estimator == 'dr' and metric == 'net_value'"
            )["estimate"].iloc[0]
        )

    def test_the_plan(self, inputs, ab_params):
        """B vs A is planned on the triggered users, over A's planned rate, at the level the
        correction implies (Holm: alpha / 3)."""
        out = run(inputs, ab_params())
        m, users = out.summary, out.users
        on = users[users["triggered"]]
        n_b, n_a = int((on.group == "B").sum()), int((on.group == "A").sum())
        plan = ab_params()["ab_test"]["plan"]
        base = plan["baseline_rate"]
        h = proportion_effectsize(base + 2 * plan["mde"], base + plan["mde"])
        expected = NormalIndPower().power(h, nobs1=n_b, alpha=0.05 / 3, ratio=n_a / n_b)
        assert m["plan_B_vs_A_triggered_power"] == pytest.approx(expected)
        assert m["plan_alpha_per_comparison"] == pytest.approx(0.05 / 3)
        assert "A_vs_C_power" not in m and "plan_A_vs_C_power" in out.metrics

    def test_outputs_are_byte_deterministic(self, inputs, ab_params, tmp_path):
        for folder in ("one", "two"):
            out = run(inputs, ab_params())
            write_parquet(out.users, tmp_path / folder / "users.parquet")
            write_csv(out.arms, tmp_path / folder / "arms.csv")
            write_csv(out.policy_values, tmp_path / folder / "policy_values.csv")
            write_json(out.metrics, tmp_path / folder / "ab_test.json")
            write_json(out.summary, tmp_path / folder / "summary.json")
        for name in ("users.parquet", "arms.csv", "policy_values.csv", "ab_test.json"):
            assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
        json.loads((tmp_path / "one/ab_test.json").read_text())

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
        assert out.summary["settings"]["stratify_by"] == stratify_by

    def test_triggered_design_randomises_only_users_whose_perks_differ(self, inputs, ab_params):
        out = run(inputs, ab_params(design="triggered"))
        assert out.users["triggered"].all()
        assert len(out.users) == out.summary["triggered_users"] < 900
        assert "B_vs_A" in out.summary["comparisons"]
        assert "B_vs_A_triggered" not in out.summary["comparisons"]

    def test_behaviour_truth_and_no_perk_control(self, inputs, ab_params):
        out = run(inputs, ab_params(response__fit_source="behaviour", control="no_perk"))
        assert out.summary["settings"]["fit_source"] == "behaviour"
        assert (out.users.loc[out.users.group == "C", "perk"] == "none").all()
        assert out.policy_values.empty and "no_perk" in out.summary["notes"]["policy_values"]

    def test_bad_inputs_are_one_line(self, inputs, ab_params):
        with pytest.raises(DataError, match="no latent truth"):
            run(inputs, ab_params(), personas=inputs.personas.iloc[:0])
        with pytest.raises(DataError, match=r"no column 'avg_km' \(ab_test.adjust_for\)"):
            run(inputs, ab_params(adjust_for=["avg_km"]))
        with pytest.raises(DataError, match="no row for 1 segmented user"):
            run_ab_test(
                inputs.rules,
                inputs.clusters,
                config=ABTestConfig.from_params(ab_params()),
                features=inputs.features.iloc[1:],
                personas=inputs.personas,
            )


class TestCampaignResults:
    def test_real_results_by_intention_to_treat(self, inputs, ab_params, tmp_path):
        simulated = campaign_results(inputs, ab_params)
        results = simulated.iloc[:-50].copy()  # 50 assigned users without outcome
        results["converted"] = results["converted"].astype(int)  # 1/0 in the file
        read = results_file(tmp_path, results, "results.csv")
        out = run(inputs, ab_params(outcomes="data/campaign/results.csv"), results=read)
        m = out.summary
        assert (m["outcomes_users"], m["outcomes_users_missing"]) == (850, 50)
        assert m["outcomes_coverage"] == pytest.approx(850 / 900)
        assert out.summary["settings"]["fit_source"] == ""
        missing = out.users.set_index("user_id").loc[simulated["user_id"].iloc[-50:]]
        assert not missing["converted"].any() and (missing["revenue"] == 0).all()
        counts = out.users.groupby("group").size()
        assert m["C_n"] == counts["C"]  # every assigned user is analysed

    def test_a_moved_user_is_an_error_or_reported(self, inputs, ab_params, tmp_path):
        results = campaign_results(inputs, ab_params)
        results.loc[results.index[:3], "group"] = (
            results["group"].iloc[:3].map({"A": "B", "B": "C", "C": "A"})
        )
        read = results_file(tmp_path, results, "results.parquet")
        with pytest.raises(DataError, match="3 row.*group differs.*rows 1, 2, 3"):
            run(inputs, ab_params(outcomes="data/campaign/results.parquet"), results=read)
        params = ab_params(
            outcomes="data/campaign/results.parquet", results__group_mismatch="report"
        )
        assert run(inputs, params, results=read).summary["outcomes_group_mismatch"] == 3


def stage(tmp_path: Path, params: dict, inputs: SimpleNamespace) -> subprocess.CompletedProcess:
    """The stage script in a subprocess, run from a folder laid out like the repository."""
    names = {
        "features": "data/features/user_features.parquet",
        "rules": "data/segments/rules.parquet",
        "clusters": "data/segments/clusters.parquet",
        "personas": "data/interim/cohort_truth.parquet",
        "campaign": "data/campaign",
        "users": "out/users.parquet",
        "arms": "out/arms.csv",
        "policy_values": "out/policy_values.csv",
        "summary": "out/summary.json",
        "metrics": "out/ab_test.json",
    }
    for name in ("features", "rules", "clusters", "personas"):
        (tmp_path / names[name]).parent.mkdir(parents=True, exist_ok=True)
        getattr(inputs, name).to_parquet(tmp_path / names[name])
    (tmp_path / "data/campaign").mkdir(parents=True, exist_ok=True)
    params = {**params, "perks": {"signals": SIGNALS}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return subprocess.run(
        [sys.executable, str(ROOT / "stages/ab_test.py")]
        + [f"--{name.replace('_', '-')}={names[name]}" for name in STAGE_PATHS],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "TRAVELTIDE_LOG_LEVEL": "WARNING"},
        timeout=120,
    )


def test_the_stage_writes_its_five_outputs(inputs, ab_params, tmp_path):
    proc = stage(tmp_path, ab_params(), inputs)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "out/ab_test.json").read_text())
    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert all(v is None or isinstance(v, int | float) for v in metrics.values())
    assert summary["decision"]["basis"] in summary["basis_meaning"]
    values = pd.read_csv(tmp_path / "out/policy_values.csv")
    assert {"policy", "estimator", "metric", "estimate", "ci_low", "ci_high"} <= set(values)
    assert len(pd.read_parquet(tmp_path / "out/users.parquet")) == 900


def test_a_bad_results_file_stops_the_stage_with_one_line(inputs, ab_params, tmp_path):
    results = campaign_results(inputs, ab_params)
    results.loc[[3, 8], "user_id"] = [1, 2]  # rows 4 and 9 of the file: unknown users
    results_file(tmp_path, results, "results.csv")
    proc = stage(tmp_path, ab_params(outcomes="data/campaign/results.csv"), inputs)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: ab_test: data/campaign/results.csv column 'user_id': 2 unknown user(s), "
        "not in the cohort (e.g. 1) at rows 4, 9"
    ], proc.stderr
    assert not (tmp_path / "out/users.parquet").exists()
