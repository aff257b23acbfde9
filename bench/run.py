"""`make bench`: the performance figures of issue 8, measured, with their targets.

Everything runs in a scratch clone (`git clone` of HEAD, or a copy of the work tree with
`--worktree`) under `--workdir`, never in the user's workspace: the bench deletes outputs and
caches between runs. Commands run with this environment's `bin` first on PATH and
`PYTHONPATH=<clone>/src`, so the clone's code is what runs. Each figure is measured `--runs`
times (default 3); the table shows medians, the target and pass/fail, and
`bench/results/<timestamp>.json` keeps every sample (logs of every command beside it).

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
  pg       the extract function on PostgreSQL (the generated tables loaded with
           `traveltide db load` into a dedicated database) vs on the embedded DuckDB

Targets are stated for scale 1.0 on the 2-core, 24 GiB machine; `--scale 0.02` is a smoke run
of the machinery (its pass/fail says little). Figures measured while other work runs on the
machine are noisy: the load average is recorded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
FIGURES = ("cold", "noop", "exp", "sweep", "wide", "scaling", "pg", "slow")
SWEEP_SIZE = 8
WIDE_STAGES = ("features", "select_k", "cluster")  # "features + cluster" of the wide figure
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/traveltide_bench"
GB = 1e9
# the pipeline's dvc.yaml files: the always-run `source` stage has one of its own (see there)
DVC_FILES = ("dvc.yaml", "data/source/dvc.yaml")


class BenchError(RuntimeError):
    pass


# --- running and measuring commands -------------------------------------------------------


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


def stages_ran(output: str) -> set[str]:
    """Stage names from `dvc repro`'s output; a nested file's `data/source/dvc.yaml:source` is
    `source`."""
    names = re.findall(r"Running stage '([^']+)'", output)
    return {name.rpartition(":")[2] for name in names}


def stage_seconds(timings: dict[str, dict[str, Any]], ran: set[str] | None = None) -> float:
    """Wall seconds inside the stage processes (their timing files), of the stages in `ran`
    (all by default); the rest of a `dvc` command's time is DVC's own."""
    return sum(t["wall_s"] for name, t in timings.items() if ran is None or name in ran)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def load_average() -> float:
    return os.getloadavg()[0]


class Scratch:
    """The scratch clone, its environment, and a log file per command."""

    def __init__(self, repo: Path, logs: Path) -> None:
        self.repo = repo
        self.logs = logs
        self.count = 0
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
        self.env = env

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

    # --- state of the clone

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
        as plain JSON so the bench works on a clone whose code predates them (then {})."""
        found = {}
        for path in sorted((self.repo / "timings").glob("*.json")):
            data = json.loads(path.read_text())
            found[data["stage"]] = data
        return found

    def stages(self) -> dict[str, dict[str, list[str]]]:
        """Every stage of the pipeline's dvc.yaml files by its own name: deps and outputs,
        `${paths.*}` resolved (the nested files write their paths out)."""
        paths: dict[str, Any] = {}
        specs = [yaml.safe_load((self.repo / f).read_text()) for f in DVC_FILES]
        for block in specs[0].get("vars", []):
            if isinstance(block, dict):
                paths.update(block.get("paths", {}))

        def resolve(item: Any) -> str:
            text = next(iter(item)) if isinstance(item, dict) else str(item)
            return re.sub(r"\$\{paths\.(\w+)\}", lambda m: str(paths[m.group(1)]), text)

        found = {}
        for spec in reversed(specs):  # nested files first: `source` leads the order
            for name, st in spec["stages"].items():
                found[name] = {
                    "deps": [resolve(d) for d in st.get("deps", [])],
                    "outs": [
                        resolve(o) for k in ("outs", "metrics", "plots") for o in st.get(k, [])
                    ],
                    "always_changed": bool(st.get("always_changed")),
                }
        return found

    def dag(self) -> dict[str, set[str]]:
        """stage -> the stages it depends on directly, from the dvc.yaml files' deps and outs."""
        stages = self.stages()
        return {
            name: {
                other
                for other, o in stages.items()
                if other != name
                and any(
                    d == out or d.startswith(out.rstrip("/") + "/")
                    for d in st["deps"]
                    for out in o["outs"]
                )
            }
            for name, st in stages.items()
        }

    def downstream(self, stage: str) -> set[str]:
        graph = self.dag()
        found, changed = {stage}, True
        while changed:
            changed = False
            for name, parents in graph.items():
                if name not in found and parents & found:
                    found.add(name)
                    changed = True
        return found

    def always_changed(self) -> set[str]:
        return {name for name, st in self.stages().items() if st["always_changed"]}


