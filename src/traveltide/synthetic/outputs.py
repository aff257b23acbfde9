"""The generate stage's output paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GenerateOutputs:
    """Where the generate stage writes."""

    database: Path  # folder of the four table files
    personas: Path  # ground-truth persona and latent traits of every user
    metrics: Path  # row counts, seed and scale
    fidelity: Path  # the FACTS.md figures and how close the tables come
