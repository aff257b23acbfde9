"""Faults, measured: break a running pipeline at random points and check that `dvc repro` recovers.

Not a test: it needs root (tmpfs mounts), a PostgreSQL server and minutes to hours. In a scratch
clone of the work tree (`--workdir`, replaced) at `--scale` (default: params.yaml's), it builds
the pipeline once, records every output's hash, and then, round after round, forces a random
part of the pipeline to run again (`dvc repro -f --downstream STAGE`) and injects one fault at
a random point of it:

  kill    SIGKILL of the running stage process, a random time into it
  disk    the output folder of a random stage is a tmpfs too small for what it writes
          (a random fraction of it), so a write fails with ENOSPC; then the space is freed
  pg      the source pointed at a loaded PostgreSQL database (params source.*), and its
          connection terminated mid-extract from a second connection (pg_terminate_backend)
  mlflow  the MLflow store locked while track runs: an exclusive SQLite transaction on
          mlflow.db (writes fail: "database is locked") or the .mlflow.lock file lock (track
          waits), held for a random time

Before each round the state's MLflow run is deleted, so track logs it again under the fault.
After each, `dvc repro` must succeed and recover: `dvc status` clean, every output equal to the
clean run's hash, and one active MLflow run per pipeline state (`dvc_lock_md5`), never two.
Temporary files left behind (`.*.tmp`, which git ignores) are counted, then removed. Prints a
table (fault kind, tried, injected, recovered, leftovers) and writes
bench/results/faults-<time>.json.

    python bench/faults.py --scale 0.02 --rounds 2      # a quick run, some minutes
    python bench/faults.py                              # full scale
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from fault_kinds import PG_APP, disk_fault, kill_fault, mlflow_fault, pg_fault, unmount
from fig_postgres import DEFAULT_PG_URL, ensure_database
from history import RESULTS
from pipeline_graph import downstream
from scratch import BenchError, Scratch, make_clone

KINDS = ("kill", "disk", "pg", "mlflow")
LOCK_TAG = "dvc_lock_md5"
PG_SCHEMA = "tt_faults"


@dataclass
class Round:
    """One injected fault and what recovery found."""

    kind: str
    target: str
    detail: str
    injected: bool
    failed_run: bool  # the faulty `dvc repro` exited non-zero
    recovered: bool
    problems: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)  # temporaries left (then removed)
    seconds: float = 0.0


# ----------------------------------------------------------------------- the pipeline's state


def is_temporary(file: Path) -> bool:
    """A half-written file's name (`.*.tmp`, ignored by git): traveltide.io's atomic writes
    leave one when killed, DVC's checkout when the disk fills."""
    return file.name.startswith(".") and file.name.endswith(".tmp")


def output_hashes(repo: Path) -> dict[str, str]:
    """sha256 of every file under data/ and metrics/, DVC's .gitignore files and temporaries
    aside (`leftovers` counts those)."""
    found = {}
    for folder in ("data", "metrics"):
        for file in sorted((repo / folder).rglob("*")):
            if file.is_file() and file.name != ".gitignore" and not is_temporary(file):
                found[file.relative_to(repo).as_posix()] = hashlib.sha256(
                    file.read_bytes()
                ).hexdigest()
    return found


def leftovers(repo: Path) -> list[Path]:
    """Temporaries under data/ and metrics/ (harmless, but not tidied by whoever left them)."""
    return [f for d in ("data", "metrics") for f in (repo / d).rglob("*") if is_temporary(f)]


def active_state_runs(repo: Path) -> dict[str, list[tuple[str, str]]]:
    """digest -> [(run id, status)] of the active top-level runs in the clone's store."""
    db = repo / "mlflow.db"
    if not db.exists():
        return {}
    with sqlite3.connect(db, timeout=60) as con:
        rows = con.execute(
            "SELECT t.value, r.run_uuid, r.status FROM runs r "
            "JOIN tags t ON t.run_uuid = r.run_uuid AND t.key = ? "
            "WHERE r.lifecycle_stage = 'active' AND r.run_uuid NOT IN "
            "(SELECT run_uuid FROM tags WHERE key = 'mlflow.parentRunId')",
            (LOCK_TAG,),
        ).fetchall()
    found: dict[str, list[tuple[str, str]]] = {}
    for digest, run_id, status in rows:
        found.setdefault(digest, []).append((run_id, status))
    return found


def forget_runs(repo: Path, digest: str) -> None:
    """Delete the state's runs (as `MlflowClient.delete_run` does), so track logs it again."""
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{repo / 'mlflow.db'}")
    for run_id, _ in active_state_runs(repo).get(digest, []):
        client.delete_run(run_id)


def digest_of(repo: Path) -> str:
    return json.loads((repo / "data/track/run.json").read_text())[LOCK_TAG]


