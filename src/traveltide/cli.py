"""`traveltide`: the tasks that are not DVC stages.

Exit codes scripts can trust: 0 success, 1 bad input or a failed task (one line on stderr,
`error: <command>: <what>`), 2 wrong usage (argparse), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from traveltide.errors import TravelTideError
from traveltide.stage import EXIT_ERROR, EXIT_INTERRUPTED, configure_logging

EXIT_OK = 0
EXIT_USAGE = 2  # what argparse exits with
EPILOG = """\
exit codes: 0 success; 1 bad input or a failed task (one line on stderr:
`error: <command>: <what>`); 2 wrong usage; 130 interrupted.
`traveltide <command> --help` describes each command. The pipeline itself is DVC's:
`dvc repro`, `dvc exp run`, `make sweep` (README "Experiments and MLflow")."""
PARAMS_HELP = "params file naming the MLflow experiment (default: %(default)s)"


def _mlflow_init(args: argparse.Namespace) -> None:
    """Create the MLflow store and experiment once, before parallel queue workers start."""
    from traveltide.config import TrackConfig, read_params

    experiment = TrackConfig.from_params(read_params(args.params)).experiment
    from traveltide.mlops.store import init_store, resolve_target  # MLflow: seconds to import

    target = resolve_target()
    exp_id = init_store(target, experiment)
    print(f"MLflow store ready: experiment '{experiment}' (id {exp_id}) in {target.label}")


def _load_model(ref: str) -> Any:
    """The segmenter from a pickle path, or from an MLflow model URI (`models:/...`)."""
    from traveltide.mlops.serving import load_segmenter

    if ":/" not in ref or Path(ref).exists():
        return load_segmenter(ref)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from traveltide.mlops.model import load_logged_segmenter
    from traveltide.mlops.store import resolve_target

    return load_logged_segmenter(resolve_target(), ref)


def _score(args: argparse.Namespace) -> None:
    """Segment and perk for each user of a feature table, with the fitted segmenter."""
    from traveltide.mlops.serving import read_table, score, write_table

    table = read_table(args.input)
    scored = score(_load_model(args.model), table, source=str(args.input))
    if args.output:
        write_table(scored, args.output)
        print(f"scored {len(scored):,} users -> {args.output}", file=sys.stderr)
    else:
        print(scored.to_string(index=False))


def _register(args: argparse.Namespace) -> None:
    """Register a tracked run's segmenter in MLflow's model registry: by default the run of the
    workspace's pipeline state (its `dvc_lock_md5` tag equals the digest of dvc.lock)."""
    from traveltide.config import TrackConfig, read_params

    # bad input first: MLflow takes seconds to import
    experiment = TrackConfig.from_params(read_params(args.params)).experiment
    if not (args.exp or args.run_id):
        from traveltide.mlops.state import pipeline_digest

        digest = pipeline_digest(args.dvc_lock)
    from traveltide.mlops.model import register_model
    from traveltide.mlops.runs import find_run, find_state_run, run_model_uri
    from traveltide.mlops.store import resolve_target

    target = resolve_target()
    if args.exp:
        run_id = find_run(target, experiment, args.exp)
    else:
        run_id = args.run_id or find_state_run(target, experiment, digest)
    model_uri = run_model_uri(target, run_id)
    version = register_model(target, model_uri, args.name)
    print(f"registered {model_uri} (run {run_id}) as {args.name} version {version}")


def _runs(args: argparse.Namespace) -> None:
    """One row per tracked pipeline run (a DVC experiment), to compare a sweep in MLflow."""
    from traveltide.config import TrackConfig, read_params

    experiment = TrackConfig.from_params(read_params(args.params)).experiment
    from traveltide.mlops.runs import runs_table
    from traveltide.mlops.store import resolve_target

    table = runs_table(
        resolve_target(),
        experiment,
        names=tuple(args.exp or ()),
        metrics=tuple(args.metric) if args.metric else None,
        sort=args.sort,
    )
    if args.csv:
        table.to_csv(sys.stdout, index=False)
    else:
        print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))


REPORT_INPUTS = ("k_selection", "contingency", "ab_arms", "features", "rules", "clusters")


