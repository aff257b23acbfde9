"""The decision of an A/B/C test on conversion, in words a head of marketing can act on.

A treatment wins only when it beats the control and every other treatment in their direct
comparison; a sample-ratio mismatch makes the whole test inconclusive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from traveltide.experiment.stats import Comparison, SRMResult

NO_DIFFERENCE = "no significant difference"
INCONCLUSIVE = "inconclusive"
TIE = "tie"  # a treatment beats control, but none is shown to beat the other treatments


@dataclass(frozen=True)
class Verdict:
    """The decision: an arm, ``tie``, ``no significant difference`` or ``inconclusive``.

    ``significant_arms``: treatments whose conversion differs significantly from control.
    """

    winner: str
    reason: str
    significant_arms: tuple[str, ...] = ()


def _pts(x: float) -> str:
    return f"{100 * x:+.2f} pts"


def _describe(c: Comparison, label: str) -> str:
    """One comparison in words: 'B vs C +3.95 pts (11.77% -> 15.72%, Holm p = 0.0005)'."""
    cv = c.conversion
    if cv.error or not math.isfinite(c.p_adj):
        return f"{c.treatment} vs {c.control} not tested ({cv.error or 'no p-value'})"
    return (
        f"{c.treatment} vs {c.control} {_pts(cv.lift_abs)} ({100 * cv.rate_control:.2f}% -> "
        f"{100 * cv.rate_treatment:.2f}%, {label} p = {c.p_adj:.2g})"
    )


def _beats(winner: str, other: str, direct: Sequence[Comparison]) -> Comparison | None:
    """The direct comparison showing ``winner`` significantly above ``other``, if any."""
    for d in direct:
        if not d.significant or not math.isfinite(d.conversion.lift_abs):
            continue
        if (d.treatment, d.control) == (winner, other) and d.conversion.lift_abs > 0:
            return d
        if (d.treatment, d.control) == (other, winner) and d.conversion.lift_abs < 0:
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
    """The verdict on conversion (primary metric) from adjusted p-values.

    Every p-value is adjusted over one family: each treatment vs control and each direct
    treatment-vs-treatment comparison (``direct``), so every claim below holds at ``alpha``
    family-wise (Holm) or as a false discovery rate (BH).

    - SRM, or no comparison could be tested: ``inconclusive`` (nothing is trusted).
    - A treatment wins when it converts significantly above the control AND significantly
      above every other treatment in their direct comparison: beating control shows the
      perk works, beating the other shows it is the better policy. A missing direct
      comparison proves nothing.
    - ``tie``: some treatment beats the control, but none is shown to beat the others.
    - The control wins when every treatment converts significantly below it.
    - Otherwise ``no significant difference``.
    """
    if srm.flag:
        return Verdict(
            INCONCLUSIVE,
            f"Sample ratio mismatch (p = {srm.p_value:.2g} < "
            f"{srm.threshold:g}): the assignment is broken, so no lift is trusted.",
        )
    valid = [c for c in comparisons if math.isfinite(c.p_adj)]
    if not valid:
        why = next(
            (c.conversion.error for c in comparisons if c.conversion.error),
            f"control arm {control!r} is missing",
        )
        return Verdict(INCONCLUSIVE, f"No comparison could be tested: {why}.")
    label = "Holm" if correction == "holm" else "BH"
    up = [c for c in valid if c.significant and c.conversion.lift_abs > 0]
    down = [c for c in valid if c.significant and c.conversion.lift_abs < 0]
    treatments = [c.treatment for c in comparisons]
    if up:
        for c in sorted(up, key=lambda c: -c.conversion.lift_abs):
            others = [t for t in treatments if t != c.treatment]
            proofs = [p for o in others if (p := _beats(c.treatment, o, direct)) is not None]
            if len(proofs) == len(others):
                vs_others = "".join(
                    f" and above {o} ({_describe(d, label)})"
                    for o, d in zip(others, proofs, strict=True)
                )
                return Verdict(
                    c.treatment,
                    f"{c.treatment} wins on conversion: significantly above {control} "
                    f"({_describe(c, label)}){vs_others}, at {label}-adjusted alpha {alpha:g}.",
                    tuple(x.treatment for x in up + down),
                )
        names = " and ".join(c.treatment for c in up)
        verb = "converts" if len(up) == 1 else "convert"
        pairs = "; ".join(_describe(d, label) for d in direct) or "no direct comparison"
        return Verdict(
            TIE,
            f"{names} {verb} significantly above {control} "
            f"({'; '.join(_describe(c, label) for c in up)}), but no treatment is shown to "
            f"beat the other(s) directly ({pairs}; {label}-adjusted alpha {alpha:g}).",
            tuple(x.treatment for x in up + down),
        )
    if len(down) == len(comparisons):
        return Verdict(
            control,
            f"Every treatment converts significantly below {control} "
            f"({label}-adjusted p <= {max(c.p_adj for c in down):.2g}).",
            tuple(c.treatment for c in down),
        )
    smallest = min(valid, key=lambda c: c.p_adj)
    below = f"; {', '.join(c.treatment for c in down)} significantly below" if down else ""
    return Verdict(
        NO_DIFFERENCE,
        f"No treatment converts significantly above {control} at "
        f"{label}-adjusted alpha {alpha:g} (smallest adjusted p = "
        f"{smallest.p_adj:.2g}{below}).",
        tuple(c.treatment for c in down),
    )
