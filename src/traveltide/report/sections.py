"""The report's HTML tables and lists: the A/B verdict and power plan, the recommendations,
the segment summary, the exports and the stage timings. Cells are escaped here."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from traveltide.report.abview import arms_of, plan_key, tested
from traveltide.report.exports import BASIS, RECOMMENDATION_RULE
from traveltide.report.formatting import ci, is_number, pct, pts, pval
from traveltide.report.inputs import ReportInputs
from traveltide.report.names import cluster_label, feature_words, perk_name, segment_name

# what each export holds, beside its link
EXPORT_NOTES = {
    "rewards_assignment.csv": "one row per customer: rule segment and perk, ML cluster and perk, "
    "the recommended perk and why",
    "segment_summary.csv": "one row per rule segment and ML cluster: size, spend, key traits, "
    "perks",
    "analysis.json": "every result of this pipeline run in one file",
}


def html_table(head: list[str], rows: list[list[str]], table_id: str) -> str:
    """A small HTML table in a scrolling box (wide tables never widen the page); cells are
    escaped here."""
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f'<div class="scroll"><table id="{table_id}"><tr>{th}</tr>\n{body}\n</table></div>'


def _getter(ab: Mapping[str, Any], key: str) -> Any:
    """``g("p_adj")`` reads ``ab["A_vs_C_p_adj"]`` for key ``A_vs_C`` (None when absent)."""
    return lambda name: ab.get(f"{key}_{name}")


def _count(value: Any) -> str:
    """A number of users, 'n/a' when missing."""
    return "n/a" if not isinstance(value, int | float) else f"{value:,.0f}"


def _comparisons(ab: Mapping[str, Any]) -> list[str]:
    """Comparison keys (A_vs_C, ...) in the stage's order."""
    return list(ab.get("comparisons") or [])


def ab_verdict_section(ab: Mapping[str, Any]) -> str:
    """The verdict, the design checks (SRM, omnibus) and every comparison with its figures."""
    srm = (
        f"Sample ratio: chi-square p = {pval(ab.get('srm_p_value'))} "
        f"({'MISMATCH, results not trusted' if ab.get('srm_flag') else 'no mismatch'} at "
        f"p < 0.001)"
        if ab.get("srm_assessable")
        else f"Sample ratio: {ab.get('srm_note') or 'not assessable'}"
    )
    omnibus = (
        f"Omnibus chi-square over all arms: p = {pval(ab.get('omnibus_p_value'))}"
        f" (dof {ab.get('omnibus_dof')})"
        if ab.get("omnibus_error") is None
        else f"Omnibus chi-square: {ab.get('omnibus_error')}"
    )
    label = "Holm" if ab.get("correction") == "holm" else "Benjamini-Hochberg"
    rows = []
    for key in _comparisons(ab):
        g = _getter(ab, key)
        if g("error"):
            rows.append([key.replace("_", " "), g("error")] + [""] * 6)
            continue
        test = "Fisher exact" if g("fisher_used") else "z-test"
        rows.append(
            [
                key.replace("_", " "),
                f"{pct(g('rate_treatment'), 2)} vs {pct(g('rate_control'), 2)}",
                pts(g("lift_abs")) + ci(g("lift_ci_low"), g("lift_ci_high"), pts),
                pct(g("lift_rel")) + ci(g("lift_rel_ci_low"), g("lift_rel_ci_high"), pct),
                f"{pval(g('p_value'))} ({test})",
                f"{pval(g('p_adj'))}{' *' if g('significant') else ''}",
                (f"{g('revenue_diff'):+,.2f}" if isinstance(g("revenue_diff"), float) else "n/a")
                + f" (Welch adj. p {pval(g('revenue_p_adj'))}, Mann-Whitney p "
                f"{pval(g('revenue_mw_p_value'))})",
            ]
        )
    table = html_table(
        [
            "comparison",
            "conversion",
            "lift (95% CI, Newcomb)",
            "relative lift (95% CI, delta method)",
            "p",
            f"{label}-adjusted p (* significant)",
            "revenue per user, difference",
        ],
        [r + [""] * (7 - len(r)) for r in rows],
        "ab-comparisons",
    )
    return (
        f'<p id="verdict-winner"><strong>Winner: '
        f"{html.escape(str(ab.get('verdict_winner', 'n/a')))}</strong></p>\n"
        f"<p>{html.escape(srm)}. {html.escape(omnibus)}.</p>\n{table}"
    )


CORRECTIONS = {"holm": "Holm", "bonferroni": "Bonferroni", "fdr_bh": "Benjamini-Hochberg"}