def _report(args: argparse.Namespace) -> None:
    """Render the report and exports from the workspace's outputs into another folder."""
    from types import SimpleNamespace

    import yaml

    from traveltide.errors import ConfigError, DataError

    try:
        paths = yaml.safe_load(args.dvc_yaml.read_text())["vars"][0]["paths"]
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError) as exc:
        raise ConfigError(f"{args.dvc_yaml}: cannot read vars.paths ({exc})") from exc
    missing = [paths[k] for k in REPORT_INPUTS if not Path(paths[k]).exists()]
    if missing:
        raise DataError(f"missing pipeline output(s) {', '.join(missing)}; run `dvc repro` first")
    from traveltide.report.publish import publish
    from traveltide.timings import read_timings, timings_dir

    out = args.output
    publish(
        SimpleNamespace(
            metrics_dir=Path("metrics"),
            summary_dir=Path(paths["summary"]),
            ab_summary=Path(paths["ab_summary"]),
            policy_values=Path(paths["ab_policy"]),
            benchmark=Path(paths["benchmark"]) if "benchmark" in paths else None,
            **{k: Path(paths[k]) for k in REPORT_INPUTS},
            plots=out / "plots",
            plot_data=out / "plot_data",
            report=out / "report.html",
            exports=out / "exports",
        ),
        timings=read_timings(timings_dir()) or None,
    )
    print(f"wrote {out / 'report.html'}, its plots and the exports under {out}")


def _db_load(args: argparse.Namespace) -> None:
    """Load the four tables into PostgreSQL (generated Parquet or CSV exports of the real ones)."""
    from traveltide.errors import ConfigError
    from traveltide.sources.pgload import load_tables
    from traveltide.sources.source import ENV_URL, configured_url
    from traveltide.sources.table_inputs import csv_input, parquet_input

    url = args.url or configured_url(os.environ)
    if not url:
        raise ConfigError(f"no database URL: pass --url or set {ENV_URL}")
    inputs = csv_input(args.from_csv) if args.from_csv else parquet_input(args.from_parquet)
    result = load_tables(url, inputs, schema=args.schema, replace=args.replace, types=args.types)
    counts = ", ".join(f"{table} {n:,}" for table, n in result.rows.items())
    print(
        f"loaded {counts} rows into {result.target} (schema {result.schema}, "
        f"{result.types} types) in {result.seconds:.1f} s"
    )


