"""DVC stage generate: the synthetic TravelTide database (the embedded default source).

With an external database (`TRAVELTIDE_DB_URL`, recorded by the source stage) nothing is
generated: the stage writes an empty personas table and a note in the database folder, in
about a second, so `dvc repro` against PostgreSQL never pays for 5 million synthetic sessions.
"""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from traveltide.config import GenerateConfig
from traveltide.io import read_json, write_json, write_parquet, write_text
from traveltide.stage import run_stage

SKIPPED_NOTE = (
    "Not generated: the pipeline reads an external database (TRAVELTIDE_DB_URL).\n"
    "Unset it and run `dvc repro` to build the embedded synthetic database here.\n"
)


def skip(paths) -> None:
    """Placeholders for an external source: no tables, no ground truth, metrics that say so."""
    import pandas as pd

    write_text(SKIPPED_NOTE, paths.database / "NOT_GENERATED.txt")
    empty = pd.DataFrame({"user_id": pd.Series(dtype="int64"), "persona": pd.Series(dtype=str)})
    write_parquet(empty, paths.personas)
    note = {"skipped": True, "reason": "external source (TRAVELTIDE_DB_URL)"}
    write_json(note, paths.metrics)
    write_json(note, paths.fidelity)


def generate_tables(config, paths) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from traveltide.schema import TABLES
    from traveltide.synthetic.fidelity import fidelity
    from traveltide.synthetic.generate import generate

    db = generate(config)
    files = {paths.database / f"{table}.parquet": getattr(db, table) for table in TABLES}
    files[paths.personas] = db.personas
    # Writing five Parquet files and the fidelity figures only read the tables: two threads
    # keep both cores busy, since pyarrow converts, encodes and compresses without the GIL
    # (README "Performance"). Each file is written by one thread: the bytes do not change.
    with ThreadPoolExecutor(max_workers=2) as pool:
        checked = pool.submit(fidelity, db, scale=config.scale)
        writes = [pool.submit(write_parquet, frame, path) for path, frame in files.items()]
        for write in writes:
            write.result()
        figures = checked.result()
    sizes = {table: len(getattr(db, table)) for table in TABLES}
    write_json({"scale": config.scale, "seed": config.seed, "rows": sizes}, paths.metrics)
    write_json(
        {
            "figures_ok": sum(f.ok for f in figures),
            "figures_total": len(figures),
            "figures": {f.name: {k: v for k, v in vars(f).items() if k != "name"} for f in figures},
        },
        paths.fidelity,
    )


def main(params, paths):
    config = GenerateConfig.from_params(params)
    if read_json(paths.source)["kind"] != "embedded":
        skip(paths)
    else:
        generate_tables(config, paths)


if __name__ == "__main__":
    run_stage("generate", main, ["source", "database", "personas", "metrics", "fidelity"])
