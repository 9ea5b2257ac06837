"""The house's rules, checked on the source: layers import only downwards, no import circles, small modules.

The package's subpackages form one flow (docs/architecture.md draws it):
util -> device -> array -> solvers -> analysis -> network -> programming -> sweeps -> experiments -> cli.
A module may import from its own subpackage and from any subpackage to its left, never to its right,
at module level or inside a function. ``xbar/__init__.py`` (the lazy public API) is exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "xbar"
LAYERS = ("util", "device", "array", "solvers", "analysis", "network", "programming", "sweeps", "experiments", "cli")
MAX_LINES = 420


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path, name: str, top_level_only: bool = False) -> set[str]:
    """Every xbar module ``path`` imports (resolved to a module, not a name inside it)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "xbar")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                stem = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(stem + ([base] if base else []))
            if base.split(".")[0] != "xbar":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in MODULES else base)
    return out


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_belongs_to_a_layer():
    loose = [m for m in MODULES if m != "xbar" and _layer(m) is None]
    assert not loose, f"modules outside the layered subpackages {LAYERS}: {loose}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "xbar"))
def test_imports_point_down_the_flow(module):
    own = _layer(module)
    upward = sorted(m for m in _imports(MODULES[module], module)
                    if m != "xbar" and (_layer(m) or 0) > own)
    assert not upward, f"{module} ({LAYERS[own]}) imports from a layer above it: {upward}"


def test_no_import_circles():
    graph = {m: {i for i in _imports(p, m, top_level_only=True) if i in MODULES and i != m}
             for m, p in MODULES.items()}
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join(trail[trail.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines (> {MAX_LINES}): probably two ideas, split it"
