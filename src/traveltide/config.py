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
from typing import Any, Literal, get_args

import yaml

from traveltide.errors import ConfigError

PERKS: tuple[str, ...] = (
    "free_hotel_meal",
    "free_checked_bag",
    "no_cancellation_fees",
    "exclusive_discounts",
    "one_night_free_hotel_with_flight",
)
Algorithm = Literal["kmeans", "minibatch_kmeans", "gmm", "agglomerative", "dbscan", "hdbscan"]
Scaler = Literal["standard", "robust"]
Transform = Literal["none", "log1p", "log1p_scaled", "quantile"]
KRule = Literal["silhouette", "calinski_harabasz", "davies_bouldin", "bic"]
CovarianceType = Literal["full", "tied", "diag", "spherical"]
Linkage = Literal["ward", "complete", "average", "single"]
NightsPolicy = Literal["recompute", "clamp"]
CapMethod = Literal["percentile", "iqr", "none"]
ReversedTimes = Literal["swap", "error"]
ControlKind = Literal["random_perk", "no_perk"]
Correction = Literal["holm", "fdr_bh"]
FitSource = Literal["behaviour", "personas"]
Stratify = Literal["rule_segment", "cluster"]
MdeKind = Literal["absolute", "relative"]
SIMULATE = "simulate"

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


