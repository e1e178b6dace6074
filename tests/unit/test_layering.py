"""The import layering of docs/design.md ("Layers"): no forbidden import, no cycle, no
function-level import of a project module. The table is read from the document itself."""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DESIGN = REPO / "docs" / "design.md"
PRODUCT_PACKAGES = ("spanbench", "instrument", "extract", "stack", "queries")

Violation = tuple[str, ...]
"""("layer", importer, imported) | ("function-level", importer, imported)
| ("cycle", "a ↔ b ↔ …") | ("unlayered", module)."""

KNOWN_VIOLATIONS: frozenset[Violation] = frozenset({
    # None today. An entry here must name a violation that still exists (the test below fails
    # on a stale one) and say in a comment which issue removes it.
})


@dataclass(frozen=True)
class Layer:
    name: str
    modules: tuple[str, ...]
    """Module names; `pkg.*` is the package and everything in it."""
    may_import: frozenset[str]


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    function_level: bool
    type_checking: bool


# ── the table ─────────────────────────────────────────────────────────────────

def read_layers(markdown: str, heading: str = "## Layers") -> list[Layer]:
    """The first table after `heading`: | `layer` | `module`, … | `layer`, … or — |."""
    lines = markdown.splitlines()
    start = lines.index(heading)
    first = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
    table = itertools.takewhile(lambda line: line.startswith("|"), lines[first:])
    layers: list[Layer] = []
    for row in list(table)[2:]:
        name, modules, may_import = (cell.strip() for cell in row.strip("|").split("|"))
        layers.append(Layer(_ticked(name)[0], tuple(_ticked(modules)),
                            frozenset(_ticked(may_import))))
    return layers


def _ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def layer_of(module: str, layers: Iterable[Layer]) -> str | None:
    """The layer whose most specific name covers `module` (exact names before packages)."""
    best: tuple[int, str] | None = None
    for layer in layers:
        for pattern in layer.modules:
            if pattern.endswith(".*"):
                package = pattern[:-2]
                covers = module == package or module.startswith(package + ".")
                weight = len(package)
            else:
                covers, weight = module == pattern, len(pattern) + 1_000
            if covers and (best is None or weight > best[0]):
                best = (weight, layer.name)
    return None if best is None else best[1]


# ── the graph ─────────────────────────────────────────────────────────────────

def product_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name → file, for every .py file of the packages."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _owner(name: str, modules: Mapping[str, Path]) -> str | None:
    """The module a dotted name lives in: itself, or its nearest enclosing module."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(module: str, path: Path, modules: Mapping[str, Path],
               packages: Iterable[str]) -> list[Import]:
    """Every import of a project module in `module`, at any depth of the file."""
    roots = set(packages)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def targets(node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, *([node.module] if node.module else [])])
        return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names]

    def visit(nodes: Iterable[ast.AST], in_function: bool, type_checking: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                for name in targets(node):
                    owner = _owner(name, modules)
                    if name.split(".")[0] in roots and owner is not None:
                        found.append(Import(module, owner, in_function, type_checking))
            elif isinstance(node, ast.If) and _is_type_checking(node.test):
                visit(node.body, in_function, True)
                visit(node.orelse, in_function, type_checking)
            else:
                visit(ast.iter_child_nodes(node), in_function
                      or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda),
                      type_checking)

    visit([ast.parse(path.read_text(encoding="utf-8"), str(path))], False, False)
    return found


def cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for source, target in edges:
        if source != target:
            graph.setdefault(source, set()).add(target)
            graph.setdefault(target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                connect(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def violations(root: Path, packages: Iterable[str], layers: list[Layer]) -> set[Violation]:
    """Everything in the packages under `root` that breaks the layers' rules."""
    packages = tuple(packages)
    modules = product_modules(root, packages)
    allowed = {layer.name: layer.may_import | {layer.name} for layer in layers}
    found: set[Violation] = set()
    imports: list[Import] = []
    for module, path in modules.items():
        if layer_of(module, layers) is None:
            found.add(("unlayered", module))
        imports += imports_of(module, path, modules, packages)
    for edge in imports:
        source, target = layer_of(edge.importer, layers), layer_of(edge.imported, layers)
        if source is not None and target is not None and target not in allowed[source]:
            found.add(("layer", edge.importer, edge.imported))
        if edge.function_level:
            found.add(("function-level", edge.importer, edge.imported))
    runtime = [(e.importer, e.imported) for e in imports if not e.type_checking]
    found |= {("cycle", " ↔ ".join(component)) for component in cycles(runtime)}
    return found


