"""traveltide.report.exports: the recommended perk, the segment summary, the analysis JSON."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from report_inputs import VERDICTS, build_inputs, synthetic_tables
from traveltide.errors import DataError
from traveltide.io import to_json
from traveltide.report.exports import (
    analysis,
    key_traits,
    recommend,
    rewards_assignment,
    segment_summary,
)
from traveltide.report.narrative import executive_summary

# --------------------------------------------------------------------------- recommended perk


@pytest.mark.parametrize("verdict", list(VERDICTS))
def test_recommended_perk_follows_the_documented_rule(ab_by_verdict, verdict):
    _, rules, clusters, _ = synthetic_tables()
    ab = ab_by_verdict[verdict]
    out = rewards_assignment(rules, clusters, ab)
    agree = out["rule_perk"] == out["ml_perk"]
    assert agree.any() and not agree.all()  # both branches of the rule are exercised
    if verdict == "A":
        assert (out["recommended_perk"] == out["rule_perk"]).all()
        assert set(out["recommendation_basis"]) == {"ab_winner"}
    elif verdict == "B":
        assert (out["recommended_perk"] == out["ml_perk"]).all()
        assert set(out["recommendation_basis"]) == {"ab_winner"}
    elif verdict in ("C", "inconclusive"):
        assert (out["recommended_perk"] == "").all()
        assert set(out["recommendation_basis"]) == {"control_won" if verdict == "C" else verdict}
    else:
        assert (out.loc[agree, "recommended_perk"] == out.loc[agree, "rule_perk"]).all()
        assert set(out.loc[agree, "recommendation_basis"]) == {"both_agree"}
        differ = out.loc[~agree]
        if verdict == "tie":  # equal lifts (A and B both +10 pts): the tie-break is A (name order)
            assert ab["A_vs_C_lift_abs"] == pytest.approx(ab["B_vs_C_lift_abs"])
            assert (differ["recommended_perk"] == differ["rule_perk"]).all()
            assert set(differ["recommendation_basis"]) == {"tie_larger_lift"}
        else:
            assert (differ["recommended_perk"] == differ["rule_perk"]).all()
            assert set(differ["recommendation_basis"]) == {"keep_rules"}


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0.03, True), (0.05, True), "ml"),  # both above control: the larger lift
        ((0.05, True), (0.03, True), "rules"),
        ((0.02, True), (0.09, False), "rules"),  # B's larger lift is not significant
        ((-0.02, True), (0.01, True), "ml"),  # A significantly BELOW control does not count
    ],
)
def test_tie_gives_the_perk_of_the_larger_significant_lift(a, b, expected):
    ab = {
        "verdict_winner": "tie",
        "A_vs_C_lift_abs": a[0],
        "A_vs_C_significant": a[1],
        "B_vs_C_lift_abs": b[0],
        "B_vs_C_significant": b[1],
    }
    rule = pd.Series(["x", "y", "z"])
    ml = pd.Series(["x", "q", "r"])
    perk, basis = recommend(rule, ml, ab)
    assert perk.iloc[0] == "x" and basis.iloc[0] == "both_agree"
    assert list(perk.iloc[1:]) == list((ml if expected == "ml" else rule).iloc[1:])
    assert set(basis.iloc[1:]) == {"tie_larger_lift"}


def test_missing_verdict_recommends_nothing():
    perk, basis = recommend(pd.Series(["x"]), pd.Series(["x"]), {})
    assert perk.tolist() == [""] and basis.tolist() == ["inconclusive"]


def test_assignment_has_one_row_per_user_and_refuses_unmatched_users(ab_by_verdict):
    _, rules, clusters, _ = synthetic_tables()
    out = rewards_assignment(rules, clusters, ab_by_verdict["B"])
    assert out["user_id"].tolist() == sorted(rules["user_id"])
    by_user = clusters.set_index("user_id")
    assert (out["ml_cluster"].to_numpy() == by_user.loc[out["user_id"], "cluster"].to_numpy()).all()
    assert (out["perks_agree"] == (out["rule_perk"] == out["ml_perk"])).all()
    with pytest.raises(DataError, match="only one segmentation"):
        rewards_assignment(rules.iloc[1:], clusters, ab_by_verdict["B"])


# --------------------------------------------------------------------------- segment summary


def test_segment_summary_matches_pandas(ab_by_verdict):
    features, rules, clusters, _ = synthetic_tables()
    assignment = rewards_assignment(rules, clusters, ab_by_verdict["B"])
    summary = segment_summary(features, assignment)
    joined = assignment.merge(features, on="user_id")
    cols = [c for c in features.columns if c != "user_id"]
    z = (joined[cols] - joined[cols].mean()) / joined[cols].std(ddof=0)
    for view, key in (("rules", "rule_segment"), ("ml", "ml_cluster")):
        part = summary[summary["view"] == view].set_index("segment")
        groups = joined.groupby(joined[key].astype(str))
        assert part["users"].to_dict() == groups.size().to_dict()
        assert part["share"].sum() == pytest.approx(1.0)
        spend = groups["total_spend_usd"].mean()
        assert part["avg_spend_usd"].to_numpy() == pytest.approx(spend.loc[part.index].to_numpy())
        for seg, row in part.iterrows():
            means = z[joined[key].astype(str) == seg].mean().drop("constant")
            top = means.abs().idxmax()
            first = row["key_traits"].split(";")[0].split()
            assert first[1] == top and first[2] == f"({means[top]:+.1f}"
            assert "constant" not in row["key_traits"]
    rules_rows = summary[summary["view"] == "rules"]
    assert rules_rows["users"].is_monotonic_decreasing  # largest segment first


def test_key_traits_wording():
    text = key_traits(pd.Series({"a": 0.2, "b": -2.04, "c": 1.0, "d": 0.0}), top=3)
    assert text == "low b (-2.0 sd); high c (+1.0 sd); high a (+0.2 sd)"


def test_segment_summary_refuses_users_without_features(ab_by_verdict):
    features, rules, clusters, _ = synthetic_tables()
    assignment = rewards_assignment(rules, clusters, ab_by_verdict["B"])
    with pytest.raises(DataError, match="no feature row"):
        segment_summary(features.iloc[5:], assignment)


def test_analysis_json_holds_every_result(ab_by_verdict):
    inputs = build_inputs(ab_by_verdict["tie"])
    doc = json.loads(
        to_json(
            analysis(
                metrics=inputs.metrics,
                k_table=inputs.k_table,
                contingency=inputs.contingency,
                ab_arms=inputs.ab_arms,
                summary=inputs.summary,
                assignment=inputs.assignment,
                executive_summary=executive_summary(inputs.metrics, inputs.assignment),
                projection=inputs.projection.to_dict(),
            )
        )
    )
    assert doc["metrics"]["compare"]["ari"] == inputs.metrics["compare"]["ari"]
    assert doc["recommendation"]["verdict"] == "tie"
    assert sum(doc["recommendation"]["perks"].values()) == len(inputs.assignment)
    assert len(doc["segment_summary"]) == len(inputs.summary)
    assert doc["k_selection"][0]["truth_ari"] is None  # NaN becomes null
