"""A throwaway copy of the project as its own git + DVC repository, for tests that run dvc.

Tests that drive the real `dvc` need a repository they may break: this builds one from the
project's files at a small generator scale and runs commands in it with a clean environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DVC_FILES = ("dvc.yaml",)
LOCK_FILES = ("dvc.lock",)
ALL_STAGES = {
    "generate",
    "extract",
    "clean",
    "features",
    "segment_rules",
    "select_k",
    "cluster",
    "benchmark",
    "compare",
    "ab_test",
    "report",
    "track",
}
FILES = (
    *DVC_FILES,
    "params.yaml",
    ".gitignore",
    ".dvcignore",
    "pyproject.toml",
)
FOLDERS = ("stages", "src", "data/campaign")
REPRO_LOG = "repro.log"  # beside a baseline repository: its first `dvc repro`'s output


def run(cmd: list[str], cwd: Path, env: dict[str, str], check: bool = True):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def stage_name(dvc_name: str) -> str:
    """A stage by its own name (DVC says `path/dvc.yaml:name` for a stage of a nested file)."""
    return dvc_name.rpartition(":")[2]


def stages_ran(output: str) -> set[str]:
    return {stage_name(name) for name in re.findall(r"Running stage '([^']+)'", output)}


def clean_env() -> dict[str, str]:
    """This environment without MLflow/DVC/source settings, with the venv's tools first."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "DVC_", "TRAVELTIDE_DB"))
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["TRAVELTIDE_LOG_LEVEL"] = "WARNING"
    return env


@dataclass
class PipelineRepo:
    path: Path
    env: dict[str, str]

    def run(self, *cmd: str, check: bool = True, env: dict[str, str] | None = None):
        return run(list(cmd), self.path, self.env if env is None else env, check=check)

    def changed_stages(self) -> set[str]:
        """Stages `dvc status` lists (none right after a `dvc repro`)."""
        return {stage_name(n) for n in json.loads(self.run("dvc", "status", "--json").stdout)}

    def restore_locks(self) -> None:
        """The committed dvc.lock back (a failed or changed run rewrote it)."""
        self.run("git", "checkout", "--", *LOCK_FILES)

    def locks(self) -> list[dict]:
        return [yaml.safe_load((self.path / f).read_text()) for f in LOCK_FILES]

    def params(self) -> dict:
        return yaml.safe_load((self.path / "params.yaml").read_text())

    def write_params(self, params: dict) -> None:
        (self.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def output_hashes(self, exclude: tuple[str, ...] = ()) -> dict[str, str]:
        """sha256 of every file under data/ and metrics/ (DVC's .gitignore files aside)."""
        hashes = {}
        for folder in ("data", "metrics"):
            for file in sorted((self.path / folder).rglob("*")):
                rel = file.relative_to(self.path).as_posix()
                if rel in FILES + LOCK_FILES or file.name == ".gitignore":
                    continue
                if file.is_file() and not rel.startswith(exclude):
                    hashes[rel] = hashlib.sha256(file.read_bytes()).hexdigest()
        return hashes


def build_repo(base: Path, scale: float) -> PipelineRepo:
    """Copy the project into `base`/repo, set `generate.scale`, commit, and run `dvc repro`."""
    path = base / "repo"
    path.mkdir(parents=True)
    for item in FILES:
        (path / item).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / item, path / item)
    for folder in FOLDERS:
        shutil.copytree(
            ROOT / folder, path / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
    repo = PipelineRepo(path, clean_env())
    params = repo.params()
    params["generate"]["scale"] = scale
    repo.write_params(params)
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "config", "user.email", "ci@example.com"],
        ["git", "config", "user.name", "ci"],
        ["dvc", "init", "-q"],
        ["dvc", "config", "core.analytics", "false"],
    ):
        repo.run(*cmd)
    shutil.copytree(ROOT / ".dvc" / "plots", path / ".dvc" / "plots")  # dvc plots templates
    repo.run("git", "add", "-A")
    repo.run("git", "commit", "-q", "-m", "pipeline")
    return repo


def copy_repo(template: PipelineRepo, base: Path) -> PipelineRepo:
    """A copy of a built repository (git, DVC cache, outputs, timings) at `base`/repo, without
    its MLflow store, whose experiment records the template's absolute artifact path: the
    copy's next `track` run creates a store of its own, as on a fresh clone after `dvc pull`.
    Modification times are kept, so the copy's `dvc status` is what the template's was."""
    path = base / "repo"
    skip = shutil.ignore_patterns("mlflow.db", "mlflow.db-*", "mlartifacts", ".mlflow.lock")
    shutil.copytree(template.path, path, symlinks=True, ignore=skip)
    return PipelineRepo(path, dict(template.env))


def build_baseline(base: Path, scale: float) -> PipelineRepo:
    """`build_repo`, then `dvc repro` and a commit of its dvc.lock: the state tests go back to.
    What the repro printed is kept beside the repository (`first_repro_output`)."""
    repo = build_repo(base, scale)
    first = repo.run("dvc", "repro")
    (base / REPRO_LOG).write_text(first.stdout + first.stderr)
    repo.run("git", "add", "-A")
    repo.run("git", "commit", "-q", "-m", "baseline")
    return repo


def first_repro_output(baseline: PipelineRepo) -> str:
    """What the first `dvc repro` of a `build_baseline` repository printed."""
    return (baseline.path.parent / REPRO_LOG).read_text()


def mlflow_runs(repo: Path) -> list:
    """The top-level MLflow runs of the repository's own store (`mlflow.db` at its root)."""
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlflow.db'}")
    exp = mlflow.get_experiment_by_name("traveltide-segmentation")
    if exp is None:
        return []
    runs = mlflow.search_runs([exp.experiment_id], output_format="list")
    return [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
