"""Everything the report shows, gathered in one value (``traveltide.report.publish`` reads it
from the pipeline's outputs; tests build it in memory)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from traveltide.report.names import group_names
from traveltide.report.projection import Projection


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows, read from the pipeline's outputs."""

    # by stage: metrics/<stage>.json merged with data/summary/<stage>.json (the A/B test: with
    # data/ab/summary.json), so the figures and the words of a stage are in one mapping
    metrics: Mapping[str, Any]
    k_table: pd.DataFrame
    contingency: pd.DataFrame  # index: rule segment, columns: cluster
    ab_arms: pd.DataFrame  # columns: comparison, lift_abs, ci_low, ci_high, p_value
    projection: Projection | None = None
    assignment: pd.DataFrame | None = None  # exports.rewards_assignment
    summary: pd.DataFrame | None = None  # exports.segment_summary
    # data/ab/policy_values.csv: policy, estimator, metric, estimate, ci_low, ci_high, ...
    policy_values: pd.DataFrame | None = None
    # data/segments/benchmark.csv (traveltide.segment.benchmark): None or empty without it
    benchmark: pd.DataFrame | None = None
    export_links: Mapping[str, str] = field(default_factory=dict)  # file name -> relative href
    # timings/*.json by stage (traveltide.timings): shown by `traveltide report`, never by the
    # report stage, whose page must be byte-identical from run to run
    timings: Mapping[str, Any] | None = None

    @property
    def group_names(self) -> dict[str, str]:
        """A human name per ML cluster id (``traveltide.report.names.group_names``)."""
        if self.contingency.empty:
            return {}
        return group_names(self.contingency)

    def stage(self, name: str) -> Mapping[str, Any]:
        """One stage's figures ({} when the stage wrote none)."""
        return self.metrics.get(name) or {}