# ── the project ───────────────────────────────────────────────────────────────

@pytest.fixture(scope="module")
def layers() -> list[Layer]:
    return read_layers(DESIGN.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def found(layers: list[Layer]) -> set[Violation]:
    return violations(REPO, PRODUCT_PACKAGES, layers)


def test_the_design_document_has_the_table(layers: list[Layer]) -> None:
    names = [layer.name for layer in layers]
    assert {"floor", "cli", "runner", "stack.engine", "extract.store"} <= set(names)
    assert len(names) == len(set(names)), "a layer is named twice in docs/design.md"
    unknown = {name for layer in layers for name in layer.may_import} - set(names)
    assert not unknown, f"docs/design.md names layers it does not define: {sorted(unknown)}"


def test_the_table_itself_has_no_cycle(layers: list[Layer]) -> None:
    edges = [(layer.name, other) for layer in layers for other in layer.may_import]
    assert cycles(edges) == []


def test_no_import_breaks_the_layers(found: set[Violation]) -> None:
    new = sorted(found - KNOWN_VIOLATIONS)
    assert not new, ("imports that break docs/design.md, Layers (fix the import, or change "
                     "the table there if the dependency is right):\n"
                     + "\n".join(map(repr, new)))


def test_every_known_violation_still_exists(found: set[Violation]) -> None:
    gone = sorted(KNOWN_VIOLATIONS - found)
    assert not gone, ("fixed: remove from KNOWN_VIOLATIONS (and from docs/design.md, Known "
                      "exceptions):\n" + "\n".join(map(repr, gone)))


# ── the checker ───────────────────────────────────────────────────────────────

FAKE_DESIGN = """\
## Layers

| layer | modules | may import |
|---|---|---|
| `base` | `app.base` | — |
| `parts` | `app.parts.*` | `base` |
| `top` | `app`, `app.top` | `base`, `parts` |

after the table
"""


def _write(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_checker_reports_each_kind_of_violation(tmp_path: Path) -> None:
    _write(tmp_path, {
        "app/__init__.py": "",
        "app/base.py": "from app.top import run\n",                      # forbidden + cycle
        "app/top.py": "import app.base\n\ndef run():\n    from app.parts import a\n",
        "app/parts/__init__.py": "",
        "app/parts/a.py": "from . import b\n",
        "app/parts/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                          "    from app.parts import a\n",                # type-only: no cycle
        "app/stray.py": "import os\n",                                   # in no layer
    })
    found = violations(tmp_path, ["app"], read_layers(FAKE_DESIGN))
    assert found == {
        ("layer", "app.base", "app.top"),
        ("cycle", "app.base ↔ app.top"),
        ("function-level", "app.top", "app.parts.a"),
        ("unlayered", "app.stray"),
    }


def test_a_clean_tree_has_no_violation(tmp_path: Path) -> None:
    _write(tmp_path, {
        "app/__init__.py": "",
        "app/base.py": "import json\n",
        "app/parts/__init__.py": "from app import base\n",
        "app/parts/a.py": "from app.base import json\nfrom .. import base\n",
        "app/top.py": "from app.parts import a\nfrom app.parts.a import json as j\n",
    })
    assert violations(tmp_path, ["app"], read_layers(FAKE_DESIGN)) == set()


def test_type_checking_imports_still_count_for_the_layers(tmp_path: Path) -> None:
    _write(tmp_path, {
        "app/__init__.py": "",
        "app/base.py": "import typing\nif typing.TYPE_CHECKING:\n    from app.parts import a\n",
        "app/parts/__init__.py": "",
        "app/parts/a.py": "",
    })
    assert violations(tmp_path, ["app"], read_layers(FAKE_DESIGN)) == {
        ("layer", "app.base", "app.parts.a")}


def test_the_else_of_type_checking_is_a_runtime_import(tmp_path: Path) -> None:
    _write(tmp_path, {
        "app/__init__.py": "",
        "app/base.py": "",
        "app/parts/__init__.py": "",
        "app/parts/a.py": "from app.parts import b\n",
        "app/parts/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    pass\n"
                          "else:\n    from app.parts import a\n",
    })
    assert violations(tmp_path, ["app"], read_layers(FAKE_DESIGN)) == {
        ("cycle", "app.parts.a ↔ app.parts.b")}
