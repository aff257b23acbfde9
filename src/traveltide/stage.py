"""The common entry point of every stages/*.py script: logging, params, paths, one-line errors.

A stage script declares the paths it reads and writes as command-line options (dvc.yaml passes
them, so each path is written once, in dvc.yaml's `vars`), and a `main(params, paths)`, which
gets params.yaml only once every block of it is valid (`traveltide.config.validate_params`).
Any TravelTideError becomes one line on stderr (`error: <stage>: <message>`) and exit code 1.
Every run, failed or not, leaves `timings/<stage>.json` (wall, CPU, start-up, peak memory; see
`traveltide.timings`).
"""

from __future__ import annotations

import argparse
import errno
import gc
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from traveltide.config import read_params, validate_params
from traveltide.errors import TravelTideError, first_line
from traveltide.timings import StageClock, Status, summary, write_timing

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def disk_full(exc: OSError) -> bool:
    """No room left to write (pyarrow says so in its message, without an errno)."""
    return exc.errno in DISK_FULL or any(os.strerror(code) in str(exc) for code in DISK_FULL)


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
    """Run `main(params, paths)` for a DVC stage, turning contract errors into one line.

    The stage's timing file is written whatever happens, with the status ok, failed or
    interrupted. Call it last: it readies the process to exit (see the end).
    """
    clock = StageClock.start(stage)
    # A stage script stops the collector before its imports (its first lines): the imports
    # make hundreds of thousands of objects that live as long as the process, and collecting
    # among them is wasted work. Frozen, they are left out of every collection from here on;
    # collecting resumes for the stage's own work.
    gc.freeze()
    gc.enable()
    configure_logging()
    status: Status = "failed"
    error: str | None = None
    try:
        args = parse_paths(paths)
        params = read_params("params.yaml")
        # every block, whichever stage runs first: a bad value anywhere stops it before it writes
        validate_params(params)
        main(params, args)
        status = "ok"
    except TravelTideError as exc:
        error = str(exc)
        fail(stage, error)
    except KeyboardInterrupt:
        status, error = "interrupted", "interrupted"
        fail(stage, error, EXIT_INTERRUPTED)
    except OSError as exc:  # a full disk is the environment's fault: one line (a bug's trace)
        if not disk_full(exc):
            error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise
        error = (
            f"no space left to write its outputs ({first_line(exc)}); free some, then `dvc repro`"
        )
        fail(stage, error)
    except SystemExit as exc:  # argparse: wrong options
        error = f"exit {exc.code}"
        raise
    except BaseException as exc:  # a bug: the traceback follows, the timing says it failed
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise
    finally:
        timing = clock.finish(status, error)
        write_timing(timing)
        logging.getLogger(__name__).info("%s", summary(timing))
        # The stage is done and the process ends next. Without this, the interpreter's final
        # collections walk every object that pandas, scikit-learn and MLflow made at import.
        # Frozen objects are skipped; exit handlers and file closing still run.
        gc.freeze()
