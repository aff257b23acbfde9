"""Typed, validated views of params.yaml: one frozen dataclass per block.

Every check raises ConfigError naming the dotted key (e.g. ``cluster.k``) and the bad value, so a
typo or a hostile string stops the run before any stage touches data or SQL.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import yaml

from traveltide.errors import ConfigError

if TYPE_CHECKING:
    from traveltide.generate import GenerateConfig

PERKS: tuple[str, ...] = (
    "free_hotel_meal",
    "free_checked_bag",
    "no_cancellation_fees",
    "exclusive_discounts",
    "one_night_free_hotel_with_flight",
)
Algorithm = Literal["kmeans"]
Scaler = Literal["standard", "robust"]
NightsPolicy = Literal["recompute", "clamp"]
ControlKind = Literal["random_perk", "no_perk"]
Correction = Literal["holm", "fdr_bh"]
FitSource = Literal["behaviour", "personas"]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _block(params: dict[str, Any], name: str) -> dict[str, Any]:
    value = params.get(name)
    if not isinstance(value, dict):
        raise ConfigError(f"params.yaml: missing or malformed block '{name}'")
    return value


def _get(block: dict[str, Any], path: str) -> Any:
    key = path.rsplit(".", 1)[-1]
    if key not in block:
        raise ConfigError(f"params.yaml: missing key {path}")
    return block[key]


def _int(block: dict[str, Any], path: str, *, minimum: int | None = None) -> int:
    value = _get(block, path)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"params.yaml: {path} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"params.yaml: {path} must be >= {minimum}, got {value}")
    return value


def _float(
    block: dict[str, Any], path: str, *, low: float | None = None, high: float | None = None
) -> float:
    value = _get(block, path)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"params.yaml: {path} must be a number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"params.yaml: {path} must be in [{low}, {high}], got {value}")
    return float(value)


def _bool(block: dict[str, Any], path: str) -> bool:
    value = _get(block, path)
    if not isinstance(value, bool):
        raise ConfigError(f"params.yaml: {path} must be true or false, got {value!r}")
    return value


def _choice(block: dict[str, Any], path: str, options: Any) -> Any:
    value = _get(block, path)
    allowed = get_args(options)
    if value not in allowed:
        raise ConfigError(f"params.yaml: {path} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _date(block: dict[str, Any], path: str) -> dt.date:
    value = _get(block, path)
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ConfigError(f"params.yaml: {path} must be an ISO date YYYY-MM-DD, got {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"params.yaml: {path} is not a valid date: {value!r}") from exc


def _name(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ConfigError(f"params.yaml: {path} must be an identifier, got {value!r}")
    return value


def _perk(value: Any, path: str) -> str:
    if value not in PERKS:
        raise ConfigError(f"params.yaml: {path} must be one of {', '.join(PERKS)}, got {value!r}")
    return value


def generate_config(params: dict[str, Any]) -> GenerateConfig:
    """The generator's config from the `generate` block."""
    from traveltide.generate import GenerateConfig  # the generator owns its config type

    b = _block(params, "generate")
    return GenerateConfig(
        seed=_int(b, "generate.seed", minimum=0),
        scale=_float(b, "generate.scale", low=1e-4, high=20.0),
    )


@dataclass(frozen=True)
class CohortConfig:
    """Elena's cohort: users with more than `min_sessions` sessions after a date."""

    session_start_after: dt.date = dt.date(2023, 1, 4)
    min_sessions: int = 7

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> CohortConfig:
        b = _block(params, "cohort")
        return cls(
            session_start_after=_date(b, "cohort.session_start_after"),
            min_sessions=_int(b, "cohort.min_sessions", minimum=0),
        )


@dataclass(frozen=True)
class CleanConfig:
    """How invalid rows are repaired; every repair is counted in data_quality.json."""

    nights_policy: NightsPolicy = "recompute"
    drop_duplicate_sessions: bool = True

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> CleanConfig:
        b = _block(params, "clean")
        return cls(
            nights_policy=_choice(b, "clean.nights_policy", NightsPolicy),
            drop_duplicate_sessions=_bool(b, "clean.drop_duplicate_sessions"),
        )


@dataclass(frozen=True)
class FeaturesConfig:
    """Feature engineering; dates are anchored so results do not drift with the calendar."""

    reference_date: dt.date = dt.date(2024, 8, 19)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> FeaturesConfig:
        b = _block(params, "features")
        return cls(reference_date=_date(b, "features.reference_date"))


@dataclass(frozen=True)
class Rule:
    """Users with `feature` >= its `quantile` over the cohort (and > 0) get `segment`/`perk`."""

    segment: str
    feature: str
    quantile: float
    perk: str


@dataclass(frozen=True)
class RulesConfig:
    """Rule-based segmentation: the first rule a user passes wins."""

    priority: tuple[Rule, ...]
    default_segment: str
    default_perk: str

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> RulesConfig:
        b = _block(params, "rules")
        raw = _get(b, "rules.priority")
        if not isinstance(raw, list) or not raw:
            raise ConfigError("params.yaml: rules.priority must be a non-empty list of rules")
        rules = []
        for i, item in enumerate(raw):
            path = f"rules.priority[{i}]"
            if not isinstance(item, dict):
                raise ConfigError(f"params.yaml: {path} must be a mapping")
            rules.append(
                Rule(
                    segment=_name(item.get("segment"), f"{path}.segment"),
                    feature=_name(item.get("feature"), f"{path}.feature"),
                    quantile=_float(item, f"{path}.quantile", low=0.0, high=1.0),
                    perk=_perk(item.get("perk"), f"{path}.perk"),
                )
            )
        default = _get(b, "rules.default")
        if not isinstance(default, dict):
            raise ConfigError("params.yaml: rules.default must be a mapping {segment, perk}")
        return cls(
            priority=tuple(rules),
            default_segment=_name(default.get("segment"), "rules.default.segment"),
            default_perk=_perk(default.get("perk"), "rules.default.perk"),
        )


