"""Every stage lists as DVC deps the library modules its script runs, so editing one reruns it.

What a stage runs: every `traveltide` module its script imports (lazily too), then each
module's own top-level imports, and so on. Imports inside a library function are left out:
they are the code paths a stage may not take.

Every stage runs `config` (params) and `io` (how floats are written), so every stage lists
both: an edit there reruns the whole pipeline, as it may change every output. Only the
plumbing that shapes no output byte (`NO_OUTPUT`: error messages, logging, timing files) is
left out of the deps; the modules it imports are still followed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "src" / "traveltide"
NO_OUTPUT = {"errors", "stage", "timings"}
PIPELINES = (ROOT / "dvc.yaml",)


def module_file(name: str) -> Path:
    """`sources.extract` -> src/traveltide/sources/extract.py."""
    return LIBRARY / f"{name.replace('.', '/')}.py"


def imported(node: ast.AST) -> set[str]:
    """traveltide modules named by one import statement, dotted below the package
    (`from traveltide.segment import rules` and `from traveltide.segment.rules import x`
    both name `segment.rules`)."""
    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("traveltide"):
        below = node.module.partition(".")[2]
        if module_file(below).exists() if below else False:
            return {below}
        prefix = f"{below}." if below else ""
        return {f"{prefix}{a.name}" for a in node.names if module_file(prefix + a.name).exists()}
    if isinstance(node, ast.Import):
        return {a.name.partition(".")[2] for a in node.names if a.name.startswith("traveltide.")}
    return set()


def script_imports(path: Path) -> set[str]:
    return set().union(*map(imported, ast.walk(ast.parse(path.read_text()))))


def top_level_imports(path: Path) -> set[str]:
    return set().union(*map(imported, ast.parse(path.read_text()).body))


def modules_run(script: Path) -> set[str]:
    """The library modules `script` runs that can shape its outputs."""
    seen: set[str] = set()
    todo = list(script_imports(script))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(top_level_imports(module_file(name)))
    return seen - NO_OUTPUT


def stages() -> dict[str, dict]:
    found = {}
    for pipeline in PIPELINES:
        found.update(yaml.safe_load(pipeline.read_text())["stages"])
    return found


@pytest.mark.parametrize("name", sorted(stages()))
def test_stage_lists_the_library_modules_it_runs(name):
    deps = stages()[name]["deps"]
    listed = {
        d.removeprefix("src/traveltide/").removesuffix(".py").replace("/", ".")
        for d in deps
        if d.startswith("src/traveltide/")
    }
    run = modules_run(ROOT / "stages" / f"{name}.py")
    assert run, f"{name}: no traveltide module found: the check would pass on nothing"
    assert sorted(run - listed) == [], f"{name}: run but not in dvc.yaml's deps"
    assert sorted(listed - run) == [], f"{name}: in dvc.yaml's deps but never imported"
    assert f"stages/{name}.py" in deps
