"""The A/B stage's figures as the report reads them: metrics/ab_test.json (numbers) merged
with data/ab/summary.json (the verdict, the decision and the comparisons, in words).

`ab_view` adds the flat keys the report's sections use (`verdict_winner`, `verdict_reason`,
`decision_metric`, `comparisons` as a list, `tested`: those in the corrected family,
`outcomes`) from the summary's nested ones, so one mapping feeds the answers, the plots and
the appendix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TRIGGERED = "_triggered"  # a comparison on the users whose rule and ML perks differ


def ab_view(figures: Mapping[str, Any]) -> dict[str, Any]:
    """`figures` with the summary's nested verdict, comparisons and settings also as flat
    keys; flat keys already there are kept."""
    out = dict(figures)
    verdict = figures.get("verdict")
    if isinstance(verdict, Mapping):
        out.setdefault("verdict_winner", verdict.get("winner"))
        out.setdefault("verdict_reason", verdict.get("reason"))
    if isinstance(verdict, Mapping) and verdict.get("metric"):
        out.setdefault("decision_metric", verdict["metric"])
    comparisons = figures.get("comparisons")
    if isinstance(comparisons, Mapping):
        out["comparisons"] = list(comparisons)
        out["tested"] = [k for k, c in comparisons.items() if (c or {}).get("in_family", True)]
    settings = figures.get("settings")
    if isinstance(settings, Mapping) and "outcomes" in settings:
        out.setdefault("outcomes", settings["outcomes"])
    return out


def tested(ab: Mapping[str, Any]) -> list[str]:
    """The comparisons the verdict rests on (the corrected family), in the stage's order."""
    return list(ab.get("tested") or ab.get("comparisons") or [])


def arms_of(key: str) -> tuple[str, str, bool]:
    """'B_vs_A_triggered' -> ('B', 'A', True): treatment, control, triggered population."""
    triggered = key.endswith(TRIGGERED)
    treatment, _, control = key.removesuffix(TRIGGERED).partition("_vs_")
    return treatment, control, triggered


def plan_key(ab: Mapping[str, Any], key: str, name: str) -> str:
    """The metric name of a comparison's planned figure: `plan_<key>_<name>` (the stage's
    prefix for what was planned before any outcome), else `<key>_<name>`."""
    planned = f"plan_{key}_{name}"
    return planned if planned in ab else f"{key}_{name}"
