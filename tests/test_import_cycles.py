"""No import cycles inside ``helpers`` or ``localcloud``, and ``localcloud`` never imports ``helpers``.

A cycle works only while every import in it happens in the right order, often because one
of them sits inside a function; the next refactoring that moves it to the top breaks the
package at import time. So every import counts here, wherever it is written (module level,
function, class body, ``try``), except those under ``if TYPE_CHECKING:``, which never run.

Edges go to the module an import names, not to the packages above it: ``from . import x``
in package ``p`` is an edge to ``p.x`` (when ``x`` is a submodule), not to ``p``, since a
submodule that imports a sibling through its package would otherwise close a "cycle" with
every package ``__init__`` that re-exports from its submodules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("helpers", "localcloud")

Graph = Mapping[str, set[str]]


def modules(package: str) -> dict[str, Path]:
    """Every module of ``package`` (in this checkout) by dotted name."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "__pycache__" in parts:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, however deeply nested, skipping ``if TYPE_CHECKING:`` bodies."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:  # the else branch does run
                yield from _imports(ast.Module(body=[child], type_ignores=[]))
        else:
            yield from _imports(node)


def _base(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` reads from."""
    if not node.level:
        return node.module or ""
    package = module if is_package else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imported(module: str, path: Path, known: Iterable[str]) -> set[str]:
    """The modules among ``known`` that ``module`` (at ``path``) imports."""
    known = set(known)
    targets: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = _base(module, is_package, node)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            targets.add(submodule if submodule in known else base)
    return {target for target in targets if target in known and target != module}


def import_graph(package_modules: Mapping[str, Path]) -> dict[str, set[str]]:
    return {name: imported(name, path, package_modules) for name, path in package_modules.items()}


def cycles(graph: Graph) -> list[list[str]]:
    """One cycle (first module repeated at the end) for each strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm; the packages are small enough to recurse
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(_a_cycle_through(graph, group) for group in groups)


def _a_cycle_through(graph: Graph, group: set[str]) -> list[str]:
    """A shortest cycle from the group's first module back to it, staying inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph.get(node, ()) & group):
                if target == start:
                    return paths[node] + [start]
                if target not in paths:
                    paths[target] = paths[node] + [target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"{sorted(group)} is not strongly connected")


def _described(found: list[list[str]]) -> str:
    return "; ".join(" -> ".join(cycle) for cycle in found)


def test_the_detector_finds_a_planted_cycle_and_nothing_else():
    graph = {"p": {"p.a"}, "p.a": {"p.b"}, "p.b": {"p.c", "p.d"}, "p.c": {"p.a"}, "p.d": set(),
             "q": {"q"}, "r": {"p.d"}}
    assert cycles(graph) == [["p.a", "p.b", "p.c", "p.a"], ["q", "q"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_counts_imports_in_functions_but_not_under_type_checking(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from . import a\n")
    (package / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import c\n"
                                  "def f():\n    from .b import name\n")
    (package / "b.py").write_text("import pkg.a\nfrom pkg import c\n")
    (package / "c.py").write_text("from . import name_in_init\nfrom .. import elsewhere\n")
    found = {"pkg": package / "__init__.py", **{f"pkg.{m}": package / f"{m}.py" for m in "abc"}}
    assert import_graph(found) == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a", "pkg.c"},
                                   "pkg.c": {"pkg"}}
    # a <-> b and pkg -> a -> b -> c -> pkg make one group, reported by one cycle through it
    assert cycles(import_graph(found)) == [["pkg", "pkg.a", "pkg.b", "pkg.c", "pkg"]]


def test_localcloud_has_no_import_cycle():
    assert not (found := cycles(import_graph(modules("localcloud")))), _described(found)


def test_helpers_has_no_import_cycle():
    assert not (found := cycles(import_graph(modules("helpers")))), _described(found)


def test_localcloud_imports_nothing_from_helpers():
    every = {**modules("localcloud"), **modules("helpers")}
    reaching = {name: sorted(target for target in imported(name, path, every) if target.split(".")[0] == "helpers")
                for name, path in every.items() if name.split(".")[0] == "localcloud"}
    assert {name: targets for name, targets in reaching.items() if targets} == {}
    # helpers absent from this checkout would make the check above vacuous
    assert "helpers" in every and len(modules("localcloud")) > 20
