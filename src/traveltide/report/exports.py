"""What a marketing team takes away: the rewards assignment, a segment summary, one JSON.

- ``rewards_assignment``: one row per user with the rule segment and perk, the ML cluster and
  perk, and a recommended perk chosen by one documented rule (``recommend``) from the A/B
  verdict and the two views.
- ``segment_summary``: one row per rule segment and per ML cluster: size, spend, the features
  that most set it apart, its perk and what is recommended to its users.
- ``analysis``: every stage's metrics and the report's tables as one JSON-ready dict.

Everything is a pure function of its inputs, rows in a fixed order, so the files written from
them are byte-identical for the same pipeline state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from traveltide.errors import DataError
from traveltide.experiment.decision import BASIS as BASIS
from traveltide.experiment.decision import RULE as RECOMMENDATION_RULE
from traveltide.experiment.decision import recommend as decide_perks
from traveltide.report.names import cluster_label, group_names, perk_name, segment_name
from traveltide.segment.compare import align
from traveltide.segment.standardize import cohort_zscores

SPEND = "total_spend_usd"  # the feature summarised as spend per segment
TRAITS = 3  # features named per segment in key_traits


def recommend(
    rule_perk: pd.Series, ml_perk: pd.Series, ab: Mapping[str, Any]
) -> tuple[pd.Series, pd.Series]:
    """The recommended perk and its basis per user: the A/B decision
    (``traveltide.experiment.decision``), applied to each user.

    ``ab`` is data/ab/summary.json; without a decision nothing is recommended.
    """
    return decide_perks(rule_perk, ml_perk, ab)


def rewards_assignment(
    rules: pd.DataFrame, clusters: pd.DataFrame, ab: Mapping[str, Any]
) -> pd.DataFrame:
    """One row per user (sorted by user_id): both views, whether they agree, the recommendation."""
    both = align(rules, clusters, what="exports").reset_index(drop=True)
    perk, basis = recommend(both["perk_rules"], both["perk_ml"], ab)
    names = both["cluster_name"] if "cluster_name" in both else pd.Series("", index=both.index)
    return pd.DataFrame(
        {
            "user_id": both["user_id"].to_numpy(),
            "rule_segment": both["segment"].astype(str).to_numpy(),
            "rule_perk": both["perk_rules"].astype(str).to_numpy(),
            "ml_cluster": both["cluster"].to_numpy(),
            "ml_cluster_name": names.astype(str).to_numpy(),
            "ml_perk": both["perk_ml"].astype(str).to_numpy(),
            "perks_agree": (both["perk_rules"] == both["perk_ml"]).to_numpy(),
            "recommended_perk": perk.to_numpy(),
            "recommendation_basis": basis.to_numpy(),
            "recommended_perk_name": [perk_name(p) for p in perk],
        }
    )


def key_traits(z_means: pd.Series, top: int = TRAITS) -> str:
    """'high avg_seats (+2.1 sd); low age_years (-0.9 sd)': the features furthest from 0."""
    order = z_means.abs().sort_values(ascending=False, kind="stable").index[:top]
    return "; ".join(
        f"{'high' if z_means[f] > 0 else 'low'} {f} ({z_means[f]:+.1f} sd)"
        for f in order
        if z_means[f] != 0
    )


def _mode_share(values: pd.Series) -> tuple[str, float]:
    """The most frequent value (ties: the one sorting first) and its share."""
    counts = values.astype(str).value_counts()
    top = min(counts.index[counts == counts.max()])
    return str(top), float(counts[top] / len(values))


def segment_summary(features: pd.DataFrame, assignment: pd.DataFrame) -> pd.DataFrame:
    """One row per rule segment (largest first), then per ML cluster (by id).

    Columns: view (rules | ml), segment, name (the report's human name), users, share of the
    cohort, avg and total spend (``total_spend_usd``; NaN without it), perk (the most frequent
    in the group), recommended_perk and its share of the group, the key traits (mean cohort
    z-scores), and both perks' human names.
    """
    missing = ~assignment["user_id"].isin(features["user_id"])
    if missing.any():
        raise DataError(
            f"exports: {int(missing.sum())} segmented users have no feature row "
            f"(first user_id {assignment.loc[missing, 'user_id'].iloc[0]})"
        )
    table = assignment.merge(features, on="user_id", how="left", validate="one_to_one")
    z = cohort_zscores(table[[c for c in features.columns if c != "user_id"]])
    n = len(table)
    rows = []
    groups_named = group_names(pd.crosstab(table["rule_segment"], table["ml_cluster"]))
    views = (
        ("rules", "rule_segment", "rule_perk", segment_name),
        ("ml", "ml_cluster", "ml_perk", lambda c: cluster_label(c, groups_named)),
    )
    for view, key, perk_col, name_of in views:
        groups = table.groupby(key, sort=True)
        order = sorted(groups.groups, key=lambda g: (-len(groups.groups[g]), str(g)))
        if view == "ml":
            order = sorted(groups.groups)
        for group in order:
            idx = groups.groups[group]
            part = table.loc[idx]
            spend = part[SPEND].astype(float) if SPEND in part else pd.Series(np.nan, index=idx)
            recommended, rec_share = _mode_share(part["recommended_perk"])
            perk = _mode_share(part[perk_col])[0]
            rows.append(
                {
                    "view": view,
                    "segment": str(group),
                    "name": name_of(group),
                    "users": len(part),
                    "share": len(part) / n,
                    "avg_spend_usd": float(spend.mean()),
                    "total_spend_usd": float(spend.sum()),
                    "perk": perk,
                    "recommended_perk": recommended,
                    "recommended_share": rec_share,
                    "key_traits": key_traits(z.loc[idx].mean()),
                    "perk_name": perk_name(perk),
                    "recommended_perk_name": perk_name(recommended),
                }
            )
    return pd.DataFrame(rows)


def perk_counts(values: pd.Series) -> dict[str, int]:
    """Users per perk, largest first (ties by name); the empty perk is left out."""
    counts = values[values.astype(str) != ""].astype(str).value_counts()
    return {k: int(counts[k]) for k in sorted(counts.index, key=lambda k: (-counts[k], k))}


def analysis(
    *,
    metrics: Mapping[str, Any],
    k_table: pd.DataFrame,
    contingency: pd.DataFrame,
    ab_arms: pd.DataFrame,
    summary: pd.DataFrame,
    assignment: pd.DataFrame,
    answers: list[str],
    projection: Mapping[str, Any],
) -> dict[str, Any]:
    """All analysis results as one JSON-ready dict (write it with ``traveltide.io.write_json``)."""
    return {
        "metrics": dict(metrics),
        "k_selection": k_table.to_dict("records"),
        "contingency": {
            str(seg): {str(c): int(v) for c, v in row.items()}
            for seg, row in contingency.iterrows()
        },
        "ab_arms": ab_arms.to_dict("records"),
        "segment_summary": summary.to_dict("records"),
        "recommendation": {
            "rule": RECOMMENDATION_RULE,
            "verdict": metrics.get("ab_test", {}).get("verdict_winner"),
            "perks": perk_counts(assignment["recommended_perk"]),
            "basis": {
                k: int(v) for k, v in assignment["recommendation_basis"].value_counts().items()
            },
            "basis_meaning": BASIS,
            "users_without_perk": int((assignment["recommended_perk"] == "").sum()),
        },
        "answers": list(answers),
        "pca_projection": dict(projection),
    }
