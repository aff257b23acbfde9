"""The shape of the code base: what a newcomer relies on when reading it cold.

Modules of one job (at most ~400 lines), thin stage scripts (at most ~40 lines of code),
empty `__init__.py` files (every stage starts a fresh interpreter: packages import nothing
they need not), and no import cycle between the library's modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "src" / "traveltide"
MAX_MODULE_LINES = 400
MAX_STAGE_LINES = 40  # non-blank lines


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(LIBRARY.parent).with_suffix("").parts)


MODULES = {module_name(p): p for p in sorted(LIBRARY.rglob("*.py"))}


def top_level_imports(path: Path) -> set[str]:
    """The library modules a module imports at its top level (what runs on import)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("traveltide"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found & set(MODULES)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), or a self-import."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_library_has_no_import_cycle():
    graph = {name: top_level_imports(path) for name, path in MODULES.items()}
    assert sum(map(len, graph.values())) > 50, "the import graph looks empty: check the parser"
    assert cycles(graph) == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_does_one_job(name):
    path = MODULES[name]
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if path.name == "__init__.py":
        assert lines == 0, f"{name}: __init__.py files stay empty"
    else:
        assert lines <= MAX_MODULE_LINES, f"{name}: {lines} lines; split it by job"


@pytest.mark.parametrize("path", sorted((ROOT / "stages").glob("*.py")), ids=lambda p: p.stem)
def test_stage_script_is_thin(path):
    code = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(code) <= MAX_STAGE_LINES, (
        f"{path.name}: {len(code)} lines; move logic to the library"
    )
