"""The report's inputs built in memory, for the report's unit and browser tests.

Inputs are made with the project's own code on small synthetic tables: the A/B figures by the
ab_test stage's `run_ab_test` (metrics and summary, merged as the report reads them), the
agreement by `segment.compare`, so every key the report reads is one the stages write. The
decision scenarios (`DECISIONS`) then set the A/B summary's verdict and decision, the text
the stage writes, to each branch of the decision rule.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from traveltide.experiment.config import ABTestConfig
from traveltide.io import to_json
from traveltide.report.abview import ab_view
from traveltide.report.exports import rewards_assignment, segment_summary
from traveltide.report.inputs import ReportInputs
from traveltide.report.plot_data import lift_table
from traveltide.report.projection import pca_projection
from traveltide.segment.benchmark import COLUMNS as BENCHMARK_COLUMNS
from traveltide.segment.compare import (
    agreement,
    contingency,
    recommendations_dict,
    segment_agreement,
)
from traveltide.segment.rules import mix

ROOT = Path(__file__).resolve().parents[1]
PERK_OF = {
    "big_spender": "one_night_free_hotel_with_flight",
    "family_traveller": "free_checked_bag",
    "bargain_hunter": "exclusive_discounts",
}
SIGNALS = {
    "no_cancellation_fees": "cancellation_rate",
    "exclusive_discounts": "bargain_hunter_index",
    "free_checked_bag": "avg_bags",
    "one_night_free_hotel_with_flight": "total_spend_usd",
    "free_hotel_meal": "avg_nights",
}
ALL_PLOTS = {
    "segment_sizes.png",
    "perk_mix.png",
    "cluster_sizes.png",
    "pca.png",
    "contingency.png",
    "ab_lift.png",
    "policy_value.png",
    "k_selection.png",
    "benchmark.png",
}
# decision scenario -> (verdict winner, decision basis, the view giving differing users' perk)
DECISIONS = {
    "A wins": ("A", "ab_winner", "rules"),
    "B wins": ("B", "ab_winner", "ml"),
    "tie, rules stay": ("tie", "keep_rules", "rules"),
    "tie, B risks less": ("tie", "lower_expected_loss", "ml"),
    "control wins": ("C", "control_won", ""),
    "guardrail": ("B", "guardrail_failed", ""),
    "inconclusive": ("inconclusive", "inconclusive", ""),
}


def synthetic_tables(n: int = 600, seed: int = 3):
    """Features with three behaviours; rules and clusters that mostly, not fully, agree."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 3, n)
    features = pd.DataFrame(
        {
            "user_id": np.arange(100, 100 + n),
            "total_spend_usd": rng.gamma(2.0, 800, n) * np.where(kind == 0, 4, 1),
            "avg_seats": 1 + rng.poisson(np.where(kind == 1, 2.0, 0.2)),
            "avg_bags": rng.poisson(np.where(kind == 1, 2.0, 0.5)).astype(float),
            "bargain_hunter_index": rng.exponential(np.where(kind == 2, 0.02, 0.002)),
            "avg_nights": rng.gamma(2.0, 1.5, n),
            "cancellation_rate": rng.beta(0.3, 6.0, n),
            "n_trips": rng.poisson(3.0, n).astype(float),
            "constant": np.ones(n),
        }
    )
    names = np.array(list(PERK_OF))
    segment = names[kind]
    flip = rng.random(n) < 0.15
    cluster = np.where(flip, rng.integers(0, 3, n), kind)
    rules = pd.DataFrame(
        {"user_id": features["user_id"], "segment": segment, "perk": [PERK_OF[s] for s in segment]}
    )
    cluster_perk = {0: PERK_OF["big_spender"], 1: PERK_OF["family_traveller"], 2: "free_hotel_meal"}
    clusters = pd.DataFrame(
        {
            "user_id": features["user_id"][::-1].to_numpy(),  # another order: joined by user_id
            "cluster": cluster[::-1],
            "cluster_name": [f"group {c}" for c in cluster[::-1]],
            "perk": [cluster_perk[c] for c in cluster[::-1]],
        }
    )
    return features, rules, clusters, cluster_perk


def ab_figures(n: int = 600, seed: int = 3) -> dict[str, Any]:
    """metrics/ab_test.json and data/ab/summary.json of the ab_test stage's own run on the
    synthetic tables (simulated outcomes, behaviour fit), merged as the report reads them."""
    from traveltide.experiment.run import run_ab_test
    from traveltide.params import read_params

    features, rules, clusters, _ = synthetic_tables(n, seed)
    block = read_params(ROOT / "params.yaml")["ab_test"]  # the project's settings, but:
    block["response"]["fit_source"] = "behaviour"  # no latent truth for these tables
    block["adjust_for"] = ["n_trips", "total_spend_usd"]
    block["policy"]["features"] = ["n_trips", "total_spend_usd", "avg_bags", "avg_nights"]
    config = ABTestConfig.from_params({"ab_test": block})
    out = run_ab_test(rules, clusters, config=config, features=features, signals=SIGNALS)
    merged = {**json.loads(to_json(out.metrics)), **json.loads(to_json(out.summary))}
    return {"figures": ab_view(merged), "policy_values": out.policy_values}


