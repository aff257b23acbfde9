"""The faults `bench/faults.py` injects into a running pipeline, one function each.

Each starts a `dvc repro` in the scratch clone, breaks it at a random point, and returns
whether the fault hit (the run failed, or was held up, by it), what was done, and the run's
exit code.
"""

from __future__ import annotations

import random
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil
from scratch import Scratch

PG_APP = "traveltide_faults"  # application_name of extract's connections, to find them


def stage_processes(stage: str) -> list[psutil.Process]:
    """The running `python stages/<stage>.py` processes."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if any(part.endswith(f"stages/{stage}.py") for part in cmd):
            found.append(proc)
    return found


def start(s: Scratch, *cmd: str) -> subprocess.Popen:
    log = s.logs / f"{time.strftime('%H%M%S')}-{'-'.join(cmd[:4])[:40]}.log"
    out = log.open("w")
    return subprocess.Popen(cmd, cwd=s.repo, env=s.env, stdout=out, stderr=subprocess.STDOUT)


def kill_fault(
    s: Scratch, rng: random.Random, stage: str, wall: float, cmd: list[str]
) -> tuple[bool, str, int]:
    """Run `cmd` (a `dvc repro` that runs `stage`); SIGKILL the stage's process a random time
    into it."""
    proc = start(s, *cmd)
    delay, injected = rng.uniform(0.0, max(wall, 0.2)), False
    seen = None
    while proc.poll() is None:
        found = stage_processes(stage)
        if found and seen is None:
            seen = time.monotonic()
        if seen is not None and time.monotonic() - seen >= delay:
            for victim in found:
                with suppress(psutil.NoSuchProcess):
                    victim.send_signal(signal.SIGKILL)
                    injected = True
            break
        time.sleep(0.02)
    code = proc.wait()
    return injected, f"SIGKILL {delay:.2f} s into {stage}", code


def disk_fault(
    s: Scratch, rng: random.Random, stage: str, folder: str, rewritten: set[str]
) -> tuple[bool, str, int]:
    """`folder` on a tmpfs holding its files that `stage` and its descendants do not write, with
    room for a random fraction of those they do (`rewritten`); then those stages are forced."""
    mount = s.repo / folder
    files = [f for f in mount.rglob("*") if f.is_file() and f.name != ".gitignore"]

    def written_again(file: Path) -> bool:  # an output, or inside an output folder
        rel = file.relative_to(s.repo).as_posix()
        return any(rel == out or rel.startswith(f"{out.rstrip('/')}/") for out in rewritten)

    kept = [f for f in files if not written_again(f)]
    written = sum(f.stat().st_size for f in files if f not in kept)
    room = sum(f.stat().st_size for f in kept) + int(written * rng.uniform(0.05, 0.9))
    staged = s.logs / "tmpfs-in"
    shutil.rmtree(staged, ignore_errors=True)
    for f in kept:
        (staged / f.relative_to(mount)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, staged / f.relative_to(mount))
    size = max(room, 4096) + 4096 * len(kept)  # tmpfs counts whole pages
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], check=True)
    if staged.exists():
        shutil.copytree(staged, mount, dirs_exist_ok=True)
    code = start(s, "dvc", "repro", "-f", "--downstream", stage).wait()
    # the user frees space: the same files, room to write
    subprocess.run(["mount", "-o", "remount,size=1g", str(mount)], check=True)
    detail = f"{folder} on a {size:,}-byte tmpfs ({written:,} bytes of it rewritten)"
    return code != 0, detail, code


def unmount(s: Scratch, folder: str) -> None:
    """Copy the tmpfs's files back over the folder beneath it, then unmount."""
    mount = s.repo / folder
    keep = s.logs / "tmpfs-copy"
    shutil.rmtree(keep, ignore_errors=True)
    shutil.copytree(mount, keep, symlinks=True)
    subprocess.run(["umount", str(mount)], check=True)
    shutil.rmtree(mount)
    shutil.copytree(keep, mount, symlinks=True)


def pg_fault(s: Scratch, rng: random.Random, pg_url: str, work: float) -> tuple[bool, str, int]:
    """Force extract on PostgreSQL; terminate its connections a random time after the first
    one opens, within the stage's own work (`work` seconds on the embedded database)."""
    import sqlalchemy as sa

    # autocommit: pg_stat_activity is read once per transaction
    engine = sa.create_engine(
        pg_url.replace("postgresql://", "postgresql+psycopg2://", 1), isolation_level="AUTOCOMMIT"
    )
    proc = start(s, "dvc", "repro", "-f", "-s", "extract")
    delay, killed, seen = rng.uniform(0.0, max(work / 2, 0.05)), 0, None
    # every connection of extract's, busy or between queries: the server drops them all
    query = sa.text(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = :app AND pid <> pg_backend_pid()"
    )
    active = sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :app")
    with engine.connect() as conn:
        while proc.poll() is None and not killed:
            if seen is None and conn.execute(active, {"app": PG_APP}).scalar():
                seen = time.monotonic()
            if seen is not None and time.monotonic() - seen >= delay:
                killed = len(conn.execute(query, {"app": PG_APP}).all())
            time.sleep(0.01)
    engine.dispose()
    code = proc.wait()
    detail = f"connections terminated {delay:.2f} s after extract's first one opened"
    return killed > 0 and code != 0, detail, code


def mlflow_fault(s: Scratch, rng: random.Random, wall: float) -> tuple[bool, str, int]:
    """Lock the store while track runs: SQLite's exclusive lock or the file lock."""
    how = rng.choice(["sqlite", "file"])
    hold = rng.uniform(0.5, max(wall, 1.0) * (3 if how == "sqlite" else 1.5))
    after = rng.uniform(0.0, max(0.8 * wall, 0.2))
    proc = start(s, "dvc", "repro")
    injected, seen = False, None
    while proc.poll() is None and not injected:
        if seen is None and stage_processes("track"):
            seen = time.monotonic()
        if seen is not None and time.monotonic() - seen >= after:
            with store_locked(s.repo, how):
                injected = proc.poll() is None
                time.sleep(hold)
        time.sleep(0.02)
    code = proc.wait()
    return injected, f"{how} lock {after:.2f} s into track, held {hold:.1f} s", code


@contextmanager
def store_locked(repo: Path, how: str) -> Iterator[None]:
    if how == "sqlite":
        con = sqlite3.connect(repo / "mlflow.db", timeout=30, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            con.execute("ROLLBACK")
            con.close()
    else:
        import fcntl

        with open(repo / ".mlflow.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
