"""The scratch clone the bench works in: making it, running measured commands in it, its state.

The bench deletes outputs and caches between runs, so it never touches the user's workspace:
it clones HEAD (or copies the work tree) under `--workdir` and runs every command there, with
this environment's `bin` first on PATH and `PYTHONPATH=<clone>/src`, so the clone's code runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


class BenchError(RuntimeError):
    pass


@dataclass(frozen=True)
class Run:
    """One command: wall seconds, CPU seconds (user + system, whole process tree), peak RSS of
    its largest process (bytes), exit code, log."""

    cmd: tuple[str, ...]
    seconds: float
    cpu: float
    peak_rss: int
    code: int
    log: Path

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def scratch_env(repo: Path) -> dict[str, str]:
    """The environment of every command: no project or MLflow/DVC variables of the caller's,
    this interpreter's `bin` first on PATH, the clone's `src` on PYTHONPATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "DVC_", "TRAVELTIDE_", "VIRTUAL_ENV"))
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(repo / "src")
    env["TRAVELTIDE_LOG_LEVEL"] = "INFO"
    for who in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{who}_NAME"] = "bench"
        env[f"GIT_{who}_EMAIL"] = "bench@localhost"
    return env


class Scratch:
    """The scratch clone, its environment, and a log file per command."""

    def __init__(self, repo: Path, logs: Path) -> None:
        self.repo = repo
        self.logs = logs
        self.count = 0
        self.env = scratch_env(repo)

    def run(self, *cmd: str, check: bool = True, timeout: float = 3600) -> Run:
        """Run `cmd` in the clone; wait4 gives the peak RSS of the largest process in its tree
        (every descendant the command waited for, i.e. every DVC stage process)."""
        self.count += 1
        slug = re.sub(r"[^A-Za-z0-9]+", "-", " ".join(cmd[:4]))[:50].strip("-")
        log = self.logs / f"{self.count:03d}-{slug}.log"
        with log.open("w", encoding="utf-8") as out:
            out.write(f"$ {' '.join(cmd)}\n")
            out.flush()
            start = time.perf_counter()
            proc = subprocess.Popen(
                cmd, cwd=self.repo, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
            deadline = start + timeout
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    proc.kill()
                    _, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.02)
            seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime
        run = Run(tuple(cmd), seconds, cpu, usage.ru_maxrss * 1024, proc.returncode, log)
        if check and run.code != 0:
            tail = "\n".join(run.text().splitlines()[-15:])
            raise BenchError(f"`{' '.join(cmd)}` failed ({run.code}), log {log}:\n{tail}")
        return run

    def quiet(self, *cmd: str) -> str:
        """A helper command (git): output returned, not measured."""
        proc = subprocess.run(
            cmd, cwd=self.repo, env=self.env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise BenchError(f"`{' '.join(cmd)}` failed: {proc.stderr.strip()}")
        return proc.stdout

    def params(self) -> dict[str, Any]:
        return yaml.safe_load((self.repo / "params.yaml").read_text())

    def set_params(self, **dotted: Any) -> None:
        params = self.params()
        for key, value in dotted.items():
            block, name = key.split(".", 1)
            params[block][name] = value
        (self.repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def restore(self) -> None:
        """Back to the committed baseline: params, dvc.lock and the outputs they name."""
        self.quiet("git", "reset", "-q", "--hard")
        self.run("dvc", "checkout", "--force")

    def commit(self, message: str) -> None:
        self.quiet("git", "add", "-A")
        if self.quiet("git", "status", "--porcelain").strip():
            self.quiet("git", "commit", "-q", "-m", message)

    def timings(self) -> dict[str, dict[str, Any]]:
        """The clone's per-stage timing files, stage -> fields (see traveltide.timings), read
        as plain JSON so the bench also measures a commit without them (then {})."""
        found = {}
        for path in sorted((self.repo / "timings").glob("*.json")):
            data = json.loads(path.read_text())
            found[data["stage"]] = data
        return found


def head_commit() -> str:
    """The workspace's HEAD commit (full hash)."""
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def copy_work_tree(repo: Path) -> None:
    """Every tracked or untracked, not ignored file of the workspace into a new repository."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"]):
        subprocess.run(cmd, cwd=repo, check=True)


def make_clone(workdir: Path, *, worktree: bool) -> tuple[Path, str]:
    """A fresh scratch repository under `workdir`: HEAD cloned, or the work tree copied; and
    a label saying which."""
    workdir = workdir.resolve()
    if workdir == ROOT or ROOT.is_relative_to(workdir):
        raise BenchError(f"--workdir {workdir} would contain the workspace itself")
    repo, marker = workdir / "repo", workdir / ".traveltide-bench"
    if repo.exists():
        if not marker.exists():  # never delete a folder the bench did not make
            raise BenchError(f"{repo} exists and was not made by the bench; pick another --workdir")
        shutil.rmtree(repo)
    workdir.mkdir(parents=True, exist_ok=True)
    marker.write_text("scratch clones of bench/run.py; safe to delete\n")
    rev = head_commit()
    if worktree:
        copy_work_tree(repo)
        return repo, f"work tree of {rev[:10]} (uncommitted changes included)"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(repo)], check=True)
    return repo, f"HEAD {rev[:10]}"
