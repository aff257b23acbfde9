"""The recommendation: which perk each user should get, by one stated rule.

The ab_test stage decides (``decide_recommendation``) from the analysis and writes the
decision, with its rule in words, to data/ab/summary.json; the report's exports apply it to
every user (``recommend``). The rule, in order:

1. The test is inconclusive (a sample-ratio mismatch, or nothing could be tested), or the
   control wins: no perk is recommended.
2. A treatment wins (significantly above the control and above the other treatment on the
   decision metric, after multiple-testing correction): every user gets its perk.
3. Otherwise (a tie, or no significant difference), users whose rule and ML perks agree get
   that perk; where they differ, the treatment whose expected loss against the other
   (Bayesian, decision metric, users whose perks differ) is at most ``max_expected_loss``
   while the other's is above it gives the perk; if neither or both qualify, the rule perk
   stays (current practice). No larger point estimate ever decides alone.
4. Whatever arm a branch picks must pass its guardrails (``experiment.guardrails``); if it
   fails one, no perk is recommended.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from traveltide.experiment.labels import INCONCLUSIVE, METRIC_WORDS, NO_DIFFERENCE, TIE

if TYPE_CHECKING:  # the report applies decisions without loading the statistics
    from traveltide.experiment.analysis import ABAnalysis

ARM_VIEW = {"A": "rules", "B": "ml"}  # the arms that give targeted perks (C is control)

# recommendation_basis values, one per branch of the rule
BASIS = {
    "ab_winner": "the A/B winner's perk",
    "both_agree": "rules and ML give the same perk",
    "lower_expected_loss": "tie: the perk of the arm whose expected loss is below the threshold",
    "keep_rules": "no arm shown better: the rule perk stays (current practice)",
    "control_won": "every targeted arm did worse than control: no perk recommended",
    "guardrail_failed": "the arm the rule picks fails a guardrail: no perk recommended",
    "inconclusive": "the A/B test is inconclusive: no perk recommended",
}


RULE = (
    "If the A/B test is inconclusive (a sample ratio mismatch, or nothing could be tested) or "
    "the control wins, no perk is recommended. If arm A (rule perks) or B (ML perks) wins on "
    "the decision metric (ab_test.decision.metric) - significantly above the control and "
    "above the other arm after multiple-testing correction - every user gets its perk. "
    "Otherwise a user whose rule and ML perks agree gets that perk; where they differ, the "
    "arm whose expected loss against the other is at most ab_test.decision.max_expected_loss "
    "while the other's is above it gives the perk, and if neither or both qualify the rule "
    "perk stays (current practice). An arm that fails a guardrail is never recommended."
)


@dataclass(frozen=True)
class Decision:
    """The recommendation for the cohort: ``differ`` is the view (rules | ml) whose perk a
    user gets where rule and ML perks differ ("" for none); ``agree`` whether a user whose
    perks agree gets that perk; ``basis`` names the branch (``BASIS``)."""

    winner: str
    basis: str
    differ: str
    agree: bool
    reason: str
    rule: str


def recommendation_rule(metric: str, max_expected_loss: float) -> str:
    """The rule in words, with the decision metric and the loss threshold of this run."""
    words = METRIC_WORDS.get(metric, metric)
    unit = "points" if metric == "conversion" else "USD per user"
    threshold = 100 * max_expected_loss if metric == "conversion" else max_expected_loss
    return (
        f"The decision metric is {words}. If the test is inconclusive (a sample ratio "
        "mismatch, or nothing could be tested) or the control wins, no perk is recommended. "
        "If arm A (rule perks) or B (ML perks) wins - significantly above the control and "
        "above the other arm after multiple-testing correction - every user gets its perk. "
        "Otherwise a user whose rule and ML perks agree gets that perk; where they differ, "
        "the arm whose expected loss against the other (Bayesian, on the users whose perks "
        f"differ) is at most {threshold:g} {unit} while the other's is above it gives the "
        "perk, and if neither or both qualify the rule perk stays (current practice). An arm "
        "that fails a guardrail (cancellations, margin) is never recommended: no perk then."
    )


def _failing(analysis: ABAnalysis, arm: str) -> list[str]:
    return [g.metric for g in analysis.guardrails if g.arm == arm and g.failing]


def _direct(analysis: ABAnalysis) -> Any:
    return next((c for c in analysis.direct if {c.treatment, c.control} == {"A", "B"}), None)


def decide_recommendation(analysis: ABAnalysis, *, max_expected_loss: float) -> Decision:
    """The decision for the cohort from the analysis, by the rule above."""
    winner = analysis.verdict.winner
    rule = recommendation_rule(analysis.metric, max_expected_loss)

    def made(basis: str, differ: str, agree: bool, reason: str) -> Decision:
        arm = {"rules": "A", "ml": "B"}.get(differ)
        failing = _failing(analysis, arm) if arm else []
        if failing:
            why = f"arm {arm} fails the {' and '.join(failing)} guardrail"
            return Decision(winner, "guardrail_failed", "", False, f"{reason} But {why}.", rule)
        return Decision(winner, basis, differ, agree, reason, rule)

    if winner in ARM_VIEW:
        return made("ab_winner", ARM_VIEW[winner], True, f"Arm {winner} won the test.")
    if winner not in (TIE, NO_DIFFERENCE):
        basis = "control_won" if winner == analysis.control else INCONCLUSIVE
        return Decision(winner, basis, "", False, BASIS[basis] + ".", rule)
    direct = _direct(analysis)
    if direct is not None and math.isfinite(direct.bayes.expected_loss_treatment):
        # treatment/control of the direct comparison are B/A: the loss of choosing each
        loss = {
            direct.treatment: direct.bayes.expected_loss_treatment,
            direct.control: direct.bayes.expected_loss_control,
        }
        low = [arm for arm in ("A", "B") if loss.get(arm, math.inf) <= max_expected_loss]
        if len(low) == 1:
            other = "B" if low[0] == "A" else "A"
            reason = (
                f"No arm won; choosing {low[0]} risks {loss[low[0]]:.3g} per user against "
                f"{other} (threshold {max_expected_loss:g}), choosing {other} {loss[other]:.3g}."
            )
            return made("lower_expected_loss", ARM_VIEW[low[0]], True, reason)
    return made("keep_rules", "rules", True, "No arm was shown better: the rule perks stay.")


def recommend(
    rule_perk: pd.Series, ml_perk: pd.Series, summary: Mapping[str, Any]
) -> tuple[pd.Series, pd.Series]:
    """The recommended perk and its basis per user, from the decision in ``summary``
    (data/ab/summary.json); without a decision nothing is recommended (inconclusive)."""
    decision = summary.get("decision") or {}
    rule_perk = rule_perk.astype(str)
    ml_perk = ml_perk.astype(str)
    index = rule_perk.index
    basis = str(decision.get("basis") or INCONCLUSIVE)
    source = {"rules": rule_perk, "ml": ml_perk}.get(str(decision.get("differ") or ""))
    if source is None:
        return pd.Series("", index=index, dtype=str), pd.Series(basis, index=index, dtype=str)
    if basis == "ab_winner":
        return source.rename("recommended_perk"), pd.Series(basis, index=index, dtype=str)
    agree = (rule_perk.to_numpy() == ml_perk.to_numpy()) & bool(decision.get("agree"))
    perk = pd.Series(np.where(agree, rule_perk, source), index=index, dtype=str)
    why = pd.Series(np.where(agree, "both_agree", basis), index=index, dtype=str)
    return perk, why
