"""No import cycles among the modules of ``ccbounds`` and ``reductions`` (every module parsed with ``ast``).

Two graphs, both over the modules of the two packages (a package is the module of its ``__init__.py``):

* **The loading graph** -- what Python runs when a module is imported. Only statements executed at import
  time count: the module's top level, including class bodies and ``try`` / ``if`` blocks, but not function
  bodies (lazy imports) and not ``if TYPE_CHECKING:`` blocks. ``import a.b.c`` and ``from a.b.c import n``
  are edges to ``a``, ``a.b`` and ``a.b.c`` (Python runs every package ``__init__`` on the way), except the
  packages that contain the importing module (they are already being imported when it runs, so they are not
  its dependencies). In ``from P import n``, ``n`` is an edge to ``P.n`` when that is a submodule, and
  otherwise the name is read from ``P`` itself (an edge to ``P``, even when ``P`` contains the importer: a
  re-exported name of an ``__init__`` that is still running may not be there yet). A cycle here is a
  module that can see a partly initialised module, so every strongly connected component has size 1.
* **The use graph** -- whose code a module uses. Every import statement counts, lazy ones included
  (``TYPE_CHECKING`` blocks still do not), and each imported name is an edge to the module that defines it:
  a name a package ``__init__`` re-exports (``from ccbounds.bounds import one_way``) is followed to its
  submodule (``ccbounds.bounds.oneway``), and the packages passed on the way are not edges. A lazy import
  defers a cycle of this graph to run time without removing it, so here too every component has size 1,
  except the cycles in :data:`KNOWN_USE_CYCLES`, each with the reason it stays (the test fails if one of
  them disappears, so the list cannot go stale).

The use graph is also read a level up, between the packages and top-level modules of ``ccbounds`` (``bounds``,
``problems``, ``models``, ...): its cycles there are the ones of :data:`KNOWN_PACKAGE_CYCLES`, no more, and
the tasks do not use the models.

The layers of the packages (core <- reductions <- facade) are checked by ``tests/test_layers.py``.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ccbounds", "reductions")

#: use-graph cycles that stay, as frozensets of module names, each with why
KNOWN_USE_CYCLES: dict[frozenset[str], str] = {
    frozenset({"ccbounds.problems.base", "ccbounds.problems.custom"}):
        "Problem.from_matrix / Problem.from_function, factories on the base class, build its subclasses "
        "MatrixProblem / FunctionProblem (one package, one concept: problems given by a table)",
    frozenset({"ccbounds.architectures", "ccbounds.models.config", "ccbounds.models.hf"}):
        "the registry owns S and names each family's config class; RecurrentConfig.state_scalars and "
        "HFConfig.state_scalars, public conveniences on the configs, ask the registry for S",
}

#: cycles between packages (modules of the use graph grouped by their first two name parts), with why
KNOWN_PACKAGE_CYCLES: dict[frozenset[str], str] = {
    frozenset({"ccbounds._required_bits", "ccbounds.bounds", "ccbounds.information", "ccbounds.problems",
               "ccbounds.protocols"}):
        "a problem without a closed form gets its one-way bounds from bounds.oneway / bounds.oneway_dist "
        "(Problem.one_way_bound, MatrixProblem), the exact searches of bounds return protocol trees, and "
        "protocols.library builds the protocols of named problems; information.binary (Fano's term, read by "
        "problems and _required_bits) shares its package with protocol_information, which reads protocol "
        "trees. No module cycle: cutting these needs modules moved out of their packages (the renames item)",
    frozenset({"ccbounds.architectures", "ccbounds.models"}):
        "the registry names each family's config class (models.config, models.hf) and owns build and S; "
        "models.build builds through it and the configs' state_scalars read S from it",
}


def modules(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Module name -> file, for every ``.py`` file of ``packages`` under ``root``."""
    out = {}
    for pkg in packages:
        for f in sorted((root / pkg).rglob("*.py")):
            parts = list(f.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = f
    return out


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_statements(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement with whether it is lazy (inside a function), skipping ``if TYPE_CHECKING:`` bodies."""

    def visit(node: ast.AST, lazy: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, lazy
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                yield from visit(child, True)
            elif isinstance(child, ast.If) and _type_checking(child.test):
                for stmt in child.orelse:
                    yield from visit(ast.Module(body=[stmt], type_ignores=[]), lazy)
            else:
                yield from visit(child, lazy)

    yield from visit(tree, False)


def _source(name: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module name ``from ... import`` reads from."""
    if not node.level:
        return node.module or ""
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def loading_edges(name: str, path: Path, node: ast.Import | ast.ImportFrom, known: dict[str, Path]) -> set[str]:
    """The modules an import statement of module ``name`` runs (see the module docstring)."""
    parts = name.split(".")
    containing = {".".join(parts[:i]) for i in range(1, len(parts) + (path.name == "__init__.py"))}
    out: set[str] = set()

    def chain(module: str) -> None:
        p = module.split(".")
        out.update(".".join(p[:i]) for i in range(1, len(p) + 1) if ".".join(p[:i]) not in containing)

    if isinstance(node, ast.Import):
        for alias in node.names:
            chain(alias.name)
    else:
        source = _source(name, path, node)
        chain(source)
        for alias in node.names:
            if f"{source}.{alias.name}" in known:
                chain(f"{source}.{alias.name}")
            else:
                out.add(source)
    return {m for m in out if m in known and m != name}


def _reexports(known: dict[str, Path]) -> dict[tuple[str, str], tuple[str, str]]:
    """(package, name) -> (module, name) for every ``from M import name`` at the top of a package ``__init__``."""
    out = {}
    for name, path in known.items():
        if path.name == "__init__.py":
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(node, ast.ImportFrom):
                    for alias in node.names:
                        out[(name, alias.asname or alias.name)] = (_source(name, path, node), alias.name)
    return out


def use_edges(name: str, path: Path, node: ast.Import | ast.ImportFrom, known: dict[str, Path],
              reexports: dict[tuple[str, str], tuple[str, str]]) -> set[str]:
    """The modules whose code an import statement of module ``name`` uses (see the module docstring)."""
    if isinstance(node, ast.Import):
        out = {alias.name for alias in node.names}
    else:
        source, out = _source(name, path, node), set()
        for alias in node.names:
            module, attr = source, alias.name
            for _ in range(len(known)):  # follow re-exports to the defining module
                if f"{module}.{attr}" in known:
                    module = f"{module}.{attr}"
                    break
                if (module, attr) not in reexports:
                    break
                module, attr = reexports[(module, attr)]
            out.add(module)
    return {m for m in out if m in known and m != name}


@functools.cache
def import_graph(kind: str, root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> nx.DiGraph:
    """The ``"loading"`` or the ``"use"`` graph of the modules under ``root`` (see the module docstring; cached,
    so do not modify it)."""
    known = modules(root, packages)
    reexports = _reexports(known)
    g = nx.DiGraph()
    g.add_nodes_from(known)
    for name, path in known.items():
        for node, lazy in import_statements(ast.parse(path.read_text(encoding="utf-8"))):
            if kind == "loading" and not lazy:
                g.add_edges_from((name, m) for m in loading_edges(name, path, node, known))
            elif kind == "use":
                g.add_edges_from((name, m) for m in use_edges(name, path, node, known, reexports))
    return g


def cycles(g: nx.DiGraph) -> list[frozenset[str]]:
    """The strongly connected components of more than one module."""
    return sorted((frozenset(c) for c in nx.strongly_connected_components(g) if len(c) > 1), key=sorted)


def _describe(g: nx.DiGraph, c: frozenset[str]) -> str:
    return f"{len(c)} modules: " + "; ".join(f"{a} -> {b}" for a, b in sorted(g.subgraph(c).edges))


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def test_the_graphs_follow_the_documented_edge_rules(tmp_path: Path) -> None:
    _write(tmp_path, {
        "pkg/__init__.py": "from pkg.a import A\n",
        "pkg/a.py": "import pkg.sub.c\nA = 1\ndef f():\n    from pkg.b import g\n",
        "pkg/b.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import d\nelse:\n"
                     "    from . import d\nfrom pkg import A\ndef g():\n    pass\n"),
        "pkg/d.py": "class K:\n    from pkg.sub import c\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/c.py": "try:\n    from ..a import A\nexcept ImportError:\n    pass\n",
    })
    load = import_graph("loading", tmp_path, ("pkg",))
    # pkg.a's import runs the package pkg.sub on the way but not pkg (which contains pkg.a); pkg.b reads a
    # re-exported name from pkg; the else branch of TYPE_CHECKING runs, ``from . import d`` is the submodule;
    # class bodies and try blocks run at import; the lazy import in pkg.a.f does not count
    assert set(load.edges) == {("pkg", "pkg.a"), ("pkg.a", "pkg.sub"), ("pkg.a", "pkg.sub.c"), ("pkg.b", "pkg"),
                               ("pkg.b", "pkg.d"), ("pkg.d", "pkg.sub"), ("pkg.d", "pkg.sub.c"),
                               ("pkg.sub.c", "pkg.a")}
    assert cycles(load) == [frozenset({"pkg.a", "pkg.sub.c"})]
    use = import_graph("use", tmp_path, ("pkg",))
    # lazy imports count, re-exports resolve to their module (pkg.b -> pkg.a, not pkg), packages on the way do not
    assert set(use.edges) == {("pkg", "pkg.a"), ("pkg.a", "pkg.sub.c"), ("pkg.a", "pkg.b"), ("pkg.b", "pkg.a"),
                              ("pkg.b", "pkg.d"), ("pkg.d", "pkg.sub.c"), ("pkg.sub.c", "pkg.a")}
    assert cycles(use) == [frozenset({"pkg.a", "pkg.b", "pkg.d", "pkg.sub.c"})]


def test_no_module_is_loaded_through_a_cycle() -> None:
    g = import_graph("loading")
    assert g.number_of_nodes() > 150 and g.number_of_edges() > 300  # the parser found the package
    found = cycles(g)
    assert not found, "import cycles at module level:\n" + "\n".join(_describe(g, c) for c in found)
    assert {len(c) for c in nx.strongly_connected_components(g)} == {1}


def test_no_module_uses_another_through_a_cycle_but_the_known_ones() -> None:
    g = import_graph("use")
    assert g.number_of_edges() > 500
    found = cycles(g)
    new = [c for c in found if c not in KNOWN_USE_CYCLES]
    assert not new, "import cycles (lazy imports included):\n" + "\n".join(_describe(g, c) for c in new)
    gone = [sorted(c) for c in KNOWN_USE_CYCLES if c not in found]
    assert not gone, f"these known cycles are gone: remove them from KNOWN_USE_CYCLES: {gone}"


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_packages_form_no_cycles_but_the_known_ones_and_tasks_do_not_use_models() -> None:
    g = import_graph("use")
    packages = nx.DiGraph((_package(a), _package(b)) for a, b in g.edges if _package(a) != _package(b))
    found = cycles(packages)
    assert found == sorted(KNOWN_PACKAGE_CYCLES, key=sorted), "cycles between packages:\n" + "\n".join(
        f"{sorted(c)}: " + "; ".join(f"{a} -> {b}" for a, b in sorted(g.edges)
                                       if _package(a) in c and _package(b) in c and _package(a) != _package(b))
        for c in found)
    assert not [(a, b) for a, b in g.edges if _package(a) == "ccbounds.tasks" and _package(b) == "ccbounds.models"]
