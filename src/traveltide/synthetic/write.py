"""Generate the synthetic database and write it: five Parquet files and two metrics files."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from traveltide.config import GenerateConfig
from traveltide.io import write_json, write_parquet
from traveltide.schema import TABLES
from traveltide.synthetic.fidelity import FidelityFigure, fidelity
from traveltide.synthetic.generate import SyntheticDatabase, generate
from traveltide.synthetic.outputs import GenerateOutputs


def size_metrics(config: GenerateConfig, db: SyntheticDatabase) -> dict[str, Any]:
    """Seed, scale and the row count of each of the four tables."""
    sizes = {table: len(getattr(db, table)) for table in TABLES}
    return {"scale": config.scale, "seed": config.seed, "rows": sizes}


def fidelity_metrics(figures: Sequence[FidelityFigure]) -> dict[str, Any]:
    """How many FACTS.md figures are met, and each figure's target, value and tolerance."""
    return {
        "figures_ok": sum(f.ok for f in figures),
        "figures_total": len(figures),
        "figures": {f.name: {k: v for k, v in vars(f).items() if k != "name"} for f in figures},
    }


def write_database(config: GenerateConfig, outputs: GenerateOutputs) -> SyntheticDatabase:
    """Generate the tables; write them, the personas and both metrics files; return them."""
    db = generate(config)
    files = {outputs.database / f"{table}.parquet": getattr(db, table) for table in TABLES}
    files[outputs.personas] = db.personas
    # Writing five Parquet files and the fidelity figures only read the tables: two threads
    # keep both cores busy, since pyarrow converts, encodes and compresses without the GIL
    # (docs/performance.md). Each file is written by one thread: the bytes do not change.
    with ThreadPoolExecutor(max_workers=2) as pool:
        checked = pool.submit(fidelity, db, scale=config.scale)
        writes = [pool.submit(write_parquet, frame, path) for path, frame in files.items()]
        for write in writes:
            write.result()
        figures = checked.result()
    write_json(size_metrics(config, db), outputs.metrics)
    write_json(fidelity_metrics(figures), outputs.fidelity)
    return db
