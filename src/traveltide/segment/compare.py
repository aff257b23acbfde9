"""Agreement between the rule-based segments and the ML clusters.

All indices come from scikit-learn (ARI, AMI, NMI, homogeneity, completeness, V-measure,
Fowlkes-Mallows) and the contingency chi-square from scipy; this module only wires them together,
and turns the rule segment x cluster table into per-segment recommendations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

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


def align(rules: pd.DataFrame, clusters: pd.DataFrame, *, what: str = "compare") -> pd.DataFrame:
    """Join both segmentations on user_id (sorted); they must cover exactly the same users.

    `what` starts the error message: the step that needed both views.
    """
    merged = rules.merge(
        clusters, on="user_id", how="outer", suffixes=("_rules", "_ml"), indicator=True
    )
    unmatched = merged["_merge"] != "both"
    if unmatched.any():
        first = merged.loc[unmatched, "user_id"].iloc[0]
        raise DataError(
            f"{what}: {int(unmatched.sum())} users are in only one segmentation "
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
    # Imported here: ab_test and report import this module for `align` and must not pay for
    # scikit-learn and SciPy at start-up.
    from scipy.stats import chi2_contingency
    from sklearn import metrics

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


# --------------------------------------------------------------------------- recommendations

Status = Literal["agree", "absorbed", "split", "scattered"]


@dataclass(frozen=True)
class SegmentAgreement:
    """How one rule segment maps onto the clusters, and what that suggests.

    - ``dominant_share``: share of the segment's users in its largest cluster.
    - ``cluster_purity``: share of that cluster's users that belong to the segment.
    - ``parts``: (cluster, share of the segment, the cluster's ML perk) for every cluster
      holding at least ``split_share`` of the segment, largest first.
    - ``status``: ``agree`` (dominant_share and cluster_purity both >= agree_share: the
      segment is a cluster), ``absorbed`` (mostly in one cluster that is mostly other
      users), ``split`` (two or more parts), ``scattered`` (no part at all).
    """

    segment: str
    users: int
    rule_perk: str
    dominant_cluster: str
    dominant_share: float
    cluster_purity: float
    cluster_perk: str
    parts: tuple[tuple[str, float, str], ...]
    perk_agreement: float
    status: Status
    recommendation: str


def _mode(values: pd.Series) -> str:
    """Most frequent value (ties: the one sorting first), as text."""
    counts = values.astype(str).value_counts()
    return str(min(counts.index[counts == counts.max()]))


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _recommend(s: SegmentAgreement, *, others: str, split_share: float) -> str:
    """One sentence of advice for a segment, from its numbers only."""
    head = f"{s.segment} ({s.users} users)"
    where = f"cluster {s.dominant_cluster}"
    if s.status == "agree":
        body = (
            f"the views agree: {_pct(s.dominant_share)} of it is {where}, and it makes up "
            f"{_pct(s.cluster_purity)} of that cluster. "
        )
        if s.rule_perk == s.cluster_perk:
            return f"{head}: {body}Both give {s.rule_perk}: the data confirm the rule; keep it."
        return (
            f"{head}: {body}But the rule gives {s.rule_perk} and the cluster "
            f"{s.cluster_perk}: same users, different perks; the A/B test decides which fits."
        )
    if s.status == "absorbed":
        head = (
            f"{head}: {_pct(s.dominant_share)} of it sits in {where}, but it is only "
            f"{_pct(s.cluster_purity)} of that cluster (with {others}): the features do not set "
            f"this segment apart, only the rule's threshold does"
        )
        if s.rule_perk == s.cluster_perk:
            return f"{head}; both views give it {s.rule_perk}, so the offer is the same either way."
        return (
            f"{head}; the cluster gives {s.cluster_perk} instead of {s.rule_perk} "
            f"({_pct(s.perk_agreement)} same perk): keep the rule only if A (rule perks) does "
            f"at least as well as B in the A/B test."
        )
    if s.status == "split":
        parts = ", ".join(f"{c} ({_pct(share)}, {perk})" for c, share, perk in s.parts)
        perks = {perk for _, _, perk in s.parts}
        advice = (
            "consider splitting the segment along these clusters, each part with its "
            "cluster's perk."
            if len(perks) > 1
            else f"they all get {next(iter(perks))} from ML, so a split would not change the offer."
        )
        return (
            f"{head}: splits across clusters {parts}: the rule lumps together behaviours the "
            f"clustering separates; {advice}"
        )
    return (
        f"{head}: scattered, no cluster holds {_pct(split_share)} of it (largest: "
        f"{_pct(s.dominant_share)} in {where}): not a natural group in the features; "
        f"review its rule."
    )


def segment_agreement(
    rule_labels: pd.Series,
    cluster_labels: pd.Series,
    rule_perks: pd.Series,
    ml_perks: pd.Series,
    *,
    agree_share: float = 0.7,
    split_share: float = 0.2,
) -> tuple[SegmentAgreement, ...]:
    """Per rule segment: where its users sit among the clusters, and a recommendation.

    All series are aligned by position over the same users. Segments come largest first.
    """
    frame = pd.DataFrame(
        {
            "segment": rule_labels.astype(str).to_numpy(),
            "cluster": cluster_labels.astype(str).to_numpy(),
            "rule_perk": rule_perks.astype(str).to_numpy(),
            "ml_perk": ml_perks.astype(str).to_numpy(),
        }
    )
    table = pd.crosstab(frame["segment"], frame["cluster"])
    cluster_perk = frame.groupby("cluster")["ml_perk"].agg(_mode)
    seg_perk = frame.groupby("segment")["rule_perk"].agg(_mode)
    same = (frame["rule_perk"] == frame["ml_perk"]).groupby(frame["segment"]).mean()
    sizes = table.sum(axis=1)
    order = sorted(table.index, key=lambda s: (-int(sizes[s]), s))
    result = []
    for seg in order:
        row = table.loc[seg]
        n = int(row.sum())
        shares = (row / n).sort_values(ascending=False, kind="stable")
        top = str(shares.index[0])
        column = table[top]
        purity = float(column[seg] / column.sum())
        parts = tuple(
            (str(c), float(v), str(cluster_perk[c])) for c, v in shares.items() if v >= split_share
        )
        if shares.iloc[0] >= agree_share:
            status: Status = "agree" if purity >= agree_share else "absorbed"
        elif len(parts) >= 2:
            status = "split"
        else:
            status = "scattered"
        mates = (column.drop(seg) / column.sum()).sort_values(ascending=False, kind="stable")
        others = ", ".join(f"{s} {_pct(v)}" for s, v in mates.head(2).items() if v > 0)
        draft = SegmentAgreement(
            segment=str(seg),
            users=n,
            rule_perk=str(seg_perk[seg]),
            dominant_cluster=top,
            dominant_share=float(shares.iloc[0]),
            cluster_purity=purity,
            cluster_perk=str(cluster_perk[top]),
            parts=parts,
            perk_agreement=float(same[seg]),
            status=status,
            recommendation="",
        )
        text = _recommend(draft, others=others or "no other segment", split_share=split_share)
        result.append(replace(draft, recommendation=text))
    return tuple(result)


def overall_summary(result: Agreement, segments: Sequence[SegmentAgreement]) -> str:
    """One sentence over all segments, from the counts and indices only."""
    by = {s: [x.segment for x in segments if x.status == s] for s in get_args(Status)}
    parts = [f"{len(by['agree'])} of {len(segments)} rule segments match a cluster"]
    one = {"split": "splits", "sit": "sits", "are": "is"}

    def verb(n: int, plural: str) -> str:
        return f"{n} {one[plural] if n == 1 else plural}"

    if by["split"]:
        split = ", ".join(by["split"])
        parts.append(f"{verb(len(by['split']), 'split')} across clusters ({split})")
    if by["absorbed"]:
        parts.append(f"{verb(len(by['absorbed']), 'sit')} inside a larger cluster")
    if by["scattered"]:
        parts.append(f"{verb(len(by['scattered']), 'are')} scattered")
    return (
        f"{'; '.join(parts)}. {_pct(result.perk_agreement)} of the {result.users} users get "
        f"the same perk from both views (ARI {result.ari:.2f}, NMI {result.nmi:.2f}; "
        f"1 = identical partitions, 0 = chance)."
    )


def recommendations_dict(result: Agreement, segments: Sequence[SegmentAgreement]) -> dict[str, Any]:
    """The JSON-ready observations: segment names by status, and the advice (overall summary
    first), for data/summary/compare.json. Per-segment numbers go to ``segments_table`` (a CSV).
    The advice is conditional on the A/B test, which has not run yet: the report states the
    decision taken (``traveltide.report``), not this text."""
    out: dict[str, Any] = {
        f"segments_{s}": [x.segment for x in segments if x.status == s] for s in get_args(Status)
    }
    out["recommendations"] = [overall_summary(result, segments)] + [
        x.recommendation for x in segments
    ]
    return out


def segments_table(segments: Sequence[SegmentAgreement]) -> pd.DataFrame:
    """The per-segment rows as a table (one row per rule segment, largest first)."""
    rows = [
        {
            **{k: v for k, v in asdict(x).items() if k != "parts"},
            "parts": "; ".join(f"{c}:{share:.3f}:{perk}" for c, share, perk in x.parts),
        }
        for x in segments
    ]
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Comparison:
    """Everything the compare stage writes."""

    agreement: Agreement
    segments: tuple[SegmentAgreement, ...]
    contingency: pd.DataFrame  # users per (rule segment, cluster)

    def metrics(self) -> dict[str, float]:
        """metrics/compare.json: the agreement indices that compare configurations, numbers only
        (DVC shows each as a column of `dvc exp show`)."""
        a = self.agreement
        return {
            "ari": a.ari,
            "ami": a.ami,
            "nmi": a.nmi,
            "fowlkes_mallows": a.fowlkes_mallows,
            "perk_agreement": a.perk_agreement,
        }

    def summary(self) -> dict[str, Any]:
        """data/summary/compare.json: every index, the segments by status and the per-segment
        observations (text, so not a DVC metric)."""
        return {**asdict(self.agreement), **recommendations_dict(self.agreement, self.segments)}


def compare_segmentations(
    rules: pd.DataFrame,
    clusters: pd.DataFrame,
    *,
    agree_share: float = 0.7,
    split_share: float = 0.2,
) -> Comparison:
    """Both segmentations of the same users (segment_rules' and cluster's tables) compared:
    agreement indices, per-segment recommendations and the contingency table."""
    both = align(rules, clusters)
    labels = (both["segment"], both["cluster"], both["perk_rules"], both["perk_ml"])
    return Comparison(
        agreement=agreement(*labels),
        segments=segment_agreement(*labels, agree_share=agree_share, split_share=split_share),
        contingency=contingency(both["segment"], both["cluster"]),
    )
