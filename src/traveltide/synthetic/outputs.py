"""The generate stage's output paths, and the placeholders it writes for an external source.

With an external database (`TRAVELTIDE_DB_URL`) nothing is generated: the database folder
gets a note, the personas table is empty and both metrics files say why. This module stays
light (no generator imports) so that path takes about a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from traveltide.io import write_json, write_parquet, write_text

SKIPPED_NOTE = (
    "Not generated: the pipeline reads an external database (TRAVELTIDE_DB_URL).\n"
    "Unset it and run `dvc repro` to build the embedded synthetic database here.\n"
)
SKIPPED_REASON = "external source (TRAVELTIDE_DB_URL)"


@dataclass(frozen=True)
class GenerateOutputs:
    """Where the generate stage writes."""

    database: Path  # folder of the four table files
    personas: Path  # ground-truth persona of every user
    metrics: Path  # row counts, seed and scale
    fidelity: Path  # the FACTS.md figures and how close the tables come


def write_skipped(outputs: GenerateOutputs) -> None:
    """Placeholders for an external source: no tables, no ground truth, metrics that say so."""
    import pandas as pd  # here, so pandas stays out of the stage's start-up

    write_text(SKIPPED_NOTE, outputs.database / "NOT_GENERATED.txt")
    empty = pd.DataFrame({"user_id": pd.Series(dtype="int64"), "persona": pd.Series(dtype=str)})
    write_parquet(empty, outputs.personas)
    note = {"skipped": True, "reason": SKIPPED_REASON}
    write_json(note, outputs.metrics)
    write_json(note, outputs.fidelity)
