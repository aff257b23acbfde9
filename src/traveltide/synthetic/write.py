"""Generate the synthetic database and write it, a chunk of users at a time: five Parquet files
and two metrics files.

Memory is that of one chunk (`traveltide.synthetic.generate.generate_chunks`) whatever the
scale: each chunk's rows are appended to the five files as row groups, and all the fidelity
figures need of it is kept: its table counts and its cohort rows (a few thousand users per
million). The files are written beside their targets and replace them only once every chunk is
written, so a failure midway leaves the previous database as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from traveltide.config import GenerateConfig
from traveltide.io import atomic_path, write_json
from traveltide.schema import TABLES
from traveltide.synthetic.fidelity import (
    Fidelity,
    FidelityFigure,
    cohort_rows,
    fidelity_of_parts,
)
from traveltide.synthetic.generate import CHUNK_SESSIONS, SyntheticDatabase, generate_chunks
from traveltide.synthetic.outputs import GenerateOutputs
from traveltide.synthetic.table_counts import TableCounts, merge_counts, table_counts

COHORT_AFTER = pd.Timestamp("2023-01-04")  # the fidelity figures' cohort: FACTS.md's
COHORT_MIN_SESSIONS = 7


@dataclass(frozen=True)
class Written:
    """What the stage wrote, in figures: rows per table and the fidelity report."""

    rows: dict[str, int]
    fidelity: Fidelity


def size_metrics(config: GenerateConfig, rows: dict[str, int]) -> dict[str, Any]:
    """Seed, scale and the row count of each of the four tables."""
    return {"scale": config.scale, "seed": config.seed, "rows": {t: rows[t] for t in TABLES}}


def fidelity_metrics(figures: Sequence[FidelityFigure]) -> dict[str, Any]:
    """How many FACTS.md figures are met, and each figure's target, value and tolerance."""
    return {
        "figures_ok": sum(f.ok for f in figures),
        "figures_total": len(figures),
        "figures": {f.name: {k: v for k, v in vars(f).items() if k != "name"} for f in figures},
    }


def fidelity_json(report: Fidelity) -> dict[str, Any]:
    """The figures (`fidelity_metrics`) and, per distribution, its users, TVD, tolerance, ok
    and each bin's target and value shares: numbers only."""
    out = fidelity_metrics(report.figures)
    out["distributions"] = {
        d.name: {
            "users": d.users,
            "tvd": d.tvd,
            "tolerance": d.tolerance,
            "ok": d.ok,
            "bins": {
                b: {"target": t, "value": v}
                for b, t, v in zip(d.bins, d.target, d.value, strict=True)
            },
        }
        for d in report.distributions
    }
    return out


class ParquetChunks:
    """Parquet files written a chunk at a time, each to a temporary file beside its target that
    replaces the target when `stack` closes without an error (`traveltide.io.atomic_path`).

    A file of one chunk has the bytes `traveltide.io.write_parquet` gives the whole frame
    (the same schema, compression and row groups of at most 1,048,576 rows).
    """

    def __init__(self, stack: ExitStack, targets: Sequence[Path]) -> None:
        self._tmp = {Path(t): stack.enter_context(atomic_path(t)) for t in targets}
        self._writers: dict[Path, pq.ParquetWriter] = {}
        stack.callback(self.close)  # runs before the renames: the stack unwinds in reverse

    def append(self, target: Path, frame: pd.DataFrame) -> None:
        """Add the frame's rows to `target` (one thread per target at a time)."""
        table = pa.Table.from_pandas(frame, preserve_index=False)
        writer = self._writers.get(Path(target))
        if writer is None:
            writer = pq.ParquetWriter(self._tmp[Path(target)], table.schema, compression="zstd")
            self._writers[Path(target)] = writer
        writer.write_table(table)

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


def _chunk_files(db: SyntheticDatabase, outputs: GenerateOutputs) -> dict[Path, pd.DataFrame]:
    files = {outputs.database / f"{table}.parquet": getattr(db, table) for table in TABLES}
    files[outputs.personas] = db.personas
    return files


def _chunk_parts(db: SyntheticDatabase) -> tuple[TableCounts, pd.DataFrame]:
    """What the fidelity figures keep of a chunk: its counts and its cohort rows."""
    return table_counts(db, COHORT_AFTER), cohort_rows(db, COHORT_AFTER, COHORT_MIN_SESSIONS)


def write_database(
    config: GenerateConfig, outputs: GenerateOutputs, *, chunk_sessions: float = CHUNK_SESSIONS
) -> Written:
    """Generate the tables chunk by chunk; write them, the personas and both metrics files."""
    counts: list[TableCounts] = []
    cohorts: list[pd.DataFrame] = []
    targets = [outputs.database / f"{table}.parquet" for table in TABLES] + [outputs.personas]
    # Writing five Parquet files and the fidelity figures only read a chunk: two threads keep
    # both cores busy, since pyarrow converts, encodes and compresses without the GIL
    # (docs/performance.md). Each file is written by one thread: the bytes do not change.
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=2) as pool:
        files = ParquetChunks(stack, targets)
        for db in generate_chunks(config, chunk_sessions=chunk_sessions):
            parts = pool.submit(_chunk_parts, db)
            writes = [pool.submit(files.append, p, f) for p, f in _chunk_files(db, outputs).items()]
            for write in writes:
                write.result()
            chunk_counts, cohort = parts.result()
            counts.append(chunk_counts)
            cohorts.append(cohort)
            del db, writes
    total = merge_counts(counts)
    cohort = cohorts[0] if len(cohorts) == 1 else pd.concat(cohorts, ignore_index=True)
    report = fidelity_of_parts(total, cohort, scale=config.scale)
    rows = {t: getattr(total, t) for t in TABLES}
    write_json(size_metrics(config, rows), outputs.metrics)
    write_json(fidelity_json(report), outputs.fidelity)
    return Written(rows, report)
