"""DVC stage generate: the synthetic TravelTide database (the embedded default source).

With an external database (`TRAVELTIDE_DB_URL`, recorded by the source stage) nothing is
generated: the stage writes an empty personas table and a note in the database folder, in
about a second, so `dvc repro` against PostgreSQL never pays for 5 million synthetic sessions.
"""

from traveltide.config import generate_config
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
    from traveltide.fidelity import fidelity
    from traveltide.generate import generate

    db = generate(config)
    sizes = {}
    for table in ("users", "sessions", "flights", "hotels"):
        frame = getattr(db, table)
        write_parquet(frame, paths.database / f"{table}.parquet")
        sizes[table] = len(frame)
    write_parquet(db.personas, paths.personas)
    write_json({"scale": config.scale, "seed": config.seed, "rows": sizes}, paths.metrics)
    figures = fidelity(db, scale=config.scale)
    write_json(
        {
            "figures_ok": sum(f.ok for f in figures),
            "figures_total": len(figures),
            "figures": {f.name: {k: v for k, v in vars(f).items() if k != "name"} for f in figures},
        },
        paths.fidelity,
    )


def main(params, paths):
    config = generate_config(params)
    if read_json(paths.source)["kind"] != "embedded":
        skip(paths)
    else:
        generate_tables(config, paths)


if __name__ == "__main__":
    run_stage("generate", main, ["source", "database", "personas", "metrics", "fidelity"])
