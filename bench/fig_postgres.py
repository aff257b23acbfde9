"""The PostgreSQL figure: the extract function on PostgreSQL against the embedded DuckDB."""

from __future__ import annotations

import json
import re

import yaml
from figure import Context, Figure, median
from scratch import ROOT, BenchError

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/traveltide_bench"


def ensure_database(url: str) -> None:
    """Create the bench database (never the server's others) when it does not exist."""
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    name = parsed.database
    if not name or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise BenchError(f"--pg-url needs a plain database name, got {name!r}")
    admin = parsed.set(drivername="postgresql+psycopg2", database="postgres")
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if not found:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()


def fig_pg(ctx: Context) -> Figure:
    """The generated tables loaded with `traveltide db load`, then `extract_cohort` timed in a
    fresh process per run on each source (extract_probe.py); row counts must agree."""
    s = ctx.scratch
    s.restore()
    db = yaml.safe_load((s.repo / "dvc.yaml").read_text())["vars"][0]["paths"]["db"]
    ensure_database(ctx.pg_url)
    load = s.run("traveltide", "db", "load", "--url", ctx.pg_url, "--from-parquet", db, "--replace")
    ctx.log(f"  loaded into PostgreSQL in {load.seconds:.1f} s")
    probe = str(ROOT / "bench" / "extract_probe.py")
    results: dict[str, list[dict]] = {"embedded": [], "postgresql": []}
    for _ in range(ctx.runs):
        for kind, args in (("embedded", ["--embedded", db]), ("postgresql", ["--url", ctx.pg_url])):
            out = s.run("python", probe, *args).text().strip().splitlines()[-1]
            results[kind].append(json.loads(out))
    emb = [r["seconds"] for r in results["embedded"]]
    pg = [r["seconds"] for r in results["postgresql"]]
    same = {r["rows"] for r in results["embedded"]} == {r["rows"] for r in results["postgresql"]}
    ratio = median(pg) / median(emb)
    return Figure(
        "pg",
        "extract on PostgreSQL / embedded DuckDB",
        f"{median(pg):.2f} s / {median(emb):.2f} s = {ratio:.2f}x"
        + ("" if same else " (ROW COUNTS DIFFER)"),
        "<= 1.5x",
        ratio <= 1.5 and same,
        {"postgresql_s": pg, "embedded_s": emb},
        {"load_s": round(load.seconds, 1), "rows": results["embedded"][0]["rows"]},
    )
