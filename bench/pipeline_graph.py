"""The pipeline's stages as the bench sees them: read from the clone's dvc.yaml files, and from
`dvc repro`'s output (which stages ran)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

# the pipeline's dvc.yaml files
DVC_FILES = ("dvc.yaml",)


def stages_ran(output: str) -> set[str]:
    """Stage names from `dvc repro`'s output; a nested file's `path/dvc.yaml:name` is `name`."""
    names = re.findall(r"Running stage '([^']+)'", output)
    return {name.rpartition(":")[2] for name in names}


def stages(repo: Path) -> dict[str, dict[str, Any]]:
    """Every stage of the pipeline's dvc.yaml files by its own name: deps and outputs,
    `${paths.*}` resolved (the nested files write their paths out), and always_changed."""
    paths: dict[str, Any] = {}
    specs = [yaml.safe_load((repo / f).read_text()) for f in DVC_FILES]
    for block in specs[0].get("vars", []):
        if isinstance(block, dict):
            paths.update(block.get("paths", {}))

    def resolve(item: Any) -> str:
        text = next(iter(item)) if isinstance(item, dict) else str(item)
        return re.sub(r"\$\{paths\.(\w+)\}", lambda m: str(paths[m.group(1)]), text)

    found = {}
    for spec in reversed(specs):  # nested files first
        for name, st in spec["stages"].items():
            found[name] = {
                "deps": [resolve(d) for d in st.get("deps", [])],
                "outs": [resolve(o) for k in ("outs", "metrics", "plots") for o in st.get(k, [])],
                "always_changed": bool(st.get("always_changed")),
            }
    return found


def dag(repo: Path) -> dict[str, set[str]]:
    """stage -> the stages it depends on directly, from the dvc.yaml files' deps and outs."""
    found = stages(repo)
    return {
        name: {
            other
            for other, o in found.items()
            if other != name
            and any(
                d == out or d.startswith(out.rstrip("/") + "/")
                for d in st["deps"]
                for out in o["outs"]
            )
        }
        for name, st in found.items()
    }


def downstream(repo: Path, stage: str) -> set[str]:
    """`stage` and every stage that depends on it, directly or not."""
    graph = dag(repo)
    found, changed = {stage}, True
    while changed:
        changed = False
        for name, parents in graph.items():
            if name not in found and parents & found:
                found.add(name)
                changed = True
    return found


def always_changed(repo: Path) -> set[str]:
    return {name for name, st in stages(repo).items() if st["always_changed"]}
