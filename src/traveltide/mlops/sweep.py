"""Watching a sweep: DVC's experiment queue, polled until the experiments queued for it end.

`make sweep` queues experiments (`dvc exp run --queue`, whose output names them), starts the
workers and waits here: one progress line whenever the counts change (experiments done of
queued, running, waiting) and one line per failure as it happens, with the command that shows
its error. `dvc queue status` prints one row per task, `Task Name Created Status`, where
Created may hold spaces.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from traveltide.errors import TravelTideError

ACTIVE = frozenset({"Queued", "Running"})
FAILED = "Failed"
_QUEUED = re.compile(r"^Queued experiment '([^']+)'", re.MULTILINE)
_TASK = re.compile(r"^[0-9a-f]{7}$")


@dataclass(frozen=True)
class Task:
    """One row of `dvc queue status`."""

    name: str
    status: str


def queued_names(text: str) -> list[str]:
    """The experiment names `dvc exp run --queue` printed, in order."""
    return _QUEUED.findall(text)


def parse_status(text: str) -> dict[str, Task]:
    """The tasks `dvc queue status` lists, by experiment name (the header, the blank line and
    the worker line are not tasks)."""
    tasks = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 4 and _TASK.match(words[0]):
            tasks[words[1]] = Task(words[1], words[-1])
    return tasks


@dataclass(frozen=True)
class Progress:
    """Where a sweep's experiments are: done (failed among them), running, waiting."""

    total: int
    done: int
    failed: tuple[str, ...]
    running: int
    waiting: int

    @property
    def finished(self) -> bool:
        return self.running == 0 and self.waiting == 0

    def line(self) -> str:
        failed = f" ({len(self.failed)} failed)" if self.failed else ""
        return (
            f"sweep: {self.done}/{self.total} done{failed}, "
            f"{self.running} running, {self.waiting} queued"
        )


def progress(names: Sequence[str], tasks: dict[str, Task]) -> Progress:
    """The sweep's `names` counted by their status; one the queue no longer lists is done."""
    status = {name: tasks[name].status if name in tasks else "" for name in names}
    running = sum(s == "Running" for s in status.values())
    waiting = sum(s == "Queued" for s in status.values())
    failed = tuple(name for name in names if status[name] == FAILED)
    return Progress(len(names), len(names) - running - waiting, failed, running, waiting)


def queue_status() -> str:
    """What `dvc queue status` prints, run in the working directory."""
    try:
        done = subprocess.run(
            ["dvc", "queue", "status"], capture_output=True, text=True, check=False
        )
    except OSError as exc:  # no `dvc` on PATH
        raise TravelTideError(f"`dvc queue status` cannot run: {exc.strerror}") from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise TravelTideError(f"`dvc queue status` failed: {last}")
    return done.stdout


def watch(
    names: Sequence[str],
    *,
    say: Callable[[str], None],
    status: Callable[[], str] | None = None,
    poll_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, ...]:
    """Poll the queue until none of `names` is queued or running, saying the progress when it
    changes and each failure once; returns the failed names. `status` defaults to
    `queue_status`."""
    shown, told = "", set()
    while True:
        now = progress(names, parse_status((status or queue_status)()))
        for name in now.failed:
            if name not in told:
                told.add(name)
                say(f"sweep: {name} failed (dvc queue logs {name})")
        if now.line() != shown:
            shown = now.line()
            say(shown)
        if now.finished:
            return now.failed
        sleep(poll_s)
