"""The frequentist verdict of an A/B/C test on its decision metric, in words a head of
marketing can act on.

A treatment wins only when it beats the control and every other treatment in their direct
comparison; a sample-ratio mismatch makes the whole test inconclusive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from traveltide.experiment.comparison import Comparison
from traveltide.experiment.labels import INCONCLUSIVE as INCONCLUSIVE
from traveltide.experiment.labels import METRIC_WORDS
from traveltide.experiment.labels import NO_DIFFERENCE as NO_DIFFERENCE
from traveltide.experiment.labels import TIE as TIE
from traveltide.experiment.stats import SRMResult


@dataclass(frozen=True)
class Verdict:
    """The decision: an arm, ``tie``, ``no significant difference`` or ``inconclusive``.

    ``significant_arms``: treatments that differ significantly from control on ``metric``.
    """

    winner: str
    reason: str
    significant_arms: tuple[str, ...] = ()
    metric: str = "conversion"


def effect_words(c: Comparison) -> str:
    """The effect in the metric's unit: '+3.95 pts' for conversion, '+$4.20' per user else."""
    d = c.decision
    if d.metric == "conversion":
        return f"{100 * d.effect:+.2f} pts"
    return f"{'+' if d.effect >= 0 else '-'}${abs(d.effect):,.2f} per user"


def describe(c: Comparison, label: str) -> str:
    """One comparison in words: 'B vs C +3.95 pts (Holm p = 0.0005)'."""
    d = c.decision
    who = f"{c.treatment} vs {c.control}" + (" (triggered)" if c.population == "triggered" else "")
    if d.error or not math.isfinite(d.p_adj):
        return f"{who} not tested ({d.error or 'no p-value'})"
    adjusted = ", adjusted for pre-period covariates" if d.adjusted else ""
    return f"{who} {effect_words(c)} ({label} p = {d.p_adj:.2g}{adjusted})"


def _beats(winner: str, other: str, direct: Sequence[Comparison]) -> Comparison | None:
    """The direct comparison showing ``winner`` significantly above ``other``, if any."""
    for d in direct:
        if not d.decision.significant or not math.isfinite(d.decision.effect):
            continue
        if (d.treatment, d.control) == (winner, other) and d.decision.effect > 0:
            return d
        if (d.treatment, d.control) == (other, winner) and d.decision.effect < 0:
            return d
    return None


def decide(
    comparisons: Sequence[Comparison],
    *,
    srm: SRMResult,
    control: str,
    alpha: float,
    correction: str,
    direct: Sequence[Comparison] = (),
) -> Verdict:
    """The verdict on the decision metric, from p-values adjusted over one family.

    The family is each treatment vs control and each direct treatment-vs-treatment
    comparison (``direct``), so every claim below holds at ``alpha`` family-wise (Holm) or
    as a false discovery rate (BH).

    - SRM, or no comparison could be tested: ``inconclusive`` (nothing is trusted).
    - A treatment wins when it is significantly above the control AND significantly above
      every other treatment in their direct comparison: beating control shows the perk
      works, beating the other shows it is the better policy. A missing direct comparison
      proves nothing.
    - ``tie``: some treatment beats the control, but none is shown to beat the others.
    - The control wins when every treatment is significantly below it.
    - Otherwise ``no significant difference``.
    """
    metric = comparisons[0].decision.metric if comparisons else "conversion"
    words = METRIC_WORDS.get(metric, metric)
    if srm.flag:
        return Verdict(
            INCONCLUSIVE,
            f"Sample ratio mismatch (p = {srm.p_value:.2g} < "
            f"{srm.threshold:g}): the assignment is broken, so no lift is trusted.",
            metric=metric,
        )
    valid = [c for c in comparisons if math.isfinite(c.decision.p_adj)]
    if not valid:
        why = next(
            (c.decision.error for c in comparisons if c.decision.error),
            f"control arm {control!r} is missing",
        )
        return Verdict(INCONCLUSIVE, f"No comparison could be tested: {why}.", metric=metric)
    label = "Holm" if correction == "holm" else "BH"
    up = [c for c in valid if c.decision.significant and c.decision.effect > 0]
    down = [c for c in valid if c.decision.significant and c.decision.effect < 0]
    moved = tuple(x.treatment for x in up + down)
    treatments = [c.treatment for c in comparisons]
    if up:
        for c in sorted(up, key=lambda c: -c.decision.effect):
            others = [t for t in treatments if t != c.treatment]
            proofs = [p for o in others if (p := _beats(c.treatment, o, direct)) is not None]
            if len(proofs) == len(others):
                vs_others = "".join(
                    f" and above {o} ({describe(d, label)})"
                    for o, d in zip(others, proofs, strict=True)
                )
                return Verdict(
                    c.treatment,
                    f"{c.treatment} wins on {words}: significantly above {control} "
                    f"({describe(c, label)}){vs_others}, at {label}-adjusted alpha {alpha:g}.",
                    moved,
                    metric,
                )
        names = " and ".join(c.treatment for c in up)
        verb = "is" if len(up) == 1 else "are"
        pairs = "; ".join(describe(d, label) for d in direct) or "no direct comparison"
        return Verdict(
            TIE,
            f"On {words}, {names} {verb} significantly above {control} "
            f"({'; '.join(describe(c, label) for c in up)}), but no treatment is shown to "
            f"beat the other(s) directly ({pairs}; {label}-adjusted alpha {alpha:g}).",
            moved,
            metric,
        )
    if len(down) == len(comparisons):
        return Verdict(
            control,
            f"Every treatment is significantly below {control} on {words} "
            f"({label}-adjusted p <= {max(c.decision.p_adj for c in down):.2g}).",
            moved,
            metric,
        )
    smallest = min(valid, key=lambda c: c.decision.p_adj)
    below = f"; {', '.join(c.treatment for c in down)} significantly below" if down else ""
    return Verdict(
        NO_DIFFERENCE,
        f"No treatment is significantly above {control} on {words} at "
        f"{label}-adjusted alpha {alpha:g} (smallest adjusted p = "
        f"{smallest.decision.p_adj:.2g}{below}).",
        moved,
        metric,
    )
