"""Citations of the mathematics point at docs/theory.md, and scripts/cite_theory.py rewrites the old ones.

(a) every "theory §N" (or "§N.M", and the "§M" of a list "theory §N, §M") in the repository's *.py, *.md,
*.ipynb and *.json files names a heading of docs/theory.md; (b) no citation of the old spec ("SPEC §N",
"SPEC.md", "SPEC's") is left; (c) the conversion script keeps meaning, keeps identifiers, keeps notebooks valid
JSON, and is idempotent.
"""

from __future__ import annotations

import doctest
import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory.md"
SCRIPT = ROOT / "scripts" / "cite_theory.py"
#: files that mention the old spec on purpose
EXEMPT = {"scripts/cite_theory.py", "tests/test_theory_refs.py"}
SUFFIXES = (".py", ".md", ".ipynb", ".json")
SKIP_DIRS = {"__pycache__", "node_modules", "build", "dist"}

#: the section titles code cites by number; renumbering them breaks every "theory §N"
TITLES = {
    1: "Models of communication and conventions",
    2: "The problems",
    3: "Matrix lower bounds",
    4: "Reductions: from sequence models to one-way protocols",
    5: "Gadgets and token layouts",
    6: "Auditing a trained model: what the measurements prove",
    7: "Constructions",
    8: "Exact search and its certificates",
    9: "Quantization and precision",
    10: "Randomized lower bounds of a matrix",
    11: "Information complexity",
}

SEC = r"(?:§|\\u00a7)"
CITE = re.compile(rf"\btheory[ \t]?{SEC}[ \t]?(\d+(?:\.\d+)?)((?:[ \t]*(?:,|and|&)[ \t]*{SEC}[ \t]?\d+(?:\.\d+)?)*)")
LISTED = re.compile(rf"{SEC}[ \t]?(\d+(?:\.\d+)?)")
OLD = re.compile(rf"\bSPEC(?:\.md\b|[ \t]?{SEC}|['’]s\b)")


def _files() -> list[Path]:
    out = []
    for p in ROOT.rglob("*"):
        rel = p.relative_to(ROOT)
        if any(part.startswith(".") or part in SKIP_DIRS or part.endswith(".egg-info") for part in rel.parts[:-1]):
            continue
        if p.is_file() and p.suffix in SUFFIXES and rel.as_posix() not in EXEMPT:
            out.append(p)
    return sorted(out)


def _headings() -> set[str]:
    text = THEORY.read_text(encoding="utf-8")
    sections = set(re.findall(r"^## (\d+)\. ", text, re.MULTILINE))
    return sections | set(re.findall(r"^### (\d+\.\d+) ", text, re.MULTILINE))


