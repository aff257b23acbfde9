"""Planning before any outcome: the power and minimum detectable effect (MDE) of each comparison.

Power of a two-proportion comparison with statsmodels' ``NormalIndPower``, in Cohen's h, at
the level the analysis' multiple-testing correction implies (``planning_alpha``). Edge cases
(an empty arm, an arm not in the design) come back as results with an ``error``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from traveltide.errors import ConfigError
from traveltide.experiment.checks import check_alpha, check_choice
from traveltide.experiment.results import NAN, json_value, no_result

PlanCorrection = Literal["none", "bonferroni", "holm", "fdr_bh"]
MdeKind = Literal["absolute", "relative"]


@dataclass(frozen=True)
class PowerResult:
    """Power of one treatment-vs-control comparison at its planned size (NormalIndPower).

    Effect size is Cohen's h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p0)) (Cohen 1988, ch. 6),
    the metric statsmodels' ``proportion_effectsize`` returns.
    """

    treatment: str
    control: str
    n_treatment: int
    n_control: int
    baseline_rate: float
    target_rate: float
    effect_size: float
    alpha: float
    power: float
    target_power: float
    mde_abs: float
    mde_rel: float
    n_required_treatment: float
    n_required_control: float
    error: str | None = None
    note: str | None = None
    suffix: str = ""  # "_triggered" when planned on the users whose perks differ


@dataclass(frozen=True)
class PowerPlan:
    """Planned design: every comparison's power and minimum detectable effect (MDE)."""

    control: str
    baseline_rate: float
    mde_abs: float
    alpha: float
    alpha_per_comparison: float
    target_power: float
    correction: str
    comparisons: tuple[PowerResult, ...]
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-safe numbers, every one prefixed ``plan_``: ``plan_alpha``,
        ``plan_{t}_vs_{c}_power|effect_size|mde_abs|...`` (text goes to ``notes``)."""
        out: dict[str, Any] = {
            "plan_baseline_rate": self.baseline_rate,
            "plan_mde_abs": self.mde_abs,
            "plan_alpha": self.alpha,
            "plan_alpha_per_comparison": self.alpha_per_comparison,
            "plan_target_power": self.target_power,
        }
        for r in self.comparisons:
            prefix = f"plan_{r.treatment}_vs_{r.control}{r.suffix}_"
            for key in (
                "n_treatment",
                "n_control",
                "baseline_rate",
                "target_rate",
                "power",
                "effect_size",
                "mde_abs",
                "mde_rel",
                "n_required_treatment",
                "n_required_control",
            ):
                out[prefix + key] = getattr(r, key)
        return {k: json_value(v) for k, v in out.items()}

    def notes(self) -> dict[str, str]:
        """The plan's errors and notes, as text for the summary (not metrics)."""
        out = {"plan": self.error} if self.error else {}
        for r in self.comparisons:
            for kind in ("error", "note"):
                if getattr(r, kind):
                    out[f"plan_{r.treatment}_vs_{r.control}{r.suffix}_{kind}"] = getattr(r, kind)
        return out


def _rate_from_h(p0: float, h: float) -> float:
    """Invert Cohen's h upwards: p1 = sin(asin(sqrt(p0)) + h/2)^2, NaN beyond p1 = 1."""
    theta = math.asin(math.sqrt(p0)) + h / 2
    return math.sin(theta) ** 2 if 0 <= theta <= math.pi / 2 else NAN


def planning_alpha(alpha: float, m: int, correction: PlanCorrection) -> float:
    """The level each of ``m`` comparisons is planned at under the analysis' correction.

    - ``holm``/``bonferroni``: alpha / m, Holm's first (strictest) step, so the power is a
      lower bound for Holm;
    - ``fdr_bh``: alpha, the level at which Benjamini-Hochberg tests every comparison when
      all of them carry the planned effect (it then rejects the largest p-value at alpha):
      the power is what BH reaches when the plan holds, an upper bound otherwise;
    - ``none``: alpha.
    """
    return alpha / max(m, 1) if correction in ("holm", "bonferroni") else alpha


