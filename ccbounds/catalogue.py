"""A catalogue of exact communication-complexity measures of named functions, n <= 6 bits a side (theory §8.8).

Every named function — EQ_n, GT_n, DISJ_n, IP_n and INDEX_n (as a 2^n x n matrix) for n = 1..6, the threshold
and composition functions of the hard suite (:func:`threshold_functions`, a = 4, 5, 6 bits a side) and the
literature instances of :mod:`ccbounds.literature` — gets a stable id (``eq-n3``, ``bits5:carry``,
``lit:domino-kron3``) and one row of measures, each with its value (or a certified interval when its time
limit passed), whether its certificate was checked by the independent checkers, and the seconds it took:

======================  =====================================================================================
``D``                   exact D (:func:`~ccbounds.bounds.exact_D`; ``result.check`` end to end) or its interval
``D_AB``, ``D_BA``      one-way complexities (distinct rows / columns; :func:`~ccbounds.bounds.check_row_classes`)
``N1``, ``N0``          log2 of the cover numbers C^1, C^0 (:func:`~ccbounds.bounds.cover_number`)
``CD``                  the partition number C^D (:func:`~ccbounds.bounds.partition_number`)
``brank``               the binary rank C^P_1 (:func:`~ccbounds.bounds.binary_rank`)
``logrank_R``, ``_GF2`` log2 of the rank over R and GF(2) (rank certificates checked)
``fooling``             the largest combined fooling set found (proven largest, or not: ``optimal``)
======================  =====================================================================================

The shipped table is ``ccbounds/data/catalogue.json``; ``ccbounds catalogue --regenerate`` rebuilds it (a
per-measure time limit keeps it bounded; undecided measures are intervals). Each row also records the
SHA-256 of its matrix (rows and columns in the problem's documented order, int8 bytes), so a value can be
cited with the exact matrix it is about.

Examples
--------
>>> [e.id for e in named_functions(max_n=1)][:4]
['eq-n1', 'gt-n1', 'disj-n1', 'ip-n1']
>>> row = catalogue_row(named_functions(max_n=1)[0], time_limit=5)
>>> row["measures"]["D"]["value"], row["measures"]["D"]["check"]
(2, True)
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CATALOGUE_PATH", "MEASURES", "NamedFunction", "catalogue_row", "generate", "load_catalogue",
           "named_functions", "threshold_functions"]

#: the shipped table
CATALOGUE_PATH = Path(__file__).resolve().parent / "data" / "catalogue.json"

#: measure keys in table order
MEASURES = ("D", "D_AB", "D_BA", "N1", "N0", "CD", "brank", "logrank_R", "logrank_GF2", "fooling")


def threshold_functions(a: int) -> dict[str, Callable[[int, int], int]]:
    """The threshold and composition functions of the hard suite on x, y in {0,1}^a (as integers < 2^a).

    Examples
    --------
    >>> threshold_functions(4)["carry"](8, 8), threshold_functions(4)["hamming<=1"](5, 4)
    (1, 1)
    """
    pop = lambda v: v.bit_count()  # noqa: E731
    return {
        "and-count>=2": lambda x, y: int(pop(x & y) >= 2),
        "hamming<=1": lambda x, y: int(pop(x ^ y) <= 1),
        "carry": lambda x, y: int(x + y >= 1 << a),
        "product-mod3": lambda x, y: int(x * y % 3 == 0),
        "maj-ip": lambda x, y: int(sum(pop(x & y & m) % 2 for m in (0b0011, 0b0110, 0b1100)) >= 2),
        "le-xor-eq0": lambda x, y: int(x <= y) ^ int((x & 1) == (y & 1)),
        "sum-mod5": lambda x, y: int((x + y) % 5 == 0),
        "and-count=1": lambda x, y: int(pop(x & y) == 1),
        "ip-and-eq0": lambda x, y: (pop(x & y) % 2) & int((x & 1) == (y & 1)),
        "maj3-and": lambda x, y: int(pop(x & y & 0b111) >= 2),
        "disj2-or-eq2": lambda x, y: int((x & y & 0b11) == 0) | int((x >> 2) == (y >> 2)),
        "gt-xor-ip2": lambda x, y: int(x > y) ^ (pop(x & y & 0b11) % 2),
        "lin-mod7<3": lambda x, y: int((x + 2 * y) % 7 < 3),
        "hamming=2": lambda x, y: int(pop(x ^ y) == 2),
    }


@dataclass(frozen=True)
class NamedFunction:
    """A catalogue entry: stable ``id``, a one-line ``description``, its ``source`` and how to build it."""

    id: str
    description: str
    source: str
    build: Callable[[], Any] = field(repr=False, compare=False)

    def matrix(self) -> np.ndarray:
        x = self.build()
        return np.ascontiguousarray(np.asarray(x.matrix() if hasattr(x, "matrix") else x, dtype=np.int8))


def named_functions(max_n: int = 6) -> list[NamedFunction]:
    """Every catalogued function with at most ``max_n`` bits a side, in the table's order."""
    from ccbounds.literature import literature_instances
    from ccbounds.problems import DISJ, EQ, GT, INDEX, IP

    out: list[NamedFunction] = []
    text = {"eq": "x = y", "gt": "x > y", "disj": "x AND y = 0", "ip": "<x, y> mod 2"}
    for n in range(1, max_n + 1):
        for key, P in (("eq", EQ), ("gt", GT), ("disj", DISJ), ("ip", IP)):
            out.append(NamedFunction(f"{key}-n{n}", f"{key.upper()}_{n}: {text[key]}, x, y in {{0,1}}^{n}",
                                     "[KN] Ch. 1; theory §2", lambda P=P, n=n: P(n)))
        out.append(NamedFunction(f"index-n{n}", f"INDEX_{n}: x_i, x in {{0,1}}^{n}, i in [{n}] ({1 << n} x {n})",
                                 "[KN] Ch. 4; theory §2.1", lambda n=n: INDEX(n)))
    for a in (4, 5, 6):
        if a > max_n:
            continue
        for name, f in threshold_functions(a).items():
            out.append(NamedFunction(f"bits{a}:{name}", f"{name} on x, y in {{0,1}}^{a} (hard suite, bits family)",
                                     "benchmarks/hard_instances.py (bits family)",
                                     lambda f=f, a=a: np.array([[f(x, y) for y in range(1 << a)]
                                                                for x in range(1 << a)], np.int8)))
    if max_n >= 6:
        for inst in literature_instances():
            out.append(NamedFunction(f"lit:{inst.id}", f"{inst.construction} (expected loose: {inst.loose})",
                                     inst.citation, lambda m=inst.matrix: m))
    return out


