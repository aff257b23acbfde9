"""The cluster stage's fit from its files: the feature table read a piece at a time, and on
Spark (`engine.name: spark`) every user outside the fit sample scored in the Spark session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traveltide.config import ClusterConfig, EngineConfig, PerksConfig
from traveltide.engines.scoring import engine_labeller
from traveltide.io import read_csv
from traveltide.segment.clustering import fit_segmenter
from traveltide.segment.result import ClusterResult
from traveltide.segment.table import FileTable, read_personas


def cluster_file(
    params: dict[str, Any], features: Path, personas: Path, k_selection: Path, scratch: Path
) -> ClusterResult:
    """`fit_segmenter` with the params' cluster, perks and engine blocks; `scratch` is a folder
    for the engine's scores (beside the outputs)."""
    config = ClusterConfig.from_params(params)
    signals = PerksConfig.from_params(params).signals
    truth = read_personas(personas)
    k_table = read_csv(k_selection, what="select_k's k-selection table")
    with engine_labeller(EngineConfig.from_params(params), features, scratch) as label:
        return fit_segmenter(
            FileTable(features), config, signals, personas=truth, k_table=k_table, label=label
        )
