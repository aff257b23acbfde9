"""traveltide.report.narrative: the executive summary and headline figures say what the
numbers say."""

from __future__ import annotations

import pytest

from report_inputs import VERDICTS, ab_metrics, build_inputs
from traveltide.report.narrative import executive_summary, headline


@pytest.mark.parametrize("verdict", list(VERDICTS))
def test_executive_summary_says_what_the_numbers_say(ab_by_verdict, verdict):
    inputs = build_inputs(ab_by_verdict[verdict])
    text = " ".join(executive_summary(inputs.metrics, inputs.assignment))
    m = inputs.metrics
    assert f"{m['extract']['users']:,} customers" in text
    assert f"{len(m['segment_rules']['segment_sizes'])} segments" in text
    assert f"adjusted Rand index {m['compare']['ari']:.2f}" in text
    assert m["ab_test"]["verdict_reason"] in text
    assert "simulated" in text
    words = {
        "A": "picks the rule perks (A)",
        "B": "picks the ML perks (B)",
        "tie": "is a tie",
        "no significant difference": "found no significant difference",
        "inconclusive": "is inconclusive",
        "C": "doing worse than the control",
    }
    assert words[verdict] in text
    for other, phrase in words.items():
        if other != verdict:
            assert phrase not in text
    if verdict in ("C", "inconclusive"):
        assert "Recommendation: none" in text


def test_power_caveat_when_underpowered(ab_by_verdict):
    small = ab_metrics({"A": 0.10, "B": 0.12, "C": 0.10}, dict.fromkeys("ABC", 200))
    text = " ".join(executive_summary({"ab_test": small}))
    power = min(small[f"{k}_power"] for k in small["comparisons"])
    assert power < 0.8
    assert "underpowered" in text and f"only {100 * power:.0f}% power" in text
    big = ab_by_verdict["B"]
    assert min(big[f"{k}_power"] for k in big["comparisons"]) < 0.8  # 1,500 per arm: still low
    huge = ab_metrics({"A": 0.10, "B": 0.20, "C": 0.10}, dict.fromkeys("ABC", 20_000))
    assert min(huge[f"{k}_power"] for k in huge["comparisons"]) >= 0.8
    assert "large enough" in " ".join(executive_summary({"ab_test": huge}))


def test_optional_cluster_metrics_show_only_when_present(ab_by_verdict):
    plain = dict(headline(build_inputs(ab_by_verdict["B"]).metrics))
    assert "cluster stability (bootstrap mean ARI)" not in plain
    assert "ARI vs synthetic personas" not in plain
    extra = {"stability": 0.91, "truth_ari": 0.77, "noise_users": 12, "noise_share": 0.02}
    inputs = build_inputs(ab_by_verdict["B"], cluster_extra=extra)
    rows = dict(headline(inputs.metrics))
    assert rows["cluster stability (bootstrap mean ARI)"] == 0.91
    assert rows["ARI vs synthetic personas"] == 0.77 and rows["noise share"] == 0.02
    text = " ".join(executive_summary(inputs.metrics, inputs.assignment))
    assert "mean ARI of 0.91" in text and "ARI 0.77" in text and "12 users fit no cluster" in text
