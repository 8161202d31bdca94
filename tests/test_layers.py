"""The packages form layers without cycles: core <- reductions <- facade (every import edge, ast-parsed).

* core: problems, tasks, protocols (with the induced-protocol engine), adapters, quantize, information,
  bounds, models, checkpoint loading, training, budgets, plotting -- every ``ccbounds`` module that is not
  facade;
* reductions: the ``reductions`` package (gadgets, registry, one module per lemma);
* facade: ``ccbounds.reduction`` (``ccbounds.reduce``), ``ccbounds.auditing``, ``ccbounds.testing``,
  ``ccbounds.experiments``, the CLI.

An edge may only point to the same layer or below, including imports inside functions (lazy ones).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FACADE = ("ccbounds.reduction", "ccbounds.auditing", "ccbounds.testing", "ccbounds.experiments", "ccbounds.cli",
          "ccbounds.__main__")
RANK = {"core": 0, "reductions": 1, "facade": 2}


def layer(module: str) -> str:
    if module == "reductions" or module.startswith("reductions."):
        return "reductions"
    if any(module == f or module.startswith(f + ".") for f in FACADE):
        return "facade"
    return "core"


def modules() -> dict[str, Path]:
    out = {}
    for pkg in ("ccbounds", "reductions"):
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = f
    return out


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every ccbounds / reductions module ``path`` imports, at any depth of the syntax tree."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in known)
    return {m for m in out if m.split(".")[0] in ("ccbounds", "reductions")}


def edges() -> list[tuple[str, str]]:
    known = modules()
    return [(name, m) for name, path in known.items() for m in sorted(imported(name, path, known))]


def test_the_import_parser_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    f = tmp_path / "mod.py"
    f.write_text("def g():\n    from reductions.registry import find_reduction\n    import ccbounds.cli\n"
                 "from . import sibling\n")
    got = imported("ccbounds.pkg.mod", f, {"ccbounds.pkg.sibling": f})
    assert got == {"reductions.registry", "ccbounds.cli", "ccbounds.pkg", "ccbounds.pkg.sibling"}
    assert [layer(m) for m in ("reductions.gadgets", "ccbounds.auditing.runner", "ccbounds.protocols.induced")] \
        == ["reductions", "facade", "core"]


def test_every_import_edge_points_down_or_sideways() -> None:
    all_edges = edges()
    assert len(all_edges) > 200  # the parser found the package's imports
    bad = [f"{a} ({layer(a)}) -> {b} ({layer(b)})" for a, b in all_edges if RANK[layer(a)] < RANK[layer(b)]]
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_the_core_loads_no_reductions_module() -> None:
    code = ("import ccbounds.problems, ccbounds.bounds, ccbounds.protocols.induced, ccbounds.adapters, sys\n"
            "bad = [m for m in sys.modules if m.startswith('reductions')]\nassert not bad, bad\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
    assert r.returncode == 0, r.stderr