def ab_power_section(ab: Mapping[str, Any]) -> str:
    """Power and minimum detectable effect of each comparison at the assigned sizes."""
    if ab.get("plan_error"):
        return f"<p>Power plan: {html.escape(str(ab['plan_error']))}</p>"
    rows = []
    for key in tested(ab):
        treatment, control, _ = arms_of(key)

        def g(name: str, key: str = key) -> Any:
            return ab.get(plan_key(ab, key, name))

        sizes = [g("n_treatment"), g("n_control")]
        if not all(is_number(n) for n in sizes):
            sizes = [ab.get(f"{treatment}_n"), ab.get(f"{control}_n")]
        rows.append(
            [
                key.replace("_", " "),
                f"{_count(sizes[0])} / {_count(sizes[1])}",
                pct(g("power")),
                pts(g("mde_abs")).lstrip("+") + f" ({pct(g('mde_rel'), 0)} relative)",
                f"{_count(g('n_required_treatment'))} / {_count(g('n_required_control'))}",
                str(g("plan_error") or g("plan_note") or ""),
            ]
        )
    correction = ab.get("plan_correction") or "bonferroni"
    intro = (
        f"Planned before any outcome: baseline conversion {pct(ab.get('plan_baseline_rate'))}, "
        f"effect of interest {pts(ab.get('plan_mde_abs'))}, alpha "
        f"{pval(ab.get('plan_alpha_per_comparison'))} per comparison over {len(rows)} "
        f"({CORRECTIONS.get(str(correction), str(correction))} correction), target power "
        f"{pct(ab.get('plan_target_power'), 0)}."
    )
    table = html_table(
        [
            "comparison",
            "users (treatment / baseline)",
            "power for the effect of interest",
            "minimum detectable effect",
            "users needed per arm",
            "note",
        ],
        rows,
        "ab-power",
    )
    return f"<p>{html.escape(intro)}</p>\n{table}"


def recommendations_section(compare: Mapping[str, Any]) -> str:
    """The compare stage's recommendations, one list item each (overall summary first)."""
    items = compare.get("recommendations") or []
    if not items:
        return "<p>No recommendations.</p>"
    lis = "\n".join(f"<li>{html.escape(str(text))}</li>" for text in items)
    return f'<ul id="recommendations">\n{lis}\n</ul>'


def traits_in_words(traits: str) -> str:
    """'high avg_seats (+1.8 sd)' -> 'high seats per booking (+1.8 sd)'."""
    return re.sub(r"\b(high|low) (\w+) \(", lambda m: f"{m[1]} {feature_words(m[2])} (", traits)


def summary_section(summary: pd.DataFrame | None, names: Mapping[str, str]) -> str:
    """The segment summary export as a table: one row per rule segment and ML group."""
    if summary is None or summary.empty:
        return "<p>No segment summary.</p>"
    rows = [
        [
            "rules" if r.view == "rules" else "ML",
            segment_name(r.segment) if r.view == "rules" else cluster_label(r.segment, names),
            f"{r.users:,}",
            pct(r.share),
            "n/a" if not is_number(r.avg_spend_usd) else f"{r.avg_spend_usd:,.0f}",
            perk_name(r.perk),
            f"{perk_name(r.recommended_perk)} ({pct(r.recommended_share, 0)})",
            traits_in_words(str(r.key_traits)),
        ]
        for r in summary.itertuples(index=False)
    ]
    head = [
        "view",
        "segment or group",
        "customers",
        "share",
        "average spend (USD)",
        "perk today",
        "recommended (share of segment)",
        "what sets it apart (mean, in standard deviations from the cohort)",
    ]
    return html_table(head, rows, "segment-summary")


def exports_section(inputs: ReportInputs) -> str:
    """Links to the exports, the recommendation rule and how many users each basis covers."""
    links = "\n".join(
        f'<li><a href="{html.escape(href)}">{html.escape(name)}</a>: '
        f"{html.escape(EXPORT_NOTES.get(name, ''))}</li>"
        for name, href in inputs.export_links.items()
    )
    basis = ""
    if inputs.assignment is not None:
        counts = inputs.assignment["recommendation_basis"].value_counts()
        rows = [[k, f"{int(counts[k]):,}", BASIS.get(k, "")] for k in sorted(counts.index)]
        basis = html_table(
            ["recommendation_basis", "users", "meaning"], rows, "recommendation-basis"
        )
    return (
        f'<ul id="exports">\n{links}\n</ul>\n'
        f'<p id="recommendation-rule">{html.escape(RECOMMENDATION_RULE)}</p>\n{basis}'
    )


def timings_section(timings: Mapping[str, Any]) -> str:
    """The last run of each stage (slowest first): wall, start-up (imports), CPU, peak memory."""
    ordered = sorted(timings.values(), key=lambda t: (-t.wall_s, t.stage))
    rows = [
        [
            t.stage,
            f"{t.wall_s:.1f}",
            "" if t.startup_s is None else f"{t.startup_s:.2f}",
            f"{t.cpu_s:.1f}",
            f"{t.peak_rss_gb:.2f}",
            t.status,
            t.started_at,
        ]
        for t in ordered
    ]
    head = ["stage", "wall s", "start-up s", "CPU s", "peak RSS GB", "status", "started (UTC)"]
    total = sum(t.wall_s for t in ordered)
    return (
        f"<p>{len(ordered)} stages, {total:.1f} s of stage wall time in their last runs "
        "(<code>timings/</code>; DVC's own time between stages is not included). Start-up is "
        "the interpreter and its imports, paid again by every stage DVC starts.</p>\n"
        + html_table(head, rows, "timings")
    )
