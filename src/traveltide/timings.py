"""Per-stage timings: wall, CPU, start-up (imports) and peak memory of each stage process.

`run_stage` writes one `timings/<stage>.json` per stage run at the DVC root, also when the stage
fails. The folder is untracked and gitignored, and never a DVC output: its content changes on
every run, while the deterministic outputs (and so dvc.lock) must stay byte-identical between
two clean runs. The report and the MLflow logger read the folder with `read_timings`.

A queued experiment runs in a temporary copy (`.dvc/tmp/exps/...`) and writes its timings in
that copy, where its own `track` stage reads them, not in the main workspace (`DVC_ROOT`):
two parallel workers would otherwise overwrite each other's files.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import resource
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal

from traveltide.io import atomic_path, to_json

log = logging.getLogger(__name__)

ENV_DIR = "TRAVELTIDE_TIMINGS_DIR"
FOLDER = "timings"
Status = Literal["ok", "failed", "interrupted"]


@dataclass(frozen=True)
class StageTiming:
    """What one run of a stage cost. Seconds are wall-clock unless named cpu."""

    stage: str
    status: Status
    started_at: str  # UTC ISO time the process started (or run_stage was entered)
    wall_s: float  # process start to the end of the stage: startup_s + run_s
    startup_s: float | None  # interpreter start-up and imports, before run_stage (None: unknown)
    run_s: float  # run_stage itself: params, reading, computing, writing
    cpu_s: float  # user + system CPU of the process (all threads) and of any child process
    peak_rss_bytes: int  # largest resident set of the process (or of one child), in bytes
    exp_name: str | None = None  # DVC_EXP_NAME when run by `dvc exp run`
    error: str | None = None  # the one-line error of a failed stage

    @property
    def peak_rss_gb(self) -> float:
        return self.peak_rss_bytes / 1e9


def process_age_s() -> float | None:
    """Seconds since this process was started, from /proc (Linux); None elsewhere.

    /proc/self/stat field 22 is the start time in clock ticks after boot, the same clock as
    CLOCK_BOOTTIME, so the age has the tick's resolution (10 ms).
    """
    try:
        stat = Path("/proc/self/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # fields after "(comm)" start at 3
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return age if age >= 0 else None


def peak_rss_bytes() -> int:
    """Peak RSS of this process, or of its largest waited-for child if that is larger."""
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is KiB on Linux, bytes on macOS
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, child) * scale


def cpu_seconds() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


@dataclass(frozen=True)
class StageClock:
    """Started when run_stage is entered; `finish` turns it into a StageTiming."""

    stage: str
    entered: float  # time.perf_counter() at run_stage
    entered_epoch: float
    startup_s: float | None

    @classmethod
    def start(cls, stage: str) -> StageClock:
        return cls(stage, time.perf_counter(), time.time(), process_age_s())

    def finish(self, status: Status, error: str | None = None) -> StageTiming:
        run_s = time.perf_counter() - self.entered
        startup = self.startup_s
        began = self.entered_epoch - (startup or 0.0)
        return StageTiming(
            stage=self.stage,
            status=status,
            started_at=dt.datetime.fromtimestamp(began, dt.UTC).isoformat(timespec="milliseconds"),
            wall_s=round(run_s + (startup or 0.0), 3),
            startup_s=None if startup is None else round(startup, 3),
            run_s=round(run_s, 3),
            cpu_s=round(cpu_seconds(), 3),
            peak_rss_bytes=peak_rss_bytes(),
            exp_name=os.environ.get("DVC_EXP_NAME") or None,
            error=error,
        )


def dvc_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: cwd) holding `.dvc/`, else `start`."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / ".dvc").is_dir():
            return folder
    return start


def timings_dir() -> Path:
    """`$TRAVELTIDE_TIMINGS_DIR` when set, else `<DVC root>/timings`."""
    override = os.environ.get(ENV_DIR, "").strip()
    return Path(override) if override else dvc_root() / FOLDER


def write_timing(timing: StageTiming, folder: Path | None = None) -> Path | None:
    """Write `<folder>/<stage>.json` atomically. A timing never fails a stage: on an OS error
    it is logged and skipped (None)."""
    target = (folder or timings_dir()) / f"{timing.stage}.json"
    try:
        with atomic_path(target) as tmp:
            tmp.write_text(to_json(asdict(timing)), encoding="utf-8")
    except OSError as exc:
        log.warning("could not write %s: %s", target, exc)
        return None
    return target


def from_dict(data: dict[str, Any]) -> StageTiming:
    """A StageTiming from a timing file's JSON; unknown keys (newer files) are ignored."""
    known = {f.name for f in fields(StageTiming)}
    return StageTiming(**{k: v for k, v in data.items() if k in known})


def read_timings(folder: str | Path) -> dict[str, StageTiming]:
    """Every `<stage>.json` of `folder`, by stage name; a missing folder gives {}.

    An unreadable or malformed file is logged and skipped: timings inform, they never stop
    a report or a tracking run.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    timings: dict[str, StageTiming] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            timing = from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            log.warning("skipping timing file %s: %s", path, exc)
            continue
        timings[timing.stage] = timing
    return timings


def summary(timing: StageTiming) -> str:
    """One line for the stage's log, e.g.
    `cluster: ok, 14.9 s (start-up 5.8 s), CPU 5.6 s, peak RSS 0.44 GB`."""
    startup = "" if timing.startup_s is None else f" (start-up {timing.startup_s:.1f} s)"
    return (
        f"{timing.stage}: {timing.status}, {timing.wall_s:.1f} s{startup}, "
        f"CPU {timing.cpu_s:.1f} s, peak RSS {timing.peak_rss_gb:.2f} GB"
    )
