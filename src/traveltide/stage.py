"""The common entry point of every stages/*.py script: logging, params, paths, one-line errors.

A stage script declares the paths it reads and writes as command-line options (dvc.yaml passes
them, so each path is written once, in dvc.yaml's `vars`), and a `main(params, paths)`.
Any TravelTideError becomes one line on stderr (`error: <stage>: <message>`) and exit code 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from traveltide.config import read_params
from traveltide.errors import TravelTideError

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def configure_logging() -> None:
    level = os.environ.get("TRAVELTIDE_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def fail(stage: str, message: str, code: int = EXIT_ERROR) -> NoReturn:
    print(f"error: {stage}: {message}", file=sys.stderr)
    raise SystemExit(code)


def parse_paths(names: Sequence[str], argv: Sequence[str] | None = None) -> argparse.Namespace:
    """`--name PATH` for each name (dashes for underscores), all required."""
    parser = argparse.ArgumentParser()
    for name in names:
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=Path, required=True)
    return parser.parse_args(argv)


def run_stage(
    stage: str,
    main: Callable[[dict[str, Any], argparse.Namespace], None],
    paths: Sequence[str],
) -> None:
    """Run `main(params, paths)` for a DVC stage, turning contract errors into one line."""
    configure_logging()
    args = parse_paths(paths)
    try:
        main(read_params("params.yaml"), args)
    except TravelTideError as exc:
        fail(stage, str(exc))
    except KeyboardInterrupt:
        fail(stage, "interrupted", EXIT_INTERRUPTED)
