"""`make bench`: the pipeline's performance figures, measured, with their targets.

Everything runs in a scratch clone (`git clone` of HEAD, or a copy of the work tree with
`--worktree`) under `--workdir`, never in the user's workspace: the bench deletes outputs and
caches between runs. Commands run with this environment's `bin` first on PATH and
`PYTHONPATH=<clone>/src`, so the clone's code is what runs. Each figure is measured `--runs`
times (default 3); the table shows medians, the target and pass/fail.
`bench/results/<timestamp>.json` keeps every sample (logs of every command beside it), and
one line per run is appended to bench/history.jsonl.

Figures (`--only` takes a comma list of these ids):
  cold     `dvc repro` from a fresh checkout (no outputs, no DVC cache or run-cache, no MLflow
           store); peak RSS is the largest process of the command tree (wait4's rusage)
  noop     `dvc repro` with nothing to do vs `dvc status`, three alternating pairs per run
  exp      `dvc exp run -S cluster.k=K` (a different K each run, so the run-cache cannot serve
           it); the stages that ran must be cluster and its descendants only
  sweep    8 queued experiments (8 values of cluster.k), `dvc queue start -j 2` vs `-j 1`, from
           `queue start` to the 8th experiment's ref. The same 8 configurations every batch:
           the run-cache (.dvc/cache/runs) is deleted before each batch, so no batch is served
           by an earlier one, and -j 2 / -j 1 batches alternate in ABBA order so drift and
           warm-up hit both alike (use --runs 2 or more)
  wide     features + cluster (`dvc repro -f -s` of features, select_k and cluster: the
           k-selection table is clustering work) on the wide cohort (cohort.min_sessions 0,
           about 1M users at scale 1)
  scaling  the same at scale/10: time(scale) / time(scale/10) for 10x the users
  slow     the tests marked `slow` (`pytest -m slow`: full-scale generator fidelity, the
           8-experiment queue), once, pass/fail; CI leaves them out
  scale10  opt-in (`--only scale10`): generate to cluster on the wide cohort at the scale and at
           ten times it, on DuckDB and on Spark local[2], one run: time ratios and peak RSS
           (bench/fig_scale.py, bench/scale.py)
  pg       the extract function on PostgreSQL (the generated tables loaded with
           `traveltide db load` into a dedicated database) vs on the embedded DuckDB

Targets are stated for scale 1.0 on the 2-core, 24 GiB machine; `--scale 0.02` is a smoke run
of the machinery (its pass/fail says little). Figures measured while other work runs on the
machine are noisy: the load average is recorded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from fig_postgres import DEFAULT_PG_URL, fig_pg
from fig_repro import fig_cold, fig_exp, fig_noop
from fig_scale import fig_scale10
from fig_slow_tests import fig_slow_tests
from fig_sweep import fig_sweep
from fig_wide import fig_scaling, fig_wide
from figure import Context, Figure, load_average, median
from history import RESULTS, append_history, history_record, write_results
from machine import machine
from pipeline_graph import stages
from scratch import ROOT, BenchError, Scratch, head_commit, make_clone
from summary import print_summary

FIGURES = ("cold", "noop", "exp", "sweep", "wide", "scaling", "pg", "slow", "scale10")
OPT_IN = ("scale10",)  # hours at scale 10 on Spark: only with --only

MEASURE: dict[str, Callable[[Context], Figure]] = {
    "cold": fig_cold,
    "noop": fig_noop,
    "exp": fig_exp,
    "sweep": fig_sweep,
    "wide": fig_wide,
    "scaling": fig_scaling,
    "pg": fig_pg,
    "slow": fig_slow_tests,
    "scale10": fig_scale10,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only",
        default=",".join(f for f in FIGURES if f not in OPT_IN),
        help="comma list of figure ids",
    )
    parser.add_argument("--runs", type=int, default=3, help="measurements per figure (>= 1)")
    parser.add_argument("--scale", type=float, help="generate.scale (default: params.yaml's)")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("/tmp/traveltide-bench"),
        help="where the scratch clone goes (replaced)",
    )
    parser.add_argument("--worktree", action="store_true", help="bench the uncommitted work tree")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="a database the bench may replace")
    parser.add_argument("--keep", action="store_true", help="keep the scratch clone afterwards")
    args = parser.parse_args(argv)
    args.only = [f.strip() for f in args.only.split(",") if f.strip()]
    unknown = set(args.only) - set(FIGURES)
    if unknown or not args.only:
        parser.error(f"--only takes {', '.join(FIGURES)}; got {', '.join(sorted(unknown))}")
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    now = dt.datetime.now()
    stamp = now.strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    logs = RESULTS / f"{stamp}-logs"
    try:
        repo, source = make_clone(args.workdir, worktree=args.worktree)
    except BenchError as exc:
        print(f"error: bench: {exc}", file=sys.stderr)
        return 1
    logs.mkdir()
    print(f"bench: scratch clone in {repo}, logs in {logs.relative_to(ROOT)}", flush=True)
    scratch = Scratch(repo, logs)
    if args.worktree:
        scratch.commit("work tree")
    scale = args.scale if args.scale is not None else float(scratch.params()["generate"]["scale"])
    if scale != scratch.params()["generate"]["scale"]:
        scratch.set_params(**{"generate.scale": scale})
        scratch.commit(f"bench at scale {scale}")
    ctx = Context(scratch, args.runs, scale, args.pg_url, lambda m: print(m, flush=True))
    order = list(stages(repo))
    todo = [f for f in FIGURES if f in args.only]
    if "cold" not in todo:
        todo.insert(0, "cold")  # every figure needs the built baseline; measured once, shown
        ctx.runs, runs = 1, ctx.runs
    else:
        runs = ctx.runs
    figures, loads = [], {"start": load_average()}
    started = time.perf_counter()
    try:
        for fid in todo:
            print(f"{fid} (load average {load_average():.2f})", flush=True)
            figures.append(MEASURE[fid](ctx))
            ctx.runs = runs
            print(f"  -> {figures[-1].value}", flush=True)
    except BenchError as exc:
        print(f"error: bench: {exc}", file=sys.stderr)
        return 1
    finally:
        loads["end"] = load_average()
        if not args.keep:
            shutil.rmtree(repo, ignore_errors=True)
    shown = [f for f in figures if f.id in args.only]
    report = {
        "started": stamp,
        "minutes": round((time.perf_counter() - started) / 60, 1),
        "source": source,
        "scale": scale,
        "runs": runs,
        "machine": machine(),
        "load_average": loads,
        "figures": [asdict(f) for f in shown],
        "stages_cold": {
            name: {k: median(v) for k, v in row.items()} for name, row in ctx.stage_table.items()
        },
    }
    out = write_results(report, stamp)
    timestamp = now.astimezone(dt.UTC).isoformat(timespec="seconds")
    append_history(history_record(report, timestamp=timestamp, commit=head_commit()))
    outside = next((f.samples.get("dvc_outside_stages_s") for f in figures if f.id == "cold"), [])
    print_summary(report, shown, ctx.stage_table, order, outside or [])
    print(f"\nwritten {out.relative_to(ROOT)}, a line appended to bench/history.jsonl")
    return 0 if all(f.passed is not False for f in shown) else 2


if __name__ == "__main__":
    raise SystemExit(main())