@dataclass(frozen=True)
class GenerateConfig:
    """Seed and size of the synthetic database (scale 1.0 = the real 1,020,926 users)."""

    seed: int = 42
    scale: float = 1.0

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> GenerateConfig:
        b = _block(params, "generate")
        return cls(
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
class OutlierCaps:
    """Upper caps on long-tailed session values (winsorising), learnt from the cohort's rows.

    percentile: cap at the `quantile` of the column; iqr: cap at p75 + `iqr_factor` x IQR;
    none: leave values as they are.
    """

    method: CapMethod = "percentile"
    quantile: float = 0.99
    iqr_factor: float = 3.0
    columns: tuple[str, ...] = ("page_clicks", "base_fare_usd", "hotel_per_room_usd")


@dataclass(frozen=True)
class CleanConfig:
    """How invalid rows are repaired; every repair is counted in data_quality.json."""

    nights_policy: NightsPolicy = "recompute"
    drop_duplicate_sessions: bool = True
    outlier_caps: OutlierCaps = field(default_factory=OutlierCaps)
    reversed_times: ReversedTimes = "swap"

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> CleanConfig:
        b = _block(params, "clean")
        caps = _get(b, "clean.outlier_caps")
        if not isinstance(caps, dict):
            raise ConfigError(
                "params.yaml: clean.outlier_caps must be a mapping "
                "{method, quantile, iqr_factor, columns}"
            )
        p = "clean.outlier_caps"
        columns = _get(caps, f"{p}.columns")
        if not isinstance(columns, list):
            raise ConfigError(f"params.yaml: {p}.columns must be a list, got {columns!r}")
        return cls(
            nights_policy=_choice(b, "clean.nights_policy", NightsPolicy),
            drop_duplicate_sessions=_bool(b, "clean.drop_duplicate_sessions"),
            reversed_times=_choice(b, "clean.reversed_times", ReversedTimes),
            outlier_caps=OutlierCaps(
                method=_choice(caps, f"{p}.method", CapMethod),
                quantile=_float(caps, f"{p}.quantile", low=0.5, high=1.0),
                iqr_factor=_float(caps, f"{p}.iqr_factor", low=0.0, high=100.0),
                columns=tuple(_name(c, f"{p}.columns[{i}]") for i, c in enumerate(columns)),
            ),
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
    """ML segmentation: features and preprocessing, the algorithm, k-selection and checks.

    `k` is an integer or "auto" (chosen from `k_range` by `k_rule`); dbscan and hdbscan find
    their own number of clusters and ignore it. `fit_sample` bounds what is fitted (every user
    is then assigned by the fitted model's scoring rule), so a 1M-user cohort fits in memory.
    """

    algorithm: Algorithm = "kmeans"
    k: int | Literal["auto"] = 7
    k_range: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8, 9, 10)
    k_rule: KRule = "silhouette"
    seed: int = 42
    n_init: int = 10
    features: tuple[str, ...] | Literal["all"] = "all"
    transform: Transform = "log1p_scaled"
    scaler: Scaler = "standard"
    pca: int | float | None = None
    silhouette_sample: int = 3_000
    fit_sample: int = 20_000
    stability_resamples: int = 5
    covariance_type: CovarianceType = "full"
    linkage: Linkage = "ward"
    eps: float = 5.0
    min_samples: int = 10
    min_cluster_size: int = 50

    @property
    def model_params(self) -> dict[str, Any]:
        """The parameters of the configured algorithm (for metrics and error messages)."""
        by_algorithm: dict[str, dict[str, Any]] = {
            "kmeans": {"k": self.k, "n_init": self.n_init},
            "minibatch_kmeans": {"k": self.k, "n_init": self.n_init},
            "gmm": {"k": self.k, "covariance_type": self.covariance_type, "n_init": self.n_init},
            "agglomerative": {"k": self.k, "linkage": self.linkage},
            "dbscan": {"eps": self.eps, "min_samples": self.min_samples},
            "hdbscan": {
                "min_cluster_size": self.min_cluster_size,
                "min_samples": self.min_samples,
            },
        }
        return by_algorithm[self.algorithm]

    def describe(self) -> str:
        """E.g. `dbscan (eps=3.0, min_samples=10)`: names the model in one-line errors."""
        params = ", ".join(f"{k}={v}" for k, v in self.model_params.items())
        return f"{self.algorithm} ({params})"

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
        k = _get(b, "cluster.k")
        if k != "auto":
            if isinstance(k, bool) or not isinstance(k, int):
                raise ConfigError(
                    f"params.yaml: cluster.k must be an integer >= 2 or 'auto', got {k!r}"
                )
            k = _int(b, "cluster.k", minimum=2)
        algorithm = _choice(b, "cluster.algorithm", Algorithm)
        k_rule = _choice(b, "cluster.k_rule", KRule)
        if k_rule == "bic" and algorithm != "gmm":
            raise ConfigError(
                f"params.yaml: cluster.k_rule bic needs cluster.algorithm gmm, got {algorithm!r}"
            )
        fit_sample = _int(b, "cluster.fit_sample", minimum=100)
        if algorithm == "agglomerative" and fit_sample > AGGLOMERATIVE_MAX_FIT:
            raise ConfigError(
                f"params.yaml: cluster.fit_sample must be <= {AGGLOMERATIVE_MAX_FIT} with "
                f"agglomerative (its memory grows with the square of the users), got {fit_sample}"
            )
        return cls(
            algorithm=algorithm,
            k=k,
            k_range=tuple(sorted(set(k_range))),
            k_rule=k_rule,
            seed=_int(b, "cluster.seed", minimum=0),
            n_init=_int(b, "cluster.n_init", minimum=1),
            features=_feature_list(_get(b, "cluster.features")),
            transform=_choice(b, "cluster.transform", Transform),
            scaler=_choice(b, "cluster.scaler", Scaler),
            pca=_pca(_get(b, "cluster.pca")),
            silhouette_sample=_int(b, "cluster.silhouette_sample", minimum=100),
            fit_sample=fit_sample,
            stability_resamples=_int(b, "cluster.stability_resamples", minimum=0),
            covariance_type=_choice(b, "cluster.covariance_type", CovarianceType),
            linkage=_choice(b, "cluster.linkage", Linkage),
            eps=_positive(b, "cluster.eps"),
            min_samples=_int(b, "cluster.min_samples", minimum=1),
            min_cluster_size=_int(b, "cluster.min_cluster_size", minimum=2),
        )


AGGLOMERATIVE_MAX_FIT = 20_000  # ward on 20,000 users holds a 1.6 GB distance matrix


def _feature_list(value: Any) -> tuple[str, ...] | Literal["all"]:
    """`all` or a non-empty list of distinct feature names (checked against the table later)."""
    if value == "all":
        return "all"
    if not isinstance(value, list) or not value:
        raise ConfigError(
            f"params.yaml: cluster.features must be 'all' or a list of feature names, got {value!r}"
        )
    names = tuple(_name(v, f"cluster.features[{i}]") for i, v in enumerate(value))
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"params.yaml: cluster.features lists {', '.join(dupes)} twice")
    return names


