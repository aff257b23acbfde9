"""Everything the report shows, gathered in one value (``traveltide.report.publish`` reads it
from the pipeline's outputs; tests build it in memory)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from traveltide.report.projection import Projection


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows, read from the pipeline's outputs."""

    metrics: Mapping[str, Any]  # metrics/<stage>.json contents by stage name
    k_table: pd.DataFrame
    contingency: pd.DataFrame  # index: rule segment, columns: cluster
    ab_arms: pd.DataFrame  # columns: comparison, lift_abs, ci_low, ci_high, p_value
    projection: Projection | None = None
    assignment: pd.DataFrame | None = None  # exports.rewards_assignment
    summary: pd.DataFrame | None = None  # exports.segment_summary
    export_links: Mapping[str, str] = field(default_factory=dict)  # file name -> relative href
    # timings/*.json by stage (traveltide.timings): shown by `traveltide report`, never by the
    # report stage, whose page must be byte-identical from run to run
    timings: Mapping[str, Any] | None = None
