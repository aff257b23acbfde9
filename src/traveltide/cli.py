"""`traveltide`: the tasks that are not DVC stages.

Exit codes scripts can trust: 0 success, 1 bad input or a failed task (one line on stderr),
2 wrong usage (argparse), 130 interrupted.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path

from traveltide.errors import DataError, TravelTideError
from traveltide.stage import EXIT_ERROR, EXIT_INTERRUPTED, configure_logging


def _mlflow_init(args: argparse.Namespace) -> None:
    """Create the MLflow store and experiment once, before parallel queue workers start."""
    from traveltide.config import TrackConfig, read_params
    from traveltide.tracking import init_store, resolve_target

    experiment = TrackConfig.from_params(read_params(args.params)).experiment
    target = resolve_target()
    exp_id = init_store(target, experiment)
    print(f"MLflow store ready: experiment '{experiment}' (id {exp_id}) in {target.label}")


def _score(args: argparse.Namespace) -> None:
    """Segment and perk for each user of a feature table, with the fitted segmenter."""
    import pandas as pd

    if not args.input.exists():
        raise DataError(f"{args.input}: no such file")
    if not args.model.exists():
        raise DataError(f"{args.model}: no fitted segmenter; run `dvc repro cluster`")
    segmenter = pickle.loads(args.model.read_bytes())
    table = pd.read_parquet(args.input)
    if "user_id" not in table.columns:
        raise DataError(f"{args.input}: missing column 'user_id'")
    scored = segmenter.predict(table)
    scored.insert(0, "user_id", table["user_id"].to_numpy())
    if args.output:
        from traveltide.io import write_csv

        write_csv(scored, args.output)
    else:
        scored.to_csv(sys.stdout, index=False)


def _db_load(args: argparse.Namespace) -> None:
    """Load the four tables into PostgreSQL (generated Parquet or CSV exports of the real ones)."""
    from traveltide.db import ENV_URL, resolve_source
    from traveltide.errors import ConfigError
    from traveltide.pgload import csv_input, load_tables, parquet_input

    url = args.url or resolve_source().url
    if not url:
        raise ConfigError(f"no database URL: pass --url or set {ENV_URL}")
    inputs = csv_input(args.from_csv) if args.from_csv else parquet_input(args.from_parquet)
    result = load_tables(url, inputs, schema=args.schema, replace=args.replace)
    counts = ", ".join(f"{table} {n:,}" for table, n in result.rows.items())
    print(
        f"loaded {counts} rows into {result.target} (schema {result.schema}) "
        f"in {result.seconds:.1f} s"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="traveltide", description="TravelTide segmentation: tasks outside the DVC pipeline."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    init = sub.add_parser("mlflow-init", help="create the MLflow store and experiment")
    init.add_argument("--params", type=Path, default=Path("params.yaml"))
    init.set_defaults(func=_mlflow_init)

    score = sub.add_parser("score", help="segment and perk per user of a feature table")
    score.add_argument("--input", type=Path, required=True, help="features parquet (user_id, ...)")
    score.add_argument("--model", type=Path, default=Path("data/models/segmenter.pkl"))
    score.add_argument("--output", type=Path, help="CSV to write (default: stdout)")
    score.set_defaults(func=_score)

    db = sub.add_parser("db", help="PostgreSQL tasks")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    load = db_sub.add_parser(
        "load", help="load users, sessions, flights, hotels into PostgreSQL (one transaction)"
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
    load.set_defaults(func=_db_load)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    try:
        args.func(args)
    except TravelTideError as exc:
        print(f"error: {args.command}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