def _pca(value: Any) -> int | float | None:
    """None (no PCA), a number of components >= 1, or a share of variance in (0, 1)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, float) and 0.0 < value < 1.0:
        return value
    raise ConfigError(
        "params.yaml: cluster.pca must be null, an integer >= 1 (components) or a number in "
        f"(0, 1) (explained variance), got {value!r}"
    )


def _positive(block: dict[str, Any], path: str) -> float:
    value = _float(block, path)
    if value <= 0:
        raise ConfigError(f"params.yaml: {path} must be > 0, got {value}")
    return value


@dataclass(frozen=True)
class ResponseConfig:
    """The explicit response model that simulates perk outcomes (README "A/B outcomes")."""

    fit_source: FitSource = "behaviour"
    base_rate: float = 0.10
    fit_lift: float = 0.06
    any_perk_lift: float = 0.02
    revenue_mean: float = 320.0
    revenue_sd: float = 90.0
    noise_sd: float = 0.0

    @classmethod
    def from_block(cls, r: Any, p: str = "ab_test.response") -> ResponseConfig:
        if not isinstance(r, dict):
            raise ConfigError(f"params.yaml: {p} must be a mapping")
        return cls(
            fit_source=_choice(r, f"{p}.fit_source", FitSource),
            base_rate=_float(r, f"{p}.base_rate", low=0.0, high=1.0),
            fit_lift=_float(r, f"{p}.fit_lift", low=-1.0, high=1.0),
            any_perk_lift=_float(r, f"{p}.any_perk_lift", low=-1.0, high=1.0),
            revenue_mean=_float(r, f"{p}.revenue_mean", low=1e-9),
            revenue_sd=_float(r, f"{p}.revenue_sd", low=0.0),
            noise_sd=_float(r, f"{p}.noise_sd", low=0.0, high=1.0),
        )


@dataclass(frozen=True)
class PlanConfig:
    """The design's planning inputs: power and MDE per comparison before any outcome."""

    baseline_rate: float = 0.11
    mde: float = 0.02
    mde_kind: MdeKind = "absolute"
    power: float = 0.8

    @classmethod
    def from_block(cls, b: Any, p: str = "ab_test.plan") -> PlanConfig:
        if not isinstance(b, dict):
            raise ConfigError(f"params.yaml: {p} must be a mapping")
        plan = cls(
            baseline_rate=_float(b, f"{p}.baseline_rate", low=1e-6, high=1 - 1e-6),
            mde=_float(b, f"{p}.mde", low=1e-6),
            mde_kind=_choice(b, f"{p}.mde_kind", MdeKind),
            power=_float(b, f"{p}.power", low=0.01, high=0.999),
        )
        lift = plan.mde if plan.mde_kind == "absolute" else plan.mde * plan.baseline_rate
        if plan.baseline_rate + lift >= 1:
            raise ConfigError(
                f"params.yaml: {p}.baseline_rate + the lift of {p}.mde must stay below 1, "
                f"got {plan.baseline_rate} + {lift:g}"
            )
        return plan


def _outcomes(block: dict[str, Any], path: str) -> str:
    """``simulate``, or a relative .csv/.parquet path (the stage checks where it lies)."""
    value = _get(block, path)
    if value == SIMULATE:
        return SIMULATE
    ok = (
        isinstance(value, str)
        and value.lower().endswith((".csv", ".parquet"))
        and not Path(value).is_absolute()
        and ".." not in Path(value).parts
    )
    if not ok:
        raise ConfigError(
            f"params.yaml: {path} must be '{SIMULATE}' or a relative path to a .csv or "
            f".parquet results file, got {value!r}"
        )
    return value


@dataclass(frozen=True)
class ABTestConfig:
    """A/B/C design: A rule perks, B ML perks, C control; outcomes simulated or loaded."""

    seed: int = 42
    weights: dict[str, float] = field(default_factory=lambda: {"A": 1.0, "B": 1.0, "C": 1.0})
    control: ControlKind = "random_perk"
    stratify_by: Stratify | None = None
    alpha: float = 0.05
    correction: Correction = "holm"
    outcomes: str = SIMULATE
    plan: PlanConfig = field(default_factory=PlanConfig)
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
        stratify = _get(b, "ab_test.stratify_by")
        return cls(
            seed=_int(b, "ab_test.seed", minimum=0),
            weights=clean_weights,
            control=_choice(b, "ab_test.control", ControlKind),
            stratify_by=None if stratify is None else _choice(b, "ab_test.stratify_by", Stratify),
            alpha=_float(b, "ab_test.alpha", low=1e-6, high=0.5),
            correction=_choice(b, "ab_test.correction", Correction),
            outcomes=_outcomes(b, "ab_test.outcomes"),
            plan=PlanConfig.from_block(_get(b, "ab_test.plan")),
            response=ResponseConfig.from_block(_get(b, "ab_test.response")),
        )


@dataclass(frozen=True)
class CompareConfig:
    """Thresholds that turn the rule-segment x cluster table into recommendations."""

    agree_share: float = 0.7  # a segment and a cluster agree when each is >= this of the other
    split_share: float = 0.2  # a cluster holding >= this of a segment is one of its parts

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> CompareConfig:
        b = _block(params, "compare")
        return cls(
            agree_share=_float(b, "compare.agree_share", low=0.5, high=1.0),
            split_share=_float(b, "compare.split_share", low=0.01, high=0.5),
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


def validate_params(params: dict[str, Any]) -> None:
    """Check every block at once; the always-run source stage calls this first, so a bad value
    stops `dvc repro` before any stage has removed an output. Checks that need data (k against
    the cohort's size, feature names against the feature table) stay in their stages.
    """
    for loader in (
        GenerateConfig,
        CohortConfig,
        CleanConfig,
        FeaturesConfig,
        RulesConfig,
        PerksConfig,
        ClusterConfig,
        CompareConfig,
        ABTestConfig,
        TrackConfig,
    ):
        loader.from_params(params)
