"""The top of the report: a head of marketing's four questions, answered in her words.

Who are the segments, which perk each gets and why, what the test showed, what it is worth.
Every number is a `formatting.tagged` span naming its source, so a test checks each against
the pipeline's files (docs/report.md lists the source forms); a figure that is missing leaves
its sentence out rather than printing "n/a".
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any, cast

from traveltide.report.abview import arms_of, plan_key, tested
from traveltide.report.formatting import is_number, join_words, tagged
from traveltide.report.inputs import ReportInputs
from traveltide.report.names import ARM_LONG, feature_words, perk_name, segment_name
from traveltide.report.offer import GroupOffer, group_offers, perk_mix, why
from traveltide.report.worth import worth_paragraphs

TOP_PERKS = 3  # perks named per segment; the rest are summed as "other perks"


def _p(*parts: str) -> str:
    return "<p>" + "".join(parts) + "</p>"


def _table(table_id: str, head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table whose cells are HTML already (escaped by the caller); `data-label` lets the
    narrow-screen stylesheet show each cell under its heading."""
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "\n".join(
        "<tr>"
        + "".join(
            f'<td data-label="{html.escape(h)}">{c}</td>' for h, c in zip(head, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<table class="answer-table" id="{table_id}"><thead><tr>{th}</tr></thead>\n'
        f"<tbody>{body}</tbody></table>"
    )


def _rule_words(segment: str, thresholds: Sequence[Mapping[str, Any]]) -> str:
    """Who a rule segment is, from its rule: 'the top 15% by seats per booking (2.00 or more)'."""
    for i, rule in enumerate(thresholds):
        if rule.get("segment") != segment:
            continue
        quantile, threshold = rule.get("quantile"), rule.get("threshold")
        feature = html.escape(feature_words(rule.get("feature")))
        if not (is_number(quantile) and is_number(threshold)):
            return f"customers with the most {feature}"
        src = f"m:segment_rules.thresholds.{i}"
        bound = f"{tagged(threshold, f'{src}.threshold', 'g3')} or more" if threshold > 0 else "any"
        return (
            f"the top {tagged(quantile, f'{src}.quantile', 'top')} of customers by {feature} "
            f"({bound})" + (", unless an earlier rule took them" if i else "")
        )
    return "everyone the rules above do not pick"


def who_section(inputs: ReportInputs) -> str:
    """Question 1: the rule segments with their size, who they are and what they spend."""
    if inputs.assignment is None or inputs.assignment.empty:
        return ""
    thresholds = inputs.stage("segment_rules").get("thresholds") or []
    spend = {}
    if inputs.summary is not None and "avg_spend_usd" in inputs.summary:
        rules = inputs.summary[inputs.summary["view"] == "rules"]
        spend = dict(zip(rules["segment"].astype(str), rules["avg_spend_usd"], strict=True))
    rows = []
    for offer in group_offers(inputs.assignment):
        seg = offer.segment
        avg = spend.get(seg)
        rows.append(
            [
                f"<strong>{html.escape(segment_name(seg))}</strong>",
                tagged(offer.users, f"a:rule_segment={seg}", "int")
                + " ("
                + tagged(offer.users / len(inputs.assignment), f"s:rule_segment={seg}|", "pct0")
                + ")",
                _rule_words(seg, thresholds),
                tagged(avg, f"e:segment_summary:view=rules;segment={seg}:avg_spend_usd", "usd0")
                if is_number(avg)
                else "",
            ]
        )
    return _table(
        "who", ["Segment", "Customers", "Who they are", "Average spend per customer"], rows
    )


def _perk_cell(offer: GroupOffer) -> str:
    """'Free hotel meal' or 'Free hotel meal (62%), No cancellation fees (30%), other perks
    (8%)': the recommended perks of a segment's customers, counted from the assignment."""
    if len(offer.perks) == 1:
        return f"<strong>{html.escape(perk_name(offer.perks[0][0]))}</strong>"
    seg = offer.segment
    parts = []
    for perk, n in offer.perks[:TOP_PERKS]:
        share = tagged(
            n / offer.users,
            f"s:rule_segment={seg};recommended_perk={perk}|rule_segment={seg}",
            "pct0",
        )
        parts.append(f"<strong>{html.escape(perk_name(perk))}</strong> ({share})")
    rest = offer.perks[TOP_PERKS:]
    if rest:
        n = sum(k for _, k in rest)
        listed = ",".join(p for p, _ in offer.perks[:TOP_PERKS])
        share = tagged(
            n / offer.users,
            f"s:rule_segment={seg};recommended_perk!={listed}|rule_segment={seg}",
            "pct0",
        )
        parts.append(f"other perks ({share})")
    return ", ".join(parts)


def _why_cell(offer: GroupOffer, ab: Mapping[str, Any]) -> str:
    reasons = why(offer, ab)
    if len(reasons) == 1:
        text = reasons[0][2]
        return html.escape(text[:1].upper() + text[1:])
    seg = offer.segment
    parts = [
        tagged(
            n / offer.users,
            f"s:rule_segment={seg};recommendation_basis={code}|rule_segment={seg}",
            "pct0",
        )
        + f": {html.escape(words)}"
        for code, n, words in reasons
    ]
    return "; ".join(parts)


def perks_section(inputs: ReportInputs) -> str:
    """Question 2: the perk each segment's customers get, and why; then the overall mix."""
    a = inputs.assignment
    if a is None or a.empty:
        return ""
    ab = inputs.stage("ab_test")
    rows = [
        [
            f"<strong>{html.escape(segment_name(o.segment))}</strong>",
            _perk_cell(o),
            _why_cell(o, ab),
        ]
        for o in group_offers(a)
    ]
    table = _table("perks", ["Segment", "Perk to give", "Why"], rows)
    mix = perk_mix(a)
    parts = [
        f"{html.escape(perk_name(p))} "
        + tagged(n, f"a:recommended_perk={p}", "int")
        + " ("
        + tagged(n / len(a), f"s:recommended_perk={p}|", "pct0")
        + ")"
        for p, n in mix.items()
    ]
    if parts:
        total = _p("In all, customers per perk: ", join_words(parts), ".")
    else:
        total = _p("No customer gets a perk.")
    none = int((a["recommended_perk"].astype(str) == "").sum())
    if none and parts:
        total += _p(tagged(none, "a:recommended_perk=", "int"), " customers get no perk for now.")
    return f"{table}\n{total}"


ARM_SUBJECT = {"A": "Rule perks", "B": "ML group perks", "C": "A random perk"}
ARM_OBJECT = {"A": "rule perks", "B": "ML group perks", "C": "a random perk"}


def _effect_words(ab: Mapping[str, Any], key: str) -> str | None:
    """'Rule perks beat a random perk by +$62.40 per customer (95% range +$14.02 to
    +$110.78): too large to be chance.' for one comparison on the decision metric (the
    conversion lift where the stage wrote no decision figures); None when figures are missing."""
    names = ("decision_effect", "decision_ci_low", "decision_ci_high")
    metric, significant = str(ab.get("decision_metric") or "conversion"), "decision_significant"
    if not all(is_number(ab.get(f"{key}_{n}")) for n in names):
        names, metric, significant = (
            ("lift_abs", "lift_ci_low", "lift_ci_high"),
            "conversion",
            "significant",
        )
    effect, low, high = (cast(Any, ab.get(f"{key}_{n}")) for n in names)
    if not all(is_number(v) for v in (effect, low, high)):
        return None
    fmt, unit = ("pts1", "") if metric == "conversion" else ("dusd2", " per customer")
    treatment, control, triggered = arms_of(key)
    sure = "too large to be chance" if ab.get(f"{key}_{significant}") else "this could be chance"
    src = f"m:ab_test.{key}"
    return (
        f"{ARM_SUBJECT.get(treatment, treatment)} against {ARM_OBJECT.get(control, control)}: "
        f"{tagged(effect, f'{src}_{names[0]}', fmt)}{unit} (95% range "
        f"{tagged(low, f'{src}_{names[1]}', fmt)} to {tagged(high, f'{src}_{names[2]}', fmt)})"
        f"{' among customers whose two perks differ' if triggered else ''}: {sure}."
    )


METRIC_INTRO = {
    "net_value": "The decision rests on net value per customer (revenue minus the perk's cost):",
    "revenue": "The decision rests on revenue per customer:",
    "conversion": "The decision rests on the share who booked:",
}


VERDICT_WORDS = {
    "A": "The test backs the rule perks (A): they did best.",
    "B": "The test backs the ML group perks (B): they did best.",
    "tie": "{arms} a random perk, but the test cannot tell which targeted perk is better.",
    "no significant difference": "The test found no difference it can vouch for.",
    "C": "Targeted perks did worse than a random perk.",
    "inconclusive": "The test cannot be trusted (see the appendix), so it decides nothing.",
}
BEAT = {"A": "Rule perks beat", "B": "ML group perks beat"}


def verdict_words(ab: Mapping[str, Any]) -> str | None:
    """The verdict in a sentence; a tie names the arms that beat the control."""
    template = VERDICT_WORDS.get(str(ab.get("verdict_winner")))
    if template is None:
        return None
    verdict = ab.get("verdict") or {}
    arms = [a for a in (verdict.get("significant_arms") or []) if a in BEAT]
    if len(arms) == 1:
        beat = BEAT[arms[0]]
    elif len(arms) == 2:
        beat = "Both targeted perks beat"
    else:
        beat = "A targeted perk beat"
    return template.format(arms=beat)


def test_section(inputs: ReportInputs) -> str:
    """Question 3: what the A/B test showed, with its caveats."""
    ab = inputs.stage("ab_test")
    paras = []
    arms = [a for a in "ABC" if is_number(ab.get(f"{a}_n"))]
    if len(arms) == 3:
        groups = [
            f"{tagged(ab[f'{a}_n'], f'm:ab_test.{a}_n', 'int')} got {html.escape(ARM_LONG[a])}"
            if i == 0
            else f"{tagged(ab[f'{a}_n'], f'm:ab_test.{a}_n', 'int')} {html.escape(ARM_LONG[a])}"
            for i, a in enumerate(arms)
        ]
        paras.append(_p("Customers were split at random: ", join_words(groups), "."))
    rates = [a for a in "ABC" if is_number(ab.get(f"{a}_conversion_rate"))]
    if len(rates) == 3:
        parts = [
            f"{tagged(ab[f'{a}_conversion_rate'], f'm:ab_test.{a}_conversion_rate', 'pct1')} in {a}"
            for a in rates
        ]
        paras.append(_p("Share who booked: ", join_words(parts), "."))
    effects = [w for key in tested(ab) if (w := _effect_words(ab, key))]
    if effects:
        metric = str(ab.get("decision_metric") or "conversion")
        if not any(is_number(ab.get(f"{k}_decision_effect")) for k in tested(ab)):
            metric = "conversion"
        paras.append(_p(html.escape(METRIC_INTRO.get(metric, METRIC_INTRO["conversion"]))))
        paras.append("<ul>" + "".join(f"<li>{w}</li>" for w in effects) + "</ul>")
    verdict = verdict_words(ab)
    if verdict:
        paras.append(_p(f"<strong>{html.escape(verdict)}</strong>"))
    if ab.get("outcomes") == "simulate":
        paras.append(
            _p(
                '<em class="caveat">These outcomes are simulated by the pipeline, not measured '
                "in a real campaign: they show how the decision would be made, not what the "
                "perks are really worth.</em>"
            )
        )
    paras.append(_power_words(ab))
    return "\n".join(p for p in paras if p)


def _power_words(ab: Mapping[str, Any]) -> str:
    """A caveat when the weakest comparison had less power than planned."""
    power = {k: plan_key(ab, k, "power") for k in tested(ab)}
    keys = [k for k, name in power.items() if is_number(ab.get(name))]
    target = ab.get("plan_target_power")
    if not keys or not is_number(target):
        return ""
    weakest = min(keys, key=lambda k: ab[power[k]])
    chance = tagged(ab[power[weakest]], f"m:ab_test.{power[weakest]}", "pct0")
    if ab[power[weakest]] >= target:
        return _p(
            "The test was large enough to see the lift it was planned for (power at least ",
            chance,
            ").",
        )
    mde = plan_key(ab, weakest, "mde_abs")
    tail = (
        [
            " Differences in the share who booked smaller than about ",
            tagged(ab[mde], f"m:ab_test.{mde}", "size1"),
            " can go unnoticed: no difference found is not proof of no difference.",
        ]
        if is_number(ab.get(mde))
        else []
    )
    return _p(
        '<em class="caveat">The test was smaller than planned: it had a ',
        chance,
        " chance (target ",
        tagged(target, "m:ab_test.plan_target_power", "pct0"),
        ") to see the lift it was planned for.",
        *tail,
        "</em>",
    )


def answers_html(inputs: ReportInputs) -> str:
    """The four questions and their answers, as HTML (the page's first section)."""
    e = inputs.stage("extract")
    lead = ""
    if is_number(e.get("users")):
        lead = _p(
            "This report covers TravelTide's ",
            tagged(e["users"], "m:extract.users", "int"),
            " most engaged customers",
            (
                f" and their {tagged(e['sessions'], 'm:extract.sessions', 'int')} browsing sessions"
                if is_number(e.get("sessions"))
                else ""
            ),
            ". It answers four questions; the statistics behind each answer are in the "
            'appendix (<a href="#appendix">Statistics</a>).',
        )
    blocks = [
        ("q-who", "Who are our customers?", who_section(inputs)),
        ("q-perks", "Which perk does each segment get, and why?", perks_section(inputs)),
        ("q-test", "What did the test show?", test_section(inputs)),
        ("q-worth", "What is it worth?", worth_paragraphs(inputs)),
    ]
    body = "\n".join(
        f'<div class="answer" id="{bid}">\n<h3>{html.escape(q)}</h3>\n{content}\n</div>'
        for bid, q, content in blocks
        if content
    )
    return f'<div id="answers">\n{lead}\n{body}\n</div>'
