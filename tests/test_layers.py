"""The program's layers import one way: components -> distributions -> library -> inputs.

Reads every module's imports (function-local ones included) with `ast`, so a hidden or deferred
import counts like any other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("inputs", "library", "distributions", "components")
"""Bottom to top: a module may import its own layer and the layers below it only."""


def _modules() -> dict[str, Path]:
    found = {"__main__": ROOT / "__main__.py"}
    for layer in LAYERS:
        for path in sorted((ROOT / layer).glob("*.py")):
            name = layer if path.stem == "__init__" else f"{layer}.{path.stem}"
            found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """The project modules `path` imports, resolved to module names."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name:
                out.add(name)
    return out


GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


def _rank(module: str) -> int:
    return len(LAYERS) if module == "__main__" else LAYERS.index(module.partition(".")[0])


def test_every_layer_has_modules():
    for layer in LAYERS:
        assert any(m.partition(".")[0] == layer and m != layer for m in MODULES), layer


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_only(module):
    upward = sorted(m for m in GRAPH[module] if _rank(m) > _rank(module))
    assert not upward, f"{module} imports a higher layer: {upward}"


def test_no_import_cycles():
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for dep in sorted(GRAPH[node]):
            if state.get(dep) == 1:
                cycle = path[path.index(dep) :] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        path.pop()
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_importlib(module):
    """A reader follows which module runs by reading: no modules chosen by strings."""
    assert "importlib" not in GRAPH[module] and "import importlib" not in MODULES[module].read_text()


def _component_classes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(ast.unparse(base) in ("pulumi.ComponentResource", "BackingServices") for base in node.bases)
    ]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith(("inputs", "library"))))
def test_lower_layers_hold_no_components(module):
    assert not _component_classes(MODULES[module]), f"{module} defines a ComponentResource"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("components.")))
def test_each_component_module_defines_a_component(module):
    assert _component_classes(MODULES[module]), f"{module} is in components/ but defines no ComponentResource"


MAX_LINES = 300


@pytest.mark.parametrize("module", sorted(MODULES))
def test_files_stay_small(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{MODULES[module].relative_to(ROOT)} has {lines} lines (at most {MAX_LINES})"


def test_the_platform_reads_no_component_constants():
    """The Platform gathers what components need through their `needs`; it imports only their classes."""
    tree = ast.parse(MODULES["components.platform"].read_text())
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("components."):
            for alias in node.names:
                assert alias.name[0].isupper() and not alias.name.isupper(), f"{node.module}.{alias.name}"
