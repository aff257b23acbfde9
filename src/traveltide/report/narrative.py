"""The report's figures in words: the headline table's rows and the executive summary.

Every number in a sentence is read from the pipeline's metrics; a sentence whose figures are
missing is left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from traveltide.report.exports import BASIS, arms_above_control, perk_counts
from traveltide.report.formatting import ARM_NAMES, is_number, pct, share


def headline(metrics: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The figures a reader needs first, in reading order; optional ones only when present."""
    e, q, cmp_, ab = (metrics.get(k, {}) for k in ("extract", "cluster", "compare", "ab_test"))
    segments = metrics.get("segment_rules", {}).get("segment_sizes")
    rows: list[tuple[str, Any]] = [
        ("cohort users", e.get("users")),
        ("cohort sessions", e.get("sessions")),
        ("rule segments", len(segments) if segments is not None else None),
        ("ML clusters (k)", q.get("k")),
        ("clustering algorithm", q.get("algorithm")),
        ("silhouette", q.get("silhouette")),
        ("Calinski-Harabasz", q.get("calinski_harabasz")),
        ("Davies-Bouldin", q.get("davies_bouldin")),
    ]
    optional = [
        ("cluster stability (bootstrap mean ARI)", q.get("stability")),
        ("ARI vs synthetic personas", q.get("truth_ari")),
        ("noise share", q.get("noise_share") if q.get("noise_users") else None),
    ]
    rows += [(name, v) for name, v in optional if is_number(v)]
    rows += [
        ("ARI rules vs ML", cmp_.get("ari")),
        ("NMI rules vs ML", cmp_.get("nmi")),
        ("perk agreement", pct(cmp_.get("perk_agreement"))),
        ("A/B verdict", ab.get("verdict_winner", "n/a")),
    ]
    return rows


def _agreement_words(ari: float) -> str:
    """Plain words for an adjusted Rand index (bands are for reading, not a test)."""
    for bound, words in ((0.2, "hardly"), (0.4, "weakly"), (0.6, "moderately"), (0.8, "largely")):
        if ari < bound:
            return words
    return "strongly"


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _cohort_sentence(metrics: Mapping[str, Any]) -> str | None:
    e = metrics.get("extract", {})
    if not is_number(e.get("users")):
        return None
    text = f"The cohort has {e['users']:,} customers"
    if is_number(e.get("sessions")):
        text += f" with {e['sessions']:,} browsing sessions"
    if e.get("first_session") and e.get("last_session"):
        text += f" between {str(e['first_session'])[:10]} and {str(e['last_session'])[:10]}"
    return text + "."


def _segments_sentence(metrics: Mapping[str, Any]) -> str | None:
    sizes = metrics.get("segment_rules", {}).get("segment_sizes") or {}
    q = metrics.get("cluster", {})
    parts = []
    if sizes:
        total = sum(sizes.values())
        big = min(sizes, key=lambda s: (-sizes[s], s))
        parts.append(
            f"The marketing rules sort them into {len(sizes)} segments (largest: {big}, "
            f"{share(sizes[big], total)})"
        )
    if is_number(q.get("k")):
        how = f"{q.get('algorithm', 'the clustering')}"
        sil = f", silhouette {q['silhouette']:.2f}" if is_number(q.get("silhouette")) else ""
        parts.append(
            f"the ML clustering ({how}{sil}; 1 = well separated, 0 = overlapping) finds "
            f"{q['k']} groups"
        )
    if not parts:
        return None
    text = "; ".join(parts) + "."
    extra = []
    if is_number(q.get("stability")):
        extra.append(
            f"refitting on resampled users reproduces them with a mean ARI of {q['stability']:.2f}"
        )
    if is_number(q.get("truth_ari")):
        extra.append(f"they recover the planted synthetic personas with ARI {q['truth_ari']:.2f}")
    if is_number(q.get("noise_users")) and q["noise_users"] > 0:
        extra.append(f"{q['noise_users']:,} users fit no cluster (noise)")
    if extra:
        text += " " + _upper_first(_join(extra)) + "."
    return text


def _agreement_sentence(metrics: Mapping[str, Any]) -> str | None:
    c = metrics.get("compare", {})
    if not is_number(c.get("ari")):
        return None
    text = (
        f"Rules and ML agree {_agreement_words(c['ari'])} on who belongs together "
        f"(adjusted Rand index {c['ari']:.2f}; 1 = the same grouping, 0 = chance)"
    )
    if is_number(c.get("perk_agreement")):
        text += f", and give {100 * c['perk_agreement']:.0f}% of users the same perk"
    text += "."
    status = {s: list(c.get(f"segments_{s}") or []) for s in ("agree", "split", "absorbed")}
    n = sum(len(v) for v in status.values()) + len(c.get("segments_scattered") or [])
    if n:
        text += f" {len(status['agree'])} of {n} rule segments match a cluster"
        if status["split"]:
            text += f"; {_join(status['split'])} split across several clusters"
        if status["absorbed"]:
            text += f"; {_join(status['absorbed'])} sit inside larger clusters"
        text += "."
    return text