def _timed(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    t0 = time.perf_counter()
    out = fn()
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


def _log2(k: int) -> float:
    return math.log2(k) if k > 0 else 0.0


def _measures(M: np.ndarray, time_limit: float) -> dict[str, dict[str, Any]]:
    from ccbounds.bounds import (
        binary_rank,
        check_rank_certificate,
        check_row_classes,
        cover_number,
        exact_D,
        is_fooling_set,
        log_rank,
        one_way,
        partition_number,
    )
    from ccbounds.bounds._fooling_greedy import fooling_bound
    from ccbounds.bounds.exact import ExactLimitError
    from ccbounds.bounds.rectangles import RectangleLimitError
    from ccbounds.errors import SolverLimitError, TooLargeError

    def d() -> dict[str, Any]:
        try:
            r = exact_D(M, time_limit=time_limit)
            return {"value": r.value, "lower": r.value, "upper": r.value, "check": r.check(M),
                    "method": r.lower.method}
        except ExactLimitError as e:
            iv = e.interval
            return {"value": None, "lower": math.ceil(iv.lower.value - 1e-9), "upper": int(iv.upper.value),
                    "check": iv.check(M), "method": iv.lower.method}

    def oneway(direction: str) -> dict[str, Any]:
        b = one_way(M, direction)
        return {"value": b.value, "lower": b.value, "upper": b.value, "check": check_row_classes(M, b.witness)}

    def rect(fn: Callable[[], Any], log: bool) -> dict[str, Any]:
        f = _log2 if log else (lambda k: k)
        try:
            b = fn()
            sol = b if not hasattr(b, "witness") else b.witness
            how = "UNSAT proof" if sol.lower.__class__.__name__ == "UnsatProof" else "cheap bound"
            return {"value": f(sol.number), "lower": f(sol.number), "upper": f(sol.number), "count": sol.number,
                    "check": sol.check(M), "method": how}
        except RectangleLimitError as e:
            from ccbounds.bounds import check_rectangles

            return {"value": None, "lower": f(e.lower), "upper": f(e.upper.number), "count": None,
                    "count_interval": [e.lower, e.upper.number],
                    "check": check_rectangles(M, e.upper.rectangles, e.kind), "method": "interval"}
        except (TooLargeError, SolverLimitError) as e:
            return {"value": None, "lower": None, "upper": None, "check": None, "method": f"skipped: {e}"}

    def lr(field_: str) -> dict[str, Any]:
        b = log_rank(M, field_)
        return {"value": round(b.value, 6), "lower": round(b.value, 6), "upper": round(b.value, 6),
                "rank": b.witness.rank, "check": check_rank_certificate(M, b.witness)}

    def fool() -> dict[str, Any]:
        b = fooling_bound(M, "combined", time_limit=min(time_limit, 1.0))
        w = b.witness
        return {"value": w.size, "lower": w.size, "upper": w.size if w.optimal else None, "optimal": w.optimal,
                "check": is_fooling_set(w.cells, M, "combined")}

    kw = {"time_limit": time_limit}
    jobs: dict[str, Callable[[], dict[str, Any]]] = {
        "D": d, "D_AB": lambda: oneway("A->B"), "D_BA": lambda: oneway("B->A"),
        "N1": lambda: rect(lambda: cover_number(M, 1, **kw), True),
        "N0": lambda: rect(lambda: cover_number(M, 0, **kw), True),
        "CD": lambda: rect(lambda: partition_number(M, **kw), False),
        "brank": lambda: rect(lambda: binary_rank(M, **kw), False),
        "logrank_R": lambda: lr("R"), "logrank_GF2": lambda: lr("GF2"), "fooling": fool,
    }
    return {k: _timed(jobs[k]) for k in MEASURES}


def catalogue_row(entry: NamedFunction, time_limit: float = 3.0) -> dict[str, Any]:
    """One row of the catalogue: id, description, source, shape, matrix SHA-256 and every measure."""
    M = entry.matrix()
    return {"id": entry.id, "description": entry.description, "source": entry.source,
            "shape": list(M.shape), "sha256": hashlib.sha256(M.tobytes()).hexdigest(),
            "measures": _measures(M, time_limit)}


def generate(path: str | Path | None = CATALOGUE_PATH, time_limit: float = 3.0, ids: Iterable[str] | None = None,
             max_n: int = 6, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Compute every row (or those in ``ids``) and write the table to ``path`` (None: do not write).

    With ``ids`` and an existing table at ``path``, the recomputed rows replace theirs there (the others stay).
    """
    import ccbounds

    want = None if ids is None else set(ids)
    rows = []
    for entry in named_functions(max_n):
        if want is not None and entry.id not in want:
            continue
        if progress is not None:
            progress(entry.id)
        rows.append(catalogue_row(entry, time_limit))
    table = {"ccbounds_version": ccbounds.__version__, "time_limit_per_measure": time_limit,
             "measures": list(MEASURES), "rows": rows}
    if path is not None and want is not None and Path(path).is_file():  # some rows: merge into the table there
        old = json.loads(Path(path).read_text())
        new = {r["id"]: r for r in rows}
        table["rows"] = [new.pop(r["id"], r) for r in old["rows"]] + list(new.values())
        table["time_limit_per_measure"] = old.get("time_limit_per_measure", time_limit)
    if path is not None:
        Path(path).write_text(json.dumps(table, indent=1) + "\n")
    return table


def load_catalogue(path: str | Path = CATALOGUE_PATH) -> dict[str, Any]:
    """The shipped table (see :func:`generate`)."""
    from ccbounds.errors import InvalidInputError

    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"no catalogue at {p}; build it with `ccbounds catalogue --regenerate`")
    return json.loads(p.read_text())


def _cell(m: dict[str, Any], digits: int = 1) -> str:
    def fmt(v: Any) -> str:
        return str(v) if isinstance(v, int) else f"{v:.{digits}f}".rstrip("0").rstrip(".")

    if m.get("value") is not None:
        text = fmt(m["value"])
    elif m.get("lower") is not None:
        text = f"{fmt(m['lower'])}..{fmt(m['upper'])}" if m.get("upper") is not None else f">={fmt(m['lower'])}"
    else:
        text = "-"
    return text + ("" if m.get("check") in (True, None) else "!")


def table_text(table: dict[str, Any]) -> str:
    """The catalogue as a text table (values; ``a..b`` an interval; ``!`` a certificate that failed its check)."""
    from ccbounds._text import render_table

    head = ["id", "D", "AB", "BA", "N1", "N0", "C^D", "brank", "lrR", "lr2", "fool"]
    rows = [[r["id"]] + [_cell(r["measures"][k]) for k in MEASURES] for r in table["rows"]]
    return render_table(head, rows, no_wrap=tuple(range(len(head))))