def make_clone(workdir: Path, *, worktree: bool) -> tuple[Path, str]:
    """A fresh scratch repository under `workdir`: HEAD cloned, or the work tree copied."""
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
    rev = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    if worktree:
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
        label = f"work tree of {rev[:10]} (uncommitted changes included)"
    else:
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(repo)], check=True)
        label = f"HEAD {rev[:10]}"
    return repo, label


# --- figures ------------------------------------------------------------------------------


@dataclass
class Figure:
    id: str
    label: str
    value: str
    target: str
    passed: bool | None
    samples: dict[str, list[float]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    scratch: Scratch
    runs: int
    scale: float
    pg_url: str
    log: Callable[[str], None]
    stage_table: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    wide_cache: dict[float, dict[str, list[float]]] = field(default_factory=dict)


def fig_cold(ctx: Context) -> Figure:
    s = ctx.scratch
    wall, cpu, rss, stage_rss, outside = [], [], [], [], []
    for i in range(ctx.runs):
        # git clean -X: every ignored file goes, i.e. outputs, metrics, the DVC cache and
        # run-cache (.dvc/cache), .dvc/tmp, the MLflow store and the timing files
        s.quiet("git", "clean", "-q", "-f", "-d", "-X")
        run = s.run("dvc", "repro")
        wall.append(run.seconds)
        cpu.append(run.cpu)
        rss.append(run.peak_rss / GB)
        timings = s.timings()
        for name, t in timings.items():
            row = ctx.stage_table.setdefault(name, {})
            for key in ("wall_s", "startup_s", "cpu_s"):
                row.setdefault(key, []).append(t[key] or 0.0)
            row.setdefault("peak_rss_gb", []).append(t["peak_rss_bytes"] / GB)
        if timings:
            stage_rss.append(max(t["peak_rss_bytes"] for t in timings.values()) / GB)
            # what DVC itself costs between the stages: hashing, caching, lock and run-cache
            outside.append(run.seconds - stage_seconds(timings))
        ctx.log(f"  cold run {i + 1}: {run.seconds:.1f} s, peak RSS {run.peak_rss / GB:.2f} GB")
    s.commit("bench baseline")  # dvc.lock at this scale: queued experiments start from it
    w, r = median(wall), median(rss)
    return Figure(
        "cold",
        "cold `dvc repro` (all stages)",
        f"{w:.1f} s (CPU {median(cpu):.0f} s), peak RSS {r:.2f} GB",
        "<= 60 s, <= 4 GB",
        w <= 60 and r <= 4,
        {
            "seconds": wall,
            "cpu_s": cpu,
            "peak_rss_gb": rss,
            "largest_stage_rss_gb": stage_rss,
            "dvc_outside_stages_s": outside,
        },
    )


def fig_noop(ctx: Context) -> Figure:
    s = ctx.scratch
    s.run("dvc", "status")  # warm-up: page cache, DVC's site cache
    s.run("dvc", "repro")
    status, repro, status_cpu, repro_cpu, ran, source = [], [], [], [], set(), []
    # a second or two each, and noisy: three pairs per run, alternating
    for _ in range(3 * ctx.runs):
        run = s.run("dvc", "status")
        status.append(run.seconds)
        status_cpu.append(run.cpu)
        run = s.run("dvc", "repro")
        repro.append(run.seconds)
        repro_cpu.append(run.cpu)
        ran |= stages_ran(run.text())
        if "source" in (timings := s.timings()):  # the always-run stage's own process
            source.append(timings["source"]["wall_s"])
    ratio = median(repro) / median(status)
    source_s = median(source) if source else None
    extra = {
        "stages_ran": sorted(ran),
        "always_changed": sorted(s.always_changed()),
        # CPU seconds: steadier than wall time on a shared machine
        "cpu_ratio": round(median(repro_cpu) / median(status_cpu), 3),
        # each repro over the status just before it: shows drift within the run (the
        # verdict stays the ratio of the medians)
        "pair_ratio": round(median([r / t for r, t in zip(repro, status, strict=True)]), 3),
        # part of the repro's extra time: the always-run `source` stage's process (its wall
        # time from timings/source.json; DVC's handling of the stage comes on top)
        "source_stage_s": None if source_s is None else round(source_s, 3),
    }
    source_note = "" if source_s is None else f"; source stage {source_s:.2f} s"
    return Figure(
        "noop",
        "no-op `dvc repro` / `dvc status`",
        f"{median(repro):.2f} s / {median(status):.2f} s = {ratio:.2f}x "
        f"(CPU {extra['cpu_ratio']:.2f}x, median of pairs {extra['pair_ratio']:.2f}x{source_note})",
        "<= 1.5x",
        ratio <= 1.5,
        {
            "repro_s": repro,
            "status_s": status,
            "repro_cpu_s": repro_cpu,
            "status_cpu_s": status_cpu,
        },
        extra,
    )


def other_ks(base: int, count: int) -> list[int]:
    """The `count` values of k >= 2 nearest the baseline's, never the baseline's own."""
    ks = [k for k in range(2, base + count + 2) if k != base]
    return sorted(sorted(ks, key=lambda k: (abs(k - base), k))[:count])


def fig_exp(ctx: Context) -> Figure:
    s = ctx.scratch
    expected = s.downstream("cluster") | s.always_changed()
    ks = other_ks(int(s.params()["cluster"]["k"]), max(ctx.runs, 1))
    seconds, cpu, in_stages, outside, wrong = [], [], [], [], []
    for k in ks[: ctx.runs]:
        run = s.run("dvc", "exp", "run", "-S", f"cluster.k={k}")
        seconds.append(run.seconds)
        cpu.append(run.cpu)
        ran = stages_ran(run.text())
        if not ran <= expected or "cluster" not in ran:
            wrong.append({"k": k, "ran": sorted(ran)})
        split = ""
        if timings := s.timings():  # the stages that ran wrote theirs in the workspace just now
            in_stages.append(stage_seconds(timings, ran))
            outside.append(run.seconds - in_stages[-1])
            split = f"; stage processes {in_stages[-1]:.1f} s, DVC {outside[-1]:.1f} s"
        ctx.log(f"  exp k={k}: {run.seconds:.1f} s, ran {', '.join(sorted(ran))}{split}")
    s.restore()
    m = median(seconds)
    split = ""
    if in_stages:  # medians of each part, so the two need not add up to the median
        split = f"; stage processes {median(in_stages):.1f} s, DVC {median(outside):.1f} s"
    return Figure(
        "exp",
        "`dvc exp run -S cluster.k=...`",
        f"{m:.1f} s (CPU {median(cpu):.1f} s{split})"
        + ("" if not wrong else f"; reran other stages: {wrong}"),
        "cluster and later stages only; <= 15 s",
        m <= 15 and not wrong,
        {
            "seconds": seconds,
            "cpu_s": cpu,
            "stage_processes_s": in_stages,
            "dvc_outside_stages_s": outside,
        },
        {"expected_stages": sorted(expected)},
    )


# A finished experiment's ref: refs/exps/<baseline sha, split 2/38>/<name>. The queue's own
# refs (refs/exps/celery/stash while tasks wait, refs/exps/exec/...) must not count: with the
# stash ref counted, a -j 1 batch looked done while its last experiment still ran.
EXP_REF = re.compile(r"refs/exps/[0-9a-f]{2}/[0-9a-f]{38}/[^/]+")


def exp_ref_count(s: Scratch) -> int:
    refs = s.quiet("git", "for-each-ref", "--format=%(refname)", "refs/exps").split()
    return sum(bool(EXP_REF.fullmatch(ref)) for ref in refs)


def queue_workers(repo: Path) -> list[int]:
    """PIDs of `dvc exp queue-worker` processes working for this clone."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if b"queue-worker" in cmdline and cwd.startswith(str(repo)):
            pids.append(int(proc.name))
    return pids


def run_queue(
    s: Scratch, values: list[int], jobs: int, log: Callable[[str], None]
) -> tuple[float, int]:
    """Queue one experiment per k, start `jobs` workers; seconds until the last one's ref,
    and how many experiments failed."""
    shutil.rmtree(s.repo / ".dvc" / "cache" / "runs", ignore_errors=True)
    before = exp_ref_count(s)
    s.run("dvc", "exp", "run", "--queue", "-S", "cluster.k=" + ",".join(map(str, values)))
    start = time.perf_counter()
    s.run("dvc", "queue", "start", "-j", str(jobs))
    idle_since = None
    while exp_ref_count(s) < before + len(values):
        time.sleep(0.5)
        if queue_workers(s.repo):
            idle_since = None
            continue
        idle_since = idle_since or time.perf_counter()
        if time.perf_counter() - idle_since > 30:  # workers gone, experiments missing
            status = s.run("dvc", "queue", "status", check=False).text()
            raise BenchError(f"queue -j {jobs}: workers exited early:\n{status}")
    seconds = time.perf_counter() - start
    for _ in range(120):  # workers stop 10 s after the queue empties; never overlap batches
        if not queue_workers(s.repo):
            break
        time.sleep(0.5)
    failed = s.run("dvc", "queue", "status").text().count("Failed")
    # Every batch starts from the same state: finished queue entries and experiment refs
    # pile up otherwise, and each batch ran slower than the one before (34 -> 50 s at -j 2,
    # 58 -> 94 s at -j 1 over three batches each, measured)
    s.run("dvc", "queue", "remove", "--all")
    s.run("dvc", "exp", "remove", "--all-commits")
    log(f"  sweep -j {jobs}: {seconds:.1f} s" + (f", {failed} FAILED" if failed else ""))
    return seconds, failed


def fig_sweep(ctx: Context) -> Figure:
    s = ctx.scratch
    values = other_ks(int(s.params()["cluster"]["k"]), SWEEP_SIZE)
    s.run("traveltide", "mlflow-init")
    parallel, serial, failed = [], [], 0
    for i in range(ctx.runs):
        # ABBA order: a first batch pays warm-up (page cache, new temp repositories), so
        # -j 2 and -j 1 take turns going first
        for jobs in (2, 1) if i % 2 == 0 else (1, 2):
            seconds, failures = run_queue(s, values, jobs, ctx.log)
            (parallel if jobs == 2 else serial).append(seconds)
            failed += failures
    ratio = median(serial) / median(parallel)
    return Figure(
        "sweep",
        f"{SWEEP_SIZE}-experiment sweep, -j 2 vs -j 1",
        f"{median(parallel):.1f} s vs {median(serial):.1f} s = {ratio:.2f}x faster",
        ">= 1.6x faster",
        ratio >= 1.6 and failed == 0,
        {"j2_s": parallel, "j1_s": serial},
        {"k_values": values, "failed": failed},
    )


def features_cluster(ctx: Context, scale: float) -> dict[str, list[float]]:
    """features + cluster on the wide cohort (min_sessions 0) at `scale`, forced `runs` times."""
    if scale in ctx.wide_cache:
        return ctx.wide_cache[scale]
    s = ctx.scratch
    s.restore()
    s.set_params(**{"generate.scale": scale, "cohort.min_sessions": 0})
    s.run("dvc", "repro", "cluster")  # inputs at this scale and cohort; not timed
    users = s.quiet("python", "-c", _USERS_SNIPPET).strip()
    out: dict[str, list[float]] = {
        "seconds": [],
        "cpu_s": [],
        "peak_rss_gb": [],
        "users": [float(users)],
    }
    for _ in range(ctx.runs):
        runs = {
            name: s.run("dvc", "repro", "--force", "--single-item", name) for name in WIDE_STAGES
        }
        out["seconds"].append(sum(r.seconds for r in runs.values()))
        out["cpu_s"].append(sum(r.cpu for r in runs.values()))
        out["peak_rss_gb"].append(max(r.peak_rss for r in runs.values()) / GB)
        timings = s.timings()
        for name in WIDE_STAGES:
            if name in timings:
                out.setdefault(f"{name}_stage_s", []).append(timings[name]["wall_s"])
        each = ", ".join(f"{name} {r.seconds:.1f} s" for name, r in runs.items())
        ctx.log(
            f"  wide scale {scale:g} ({users} users): {each}, "
            f"peak RSS {out['peak_rss_gb'][-1]:.2f} GB"
        )
    s.restore()
    ctx.wide_cache[scale] = out
    return out


_USERS_SNIPPET = (
    "import pyarrow.parquet as pq, yaml;"
    "p = yaml.safe_load(open('dvc.yaml'))['vars'][0]['paths']['features'];"
    "print(pq.ParquetFile(p).metadata.num_rows)"
)


def fig_wide(ctx: Context) -> Figure:
    big = features_cluster(ctx, ctx.scale)
    sec, rss = median(big["seconds"]), median(big["peak_rss_gb"])
    return Figure(
        "wide",
        f"wide cohort ({int(big['users'][0]):,} users): features + cluster",
        f"{sec:.1f} s (CPU {median(big['cpu_s']):.0f} s), peak RSS {rss:.2f} GB",
        "<= 120 s, <= 8 GB",
        sec <= 120 and rss <= 8,
        big,
    )


def fig_scaling(ctx: Context) -> Figure:
    small = features_cluster(ctx, round(ctx.scale / 10, 6))
    big = features_cluster(ctx, ctx.scale)
    ratio = median(big["seconds"]) / median(small["seconds"])
    users = big["users"][0] / small["users"][0]
    return Figure(
        "scaling",
        f"features + cluster, {users:.1f}x the users",
        f"{median(big['seconds']):.1f} s / {median(small['seconds']):.1f} s = {ratio:.1f}x",
        "<= 10x (linear or better)",
        ratio <= 10,
        {"big_s": big["seconds"], "small_s": small["seconds"]},
        {"users": [small["users"][0], big["users"][0]]},
    )


def ensure_database(url: str) -> None:
    """Create the bench database (never the server's others) when it does not exist."""
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    name = parsed.database
    if not name or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise BenchError(f"--pg-url needs a plain database name, got {name!r}")
    admin = parsed.set(drivername="postgresql+psycopg2", database="postgres")
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if not found:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()


def fig_pg(ctx: Context) -> Figure:
    s = ctx.scratch
    s.restore()
    db = yaml.safe_load((s.repo / "dvc.yaml").read_text())["vars"][0]["paths"]["db"]
    ensure_database(ctx.pg_url)
    load = s.run("traveltide", "db", "load", "--url", ctx.pg_url, "--from-parquet", db, "--replace")
    ctx.log(f"  loaded into PostgreSQL in {load.seconds:.1f} s")
    probe = str(ROOT / "bench" / "extract_probe.py")
    results: dict[str, list[dict]] = {"embedded": [], "postgresql": []}
    for _ in range(ctx.runs):
        for kind, args in (("embedded", ["--embedded", db]), ("postgresql", ["--url", ctx.pg_url])):
            out = s.run("python", probe, *args).text().strip().splitlines()[-1]
            results[kind].append(json.loads(out))
    emb = [r["seconds"] for r in results["embedded"]]
    pg = [r["seconds"] for r in results["postgresql"]]
    same = {r["rows"] for r in results["embedded"]} == {r["rows"] for r in results["postgresql"]}
    ratio = median(pg) / median(emb)
    return Figure(
        "pg",
        "extract on PostgreSQL / embedded DuckDB",
        f"{median(pg):.2f} s / {median(emb):.2f} s = {ratio:.2f}x"
        + ("" if same else " (ROW COUNTS DIFFER)"),
        "<= 1.5x",
        ratio <= 1.5 and same,
        {"postgresql_s": pg, "embedded_s": emb},
        {"load_s": round(load.seconds, 1), "rows": results["embedded"][0]["rows"]},
    )


def fig_slow_tests(ctx: Context) -> Figure:
    """The tests marked `slow` (full scale, or long: the 8-experiment queue), which CI leaves
    out: run once, in the scratch clone, on both cores like `make test`."""
    s = ctx.scratch
    s.restore()
    run = s.run(
        "python", "-m", "pytest", "-m", "slow", "-q", "-p", "no:cacheprovider", "-n", "2",
        "--dist", "loadfile", check=False,
    )  # fmt: skip
    summary = next(
        (
            line
            for line in reversed(run.text().splitlines())
            if re.search(r"\d+ (passed|failed)", line)
        ),
        f"pytest exited {run.code} (no summary line)",
    )
    ctx.log(f"  slow tests: {summary.strip('= ')} ({run.seconds:.0f} s), log {run.log}")
    return Figure(
        "slow",
        "tests marked slow (`pytest -m slow`)",
        summary.strip("= "),
        "all pass",
        run.code == 0,
        {"seconds": [run.seconds]},
    )


MEASURE: dict[str, Callable[[Context], Figure]] = {
    "cold": fig_cold,
    "noop": fig_noop,
    "exp": fig_exp,
    "sweep": fig_sweep,
    "wide": fig_wide,
    "scaling": fig_scaling,
    "pg": fig_pg,
    "slow": fig_slow_tests,
}


# --- report -------------------------------------------------------------------------------


def python_loop_seconds(repeats: int = 5) -> float:
    """Median time of a fixed pure-Python loop: how fast this machine's core is today.

    Machines of one size can differ (another host, a busy neighbour): with this figure in each
    results file, runs on different days can be told apart from changes in the code.
    """
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        sum(i * i for i in range(2_000_000))
        times.append(time.perf_counter() - start)
    return round(median(times), 3)


def machine() -> dict[str, Any]:
    mem, cpu = 0, ""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    with open("/proc/cpuinfo") as f:
        info = f.read().splitlines()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), ""
    )
    flags = next(
        (set(line.split(":", 1)[1].split()) for line in info if line.startswith("flags")), set()
    )
    # the widest vector unit: numpy and OpenBLAS pick their code paths by it (README, "Tests")
    vector = next((name for name in ("avx512f", "avx2", "sse4_2") if name in flags), "none")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "cpu_vector": vector,
        "memory_gib": round(mem / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_loop_s": python_loop_seconds(),
    }


