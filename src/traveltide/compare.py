"""Agreement between the rule-based segments and the ML clusters.

All indices come from scikit-learn (ARI, AMI, NMI, homogeneity, completeness, V-measure,
Fowlkes-Mallows) and the contingency chi-square from scipy; this module only wires them together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency
from sklearn import metrics

from traveltide.errors import DataError


@dataclass(frozen=True)
class Agreement:
    """How far two segmentations of the same users agree (1 = identical partitions)."""

    users: int
    ari: float
    ami: float
    nmi: float
    homogeneity: float
    completeness: float
    v_measure: float
    fowlkes_mallows: float
    perk_agreement: float
    contingency_chi2: float
    contingency_p_value: float
    contingency_dof: int


def align(rules: pd.DataFrame, clusters: pd.DataFrame) -> pd.DataFrame:
    """Join both segmentations on user_id; they must cover exactly the same users."""
    merged = rules.merge(
        clusters, on="user_id", how="outer", suffixes=("_rules", "_ml"), indicator=True
    )
    unmatched = merged["_merge"] != "both"
    if unmatched.any():
        first = merged.loc[unmatched, "user_id"].iloc[0]
        raise DataError(
            f"compare: {int(unmatched.sum())} users are in only one segmentation "
            f"(first user_id {first})"
        )
    return merged.drop(columns="_merge").sort_values("user_id", kind="stable")


def contingency(rule_labels: pd.Series, cluster_labels: pd.Series) -> pd.DataFrame:
    """Users per (rule segment, cluster)."""
    return pd.crosstab(rule_labels.rename("segment"), cluster_labels.rename("cluster"))


def agreement(
    rule_labels: pd.Series, cluster_labels: pd.Series, rule_perks: pd.Series, ml_perks: pd.Series
) -> Agreement:
    """Every agreement index on the same users; chi-square is NaN when the table is 1 x n."""
    a, b = rule_labels.to_numpy(), cluster_labels.to_numpy()
    h, c, v = metrics.homogeneity_completeness_v_measure(a, b)
    table = contingency(rule_labels, cluster_labels)
    if min(table.shape) > 1:
        chi2, p, dof, _ = chi2_contingency(table.to_numpy())
    else:  # one segment or one cluster: independence is untestable
        chi2, p, dof = float("nan"), float("nan"), 0
    return Agreement(
        users=len(a),
        ari=float(metrics.adjusted_rand_score(a, b)),
        ami=float(metrics.adjusted_mutual_info_score(a, b)),
        nmi=float(metrics.normalized_mutual_info_score(a, b)),
        homogeneity=float(h),
        completeness=float(c),
        v_measure=float(v),
        fowlkes_mallows=float(metrics.fowlkes_mallows_score(a, b)),
        perk_agreement=float(np.mean(rule_perks.to_numpy() == ml_perks.to_numpy())),
        contingency_chi2=float(chi2),
        contingency_p_value=float(p),
        contingency_dof=int(dof),
    )
