"""Point every citation of the old mathematical spec at the repository's own ``docs/theory.md``.

Rewrites, in the ``*.py``, ``*.md``, ``*.ipynb`` and ``*.json`` files of the repository:

* ``SPEC §N``, ``SPEC.md §N``, ``SPEC §N.M`` and lists such as ``SPEC §4, §6`` to ``theory §N`` (``theory §4, §6``);
* ``see SPEC.md`` to ``see docs/theory.md``, and any other ``SPEC.md`` to ``docs/theory.md``;
* ``SPEC`` used as a name of the document (``SPEC's``, ``the SPEC bound``, ``SPEC uses``, a table header) to
  ``theory`` / ``the theory's`` / ``docs/theory.md``.

Section numbers are kept (docs/theory.md numbers §1-§7 as the spec did) except where the cited mathematics
moved to a new section: a §3 citation about the exact search for D (in the exact-search modules, or on a line
that names ``exact_D``, the SAT solver or an UNSAT proof for D) becomes §8, and a §6 citation in the
quantization modules becomes §9.

Only prose is touched: in Python files (and notebook code cells) only string literals and comments, so an
identifier such as ``SPEC = {...}`` in a test stays as it is; notebooks are rewritten cell by cell and written
back in nbformat's layout; ``*.json`` data files only get the citation rules. Running the script twice changes
nothing the second time.

Usage::

    python scripts/cite_theory.py            # rewrite in place, list the files changed
    python scripts/cite_theory.py --check    # change nothing; exit 1 if some file still cites the spec

Examples
--------
>>> rewrite_prose("Lemma R (SPEC §4); see SPEC.md.", "ccbounds/x.py")
'Lemma R (theory §4); see docs/theory.md.'
>>> rewrite_prose("exact_D, SPEC §3 and SPEC §1, §3", "notebooks/n.ipynb")
'exact_D, theory §8 and theory §1, §8'
>>> rewrite_python('SPEC = {"n": 4}  # the SPEC §5 layout\\n', "tests/t.py")
'SPEC = {"n": 4}  # the theory §5 layout\\n'
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tokenize
from pathlib import Path

#: files that discuss the old spec on purpose (this script and the test that checks the result)
SELF = {"scripts/cite_theory.py", "tests/test_theory_refs.py"}

#: modules whose §3 citations are about the exact search (theory §8)
EXACT_SEARCH = {
    "ccbounds/bounds/exact.py", "ccbounds/bounds/_sat.py", "ccbounds/bounds/_trees.py", "ccbounds/bounds/drup.py",
    "ccbounds/bounds/bruteforce.py", "benchmarks/exact_cc.py", "tests/test_bounds_exact.py",
    "tests/test_bounds_drup.py",
}
#: a line that cites §3 for the exact search
EXACT_LINE = re.compile(r"exact[_ -]D\b|SAT solver|UNSAT proof for|DRUP|protocol tree of depth", re.IGNORECASE)
#: modules whose §6 citations are about quantization (theory §9)
QUANTIZATION = ("ccbounds/quantize/", "tests/test_quantize.py")

_SEC = r"(?:§|\\u00a7)"  # the section sign, also as a JSON escape
_NUM = r"(\d+)(?:\.\d+)?"
_MORE = rf"((?:[ \t]*(?:,|and|&)[ \t]*{_SEC}[ \t]?\d+(?:\.\d+)?)*)"  # further sections: ", §6", " and §7"
CITATION = re.compile(rf"\bSPEC(?:\.md)?[ \t]?({_SEC})[ \t]?{_NUM}{_MORE}")
_LISTED = re.compile(rf"({_SEC})[ \t]?{_NUM}")
_PREFIX = re.compile(r"^SPEC(?:\.md)?[ \t]?")
_NAME = r"\bSPEC\b(?!\.md)"
#: (pattern, replacement) applied after the citations, in this order
WORDS = [
    (re.compile(r"\b([Ss])ee SPEC\.md\b"), r"\1ee docs/theory.md"),
    (re.compile(r"\bSPEC\.md\b"), "docs/theory.md"),
    (re.compile(rf"\b([Tt])he {_NAME}['’]s\b"), r"\1he theory's"),
    (re.compile(rf"{_NAME}['’]s\b"), "the theory's"),
    (re.compile(rf"\b([Tt])he {_NAME}(?= [a-z])"), r"\1he theory's"),
    (re.compile(rf"{_NAME}(?= (?:uses|says|states|names|writes|gives|defines)\b)"), "docs/theory.md"),
    (re.compile(rf"{_NAME}(?=:)"), "docs/theory.md"),
    (re.compile(_NAME), "theory"),
]


def _section(n: int, path: str, line: str) -> int:
    """The docs/theory.md section of the spec's section ``n`` cited on ``line`` of ``path``."""
    if n == 3 and (path in EXACT_SEARCH or EXACT_LINE.search(line)):
        return 8
    if n == 6 and path.startswith(QUANTIZATION):
        return 9
    return n