def _sweep_wait(args: argparse.Namespace) -> None:
    """Wait for the experiments a `dvc exp run --queue` queued, showing progress and failures."""
    from traveltide.errors import ConfigError, TrackingError
    from traveltide.mlops.sweep import queued_names, watch

    try:
        names = queued_names(args.queued.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{args.queued}: cannot read ({exc.strerror})") from exc
    if not names:
        raise ConfigError(f"{args.queued}: names no queued experiment")
    failed = watch(names, say=lambda line: print(line, flush=True), poll_s=args.poll)
    if failed:
        raise TrackingError(
            f"{len(failed)} of {len(names)} experiments failed: {', '.join(failed)} "
            "(dvc queue logs NAME shows why)"
        )


def _command(sub: Any, name: str, summary: str, func: Any) -> argparse.ArgumentParser:
    """A subcommand whose one-line `summary` shows in `traveltide --help` and heads its own."""
    parser = sub.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".")
    parser.set_defaults(func=func)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="traveltide",
        description="TravelTide segmentation: the tasks outside the DVC pipeline.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = _command(
        sub,
        "mlflow-init",
        "create the MLflow store and experiment (once, before parallel queue workers)",
        _mlflow_init,
    )
    init.add_argument("--params", type=Path, default=Path("params.yaml"), help=PARAMS_HELP)

    score = _command(
        sub, "score", "segment (cluster and its name) and perk per user of a feature table", _score
    )
    score.add_argument(
        "--input", type=Path, required=True, help="user features, .parquet or .csv (user_id, ...)"
    )
    score.add_argument(
        "--model",
        default="data/models/segmenter.pkl",
        help="segmenter pickle (default: %(default)s, the workspace's), or an MLflow model URI: "
        "models:/traveltide-segmenter/1 is a registered version (`traveltide register` first), "
        "models:/m-... a run's logged model",
    )
    score.add_argument(
        "--output", type=Path, help=".parquet or .csv to write (default: a table on stdout)"
    )

    register = _command(
        sub,
        "register",
        "register a tracked run's segmenter in MLflow's model registry (default: the run of the "
        "workspace's pipeline state, found by its dvc.lock)",
        _register,
    )
    which = register.add_mutually_exclusive_group()
    which.add_argument(
        "--exp", metavar="NAME", help="the latest run of this DVC experiment instead"
    )
    which.add_argument("--run-id", metavar="ID", help="this MLflow run instead")
    register.add_argument("--name", default="traveltide-segmenter", help="(default: %(default)s)")
    register.add_argument("--params", type=Path, default=Path("params.yaml"), help=PARAMS_HELP)
    register.add_argument("--dvc-lock", type=Path, default=Path("dvc.lock"), help=argparse.SUPPRESS)

    runs = _command(
        sub,
        "runs",
        "compare tracked runs: one row per DVC experiment, the params that differ, metrics",
        _runs,
    )
    runs.add_argument(
        "--exp", action="append", metavar="NAME", help="only this DVC experiment (repeatable)"
    )
    runs.add_argument(
        "--metric",
        action="append",
        metavar="KEY",
        help="a metric column, e.g. cluster.silhouette (repeatable; default: cluster quality, "
        "rules-vs-ML agreement, B vs C lift)",
    )
    runs.add_argument("--sort", metavar="KEY", help="sort by this metric, highest first")
    runs.add_argument("--csv", action="store_true", help="CSV on stdout instead of a table")
    runs.add_argument("--params", type=Path, default=Path("params.yaml"), help=PARAMS_HELP)

    sweep = _command(
        sub,
        "sweep-wait",
        "wait for queued DVC experiments, printing progress and failures as they happen "
        "(`make sweep` uses it)",
        _sweep_wait,
    )
    sweep.add_argument(
        "queued", type=Path, help="what `dvc exp run --queue` printed (it names the experiments)"
    )
    sweep.add_argument(
        "--poll", type=float, default=5.0, help="seconds between checks (default: %(default)s)"
    )

    report = _command(
        sub,
        "report",
        "render the HTML report and the marketing exports into a folder of your choice",
        _report,
    )
    report.add_argument("--output", type=Path, required=True, help="folder to write into")
    report.add_argument("--dvc-yaml", type=Path, default=Path("dvc.yaml"), help=argparse.SUPPRESS)

    db = sub.add_parser("db", help="PostgreSQL tasks: db load", description="PostgreSQL tasks.")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    load = _command(
        db_sub,
        "load",
        "load users, sessions, flights, hotels into PostgreSQL (one transaction, progress bars)",
        _db_load,
    )
    load.add_argument("--url", help="SQLAlchemy URL (default: $TRAVELTIDE_DB_URL)")
    origin = load.add_mutually_exclusive_group()
    origin.add_argument(
        "--from-csv", type=Path, metavar="DIR", help="users.csv, sessions.csv, ... with headers"
    )
    origin.add_argument(
        "--from-parquet",
        type=Path,
        metavar="DIR",
        default=Path("data/raw/traveltide"),
        help="the generated database (default: data/raw/traveltide)",
    )
    load.add_argument("--replace", action="store_true", help="drop and reload existing tables")
    load.add_argument("--schema", default="public", help="PostgreSQL schema (default: public)")
    load.add_argument(
        "--types",
        choices=("standard", "real", "narrow"),  # pg_sql.TYPE_SETS, not imported for --help
        default="standard",
        help="column types: standard (double precision, integer, text, timestamp), real (the "
        "real TravelTide schema: numeric decimals), narrow (real/float4, smallint, varchar(n), "
        "char(n), timestamptz) (default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (argparse exits 2 itself on wrong usage)."""
    args = build_parser().parse_args(argv)
    name = args.command  # `db` for `db load`: scripts and tests match `error: db: `
    configure_logging()
    try:
        args.func(args)
    except TravelTideError as exc:
        print(f"error: {name}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"error: {name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `traveltide score ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
