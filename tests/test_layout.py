"""The package layout of DESIGN section 2: every module imports, data flows one way.

spec -> models -> graph -> engines -> measure (+probes) -> results -> store -> execute
-> studies -> report / predict -> cli. A room may import rooms before it, never after: engines
never import measure, studies or execute; timing lives only in measure; a study composes specs
and reads results. Imports inside functions and under TYPE_CHECKING count too.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import cnnbench

PACKAGE = Path(cnnbench.__file__).parent

# Rooms that a room must never import (the rooms downstream of it).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "spec": ("models", "graph", "engines", "measure", "results", "store", "execute", "cli"),
    "scenario": ("models", "graph", "engines", "measure", "results", "store", "execute", "cli"),
    "errors": ("models", "graph", "engines", "measure", "results", "store", "execute", "cli"),
    "_fs": ("models", "graph", "engines", "measure", "results", "store", "execute", "cli"),
    "system": ("engines", "measure", "results", "store", "execute", "studies", "report", "cli"),
    "models": ("graph", "engines", "measure", "results", "store", "execute", "report", "cli"),
    "graph": ("engines", "measure", "results", "store", "execute", "studies", "report", "cli"),
    "engines": ("measure", "results", "store", "execute", "studies", "predict", "report", "cli"),
    "measure": ("store", "execute", "studies", "predict", "report", "cli"),
    "results": ("measure", "store", "execute", "studies", "predict", "report", "cli"),
    "store": ("measure", "execute", "studies", "predict", "report", "cli"),
    "execute": ("studies", "predict", "report", "cli"),
    "studies": ("predict", "report", "cli"),
    "report": ("execute", "cli"),
    "predict": ("cli",),
}
TIMING_ROOMS = ("measure", "system")  # the only rooms that read a clock to measure


def _modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(cnnbench.__path__, "cnnbench."):
        if info.name != "cnnbench.__main__":  # runs the command line on import
            names.append(info.name)
    return names


def _room(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imported(tree: ast.AST) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in out if m.startswith("cnnbench.")}


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("name", _modules())
def test_every_module_imports(name: str) -> None:
    importlib.import_module(name)


def test_data_flows_one_way() -> None:
    broken = []
    for path in _sources():
        room = _room(path)
        for target in _imported(ast.parse(path.read_text())):
            target_room = target.split(".")[1]
            if target_room in FORBIDDEN.get(room, ()):
                broken.append(f"{path.relative_to(PACKAGE)} imports {target}")
    assert not broken, "\n".join(broken)


def test_engines_never_time_anything() -> None:
    clocks = ("perf_counter", "monotonic", "time.time(", "process_time")
    found = [
        f"{path.relative_to(PACKAGE)}: {clock}"
        for path in sorted((PACKAGE / "engines").rglob("*.py"))
        for clock in clocks
        if clock in path.read_text()
    ]
    assert not found, found


def test_the_rules_catch_a_back_reference(tmp_path: Path) -> None:
    # The checker itself can fail: an engine module that imports measure/ is caught.
    tree = ast.parse("def f():\n    from cnnbench.measure.timing import time_calls\n")
    assert "cnnbench.measure.timing" in _imported(tree)
    assert "measure" in FORBIDDEN["engines"]
