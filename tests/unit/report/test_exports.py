"""traveltide.report.exports: the recommended perk, the segment summary, the analysis JSON."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from report_inputs import DECISIONS, inputs_for, synthetic_tables, with_decision
from traveltide.errors import DataError
from traveltide.io import to_json
from traveltide.report.answers import answers_html
from traveltide.report.exports import analysis, key_traits, rewards_assignment, segment_summary
from traveltide.report.narrative import plain_text

# --------------------------------------------------------------------------- recommended perk


@pytest.mark.parametrize("scenario", list(DECISIONS))
def test_the_assignment_applies_the_ab_decision(ab, scenario):
    """The rule itself is experiment.decision's (tested there); the export applies it."""
    _, rules, clusters, _ = synthetic_tables()
    winner, basis, differ = DECISIONS[scenario]
    out = rewards_assignment(rules, clusters, with_decision(ab["figures"], scenario))
    agree = out["rule_perk"] == out["ml_perk"]
    assert agree.any() and not agree.all()  # both kinds of user are there
    if not differ:
        assert (out["recommended_perk"] == "").all()
        assert set(out["recommendation_basis"]) == {basis}
        return
    source = out["rule_perk"] if differ == "rules" else out["ml_perk"]
    assert (out.loc[~agree, "recommended_perk"] == source[~agree]).all()
    assert (out.loc[agree, "recommended_perk"] == out.loc[agree, "rule_perk"]).all()
    assert set(out.loc[~agree, "recommendation_basis"]) == {basis}


def test_assignment_has_one_row_per_user_and_refuses_unmatched_users(ab):
    _, rules, clusters, _ = synthetic_tables()
    decided = with_decision(ab["figures"], "B wins")
    out = rewards_assignment(rules, clusters, decided)
    assert out["user_id"].tolist() == sorted(rules["user_id"])
    by_user = clusters.set_index("user_id")
    assert (out["ml_cluster"].to_numpy() == by_user.loc[out["user_id"], "cluster"].to_numpy()).all()
    assert (out["perks_agree"] == (out["rule_perk"] == out["ml_perk"])).all()
    with pytest.raises(DataError, match="only one segmentation"):
        rewards_assignment(rules.iloc[1:], clusters, decided)


# --------------------------------------------------------------------------- segment summary


def test_segment_summary_matches_pandas(ab):
    features, rules, clusters, _ = synthetic_tables()
    assignment = rewards_assignment(rules, clusters, with_decision(ab["figures"], "B wins"))
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


def test_segment_summary_refuses_users_without_features(ab):
    features, rules, clusters, _ = synthetic_tables()
    assignment = rewards_assignment(rules, clusters, with_decision(ab["figures"], "B wins"))
    with pytest.raises(DataError, match="no feature row"):
        segment_summary(features.iloc[5:], assignment)


def test_analysis_json_holds_every_result(ab):
    inputs = inputs_for(ab, "tie, rules stay")
    doc = json.loads(
        to_json(
            analysis(
                metrics=inputs.metrics,
                k_table=inputs.k_table,
                contingency=inputs.contingency,
                ab_arms=inputs.ab_arms,
                summary=inputs.summary,
                assignment=inputs.assignment,
                answers=plain_text(answers_html(inputs)),
                projection=inputs.projection.to_dict(),
            )
        )
    )
    assert doc["metrics"]["compare"]["ari"] == inputs.metrics["compare"]["ari"]
    assert doc["recommendation"]["verdict"] == "tie"
    assert any(line.startswith("Which perk does each segment get") for line in doc["answers"])
    assert sum(doc["recommendation"]["perks"].values()) == len(inputs.assignment)
    assert len(doc["segment_summary"]) == len(inputs.summary)
    assert doc["k_selection"][0]["truth_ari"] is None  # NaN becomes null


def test_exports_carry_human_names_beside_the_codes(ab):
    features, rules, clusters, _ = synthetic_tables()
    assignment = rewards_assignment(rules, clusters, with_decision(ab["figures"], "B wins"))
    assert set(assignment["recommended_perk_name"]) <= {
        "Free hotel night with a flight",
        "Free checked bag",
        "Exclusive discounts",
        "Free hotel meal",
    }
    summary = segment_summary(features, assignment)
    rules_rows = summary[summary["view"] == "rules"].set_index("segment")
    assert rules_rows.loc["family_traveller", "name"] == "Family travellers"
    assert rules_rows.loc["family_traveller", "perk_name"] == "Free checked bag"
    ml = summary[summary["view"] == "ml"]
    assert ml["name"].str.match(r"Group \d+: ").all()
