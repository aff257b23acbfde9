"""DVC stage generate: the synthetic TravelTide database (the embedded default source)."""

from traveltide.config import generate_config
from traveltide.fidelity import fidelity
from traveltide.generate import generate
from traveltide.io import write_json, write_parquet
from traveltide.stage import run_stage


def main(params, paths):
    config = generate_config(params)
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


if __name__ == "__main__":
    run_stage("generate", main, ["database", "personas", "metrics", "fidelity"])