def _verdict_sentence(ab: Mapping[str, Any]) -> str | None:
    winner = ab.get("verdict_winner")
    if winner is None:
        return None
    reason = str(ab.get("verdict_reason") or "").strip()
    if winner in ("A", "B"):
        lead = f"The A/B test picks the {ARM_NAMES[winner]}."
    elif winner == "C":
        lead = "The A/B test found the targeted perks doing worse than the control."
    elif winner == "tie":
        lead = (
            "The A/B test is a tie: a targeted perk beats the control, but neither targeted "
            "perk is shown to be better than the other."
        )
    elif winner == "inconclusive":
        lead = "The A/B test is inconclusive: its results cannot be trusted."
    else:
        lead = "The A/B test found no significant difference between the arms."
    text = f"{lead} Why: {reason}" if reason else lead
    if ab.get("outcomes") == "simulate":
        text += (
            " Note: these outcomes are simulated by the pipeline's response model, not measured "
            "in a real campaign."
        )
    return text


def _power_sentence(ab: Mapping[str, Any]) -> str | None:
    """Whether the test was large enough, judged by its weakest comparison's power."""
    keys = [k for k in ab.get("comparisons") or [] if is_number(ab.get(f"{k}_power"))]
    target: Any = ab.get("plan_target_power")
    mde: Any = ab.get("plan_mde_abs")
    if not keys or not is_number(target) or not is_number(mde):
        return None
    weakest = min(keys, key=lambda k: ab[f"{k}_power"])
    power = ab[f"{weakest}_power"]
    detectable = [ab[f"{k}_mde_abs"] for k in keys if is_number(ab.get(f"{k}_mde_abs"))]
    treatment, baseline = weakest.split("_vs_")
    if power >= target:
        text = (
            f"The test was large enough: every comparison had at least {100 * power:.0f}% power "
            f"to detect a lift of {100 * mde:.1f} points"
        )
        if detectable:
            text += f" (smallest reliably detectable lift: {100 * max(detectable):.1f} points)"
        return text + "."
    need = ab.get(f"{weakest}_n_required_treatment")
    text = (
        f"Caveat: the test is underpowered. {treatment} vs {baseline} "
        f"({ab.get(f'{treatment}_n', 'n/a'):,} and {ab.get(f'{baseline}_n', 'n/a'):,} users) had "
        f"only {100 * power:.0f}% power to detect a {100 * mde:.1f}-point lift (target "
        f"{100 * target:.0f}%"
    )
    if is_number(need):
        text += f"; about {need:,.0f} users per arm would be needed"
    text += ")"
    if detectable:
        text += (
            f", so real differences smaller than about {100 * max(detectable):.1f} points can go "
            "unnoticed: no significant difference is not evidence of no difference"
        )
    return text + "."


def _recommendation_sentence(assignment: pd.DataFrame | None, ab: Mapping[str, Any]) -> str | None:
    if assignment is None or assignment.empty:
        return None
    n = len(assignment)
    basis = assignment["recommendation_basis"].value_counts()
    mix = perk_counts(assignment["recommended_perk"])
    top = ", ".join(f"{p} {share(c, n)}" for p, c in list(mix.items())[:3])
    winner = ab.get("verdict_winner")
    if basis.get("ab_winner"):
        view = "rule segment's" if winner == "A" else "ML cluster's"
        return (
            f"Recommendation: give every customer their {view} perk, the winning arm "
            f"({ARM_NAMES.get(str(winner), winner)}); the largest groups get {top}."
        )
    if basis.get("control_won"):
        return (
            f"Recommendation: none ({BASIS['control_won']}); rethink the perks before rolling "
            "them out."
        )
    if basis.get("inconclusive"):
        return (
            f"Recommendation: none yet ({BASIS['inconclusive']}); fix and rerun the test before "
            "rolling out perks."
        )
    agree = int(basis.get("both_agree", 0))
    rest = n - agree
    text = (
        f"Recommendation: {agree:,} customers ({share(agree, n)}) get the same perk from both "
        f"views, so they get that perk"
    )
    if rest:
        if basis.get("tie_larger_lift"):
            arm = arms_above_control(ab)[0][1]
            view = "rule segment's" if arm == "A" else "ML cluster's"
            how = (
                f"their {view} perk (arm {arm}, the larger significant lift over the control, "
                "though not shown better than the other arm)"
            )
        else:
            how = "their rule perk, as today, since the test showed no difference"
        text += f"; the other {rest:,} get {how}"
    return f"{text}. Resulting mix: {top}."


def executive_summary(
    metrics: Mapping[str, Any], assignment: pd.DataFrame | None = None
) -> list[str]:
    """The page's opening paragraph in plain words, every figure read from the inputs."""
    ab = metrics.get("ab_test", {})
    sentences = [
        _cohort_sentence(metrics),
        _segments_sentence(metrics),
        _agreement_sentence(metrics),
        _verdict_sentence(ab),
        _power_sentence(ab),
        _recommendation_sentence(assignment, ab),
    ]
    return [s for s in sentences if s]
