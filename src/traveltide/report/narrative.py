"""The report's figures in words beyond the opening answers: the appendix's figure table, how
rules and ML groups relate, why this number of groups, and a plain-text copy of the answers.

Every number in a sentence is read from the pipeline's outputs; a sentence whose figures are
missing is left out.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from traveltide.report.formatting import is_number, join_words, pct
from traveltide.report.names import segment_name

ALGORITHM_NAMES = {
    "kmeans": "K-Means",
    "minibatch_kmeans": "mini-batch K-Means",
    "gmm": "a Gaussian mixture",
    "agglomerative": "agglomerative (Ward) clustering",
    "dbscan": "DBSCAN",
    "hdbscan": "HDBSCAN",
}
K_RULE_WORDS = {
    "silhouette": "the highest silhouette",
    "calinski_harabasz": "the highest Calinski-Harabasz index",
    "davies_bouldin": "the lowest Davies-Bouldin index",
    "bic": "the lowest BIC",
}


def headline(metrics: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The appendix's figure table, in reading order; optional figures only when present."""
    e, q, cmp_, ab = (metrics.get(k) or {} for k in ("extract", "cluster", "compare", "ab_test"))
    segments = (metrics.get("segment_rules") or {}).get("segment_sizes")
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
        ("supervised ceiling ARI (a model trained on the personas)", q.get("truth_ceiling_ari")),
        ("ARI vs personas as a share of the ceiling", q.get("truth_ari_vs_ceiling")),
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


def agreement_words(ari: float) -> str:
    """Plain words for an adjusted Rand index (bands are for reading, not a test)."""
    for bound, words in ((0.2, "hardly"), (0.4, "weakly"), (0.6, "moderately"), (0.8, "largely")):
        if ari < bound:
            return words
    return "strongly"


def _names(codes: Sequence[str]) -> str:
    return html.escape(join_words([segment_name(c) for c in codes]))


def agreement_html(compare: Mapping[str, Any]) -> str:
    """How the rule segments sit among the ML groups, in words (no perk advice: the perks
    come from the decision, `traveltide.report.offer`)."""
    if not is_number(compare.get("ari")):
        return ""
    text = (
        f"The rule segments and the ML groups agree {agreement_words(compare['ari'])} on who "
        f"belongs together (adjusted Rand index {compare['ari']:.2f}: 1 is the same grouping, "
        "0 is chance)"
    )
    if is_number(compare.get("perk_agreement")):
        text += f", and give {100 * compare['perk_agreement']:.0f}% of customers the same perk"
    parts = []
    status = {s: list(compare.get(f"segments_{s}") or []) for s in ("agree", "split", "absorbed")}
    scattered = list(compare.get("segments_scattered") or [])
    if status["agree"]:
        parts.append(f"{_names(status['agree'])} each match one ML group")
    if status["split"]:
        parts.append(f"{_names(status['split'])} split across several ML groups")
    if status["absorbed"]:
        parts.append(f"{_names(status['absorbed'])} sit inside larger ML groups")
    if scattered:
        parts.append(f"{_names(scattered)} scatter over many groups")
    out = f"<p>{text}.</p>"
    if parts:
        out += f"<p>{join_words(parts)[:1].upper() + join_words(parts)[1:]}.</p>"
    return out


def best_k(k_table: pd.DataFrame, rule: str) -> int | None:
    """The k the table's `rule` column prefers (max, min for Davies-Bouldin and BIC), ties
    to the smaller k; None without that column."""
    if rule not in k_table or k_table[rule].notna().sum() == 0:
        return None
    values = k_table[["k", rule]].dropna()
    best = values[rule].min() if rule in ("davies_bouldin", "bic") else values[rule].max()
    return int(values.loc[values[rule] == best, "k"].min())


def k_choice(cluster: Mapping[str, Any], k_table: pd.DataFrame) -> str:
    """Why the number of ML groups is what it is: set by hand (and what the silhouette would
    pick), chosen by a rule over the candidates, or found by a density method."""
    k = cluster.get("k")
    if not is_number(k):
        return ""
    algorithm = str(cluster.get("algorithm") or "")
    requested = cluster.get("k_requested")
    k_rule = str(cluster.get("k_rule") or "")
    peak = best_k(k_table, "silhouette")
    if algorithm in ("dbscan", "hdbscan"):
        return (
            f"{ALGORITHM_NAMES[algorithm]} finds its own number of groups: {k}; the curves "
            "show what K-Means-style methods would score at each k."
        )
    if k_rule.startswith("auto") or requested == "auto":
        rule = next((w for r, w in K_RULE_WORDS.items() if r in k_rule), "the k-selection rule")
        return (
            f"k = {k} was chosen automatically: {rule} over the candidates "
            "(cluster.k: auto in params.yaml)."
        )
    text = f"k = {k} was set by hand (cluster.k in params.yaml), not chosen from these curves"
    if peak is not None and peak != k:
        text += f"; the silhouette alone would pick k = {peak}"
    elif peak == k:
        text += "; it is also where the silhouette peaks"
    return text + ". docs/clustering.md explains the choice."


def plain_text(page_html: str) -> list[str]:
    """The paragraphs, list items and table rows of an HTML fragment as plain text lines
    (the answers in analysis.json)."""
    text = re.sub(r"</(p|li|tr|h3)>", "\n", page_html)
    text = re.sub(r"</t[dh]>", " | ", text)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    lines = [re.sub(r"\s+", " ", line).strip(" |") for line in text.splitlines()]
    return [line for line in lines if line]
