"""Rule-based segmentation: quantile thresholds checked in a priority order (params `rules`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from traveltide.config import RulesConfig
from traveltide.errors import ConfigError
from traveltide.segment.table import UserTable, as_table


@dataclass(frozen=True)
class RuleThreshold:
    """The value a rule's quantile resolved to on this cohort, and how many users it took."""

    segment: str
    feature: str
    quantile: float
    threshold: float
    users: int


def segment_by_rules(
    features: pd.DataFrame | UserTable, config: RulesConfig
) -> tuple[pd.DataFrame, list[RuleThreshold]]:
    """One segment and one perk per user: the first rule whose threshold the user reaches.

    A rule needs feature >= its cohort quantile AND > 0, so a zero-inflated feature (most users
    never cancel) does not hand its segment to everyone at a quantile of 0.
    """
    features = as_table(features)  # a file: only the rules' columns are read
    n = features.n_rows
    segment = np.full(n, config.default_segment, dtype=object)
    perk = np.full(n, config.default_perk, dtype=object)
    free = np.ones(n, dtype=bool)
    thresholds = []
    for i, rule in enumerate(config.priority):
        if rule.feature not in features.columns:
            raise ConfigError(
                f"params.yaml: rules.priority[{i}].feature '{rule.feature}' is not a feature"
            )
        values = features.column(rule.feature).astype(float)
        threshold = float(np.quantile(values, rule.quantile))
        hit = free & (values >= threshold) & (values > 0)
        segment[hit], perk[hit] = rule.segment, rule.perk
        free &= ~hit
        thresholds.append(
            RuleThreshold(rule.segment, rule.feature, rule.quantile, threshold, int(hit.sum()))
        )
    out = pd.DataFrame({"user_id": features.column("user_id"), "segment": segment, "perk": perk})
    return out, thresholds


def mix(labels: pd.Series) -> dict[str, int]:
    """Counts per label, sorted by label, for metrics."""
    return {str(k): int(v) for k, v in labels.value_counts().sort_index().items()}


def rules_metrics(segments: pd.DataFrame, thresholds: list[RuleThreshold]) -> dict[str, Any]:
    """metrics/segment_rules.json: users, segment and perk counts, each rule's threshold."""
    return {
        "users": len(segments),
        "segment_sizes": mix(segments["segment"]),
        "perk_mix": mix(segments["perk"]),
        "thresholds": [asdict(t) for t in thresholds],
    }