def _load_script():
    spec = importlib.util.spec_from_file_location("cite_theory", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_sections_are_numbered_as_cited():
    found = re.findall(r"^## (\d+)\. (.+)$", THEORY.read_text(encoding="utf-8"), re.MULTILINE)
    assert [(int(n), t.strip()) for n, t in found] == list(TITLES.items())


def test_every_theory_citation_names_a_section():
    heads = _headings()
    bad = []
    for p in _files():
        text = p.read_text(encoding="utf-8", errors="replace")
        for m in CITE.finditer(text):
            for sec in [m.group(1)] + LISTED.findall(m.group(2)):
                if sec not in heads:
                    bad.append(f"{p.relative_to(ROOT)}: theory §{sec}")
    assert not bad, "citations of sections docs/theory.md does not have:\n" + "\n".join(bad)


def test_no_citation_of_the_old_spec_remains():
    left = []
    for p in _files():
        for k, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OLD.search(line):
                left.append(f"{p.relative_to(ROOT)}:{k}: {line.strip()[:90]}")
    assert not left, ("run `python scripts/cite_theory.py` to point these at docs/theory.md:\n"
                      + "\n".join(left[:40]) + (f"\n... and {len(left) - 40} more" if len(left) > 40 else ""))


@pytest.mark.slow
def test_shipped_sweep_results_cite_the_theory_not_the_old_spec():
    """The audit text stored in the shipped Parquet rows is user-facing too (theory §6)."""
    pq = pytest.importorskip("pyarrow.parquet")
    files = sorted((ROOT / "ccbounds" / "data" / "sweeps").rglob("*.parquet"))
    assert files
    left = [f"{f.relative_to(ROOT)}: {c}" for f in files for c, col in pq.read_table(f).to_pydict().items()
            if any(isinstance(v, str) and OLD.search(v) for v in col)]
    assert not left, "regenerate these sweep results with today's code:\n" + "\n".join(left[:20])


def test_script_doctests():
    mod = _load_script()
    result = doctest.testmod(mod)
    assert result.attempted >= 3 and result.failed == 0


@pytest.mark.parametrize("text, path, expected", [
    ("Lemma T (SPEC §4).", "reductions/attention.py", "Lemma T (theory §4)."),
    ("(SPEC §4, §6) and SPEC.md §2", "a.md", "(theory §4, §6) and theory §2"),
    ("SPEC §3 (2^n distinct rows)", "ccbounds/problems/bits.py", "theory §3 (2^n distinct rows)"),
    ("by SAT (SPEC §3).", "ccbounds/bounds/exact.py", "by SAT (theory §8)."),
    ("found by `exact_D` (SPEC §3)", "notebooks/01.ipynb", "found by `exact_D` (theory §8)"),
    ("fixed point (SPEC §6).", "ccbounds/quantize/fixed.py", "fixed point (theory §9)."),
    ("the certificate (SPEC §6).", "ccbounds/information/fano.py", "the certificate (theory §6)."),
    ("See SPEC.md for the mathematics", "ccbounds/__init__.py", "See docs/theory.md for the mathematics"),
    ("the bound is SPEC's D", "ccbounds/testing.py", "the bound is the theory's D"),
    ("the SPEC bound", "README.md", "the theory's bound"),
    ("depth D (SPEC uses D = 2).", "x.py", "depth D (docs/theory.md uses D = 2)."),
    ("SPEC §5's default layout", "README.md", "theory §5's default layout"),
    ("theory §4 already", "x.md", "theory §4 already"),
])
def test_prose_rules(text, path, expected):
    assert _load_script().rewrite_prose(text, path) == expected


def test_script_rewrites_a_tree_in_place_and_is_idempotent(tmp_path):
    mod = _load_script()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text(
        'SPEC = {"n": 4}  # the SPEC §5 layout\n'
        'def f(spec=SPEC):\n    """Lemma R (SPEC §4)."""\n    return f"{spec} SPEC §2"\n', encoding="utf-8")
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["Lemma T (SPEC §4)\n", "and SPEC §7."]},
                    {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": ["SPEC = 1  # SPEC §1\n", 'print("SPEC §2", SPEC)']}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "n.ipynb").write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (tmp_path / "r.json").write_text('{"lemma": "Lemma R (SPEC \\u00a74)"}\n', encoding="utf-8")
    (tmp_path / "README.md").write_text("see SPEC.md; D (SPEC §1).\n", encoding="utf-8")

    assert mod.main([str(tmp_path)]) == 0
    py = (tmp_path / "pkg" / "m.py").read_text(encoding="utf-8")
    assert py == ('SPEC = {"n": 4}  # the theory §5 layout\n'
                  'def f(spec=SPEC):\n    """Lemma R (theory §4)."""\n    return f"{spec} theory §2"\n')
    cells = json.loads((tmp_path / "n.ipynb").read_text(encoding="utf-8"))["cells"]
    assert cells[0]["source"] == ["Lemma T (theory §4)\n", "and theory §7."]
    assert cells[1]["source"] == ["SPEC = 1  # theory §1\n", 'print("theory §2", SPEC)']
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8")) == {"lemma": "Lemma R (theory §4)"}
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "see docs/theory.md; D (theory §1).\n"

    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert mod.main([str(tmp_path), "--check"]) == 0
    assert mod.main([str(tmp_path)]) == 0
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_check_mode_reports_without_writing(tmp_path):
    mod = _load_script()
    (tmp_path / "a.md").write_text("(SPEC §3)\n", encoding="utf-8")
    assert mod.main([str(tmp_path), "--check"]) == 1
    assert (tmp_path / "a.md").read_text(encoding="utf-8") == "(SPEC §3)\n"
