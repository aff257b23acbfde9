"""Ten times TravelTide: every stage from generate to cluster on the wide cohort
(cohort.min_sessions 0) at the bench's scale and at ten times it, on DuckDB and on Spark
local[2], from one run (bench/scale.py's measurement, in the scratch clone).

Opt-in (`make bench BENCH_ARGS="--only scale10"`): at scale 10 on this 2-core machine it
takes hours on Spark, so the default `make bench` leaves it out.
"""

from __future__ import annotations

import argparse
import math
import statistics

from figure import Context, Figure
from scale import ON_SPARK, STAGES, Sample, measure_scale, stage_commands, table

ENGINES = ("duckdb", "spark")
CLUSTERING = ("features", "select_k", "cluster")  # the "features and clustering" of the target
MAX_RATIO, MAX_GB = 10.0, 4.0


def clustering_seconds(samples: list[Sample], engine: str, scale: float) -> float:
    """features + select_k + cluster at `scale`, each stage as `engine` runs it (the stages
    Spark does not run are the DuckDB samples); NaN if one is missing or failed."""
    total = 0.0
    for stage in CLUSTERING:
        runs_on = engine if stage in ON_SPARK else "duckdb"
        hits = [s for s in samples if (s.scale, s.stage, s.engine) == (scale, stage, runs_on)]
        if not hits or any(math.isnan(s.peak_rss_gb) for s in hits):
            return math.nan
        total += statistics.median(s.seconds for s in hits)
    return total


def fig_scale10(ctx: Context) -> Figure:
    lo, hi = ctx.scale, round(ctx.scale * 10, 6)
    args = argparse.Namespace(
        workdir=ctx.scratch.repo.parent / "scale10",
        tree=ctx.scratch.repo,
        engines=list(ENGINES),
        stages=list(STAGES),
        runs=1,
        min_sessions=0,
        cap_gb=None,
        keep_database=False,
    )
    commands = stage_commands(ctx.scratch.repo / "dvc.yaml")
    samples = [s for scale in (lo, hi) for s in measure_scale(args, scale, commands)]
    ctx.log(table(samples, [lo, hi], list(ENGINES)))
    ratios = {
        e: clustering_seconds(samples, e, hi) / clustering_seconds(samples, e, lo) for e in ENGINES
    }
    peak = max((s.peak_rss_gb for s in samples if s.scale == hi), default=math.nan)
    shown = ", ".join(f"{e} {r:.1f}x" for e, r in ratios.items())
    return Figure(
        "scale10",
        f"wide cohort x{hi:g} / x{lo:g}: features + select_k + cluster",
        f"{shown}; peak RSS at x{hi:g} {peak:.2f} GB",
        f"<= {MAX_RATIO:g}x, <= {MAX_GB:g} GB",
        all(r <= MAX_RATIO for r in ratios.values()) and peak <= MAX_GB,
        {f"{s.engine} x{s.scale:g} {s.stage}": [s.seconds, s.peak_rss_gb] for s in samples},
    )