def power_analysis(
    n_per_arm: Mapping[str, int],
    *,
    control: str = "C",
    baseline_rate: float,
    mde: float,
    mde_kind: MdeKind = "absolute",
    alpha: float = 0.05,
    power: float = 0.8,
    correction: PlanCorrection = "none",
    pairs: Sequence[tuple[str, str]] | None = None,
    pair_sizes: Mapping[tuple[str, str], tuple[int, int]] | None = None,
) -> PowerPlan:
    """Power of each comparison at the planned sizes, and the MDE at ``power``.

    ``mde`` is the lift to detect, absolute (0.02 = +2 points) or relative (0.2 = +20%),
    over the expected rate of the pair's baseline arm: ``baseline_rate`` for the control,
    and for a treatment (B vs A) its planned rate, the baseline lifted by ``mde``.
    ``pairs`` lists (treatment, baseline) arm pairs; by default each treatment vs control.
    ``pair_sizes`` gives some pairs other sizes than ``n_per_arm`` (a triggered B vs A,
    planned on the users whose perks differ). ``correction`` follows the analysis
    (``planning_alpha``).
    """
    alpha = check_alpha(alpha)
    check_choice(mde_kind, ("absolute", "relative"), param="mde_kind")
    check_choice(correction, ("none", "bonferroni", "holm", "fdr_bh"), param="correction")
    if not 0 < baseline_rate < 1:
        raise ConfigError(f"baseline_rate: must be in (0, 1), got {baseline_rate!r}")
    if not 0 < power < 1:
        raise ConfigError(f"power: must be in (0, 1), got {power!r}")
    if isinstance(mde, bool) or not isinstance(mde, int | float) or not mde > 0:
        raise ConfigError(f"mde: must be a number > 0, got {mde!r}")

    def lifted(rate: float) -> float:
        return rate + mde if mde_kind == "absolute" else rate * (1 + mde)

    mde_abs = lifted(baseline_rate) - baseline_rate
    if not lifted(baseline_rate) < 1:
        raise ConfigError(f"mde: baseline_rate + mde must stay < 1, got {mde!r} ({mde_kind})")
    for arm, n in n_per_arm.items():
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ConfigError(f"n_per_arm.{arm}: must be an integer >= 0, got {n!r}")
    if pairs is None:
        pairs = [(a, control) for a in n_per_arm if a != control]
    alpha_c = planning_alpha(alpha, len(pairs), correction)
    common: dict[str, Any] = dict(
        control=control,
        baseline_rate=float(baseline_rate),
        mde_abs=float(mde_abs),
        alpha=alpha,
        alpha_per_comparison=alpha_c,
        target_power=float(power),
        correction=correction,
    )
    unknown = sorted({a for pair in pairs for a in pair if a not in n_per_arm})
    if unknown:
        what = "control arm" if unknown == [control] else "arm(s)"
        return PowerPlan(
            **common,
            comparisons=(),
            error=f"{what} {', '.join(map(repr, unknown))} not among the arms",
        )
    sizes = dict(pair_sizes or {})
    results = []
    for t, c in pairs:
        p0 = baseline_rate if c == control else lifted(baseline_rate)
        p1 = lifted(p0)
        if not p1 < 1:
            raise ConfigError(f"mde: {c}'s planned rate lifted by mde reaches 1 ({p1:g})")
        n_t, n_c = sizes.get((t, c), (int(n_per_arm[t]), int(n_per_arm[c])))
        result = _power_one(
            t,
            c,
            int(n_t),
            int(n_c),
            p0=p0,
            p1=p1,
            h=float(proportion_effectsize(p1, p0)),
            alpha=alpha_c,
            target_power=power,
        )
        results.append(replace(result, suffix="_triggered" if (t, c) in sizes else ""))
    return PowerPlan(**common, comparisons=tuple(results))


def _power_one(
    treatment: str,
    control: str,
    n_t: int,
    n_c: int,
    *,
    p0: float,
    p1: float,
    h: float,
    alpha: float,
    target_power: float,
) -> PowerResult:
    base: dict[str, Any] = dict(
        treatment=treatment,
        control=control,
        n_treatment=n_t,
        n_control=n_c,
        baseline_rate=p0,
        target_rate=p1,
        effect_size=h,
        alpha=alpha,
        target_power=target_power,
    )
    if n_t == 0 or n_c == 0:
        empty = treatment if n_t == 0 else control
        return no_result(PowerResult, **base, error=f"arm {empty!r} has no users")
    engine = NormalIndPower()
    ratio = n_c / n_t  # statsmodels: nobs2 = ratio * nobs1
    pw = float(engine.power(effect_size=h, nobs1=n_t, alpha=alpha, ratio=ratio))
    note = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            h_min = float(
                engine.solve_power(
                    effect_size=None, nobs1=n_t, alpha=alpha, power=target_power, ratio=ratio
                )
            )
            n_req = float(
                engine.solve_power(
                    effect_size=h, nobs1=None, alpha=alpha, power=target_power, ratio=ratio
                )
            )
    except (ValueError, RuntimeError, ArithmeticError) as exc:  # root finding failed
        h_min, n_req, note = NAN, NAN, f"solve_power failed: {exc}"
    p_min = _rate_from_h(p0, h_min) if math.isfinite(h_min) else NAN
    if math.isfinite(h_min) and not math.isfinite(p_min):
        note = "no lift below a 100% rate reaches the target power at this size"
    mde_abs = p_min - p0
    return PowerResult(
        **base,
        power=pw,
        mde_abs=mde_abs,
        mde_rel=mde_abs / p0,
        n_required_treatment=math.ceil(n_req) if math.isfinite(n_req) else NAN,
        n_required_control=math.ceil(n_req * ratio) if math.isfinite(n_req) else NAN,
        note=note,
    )
