"""The pipeline state a tracked run belongs to: a digest of dvc.lock, the same wherever taken.

The track stage tags its MLflow run `dvc_lock_md5` with `pipeline_digest` of the dvc.lock it
sees, and writes `RunFile` (the MLflow experiment and that digest: no run id, so the file is
the same on every machine and git stays clean). `traveltide register` takes the digest of the
current dvc.lock and finds the run by tag: the model of the workspace's own state.

The digest covers every stage's entry but track's own: while track runs, dvc.lock still holds
its previous entry, which DVC rewrites afterwards. Entries are hashed as sorted JSON, so the
lock file's formatting does not matter. Standard library and PyYAML only: `register` refuses a
workspace without a state before it imports MLflow.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from traveltide.errors import DataError, first_line

LOCK_TAG = "dvc_lock_md5"  # the run tag holding `pipeline_digest`
EXP_NAME_TAG = "dvc_exp_name"  # the run tag (and run name) holding the DVC experiment's name
TRACK_STAGE = "track"
WORKSPACE = "workspace"  # the name of a run made by `dvc repro`, outside any experiment
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def pipeline_digest(lock: Path) -> str:
    """md5 of every stage entry of `lock` (dvc.lock) but track's, as sorted JSON."""
    try:
        data = yaml.load(lock.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}
    except OSError as exc:
        raise DataError(f"{lock}: cannot read ({exc.strerror}); run `dvc repro`") from exc
    except yaml.YAMLError as exc:
        raise DataError(f"{lock}: not valid YAML: {first_line(exc)}") from exc
    stages = data.get("stages", {}) if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        raise DataError(f"{lock}: not a dvc.lock (no mapping of stages)")
    upstream = {name: entry for name, entry in stages.items() if name != TRACK_STAGE}
    text = json.dumps(upstream, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.md5(text.encode()).hexdigest()


def workspace_digest(root: Path) -> str:
    """`pipeline_digest` of `root`/dvc.lock, or "missing" (a stage run by hand, a test)."""
    lock = root / "dvc.lock"
    return pipeline_digest(lock) if lock.exists() else "missing"


def exp_name(env: Mapping[str, str]) -> str:
    """The DVC experiment this process runs in (DVC sets DVC_EXP_NAME), else `workspace`."""
    return env.get("DVC_EXP_NAME") or WORKSPACE


@dataclass(frozen=True)
class RunFile:
    """The track stage's output: which MLflow experiment holds the run of which state."""

    experiment: str
    dvc_lock_md5: str
