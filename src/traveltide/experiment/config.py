"""The A/B/C test's params blocks: design, decision, plan, real results and the response model.

`traveltide.config` registers them with the other blocks (and re-exports them).
"""

# No `from __future__ import annotations`: the reader takes the fields' types as objects.
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from traveltide.params import (
    Block,
    Check,
    Identifier,
    Lift,
    Min,
    Range,
    Share,
    read_value,
    reject,
)

ControlKind = Literal["random_perk", "no_perk"]
Correction = Literal["holm", "fdr_bh"]
FitSource = Literal["latent", "behaviour"]
Stratify = Literal["rule_segment", "cluster"]
MdeKind = Literal["absolute", "relative"]
Design = Literal["all", "triggered"]
DecisionMetric = Literal["net_value", "conversion", "revenue"]
GroupMismatch = Literal["error", "report"]
SIMULATE = "simulate"


@dataclass(frozen=True)
class ResponseConfig(Block):
    """The explicit response model that simulates perk outcomes (docs/ab-testing.md).

    Log-odds of converting = logit(base_rate) + propensity_effect * ln(propensity)
    + affinity_effect * affinity(perk) [+ no_perk_effect without a perk] + noise_sd * N(0, 1).
    """

    fit_source: FitSource = "latent"
    base_rate: Annotated[float, Range(1e-4, 1 - 1e-4)] = 0.10
    affinity_effect: Annotated[float, Range(-5.0, 5.0)] = 0.4
    propensity_effect: Annotated[float, Range(-5.0, 5.0)] = 1.0
    no_perk_effect: Annotated[float, Range(-5.0, 5.0)] = -0.2
    noise_sd: Annotated[float, Range(0.0, 5.0)] = 0.3
    revenue_mean: Annotated[float, Range(1e-9)] = 320.0
    revenue_sd: Annotated[float, Range(0.0)] = 90.0
    cancel_rate: Share = 0.04
    cancel_lift: Lift = 0.04


@dataclass(frozen=True)
class PlanConfig(Block):
    """The design's planning inputs: power and MDE per comparison before any outcome."""

    baseline_rate: Annotated[float, Range(1e-6, 1 - 1e-6)] = 0.11
    mde: Annotated[float, Range(1e-6)] = 0.02
    mde_kind: MdeKind = "absolute"
    power: Annotated[float, Range(0.01, 0.999)] = 0.8

    def lifted(self, rate: float) -> float:
        """``rate`` plus the planned lift (absolute points, or relative to ``rate``)."""
        return rate + self.mde if self.mde_kind == "absolute" else rate * (1 + self.mde)

    def validate(self, path: str) -> None:
        # B vs A is planned over A's expected rate, the baseline lifted once: lifted twice,
        # the rate must stay below 1
        target = self.lifted(self.lifted(self.baseline_rate))
        if target >= 1:
            reject(
                f"{path}.baseline_rate",
                f"lifted twice by {path}.mde (B vs A is planned over A's expected rate) must "
                f"stay below 1, got {target:g}",
            )


@dataclass(frozen=True)
class DecisionConfig(Block):
    """What the decision optimises and how a tie between A and B is settled."""

    metric: DecisionMetric = "net_value"
    max_expected_loss: Annotated[float, Range(0.0)] = 0.5
    prior_sd: Annotated[float, Range(1e-9)] | None = None


@dataclass(frozen=True)
class GuardrailConfig(Block):
    """Harms a recommended arm must not show (checked at alpha, one-sided)."""

    max_cancellation_increase: Share = 0.02
    min_margin: Annotated[float, Range(-1.0, 1.0)] = 0.5


@dataclass(frozen=True)
class PolicyConfig(Block):
    """Policy values from the random-perk control: the features of the learned policies."""

    features: tuple[Identifier, ...] = ()
    folds: Annotated[int, Min(2)] = 5
    ridge: Annotated[float, Range(0.0)] = 10.0


@dataclass(frozen=True)
class ResultsConfig(Block):
    """How a real campaign's results file is read (ab_test.outcomes names the file)."""

    min_coverage: Share = 0.0
    group_mismatch: GroupMismatch = "error"
    refunds: bool = False


def _weights(value: Any, key: str) -> dict[str, float]:
    if not isinstance(value, dict) or set(value) != {"A", "B", "C"}:
        reject(key, f"must give A, B and C, got {value!r}")
    weights = {g: read_value(Annotated[float, Range(0.0)], value[g], f"{key}.{g}") for g in "ABC"}
    if min(weights.values()) <= 0:
        reject(key, "must all be > 0")
    return weights


def _costs(value: Any, key: str) -> dict[str, float]:
    """A cost in USD >= 0 per converting user for each of the five perks."""
    from traveltide.config import PERKS  # imported late: traveltide.config imports this module

    if not isinstance(value, dict) or set(value) != set(PERKS):
        reject(key, f"must give a cost for each perk ({', '.join(PERKS)}), got {value!r}")
    return {p: read_value(Annotated[float, Range(0.0)], value[p], f"{key}.{p}") for p in PERKS}


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
    design: Design = "all"
    stratify_by: Stratify | None = None
    alpha: Annotated[float, Range(1e-6, 0.5)] = 0.05
    correction: Correction = "holm"
    costs: Annotated[dict[str, float], Check(_costs)] = field(default_factory=dict)
    revenue_cap: Annotated[float, Range(0.5, 1.0)] = 0.99
    adjust_for: tuple[Identifier, ...] = ()
    outcomes: Annotated[str, Check(_outcomes)] = SIMULATE
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    guardrails: GuardrailConfig = field(default_factory=GuardrailConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    results: ResultsConfig = field(default_factory=ResultsConfig)
    plan: PlanConfig = field(default_factory=PlanConfig)
    response: ResponseConfig = field(default_factory=ResponseConfig)