def with_decision(ab: dict[str, Any], scenario: str) -> dict[str, Any]:
    """The A/B figures with the summary's verdict and decision set to a `DECISIONS` branch."""
    winner, basis, differ = DECISIONS[scenario]
    decision = {**(ab.get("decision") or {}), "winner": winner, "basis": basis}
    decision.update(differ=differ, agree=bool(differ))
    verdict = {**(ab.get("verdict") or {}), "winner": winner}
    out = {**ab, "decision": decision, "verdict": verdict}
    out.pop("verdict_winner", None)
    return ab_view(out)


def benchmark_table() -> pd.DataFrame:
    """A small benchmark table in the benchmark stage's columns: two settings, each at the
    true k and at the k of two auto-k rules."""
    rows = [
        (alg, "log1p_scaled", "standard", "0.6", pca, choice, k, ari, ari / 0.9, sil, 0.9)
        for alg, pca in (("kmeans", "none"), ("gmm", "0.9"))
        for choice, k, ari, sil in (
            ("true_k", 3, 0.6, 0.25),
            ("silhouette", 2, 0.3, 0.4),
            ("davies_bouldin", 4, 0.5, 0.2),
        )
    ]
    return pd.DataFrame(rows, columns=list(BENCHMARK_COLUMNS))


def build_inputs(
    ab: dict[str, Any],
    *,
    policy_values: pd.DataFrame | None = None,
    cluster_extra: dict | None = None,
) -> ReportInputs:
    """Everything the report shows for the synthetic tables and the A/B figures `ab`."""
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    features, rules, clusters, cluster_perk = synthetic_tables()
    both = rules.merge(clusters, on="user_id", suffixes=("_rules", "_ml"))
    X = features.drop(columns=["user_id", "constant"]).to_numpy(float)
    labels = clusters.set_index("user_id").loc[features["user_id"], "cluster"].to_numpy()
    result = agreement(both["segment"], both["cluster"], both["perk_rules"], both["perk_ml"])
    segments = segment_agreement(
        both["segment"], both["cluster"], both["perk_rules"], both["perk_ml"]
    )
    thresholds = [
        {"segment": "big_spender", "feature": "total_spend_usd", "quantile": 0.8,
         "threshold": 4990.886, "users": 200},
        {"segment": "family_traveller", "feature": "avg_seats", "quantile": 0.85,
         "threshold": 2.0, "users": 200},
    ]  # fmt: skip
    metrics = {
        "extract": {
            "users": len(features),
            "sessions": 5123,
            "first_session": "2023-01-04 00:47:34",
            "last_session": "2023-07-28 23:59:59",
        },
        "data_quality": {},
        "features": {"n_features": 5},
        "segment_rules": {
            "segment_sizes": mix(rules["segment"]),
            "perk_mix": mix(rules["perk"]),
            "thresholds": thresholds,
        },
        "cluster": {
            "algorithm": "kmeans",
            "k": 3,
            "k_requested": 3,
            "k_rule": "fixed: cluster.k",
            "silhouette": float(silhouette_score(X, labels)),
            "calinski_harabasz": float(calinski_harabasz_score(X, labels)),
            "davies_bouldin": float(davies_bouldin_score(X, labels)),
            "cluster_sizes": mix(clusters["cluster"]),
            "perk_mix": mix(clusters["perk"]),
            "cluster_perks": {str(k): v for k, v in cluster_perk.items()},
            "cluster_names": {str(k): f"group {k}" for k in cluster_perk},
            **(cluster_extra or {}),
        },
        "compare": json.loads(
            to_json({**asdict(result), **recommendations_dict(result, segments)})
        ),
        "ab_test": ab,
    }
    k_table = pd.DataFrame(
        {
            "k": [2, 3, 4, 5],
            "silhouette": [0.20, 0.27, 0.31, 0.22],
            "calinski_harabasz": [90.0, 120.0, 100.0, 95.0],
            "davies_bouldin": [1.6, 1.1, 1.3, 1.5],
            "truth_ari": [np.nan] * 4,
        }
    )
    assignment = rewards_assignment(rules, clusters, ab)
    return ReportInputs(
        metrics=metrics,
        k_table=k_table,
        contingency=contingency(both["segment"], both["cluster"]),
        ab_arms=lift_table(ab),
        projection=pca_projection(features, clusters),
        assignment=assignment,
        summary=segment_summary(features, assignment),
        policy_values=policy_values,
        benchmark=benchmark_table(),
        export_links={"rewards_assignment.csv": "../exports/rewards_assignment.csv"},
    )


def inputs_for(ab: dict[str, Any], scenario: str, **kwargs: Any) -> ReportInputs:
    """`build_inputs` for one decision scenario of the A/B stage's run `ab` (`ab_figures`)."""
    return build_inputs(
        with_decision(ab["figures"], scenario), policy_values=ab["policy_values"], **kwargs
    )


def without(inputs: ReportInputs, **fields: Any) -> ReportInputs:
    """`inputs` with some fields replaced (None: an input the pipeline did not write)."""
    return replace(inputs, **fields)
