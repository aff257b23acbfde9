"""The report's inputs built in memory, for the report's unit and browser tests.

Inputs are made with the project's own analysis code (experiment.analysis, segment.compare) on
small synthetic tables, so every metric key the report reads is the one the stages write.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pandas as pd

from traveltide.experiment.analysis import analyse, comparison_pairs
from traveltide.experiment.power import power_analysis
from traveltide.io import to_json
from traveltide.report.exports import rewards_assignment, segment_summary
from traveltide.report.inputs import ReportInputs
from traveltide.report.plot_data import lift_table
from traveltide.report.projection import pca_projection
from traveltide.segment.compare import (
    agreement,
    contingency,
    recommendations_dict,
    segment_agreement,
)
from traveltide.segment.rules import mix

WEIGHTS = {"A": 1.0, "B": 1.0, "C": 1.0}
PERK_OF = {
    "spender": "one_night_free_hotel_with_flight",
    "family": "free_checked_bag",
    "saver": "exclusive_discounts",
}
ALL_PLOTS = {
    "pca.png",
    "cluster_sizes.png",
    "segment_sizes.png",
    "perk_mix.png",
    "k_selection.png",
    "contingency.png",
    "ab_lift.png",
}


def ab_metrics(rates: dict[str, float], n: dict[str, int] | None = None) -> dict:
    """metrics/ab_test.json for arms converting at exactly `rates` (first users convert)."""
    n = n or dict.fromkeys(rates, 1500)
    parts, start = [], 0
    for arm, rate in rates.items():
        k = n[arm]
        converted = np.arange(k) < round(rate * k)
        parts.append(
            pd.DataFrame(
                {
                    "user_id": np.arange(start, start + k),
                    "group": arm,
                    "converted": converted,
                    "revenue": np.where(converted, 300.0, 0.0),
                }
            )
        )
        start += k
    table = pd.concat(parts, ignore_index=True)
    result = analyse(table, control="C", weights=WEIGHTS)
    plan = power_analysis(
        {g: int((table["group"] == g).sum()) for g in WEIGHTS},
        control="C",
        baseline_rate=0.1,
        mde=0.02,
        power=0.8,
        correction="bonferroni",
        pairs=comparison_pairs(WEIGHTS, control="C"),
    )
    return json.loads(to_json({**result.to_dict(), **plan.to_dict(), "outcomes": "simulate"}))


VERDICTS = {  # name -> (arm conversion rates, arm sizes)
    "B": ({"A": 0.10, "B": 0.20, "C": 0.10}, None),
    "A": ({"A": 0.20, "B": 0.10, "C": 0.10}, None),
    "tie": ({"A": 0.20, "B": 0.20, "C": 0.10}, None),
    "no significant difference": ({"A": 0.10, "B": 0.10, "C": 0.10}, None),
    "C": ({"A": 0.05, "B": 0.05, "C": 0.20}, None),
    "inconclusive": ({"A": 0.10, "B": 0.20, "C": 0.10}, {"A": 1500, "B": 1500, "C": 900}),
}


def ab_metrics_by_verdict() -> dict[str, dict]:
    """metrics/ab_test.json for each scenario of VERDICTS, by the verdict it gives."""
    out = {name: ab_metrics(*spec) for name, spec in VERDICTS.items()}
    for name, metrics in out.items():  # the scenarios really give these verdicts
        assert metrics["verdict_winner"] == name
    return out


def synthetic_tables(n: int = 600, seed: int = 3):
    """Features with three behaviours; rules and clusters that mostly, not fully, agree."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 3, n)
    features = pd.DataFrame(
        {
            "user_id": np.arange(100, 100 + n),
            "total_spend_usd": rng.gamma(2.0, 800, n) * np.where(kind == 0, 4, 1),
            "avg_seats": 1 + rng.poisson(np.where(kind == 1, 2.0, 0.2)),
            "bargain_hunter_index": rng.exponential(np.where(kind == 2, 0.02, 0.002)),
            "avg_nights": rng.gamma(2.0, 1.5, n),
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
    cluster_perk = {0: PERK_OF["spender"], 1: PERK_OF["family"], 2: "free_hotel_meal"}
    clusters = pd.DataFrame(
        {
            "user_id": features["user_id"][::-1].to_numpy(),  # another order: joined by user_id
            "cluster": cluster[::-1],
            "cluster_name": [f"group {c}" for c in cluster[::-1]],
            "perk": [cluster_perk[c] for c in cluster[::-1]],
        }
    )
    return features, rules, clusters, cluster_perk


def build_inputs(ab: dict, *, cluster_extra: dict | None = None) -> ReportInputs:
    """Everything the report shows for the synthetic tables and the A/B metrics `ab`."""
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    features, rules, clusters, cluster_perk = synthetic_tables()
    both = rules.merge(clusters, on="user_id", suffixes=("_rules", "_ml"))
    X = features.drop(columns=["user_id", "constant"]).to_numpy(float)
    labels = clusters.set_index("user_id").loc[features["user_id"], "cluster"].to_numpy()
    result = agreement(both["segment"], both["cluster"], both["perk_rules"], both["perk_ml"])
    segments = segment_agreement(
        both["segment"], both["cluster"], both["perk_rules"], both["perk_ml"]
    )
    metrics = {
        "extract": {
            "users": len(features),
            "sessions": 5123,
            "first_session": "2023-01-04 00:47:34",
            "last_session": "2023-07-28 23:59:59",
        },
        "data_quality": {},
        "features": {"n_features": 5},
        "segment_rules": {"segment_sizes": mix(rules["segment"]), "perk_mix": mix(rules["perk"])},
        "cluster": {
            "algorithm": "kmeans",
            "k": 3,
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
            "silhouette": [0.20, 0.31, 0.27, 0.22],
            "calinski_harabasz": [90.0, 120.0, 100.0, 95.0],
            "davies_bouldin": [1.6, 1.1, 1.3, 1.5],
            "truth_ari": [np.nan] * 4,
        }
    )
    arms = lift_table(ab)
    assignment = rewards_assignment(rules, clusters, ab)
    return ReportInputs(
        metrics=metrics,
        k_table=k_table,
        contingency=contingency(both["segment"], both["cluster"]),
        ab_arms=arms,
        projection=pca_projection(features, clusters),
        assignment=assignment,
        summary=segment_summary(features, assignment),
        export_links={"rewards_assignment.csv": "../exports/rewards_assignment.csv"},
    )
