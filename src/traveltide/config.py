"""Typed, validated views of params.yaml: one frozen dataclass per block.

Each field carries its check (`traveltide.params`): a bad value raises ConfigError naming the
dotted key (e.g. ``cluster.k``) and the value, so a typo or a hostile string stops the run
before any stage touches data or SQL.
"""

# No `from __future__ import annotations`: the reader takes the fields' types as objects.
import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Self

from traveltide.engines.config import EngineConfig as EngineConfig
from traveltide.engines.config import SparkConfig as SparkConfig
from traveltide.experiment.config import SIMULATE as SIMULATE
from traveltide.experiment.config import ABTestConfig as ABTestConfig
from traveltide.experiment.config import ControlKind as ControlKind
from traveltide.experiment.config import PlanConfig as PlanConfig
from traveltide.experiment.config import ResponseConfig as ResponseConfig
from traveltide.params import (
    Block,
    Check,
    Identifier,
    Min,
    Range,
    Share,
    identifier,
    reject,
    reject_unknown,
)
from traveltide.params import flatten as flatten
from traveltide.params import read_params as read_params
from traveltide.segment.config import AGGLOMERATIVE_MAX_FIT as AGGLOMERATIVE_MAX_FIT
from traveltide.segment.config import Algorithm as Algorithm
from traveltide.segment.config import BenchmarkConfig as BenchmarkConfig
from traveltide.segment.config import ClusterConfig as ClusterConfig
from traveltide.segment.config import CovarianceType as CovarianceType
from traveltide.segment.config import KRule as KRule
from traveltide.segment.config import Linkage as Linkage
from traveltide.segment.config import Scaler as Scaler
from traveltide.segment.config import Transform as Transform

PERKS: tuple[str, ...] = (
    "free_hotel_meal",
    "free_checked_bag",
    "no_cancellation_fees",
    "exclusive_discounts",
    "one_night_free_hotel_with_flight",
)
NightsPolicy = Literal["recompute", "clamp"]
CapMethod = Literal["percentile", "iqr", "none"]
ReversedTimes = Literal["swap", "error"]


def _perk(value: Any, key: str) -> str:
    if value not in PERKS:
        reject(key, f"must be one of {', '.join(PERKS)}, got {value!r}")
    return value


Perk = Annotated[str, Check(_perk)]


@dataclass(frozen=True)
class GenerateConfig(Block, block="generate"):
    """Seed and size of the synthetic database (scale 1.0 = the real 1,020,926 users)."""

    seed: Annotated[int, Min(0)] = 42
    scale: Annotated[float, Range(1e-4, 20.0)] = 1.0


EMBEDDED = "embedded"
_CREDENTIALS = "PGPASSWORD, ~/.pgpass or PGSERVICE"


def _source_url(value: Any, key: str) -> str:
    """`embedded`, or a PostgreSQL URL that holds no password (never echoed back: it may)."""
    if value == EMBEDDED:
        return value
    from urllib.parse import parse_qs, urlsplit  # only an external source needs them

    if not isinstance(value, str):
        reject(key, f"must be '{EMBEDDED}' or a postgresql:// URL, got {type(value).__name__}")
    try:
        parts = urlsplit(value)
        secret = parts.password is not None or "password" in parse_qs(parts.query)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        reject(key, f"must be '{EMBEDDED}' or a postgresql://user@host:port/db URL")
    if parts.scheme.split("+", 1)[0] != "postgresql":
        reject(key, f"must be '{EMBEDDED}' or a postgresql://user@host:port/db URL")
    if secret:
        reject(key, f"holds a password: remove it and give it through {_CREDENTIALS}")
    return value


def _label(value: Any, key: str) -> str:
    """A free text label; YAML may read `2024-05-01` as a date or `3` as a number."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float | dt.date):
        reject(key, f"must be a text label, got {value!r}")
    return str(value)


@dataclass(frozen=True)
class SourceConfig(Block, block="source"):
    """The database extract reads: the embedded synthetic one, or PostgreSQL at `url` (tables or
    views in `schema`). Credentials come from libpq, never from params; `snapshot` is a label
    to bump so extract re-queries a database that changed."""

    url: Annotated[str, Check(_source_url)] = EMBEDDED
    schema: Identifier = "public"
    snapshot: Annotated[str, Check(_label)] = ""

    @property
    def is_embedded(self) -> bool:
        return self.url == EMBEDDED


@dataclass(frozen=True)
class CohortConfig(Block, block="cohort"):
    """Elena's cohort: users with more than `min_sessions` sessions after a date."""

    session_start_after: dt.date = dt.date(2023, 1, 4)
    min_sessions: Annotated[int, Min(0)] = 7


