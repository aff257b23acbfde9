"""The verdict: a winner must beat the control and the other treatment; SRM trusts nothing."""

from __future__ import annotations

import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from traveltide.experiment.analysis import analyse
from traveltide.experiment.verdict import INCONCLUSIVE, NO_DIFFERENCE, TIE

WEIGHTS = {"A": 1.0, "B": 1.0, "C": 1.0}


def holm_p(counts: dict[str, tuple[int, int]]) -> dict[tuple[str, str], float]:
    """Holm-adjusted z-test p-values of A-C, B-C, B-A computed here with statsmodels."""
    pairs = [("A", "C"), ("B", "C"), ("B", "A")]
    raw = [
        proportions_ztest([counts[t][1], counts[c][1]], [counts[t][0], counts[c][0]])[1]
        for t, c in pairs
    ]
    return dict(zip(pairs, multipletests(raw, method="holm")[1], strict=True))


class TestVerdict:
    def test_clear_winner(self, make_table):
        counts = {"A": (4000, 440), "B": (4000, 640), "C": (4000, 400)}
        v = analyse(make_table(counts), weights=WEIGHTS, metric="conversion").verdict
        p = holm_p(counts)
        assert p["B", "C"] < 0.05 and p["B", "A"] < 0.05  # the premise, checked independently
        assert v.winner == "B"
        assert "B" in v.reason and "C" in v.reason and "above A" in v.reason
        assert v.reason.endswith(".")
        assert set(v.significant_arms) == {"B"}

    def test_both_beat_control_but_not_each_other_is_a_tie(self, make_table):
        counts = {"A": (4000, 600), "B": (4000, 640), "C": (4000, 400)}
        p = holm_p(counts)
        assert p["A", "C"] < 0.05 and p["B", "C"] < 0.05 and p["B", "A"] > 0.05
        v = analyse(make_table(counts), weights=WEIGHTS, metric="conversion").verdict
        assert v.winner == TIE
        assert "B vs A" in v.reason and set(v.significant_arms) == {"A", "B"}

    def test_beating_control_alone_does_not_beat_the_other_treatment(self, make_table):
        """B beats C, A does not, but B vs A is not significant: no winner is claimed."""
        counts = {"A": (3000, 375), "B": (3000, 420), "C": (3000, 330)}
        p = holm_p(counts)
        assert p["B", "C"] < 0.05 and p["A", "C"] > 0.05 and p["B", "A"] > 0.05
        v = analyse(make_table(counts), weights=WEIGHTS, metric="conversion").verdict
        assert v.winner == TIE and v.significant_arms == ("B",)
        assert "no treatment is shown to beat" in v.reason

    def test_winner_needs_the_direct_comparison(self, make_table):
        counts = {"A": (4000, 400), "B": (4000, 560), "C": (4000, 410)}
        table = make_table(counts)
        assert analyse(table, weights=WEIGHTS, metric="conversion").verdict.winner == "B"
        # the same data without the direct comparison prove nothing about B vs A
        assert (
            analyse(table, weights=WEIGHTS, direct=False, metric="conversion").verdict.winner == TIE
        )

    def test_single_treatment_wins_against_control_alone(self, make_table):
        table = make_table({"B": (4000, 560), "C": (4000, 410)})
        v = analyse(table, weights={"B": 1, "C": 1}, metric="conversion").verdict
        assert v.winner == "B"

    def test_no_difference(self, make_table):
        v = analyse(
            make_table({"A": (2000, 200), "B": (2000, 205), "C": (2000, 198)}),
            weights=WEIGHTS,
            metric="conversion",
        ).verdict
        assert v.winner == NO_DIFFERENCE

    def test_control_wins_when_all_treatments_lose(self, make_table):
        v = analyse(
            make_table({"A": (4000, 250), "B": (4000, 260), "C": (4000, 420)}),
            weights=WEIGHTS,
            metric="conversion",
        ).verdict
        assert v.winner == "C"

    def test_srm_makes_it_inconclusive(self, make_table):
        res = analyse(
            make_table({"A": (3000, 300), "B": (3000, 600), "C": (2000, 200)}), weights=WEIGHTS
        )
        expected = stats.chisquare([3000, 3000, 2000], [8000 / 3] * 3).pvalue
        assert res.srm.flag is True and res.srm.p_value == pytest.approx(expected)
        assert res.verdict.winner == INCONCLUSIVE and "ratio mismatch" in res.verdict.reason


def test_net_value_verdict_charges_the_perk_cost(make_table):
    """B converts most, but its perk costs more than the extra bookings bring: on net value
    B does not win, and the reason says which metric decided."""
    counts = {"A": (4000, 440), "B": (4000, 640), "C": (4000, 400)}
    table = make_table(counts).assign(perk=lambda t: t["group"].map({"A": "a", "B": "b", "C": "a"}))
    on_conversion = analyse(table, weights=WEIGHTS, metric="conversion").verdict
    on_net = analyse(table, weights=WEIGHTS, costs={"a": 0.0, "b": 250.0}).verdict
    assert on_conversion.winner == "B"
    assert on_net.winner != "B" and on_net.metric == "net_value"
    assert "net value per user" in on_net.reason
