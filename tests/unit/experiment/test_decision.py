"""The recommendation rule: every branch, and no larger point estimate deciding alone."""

from __future__ import annotations

import pandas as pd
import pytest

from traveltide.experiment.analysis import analyse
from traveltide.experiment.decision import BASIS, decide_recommendation, recommend

WEIGHTS = {"A": 1.0, "B": 1.0, "C": 1.0}
WIN_B = {"A": (4000, 440), "B": (4000, 640), "C": (4000, 400)}
TIE = {"A": (4000, 600), "B": (4000, 640), "C": (4000, 400)}  # B vs A: +1 point, not shown


def decision(make_table, counts, *, loss=0.002, table=None, **kwargs):
    data = make_table(counts) if table is None else table
    result = analyse(data, weights=WEIGHTS, metric="conversion", **kwargs)
    return result, decide_recommendation(result, max_expected_loss=loss)


def per_user(dec) -> tuple[list[str], list[str]]:
    rule = pd.Series(["meal", "bag", "night"])
    ml = pd.Series(["meal", "night", "bag"])
    perk, basis = recommend(rule, ml, {"decision": vars(dec)})
    return perk.tolist(), basis.tolist()


def test_a_winner_gives_its_perk_to_everyone(make_table):
    _, dec = decision(make_table, WIN_B)
    assert (dec.winner, dec.basis, dec.differ) == ("B", "ab_winner", "ml")
    assert per_user(dec) == (["meal", "night", "bag"], ["ab_winner"] * 3)


def test_a_tie_goes_to_the_arm_with_a_small_expected_loss(make_table):
    result, dec = decision(make_table, TIE, loss=0.002)
    assert result.verdict.winner == "tie"
    direct = result.direct[0]
    assert direct.bayes.expected_loss_treatment <= 0.002 < direct.bayes.expected_loss_control
    assert (dec.basis, dec.differ) == ("lower_expected_loss", "ml")
    assert per_user(dec) == (
        ["meal", "night", "bag"],
        ["both_agree", "lower_expected_loss", "lower_expected_loss"],
    )


@pytest.mark.parametrize("loss", [0.0001, 0.05])
def test_a_tie_without_a_clear_loss_keeps_the_rule_perks(make_table, loss):
    """B's point estimate is larger, but with neither (or both) arms within the loss
    threshold the rule perk stays: the larger estimate alone decides nothing."""
    result, dec = decision(make_table, TIE, loss=loss)
    assert result.direct[0].decision.effect > 0
    assert (dec.basis, dec.differ) == ("keep_rules", "rules")
    assert per_user(dec) == (["meal", "bag", "night"], ["both_agree", "keep_rules", "keep_rules"])


def test_control_win_and_inconclusive_recommend_nothing(make_table):
    _, lost = decision(make_table, {"A": (4000, 250), "B": (4000, 260), "C": (4000, 420)})
    assert (lost.winner, lost.basis) == ("C", "control_won")
    assert per_user(lost) == (["", "", ""], ["control_won"] * 3)
    _, srm = decision(make_table, {"A": (3000, 300), "B": (3000, 600), "C": (2000, 200)})
    assert (srm.winner, srm.basis) == ("inconclusive", "inconclusive")


def test_a_failing_guardrail_blocks_the_winner(make_table):
    table = make_table(WIN_B)
    cancelled = table["converted"] & (table["group"] == "B")  # every B booking cancelled
    _, dec = decision(make_table, WIN_B, table=table.assign(cancelled=cancelled))
    assert (dec.winner, dec.basis, dec.differ) == ("B", "guardrail_failed", "")
    assert "cancellation_increase" in dec.reason
    assert per_user(dec) == (["", "", ""], ["guardrail_failed"] * 3)


def test_the_rule_is_stated_and_every_basis_explained(make_table):
    _, dec = decision(make_table, TIE)
    assert "expected loss" in dec.rule and "0.2 points" in dec.rule
    assert dec.basis in BASIS
    perk, basis = recommend(pd.Series(["a"]), pd.Series(["b"]), {})
    assert (perk.tolist(), basis.tolist()) == ([""], ["inconclusive"])