@dataclass(frozen=True)
class OutlierCaps(Block, show_keys=True):
    """Upper caps on long-tailed session values (winsorising), learnt from the cohort's rows.

    percentile: cap at the `quantile` of the column; iqr: cap at p75 + `iqr_factor` x IQR;
    none: leave values as they are.
    """

    method: CapMethod = "percentile"
    quantile: Annotated[float, Range(0.5, 1.0)] = 0.99
    iqr_factor: Annotated[float, Range(0.0, 100.0)] = 3.0
    columns: tuple[Identifier, ...] = ("page_clicks", "base_fare_usd", "hotel_per_room_usd")


@dataclass(frozen=True)
class CleanConfig(Block, block="clean"):
    """How invalid rows are repaired; every repair is counted in data_quality.json."""

    nights_policy: NightsPolicy = "recompute"
    drop_duplicate_sessions: bool = True
    outlier_caps: OutlierCaps = field(default_factory=OutlierCaps)
    reversed_times: ReversedTimes = "swap"


@dataclass(frozen=True)
class FeaturesConfig(Block, block="features"):
    """Feature engineering; dates are anchored so results do not drift with the calendar."""

    reference_date: dt.date = dt.date(2024, 8, 19)


@dataclass(frozen=True)
class Rule(Block):
    """Users with `feature` >= its `quantile` over the cohort (and > 0) get `segment`/`perk`."""

    segment: Identifier
    feature: Identifier
    quantile: Share
    perk: Perk


def _priority(value: Any, key: str) -> tuple[Rule, ...]:
    if not isinstance(value, list) or not value:
        reject(key, "must be a non-empty list of rules")
    return tuple(Rule.from_block(item, f"{key}[{i}]") for i, item in enumerate(value))


@dataclass(frozen=True)
class _RuleDefault(Block, show_keys=True):
    """`rules.default`: the segment and perk of the users no rule picks."""

    segment: Identifier
    perk: Perk


@dataclass(frozen=True)
class _RulesBlock(Block):
    """The `rules` block as params.yaml writes it; RulesConfig flattens its default."""

    priority: Annotated[tuple[Rule, ...], Check(_priority)]
    default: _RuleDefault


@dataclass(frozen=True)
class RulesConfig(Block, block="rules"):
    """Rule-based segmentation: the first rule a user passes wins."""

    priority: tuple[Rule, ...]
    default_segment: str
    default_perk: str

    @classmethod
    def from_block(cls, block: Any, path: str) -> Self:
        rules = _RulesBlock.from_block(block, path)
        return cls(rules.priority, rules.default.segment, rules.default.perk)


def _signals(value: Any, key: str) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        reject(key, "must map perks to feature names")
    signals = {
        _perk(perk, f"{key}.{perk}"): identifier(feature, f"{key}.{perk}")
        for perk, feature in value.items()
    }
    return dict(sorted(signals.items()))


@dataclass(frozen=True)
class PerksConfig(Block, block="perks"):
    """Which feature signals that each perk fits a user (perk -> feature name)."""

    signals: Annotated[dict[str, str], Check(_signals)] = field(default_factory=dict)


@dataclass(frozen=True)
class CompareConfig(Block, block="compare"):
    """Thresholds that turn the rule-segment x cluster table into recommendations.

    A segment and a cluster agree when each holds >= `agree_share` of the other; a cluster
    holding >= `split_share` of a segment is one of its parts.
    """

    agree_share: Annotated[float, Range(0.5, 1.0)] = 0.7
    split_share: Annotated[float, Range(0.01, 0.5)] = 0.2


def _experiment(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        reject(key, f"must be a name, got {value!r}")
    return value


@dataclass(frozen=True)
class TrackConfig(Block, block="track"):
    """MLflow experiment that every pipeline state is logged to."""

    experiment: Annotated[str, Check(_experiment)] = "traveltide-segmentation"


BLOCKS: tuple[type[Block], ...] = (
    GenerateConfig,
    SourceConfig,
    CohortConfig,
    CleanConfig,
    FeaturesConfig,
    EngineConfig,
    RulesConfig,
    PerksConfig,
    ClusterConfig,
    BenchmarkConfig,
    CompareConfig,
    ABTestConfig,
    TrackConfig,
)


def validate_params(params: dict[str, Any]) -> None:
    """Check every block at once, and that params.yaml holds no key that none of them reads.

    Every stage calls it first (`traveltide.stage.run_stage`), so a bad value anywhere stops
    whichever stage `dvc repro` runs first, before it writes. Checks that need data (k against
    the cohort's size, feature names against the feature table) stay in their stages.
    """
    reject_unknown(params, [block.BLOCK for block in BLOCKS])
    for block in BLOCKS:
        block.from_params(params)
