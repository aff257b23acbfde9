"""The A/B/C test's params blocks: design, plan and the simulated response model.

`traveltide.config` registers them with the other blocks (and re-exports them).
"""

# No `from __future__ import annotations`: the reader takes the fields' types as objects.
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from traveltide.params import Block, Check, Lift, Min, Range, Share, read_value, reject

ControlKind = Literal["random_perk", "no_perk"]
Correction = Literal["holm", "fdr_bh"]
FitSource = Literal["behaviour", "personas"]
Stratify = Literal["rule_segment", "cluster"]
MdeKind = Literal["absolute", "relative"]
SIMULATE = "simulate"


@dataclass(frozen=True)
class ResponseConfig(Block):
    """The explicit response model that simulates perk outcomes (docs/ab-testing.md)."""

    fit_source: FitSource = "behaviour"
    base_rate: Share = 0.10
    fit_lift: Lift = 0.06
    any_perk_lift: Lift = 0.02
    revenue_mean: Annotated[float, Range(1e-9)] = 320.0
    revenue_sd: Annotated[float, Range(0.0)] = 90.0
    noise_sd: Share = 0.0


@dataclass(frozen=True)
class PlanConfig(Block):
    """The design's planning inputs: power and MDE per comparison before any outcome."""

    baseline_rate: Annotated[float, Range(1e-6, 1 - 1e-6)] = 0.11
    mde: Annotated[float, Range(1e-6)] = 0.02
    mde_kind: MdeKind = "absolute"
    power: Annotated[float, Range(0.01, 0.999)] = 0.8

    def validate(self, path: str) -> None:
        lift = self.mde if self.mde_kind == "absolute" else self.mde * self.baseline_rate
        if self.baseline_rate + lift >= 1:
            reject(
                f"{path}.baseline_rate",
                f"+ the lift of {path}.mde must stay below 1, got {self.baseline_rate} + {lift:g}",
            )


def _weights(value: Any, key: str) -> dict[str, float]:
    if not isinstance(value, dict) or set(value) != {"A", "B", "C"}:
        reject(key, f"must give A, B and C, got {value!r}")
    weights = {g: read_value(Annotated[float, Range(0.0)], value[g], f"{key}.{g}") for g in "ABC"}
    if min(weights.values()) <= 0:
        reject(key, "must all be > 0")
    return weights


def _outcomes(value: Any, key: str) -> str:
    """``simulate``, or a relative .csv/.parquet path (the stage checks where it lies)."""
    if value == SIMULATE:
        return SIMULATE
    ok = (
        isinstance(value, str)
        and value.lower().endswith((".csv", ".parquet"))
        and not Path(value).is_absolute()
        and ".." not in Path(value).parts
    )
    if not ok:
        reject(
            key,
            f"must be '{SIMULATE}' or a relative path to a .csv or .parquet results file, "
            f"got {value!r}",
        )
    return value


@dataclass(frozen=True)
class ABTestConfig(Block, block="ab_test"):
    """A/B/C design: A rule perks, B ML perks, C control; outcomes simulated or loaded."""

    seed: Annotated[int, Min(0)] = 42
    weights: Annotated[dict[str, float], Check(_weights)] = field(
        default_factory=lambda: {"A": 1.0, "B": 1.0, "C": 1.0}
    )
    control: ControlKind = "random_perk"
    stratify_by: Stratify | None = None
    alpha: Annotated[float, Range(1e-6, 0.5)] = 0.05
    correction: Correction = "holm"
    outcomes: Annotated[str, Check(_outcomes)] = SIMULATE
    plan: PlanConfig = field(default_factory=PlanConfig)
    response: ResponseConfig = field(default_factory=ResponseConfig)