def stage_outputs(repo: Path) -> dict[str, list[str]]:
    """stage -> the output paths dvc.yaml gives it (`${paths.x}` resolved)."""
    spec = yaml.safe_load((repo / "dvc.yaml").read_text())
    paths = spec["vars"][0]["paths"]

    def resolve(item: Any) -> str:
        text = next(iter(item)) if isinstance(item, dict) else str(item)
        for key, value in paths.items():
            text = text.replace(f"${{paths.{key}}}", str(value))
        return text

    return {
        name: [resolve(o) for kind in ("outs", "metrics") for o in st.get(kind, [])]
        for name, st in spec["stages"].items()
    }


# ------------------------------------------------------------------------------ the bench


@dataclass
class Bench:
    s: Scratch
    rng: random.Random
    pg_url: str
    clean: dict[str, str] = field(default_factory=dict)
    digest: str = ""
    walls: dict[str, float] = field(default_factory=dict)
    runs: dict[str, float] = field(default_factory=dict)  # each stage's own work, start-up aside
    log: Callable[[str], None] = print

    def set_source(self, url: str, schema: str = "public") -> None:
        """Point extract at `url`; back on `embedded`, the committed params.yaml as it was."""
        if url == "embedded":
            self.s.quiet("git", "checkout", "--", "params.yaml")
            return
        params = self.s.params()
        params["source"].update(url=url, schema=schema)
        response = params.get("ab_test", {}).get("response", {})
        if "fit_source" in response:  # no latent truth in an external database
            response["fit_source"] = "behaviour"
        (self.s.repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def baseline(self) -> None:
        started = time.perf_counter()
        self.s.run("dvc", "repro")
        self.s.commit("faults: clean run")
        self.clean = output_hashes(self.s.repo)
        self.digest = digest_of(self.s.repo)
        self.walls = {name: t["wall_s"] for name, t in self.s.timings().items()}
        self.runs = {name: t["run_s"] for name, t in self.s.timings().items()}
        self.log(f"clean run: {time.perf_counter() - started:.0f} s, {len(self.clean)} files")

    def load_pg(self) -> None:
        ensure_database(self.pg_url)
        db = self.s.repo / "data/raw/traveltide"
        self.s.run(
            "traveltide", "db", "load", "--url", self.pg_url, "--schema", PG_SCHEMA,
            "--from-parquet", str(db), "--replace",
        )  # fmt: skip

    def check(self, round_: Round) -> None:
        """Recovery: `dvc repro` succeeds, status clean, the clean outputs, one run a state."""
        self.set_source("embedded")
        done = self.s.run("dvc", "repro", check=False)
        if done.code != 0:
            round_.problems.append(f"dvc repro failed ({done.code}), log {done.log.name}")
        status = self.s.run("dvc", "status", check=False).text()
        if "Data and pipelines are up to date." not in status:
            round_.problems.append("dvc status not clean")
        now = output_hashes(self.s.repo)
        differ = sorted(
            k for k in self.clean.keys() | now.keys() if self.clean.get(k) != now.get(k)
        )
        if differ:
            round_.problems.append(f"outputs differ: {', '.join(differ[:5])}")
        runs = active_state_runs(self.s.repo)
        twice = {d: r for d, r in runs.items() if len(r) > 1}
        if twice:
            round_.problems.append(f"duplicate runs: {twice}")
        mine = runs.get(self.digest, [])
        if [status for _, status in mine] != ["FINISHED"]:
            round_.problems.append(f"the clean state's runs: {mine}")
        round_.recovered = not round_.problems

    def track_to_log(self) -> list[str]:
        """Make track log the state again (its run deleted, its file gone, as after a change
        only track reads); returns the command that runs it."""
        forget_runs(self.s.repo, self.digest)
        (self.s.repo / "data/track/run.json").unlink(missing_ok=True)
        return ["dvc", "repro"]

    def one(self, kind: str) -> Round:
        outputs = stage_outputs(self.s.repo)
        stages = [n for n in outputs if n != "generate"]
        started = time.perf_counter()
        cleanup: Callable[[], None] | None = None
        if kind == "kill":
            stage = self.rng.choice(stages)
            cmd = ["dvc", "repro", "-f", "--downstream", stage]
            if stage == "track":
                cmd = self.track_to_log()
            wall = self.walls.get(stage, 1.0)
            injected, detail, code = kill_fault(self.s, self.rng, stage, wall, cmd)
        elif kind == "disk":
            # a folder holding outputs, never an output itself (DVC removes those, and a
            # mount point cannot go) nor all of data/
            first: dict[str, str] = {}  # folder -> the first stage writing into it
            every = {out for name in stages for out in outputs[name]}
            for name in stages:
                for out in outputs[name]:
                    folder = Path(out).parent.as_posix()
                    if folder not in every and folder not in (".", "data"):
                        first.setdefault(folder, name)
            folder = self.rng.choice(sorted(f for f, n in first.items() if n != "track"))
            stage = first[folder]
            forced = downstream(self.s.repo, stage)
            rewritten = {o for n in forced for o in outputs[n]}
            cleanup = lambda: unmount(self.s, folder)  # noqa: E731
            injected, detail, code = disk_fault(self.s, self.rng, stage, folder, rewritten)
        elif kind == "pg":
            stage = "extract"
            self.set_source(f"{self.pg_url}?application_name={PG_APP}", PG_SCHEMA)
            injected, detail, code = pg_fault(self.s, self.rng, self.pg_url, self.runs["extract"])
            if injected:  # the previous outputs are all there: extract's are `persist`
                now = output_hashes(self.s.repo)
                if now != self.clean:
                    detail += " (outputs changed by the failed run)"
            again = self.s.run("dvc", "repro", check=False)  # the server is back: PostgreSQL
            if again.code != 0:
                detail += f"; repro on PostgreSQL failed, log {again.log.name}"
        else:
            stage = "track"
            self.track_to_log()
            injected, detail, code = mlflow_fault(self.s, self.rng, self.walls.get("track", 5))
        round_ = Round(kind, stage, detail, injected, code != 0, False)
        try:
            self.check(round_)
        finally:
            if cleanup is not None:
                cleanup()
        if cleanup is not None and output_hashes(self.s.repo) != self.clean:
            round_.problems.append("outputs differ after the tmpfs was removed")
            round_.recovered = False
        for stray in leftovers(self.s.repo):  # noted, then tidied for the next round
            round_.leftovers.append(stray.relative_to(self.s.repo).as_posix())
            stray.unlink()
        round_.seconds = time.perf_counter() - started
        return round_


def table(rounds: list[Round]) -> str:
    """Per fault kind: rounds tried, faults that hit (the run failed or was held up), rounds
    recovered, and temporary files left behind."""
    lines = [f"{'fault':<8} {'tried':>5} {'injected':>8} {'recovered':>9} {'leftovers':>9}"]
    for kind in KINDS:
        mine = [r for r in rounds if r.kind == kind]
        if mine:
            injected = sum(r.injected for r in mine)
            recovered = sum(r.recovered for r in mine)
            left = sum(len(r.leftovers) for r in mine)
            lines.append(f"{kind:<8} {len(mine):>5} {injected:>8} {recovered:>9} {left:>9}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, help="generate.scale (default: params.yaml's)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per fault kind")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma list of fault kinds")
    parser.add_argument("--seed", type=int, default=0, help="where the faults fall")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="a database it may load into")
    parser.add_argument(
        "--workdir", type=Path, default=Path("/tmp/traveltide-faults"), help="scratch (replaced)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch clone")
    args = parser.parse_args(argv)
    args.kinds = [k for k in args.kinds.split(",") if k]
    if set(args.kinds) - set(KINDS):
        parser.error(f"--kinds takes {', '.join(KINDS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0 and "disk" in args.kinds:
        print("error: faults: the disk fault mounts a tmpfs: run as root", file=sys.stderr)
        return 1
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    logs = RESULTS / f"faults-{stamp}-logs"
    logs.mkdir(parents=True)
    try:
        repo, label = make_clone(args.workdir, worktree=True)
    except BenchError as exc:
        print(f"error: faults: {exc}", file=sys.stderr)
        return 1
    s = Scratch(repo, logs)
    s.commit("work tree")
    if args.scale is not None:
        s.set_params(**{"generate.scale": args.scale})
        s.commit(f"scale {args.scale}")
    bench = Bench(s, random.Random(args.seed), args.pg_url, log=lambda m: print(m, flush=True))
    started = time.perf_counter()
    rounds: list[Round] = []
    try:
        bench.baseline()
        if "pg" in args.kinds:
            bench.load_pg()
        order = [k for _ in range(args.rounds) for k in args.kinds]
        for i, kind in enumerate(order, 1):
            round_ = bench.one(kind)
            rounds.append(round_)
            state = "recovered" if round_.recovered else f"NOT RECOVERED: {round_.problems}"
            print(f"[{i}/{len(order)}] {kind}: {round_.detail}; {state} ({round_.seconds:.0f} s)",
                  flush=True)  # fmt: skip
    except BenchError as exc:
        print(f"error: faults: {exc}", file=sys.stderr)
        return 1
    finally:
        minutes = (time.perf_counter() - started) / 60
        report = {
            "started": stamp,
            "source": label,
            "scale": s.params()["generate"]["scale"],
            "seed": args.seed,
            "minutes": round(minutes, 1),
            "rounds": [asdict(r) for r in rounds],
        }
        out = RESULTS / f"faults-{stamp}.json"
        out.write_text(json.dumps(report, indent=2) + "\n")
        if not args.keep:
            for folder in ("data", "metrics"):  # a tmpfs left by an error would block rmtree
                for mount in (repo / folder).rglob("*"):
                    if mount.is_mount():
                        subprocess.run(["umount", str(mount)], check=False)
            shutil.rmtree(repo, ignore_errors=True)
    print(table(rounds))
    print(f"{minutes:.1f} min; every round: {out}")
    return 0 if all(r.recovered for r in rounds) else 1


if __name__ == "__main__":
    raise SystemExit(main())