@dataclass(frozen=True)
class PerksConfig:
    """Which feature signals that each perk fits a user (perk -> feature name)."""

    signals: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> PerksConfig:
        b = _block(params, "perks")
        raw = _get(b, "perks.signals")
        if not isinstance(raw, dict) or not raw:
            raise ConfigError("params.yaml: perks.signals must map perks to feature names")
        signals = {
            _perk(perk, f"perks.signals.{perk}"): _name(feat, f"perks.signals.{perk}")
            for perk, feat in raw.items()
        }
        return cls(signals=dict(sorted(signals.items())))


@dataclass(frozen=True)
class ClusterConfig:
    """ML segmentation: preprocessing, the algorithm and the k-selection candidates."""

    algorithm: Algorithm = "kmeans"
    k: int = 5
    k_range: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8)
    seed: int = 42
    n_init: int = 10
    scaler: Scaler = "standard"
    log1p: bool = True
    silhouette_sample: int = 10_000

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ClusterConfig:
        b = _block(params, "cluster")
        k_range = _get(b, "cluster.k_range")
        if not isinstance(k_range, list) or not k_range:
            raise ConfigError(
                f"params.yaml: cluster.k_range must be a list of integers >= 2, got {k_range!r}"
            )
        for i, k in enumerate(k_range):
            if isinstance(k, bool) or not isinstance(k, int) or k < 2:
                raise ConfigError(
                    f"params.yaml: cluster.k_range[{i}] must be an integer >= 2, got {k!r}"
                )
        return cls(
            algorithm=_choice(b, "cluster.algorithm", Algorithm),
            k=_int(b, "cluster.k", minimum=2),
            k_range=tuple(sorted(set(k_range))),
            seed=_int(b, "cluster.seed", minimum=0),
            n_init=_int(b, "cluster.n_init", minimum=1),
            scaler=_choice(b, "cluster.scaler", Scaler),
            log1p=_bool(b, "cluster.log1p"),
            silhouette_sample=_int(b, "cluster.silhouette_sample", minimum=100),
        )


@dataclass(frozen=True)
class ResponseConfig:
    """The explicit response model that simulates perk outcomes (no outcome data exists)."""

    fit_source: FitSource = "behaviour"
    base_rate: float = 0.10
    fit_lift: float = 0.06
    any_perk_lift: float = 0.02
    revenue_mean: float = 320.0
    revenue_sd: float = 90.0


@dataclass(frozen=True)
class ABTestConfig:
    """A/B/C design: A rule perks, B ML perks, C control."""

    seed: int = 42
    weights: dict[str, float] = field(default_factory=lambda: {"A": 1.0, "B": 1.0, "C": 1.0})
    control: ControlKind = "random_perk"
    alpha: float = 0.05
    correction: Correction = "holm"
    response: ResponseConfig = field(default_factory=ResponseConfig)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ABTestConfig:
        b = _block(params, "ab_test")
        weights = _get(b, "ab_test.weights")
        if not isinstance(weights, dict) or set(weights) != {"A", "B", "C"}:
            raise ConfigError(f"params.yaml: ab_test.weights must give A, B and C, got {weights!r}")
        clean_weights = {g: _float(weights, f"ab_test.weights.{g}", low=0.0) for g in "ABC"}
        if min(clean_weights.values()) <= 0:
            raise ConfigError("params.yaml: ab_test.weights must all be > 0")
        r = _get(b, "ab_test.response")
        if not isinstance(r, dict):
            raise ConfigError("params.yaml: ab_test.response must be a mapping")
        p = "ab_test.response"
        response = ResponseConfig(
            fit_source=_choice(r, f"{p}.fit_source", FitSource),
            base_rate=_float(r, f"{p}.base_rate", low=0.0, high=1.0),
            fit_lift=_float(r, f"{p}.fit_lift", low=-1.0, high=1.0),
            any_perk_lift=_float(r, f"{p}.any_perk_lift", low=-1.0, high=1.0),
            revenue_mean=_float(r, f"{p}.revenue_mean", low=0.0),
            revenue_sd=_float(r, f"{p}.revenue_sd", low=0.0),
        )
        return cls(
            seed=_int(b, "ab_test.seed", minimum=0),
            weights=clean_weights,
            control=_choice(b, "ab_test.control", ControlKind),
            alpha=_float(b, "ab_test.alpha", low=1e-6, high=0.5),
            correction=_choice(b, "ab_test.correction", Correction),
            response=response,
        )


@dataclass(frozen=True)
class TrackConfig:
    """MLflow experiment that every pipeline state is logged to."""

    experiment: str = "traveltide-segmentation"

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TrackConfig:
        b = _block(params, "track")
        value = _get(b, "track.experiment")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"params.yaml: track.experiment must be a name, got {value!r}")
        return cls(experiment=value)


def read_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Parse params.yaml into a dict; a missing or malformed file is a ConfigError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: malformed YAML{where}: {problem}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of parameter blocks")
    return data


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten nested params to dotted keys (MLflow params): lists become their JSON-ish repr."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat
