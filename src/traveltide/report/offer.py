"""Who gets which perk, read from the rewards assignment only.

The recommended perk of every customer is decided once, by the A/B decision rule
(``traveltide.report.exports.rewards_assignment``). Everything the report says about perks
(the table of perks per segment, the overall mix, the perk-mix plot) is counted from that
assignment here, so the words and the figures cannot disagree, whatever k or verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from traveltide.report.names import ARM_NAMES

# recommendation_basis (experiment.decision.BASIS) in a head of marketing's words; {arm} is
# the arm the decision took the perk from
BASIS_WORDS = {
    "ab_winner": "{arm} won the test",
    "both_agree": "rules and ML groups agree on this perk",
    "lower_expected_loss": "rules and ML groups differ; neither won the test, and {arm} "
    "carry the smaller risk of a loss",
    "tie_larger_lift": "rules and ML groups differ; {arm} had the larger lift over a random perk",
    "keep_rules": "rules and ML groups differ; neither won the test, so today's rule perk stays",
    "control_won": "no perk: a random perk did better than either targeted perk",
    "guardrail_failed": "no perk: the perk the test favours fails a guardrail (cancellations "
    "or margin)",
    "inconclusive": "no perk yet: the test cannot be trusted",
}
VIEW_ARM = {"rules": "A", "ml": "B"}


@dataclass(frozen=True)
class GroupOffer:
    """What one rule segment's customers are recommended, counted from the assignment."""

    segment: str  # rule segment code
    users: int
    perks: tuple[tuple[str, int], ...]  # (recommended perk code, customers), largest first
    basis: tuple[tuple[str, int], ...]  # (recommendation_basis code, customers), largest first
    rule_perk: str


def _counts(values: pd.Series) -> tuple[tuple[str, int], ...]:
    """(value, count) largest first, ties by value."""
    counts = values.astype(str).value_counts()
    order = sorted(counts.index, key=lambda k: (-int(counts[k]), k))
    return tuple((str(k), int(counts[k])) for k in order)


def group_offers(assignment: pd.DataFrame) -> list[GroupOffer]:
    """One GroupOffer per rule segment, largest first (ties by code)."""
    out = []
    for segment, part in assignment.groupby("rule_segment", sort=True):
        out.append(
            GroupOffer(
                segment=str(segment),
                users=len(part),
                perks=_counts(part["recommended_perk"]),
                basis=_counts(part["recommendation_basis"]),
                rule_perk=str(part["rule_perk"].mode().sort_values().iloc[0]),
            )
        )
    return sorted(out, key=lambda g: (-g.users, g.segment))


def perk_mix(assignment: pd.DataFrame) -> dict[str, int]:
    """Customers per recommended perk, largest first; no perk ('') left out."""
    counts = _counts(assignment["recommended_perk"])
    return {perk: n for perk, n in counts if perk}


def winning_arm(ab: Mapping[str, Any]) -> str:
    """The arm the decision took the perk from (its `differ` view), else the verdict's winner."""
    decision = ab.get("decision") or {}
    arm = VIEW_ARM.get(str(decision.get("differ") or ""))
    return arm or str(ab.get("verdict_winner") or "")


def basis_words(code: str, ab: Mapping[str, Any]) -> str:
    """One basis in words ('the ML group perks won the test')."""
    template = BASIS_WORDS.get(code)
    if template is None:
        return code.replace("_", " ")
    return template.format(arm=ARM_NAMES.get(winning_arm(ab), "the chosen arm"))


def why(offer: GroupOffer, ab: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    """Why a segment gets what it gets: (basis code, customers, the basis in words), the
    largest first."""
    return [(code, n, basis_words(code, ab)) for code, n in offer.basis]