def _line_at(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start:end if end >= 0 else len(text)]


def rewrite_citations(text: str, path: str) -> str:
    """Rewrite ``SPEC §N`` (and ``SPEC.md §N``, lists ``§N, §M``) to ``theory §N`` with the sections mapped."""

    def one(m: re.Match) -> str:
        line = _line_at(text, m.start())
        cited = _PREFIX.sub("", m.group(0))  # "§4, §6"
        return "theory " + _LISTED.sub(lambda s: f"{s.group(1)}{_section(int(s.group(2)), path, line)}", cited)

    return CITATION.sub(one, text)


def rewrite_prose(text: str, path: str) -> str:
    """All rules on free text (Markdown, a docstring, a comment)."""
    text = rewrite_citations(text, path)
    for pattern, replacement in WORDS:
        text = pattern.sub(replacement, text)
    return text


_PROSE_TOKENS = {tokenize.STRING, tokenize.COMMENT} | (
    {tokenize.FSTRING_MIDDLE} if hasattr(tokenize, "FSTRING_MIDDLE") else set())


def rewrite_python(source: str, path: str) -> str:
    """Apply :func:`rewrite_prose` to the string literals and comments of Python source only."""
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    spans = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in _PROSE_TOKENS:
                spans.append((starts[tok.start[0] - 1] + tok.start[1], starts[tok.end[0] - 1] + tok.end[1]))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source  # not valid Python (e.g. a notebook cell with shell magics): left for a person
    out, last = [], 0
    for a, b in spans:
        out += [source[last:a], rewrite_prose(source[a:b], path)]
        last = b
    return "".join(out + [source[last:]])


def rewrite_notebook(raw: str, path: str) -> str:
    """Rewrite Markdown cells as prose and code cells as Python; written back in nbformat's JSON layout."""
    nb = json.loads(raw)
    changed = False
    for cell in nb.get("cells", []):
        src = cell.get("source", "")
        text = "".join(src) if isinstance(src, list) else src
        new = rewrite_python(text, path) if cell.get("cell_type") == "code" else rewrite_prose(text, path)
        if new != text:
            changed = True
            cell["source"] = new.splitlines(keepends=True) if isinstance(src, list) else new
    if not changed:
        return raw
    return json.dumps(nb, indent=1, ensure_ascii=False) + ("\n" if raw.endswith("\n") else "")


def rewrite_file(path: Path, rel: str) -> str:
    """The new text of one file (equal to the old one when nothing cites the spec)."""
    raw = path.read_text(encoding="utf-8")
    if "SPEC" not in raw:
        return raw
    if rel.endswith(".py"):
        return rewrite_python(raw, rel)
    if rel.endswith(".ipynb"):
        return rewrite_notebook(raw, rel)
    if rel.endswith(".json"):
        return rewrite_citations(raw, rel).replace("SPEC.md", "docs/theory.md")
    return rewrite_prose(raw, rel)


def repository_files(root: Path) -> list[str]:
    """Tracked and untracked-but-not-ignored files with the four suffixes, relative to ``root``."""
    try:
        out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=root, check=True,
                             capture_output=True, text=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", "__pycache__", "node_modules", "build", "dist"}
        out = [p.relative_to(root).as_posix() for p in root.rglob("*")
               if p.is_file() and not any(part in skip or part.startswith(".") for part in p.relative_to(root).parts)]
    return sorted(f for f in out if f.endswith((".py", ".md", ".ipynb", ".json")) and f not in SELF
                  and (root / f).is_file())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Rewrite 'SPEC §N' citations to 'theory §N' (docs/theory.md).")
    ap.add_argument("root", nargs="?", default=Path(__file__).resolve().parents[1], type=Path,
                    help="repository root (default: the one holding this script)")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    args = ap.parse_args(argv)
    changed = []
    for rel in repository_files(args.root):
        path = args.root / rel
        old = path.read_text(encoding="utf-8")
        new = rewrite_file(path, rel)
        if new != old:
            changed.append(rel)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    verb = "would change" if args.check else "changed"
    print(f"{verb} {len(changed)} file(s)" + "".join(f"\n  {f}" for f in changed))
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
