"""The report's opening answers: every number traced to its source, perks that agree with the
decision whatever it is, and human names instead of codes."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest

from report_inputs import DECISIONS, inputs_for
from report_numbers import Sources, check_numbers
from traveltide.report.answers import answers_html
from traveltide.report.names import PERK_NAMES, SEGMENT_NAMES, perk_name, segment_name
from traveltide.report.plots_groups import perk_mixes
from traveltide.report.render import render_html


def sources(inputs) -> Sources:
    return Sources(inputs.metrics, inputs.assignment, inputs.summary, inputs.policy_values)


@pytest.mark.parametrize("scenario", list(DECISIONS))
def test_every_number_of_the_answers_equals_its_source(ab, scenario):
    inputs = inputs_for(ab, scenario)
    page = answers_html(inputs)
    checked = check_numbers(page, sources(inputs))
    assert checked > 30  # sizes, shares, perks, arms, effects, policy values
    for question in ("q-who", "q-perks", "q-test", "q-worth"):
        assert f'id="{question}"' in page


def test_the_number_check_catches_a_wrong_or_untagged_number(ab):
    inputs = inputs_for(ab, "B wins")
    page = answers_html(inputs)
    first = re.search(r'data-value="([^"]*)"', page).group(1)
    wrong = page.replace(f'data-value="{first}"', f'data-value="{float(first) + 1}"', 1)
    with pytest.raises(AssertionError):
        check_numbers(wrong, sources(inputs))
    with pytest.raises(AssertionError, match="without a source"):
        check_numbers(page + "<p>about 17 customers</p>", sources(inputs))


def perk_table(page: str) -> dict[str, str]:
    """The answers' perk table as {segment name: perk cell text}."""
    table = re.search(r'<table class="answer-table" id="perks">(.*?)</table>', page, re.S)
    rows = re.findall(r"<tr><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td>", table.group(1), re.S)
    strip = lambda s: html.unescape(re.sub(r"<[^>]+>", "", s))  # noqa: E731
    return {strip(a): strip(b) for a, b in rows}


@pytest.mark.parametrize("scenario", list(DECISIONS))
def test_perk_words_and_perk_mix_agree_with_the_decision(ab, scenario):
    """At any verdict and basis, the perk each segment is said to get, the overall mix and the
    perk-mix plot are the rewards assignment's counts (at k=5 the compare stage's advice used
    to say "keep the rule" while the mix gave the rule segment another perk)."""
    inputs = inputs_for(ab, scenario)
    a = inputs.assignment
    page = answers_html(inputs)
    cells = perk_table(page)
    for segment, part in a.groupby("rule_segment"):
        cell = cells[segment_name(segment)]
        perks = part["recommended_perk"].value_counts()
        top = perks.index[0]
        assert perk_name(top) in cell
        if len(perks) == 1:
            assert cell == perk_name(top)
        else:
            assert f"{perk_name(top)} ({100 * perks.iloc[0] / len(part):.0f}%)" in cell
        for other in set(PERK_NAMES) - set(perks.index):
            assert perk_name(other) not in cell
    recommended = perk_mixes(inputs).get("Recommended", {})
    counted = a.loc[a["recommended_perk"] != "", "recommended_perk"].value_counts().to_dict()
    assert recommended == counted
    if counted:
        assert "In all, customers per perk" in page
        for perk, n in counted.items():
            assert f"{perk_name(perk)} {n:,}" in html.unescape(re.sub(r"<[^>]+>", "", page))
    else:
        assert "No customer gets a perk" in page


def test_the_page_shows_no_advice_that_can_contradict_the_decision(ab):
    inputs = inputs_for(ab, "tie, B risks less")
    page = render_html(inputs, {})
    for advice in inputs.metrics["compare"]["recommendations"]:
        assert html.escape(advice) not in page
    assert "keep the rule only if" not in page


def test_answers_name_segments_and_perks_in_words(ab):
    inputs = inputs_for(ab, "tie, rules stay")
    text = html.unescape(re.sub(r"<[^>]+>", " ", answers_html(inputs)))
    for code in [*SEGMENT_NAMES, *PERK_NAMES]:
        assert code not in text, code
    assert "Family travellers" in text and "Free checked bag" in text


def test_a_rule_with_a_zero_threshold_reads_any(ab):
    inputs = inputs_for(ab, "A wins")
    rules = inputs.metrics["segment_rules"]["thresholds"]
    zero = [{**rules[0], "threshold": 0.0}, rules[1]]
    metrics = {**inputs.metrics, "segment_rules": {**inputs.metrics["segment_rules"],
                                                    "thresholds": zero}}  # fmt: skip
    from dataclasses import replace

    page = answers_html(replace(inputs, metrics=metrics))
    assert "by total spend (any)" in html.unescape(re.sub(r"<[^>]+>", "", page))


def test_the_test_answer_says_what_was_simulated_and_its_verdict(ab):
    inputs = inputs_for(ab, "B wins")
    text = html.unescape(re.sub(r"<[^>]+>", "", answers_html(inputs)))
    assert "The test backs the ML group perks (B)" in text
    assert "simulated by the pipeline" in text
    assert "net value per customer" in text  # the decision metric, named


def test_without_policy_values_the_worth_is_the_revenue_per_customer(ab):
    from dataclasses import replace

    inputs = replace(inputs_for(ab, "A wins"), policy_values=pd.DataFrame())
    page = answers_html(inputs)
    assert "Revenue per customer in the test" in page
    check_numbers(page, sources(inputs))


@pytest.mark.parametrize(
    ("arms", "start"),
    [(["A"], "Rule perks beat"), (["B"], "ML group perks beat"), (["A", "B"], "Both targeted")],
)
def test_a_tie_names_the_arms_that_beat_the_control(arms, start):
    from traveltide.report.answers import verdict_words

    text = verdict_words({"verdict_winner": "tie", "verdict": {"significant_arms": arms}})
    assert text.startswith(start) and "cannot tell which targeted perk is better" in text