def table(figures: list[Figure], runs: int) -> str:
    lines = [
        f"| figure | median of {runs} | target | result |",
        "|---|---|---|---|",
    ]
    for f in figures:
        result = {True: "pass", False: "FAIL", None: "-"}[f.passed]
        lines.append(f"| {f.label} | {f.value} | {f.target} | {result} |")
    return "\n".join(lines)


def stage_lines(stages: dict[str, dict[str, list[float]]], order: Sequence[str]) -> str:
    if not stages:
        return "(no per-stage timings: the cloned code predates timings/)"
    lines = [
        "| stage | wall s | start-up s | CPU s | peak RSS GB |",
        "|---|---|---|---|---|",
    ]
    for name in sorted(stages, key=lambda n: order.index(n) if n in order else len(order)):
        row = stages[name]
        lines.append(
            f"| {name} | {median(row['wall_s']):.1f} | {median(row['startup_s']):.2f} | "
            f"{median(row['cpu_s']):.1f} | {median(row['peak_rss_gb']):.2f} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default=",".join(FIGURES), help="comma list of figure ids")
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
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
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
    order = list(scratch.stages())
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
    out = RESULTS / f"{stamp}.json"
    out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    m = report["machine"]
    print()
    print(
        f"{m['cpus']} cores ({m['cpu_model']}, {m['cpu_vector']}), {m['memory_gib']} GiB; "
        f"fixed Python loop "
        f"{m['python_loop_s']:.3f} s; {source}; scale {scale:g}; {runs} runs"
    )
    print(f"load average {loads['start']:.2f} at start, {loads['end']:.2f} at end")
    if scale != 1.0:
        print(f"scale {scale:g}: the targets are for scale 1.0, so pass/fail is indicative only")
    print(table(shown, runs))
    print()
    print("per stage, cold `dvc repro` (medians):")
    print(stage_lines(ctx.stage_table, order))
    outside = next((f.samples.get("dvc_outside_stages_s") for f in figures if f.id == "cold"), [])
    if outside:
        print(f"DVC itself, outside the stage processes: {median(outside):.1f} s of the cold run")
    print(f"\nwritten {out.relative_to(ROOT)}")
    return 0 if all(f.passed is not False for f in shown) else 2


if __name__ == "__main__":
    raise SystemExit(main())
