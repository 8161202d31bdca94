"""All matrix bounds of a problem in one table (theory §3).

Examples
--------
>>> r = bounds_report([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
>>> [(b.method, b.value) for b in r.bounds if b.model == "D" and b.is_lower][:2]
[('log-rank', 2.0), ('leaf-rank', 3.0)]
>>> r.best_lower("D").value, r.best_upper("D").value
(3.0, 3)
>>> r = bounds_report([[1, 0], [0, 1]], randomized=0.0)
>>> round(r.best_lower("R_eps(pub)").value, 6)
2.0
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ccbounds.bound_record import Bound
from ccbounds.bounds import _trees
from ccbounds.bounds._fooling_greedy import EXACT_FOOLING_CELLS, fooling_bound
from ccbounds.bounds._matrix import as_matrix, distinct_classes, is_binary
from ccbounds.bounds.exact import DInterval, ExactLimitError, ExactResult, exact_D
from ccbounds.bounds.fooling import largest_fooling_set
from ccbounds.bounds.oneway import one_way
from ccbounds.bounds.rank import leaf_rank_bound, log_rank
from ccbounds.bounds.rectangles import cover_number, partition_number
from ccbounds.errors import SolverLimitError, TooLargeError

__all__ = ["BoundsReport", "bounds_report", "witness_summary"]

_COLUMNS = ["measure", "direction", "value_bits", "model", "method", "source", "witness"]


def witness_summary(w: Any, width: int = 60) -> str:
    """A one-line description of a witness, at most ``width`` characters.

    Examples
    --------
    >>> witness_summary(None), witness_summary((1, 2))
    ('', '1; 2')
    """
    if w is None:
        return ""
    if hasattr(w, "cost") and hasattr(w, "leaves"):
        text = f"protocol tree: depth {w.cost}, {len(w.leaves)} leaves"
    elif isinstance(w, tuple):
        text = "; ".join(str(v) for v in w)
    else:
        text = str(w)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


@dataclass(frozen=True)
class BoundsReport:
    """The bounds computed for one problem; ``skipped`` says which were not, and why.

    ``exact`` is the exact D when it was decided; ``interval`` the certified interval on D when the
    exact search hit its time limit (its two bounds are also in ``bounds``).
    """

    problem: str
    bounds: tuple[Bound, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    exact: ExactResult | None = None
    interval: DInterval | None = None
    notes: tuple[str, ...] = ()  # how the matrix was read (e.g. a 2-valued matrix relabelled 0/1)

    def best_lower(self, model: str = "D") -> Bound | None:
        """The largest lower bound (by its integer ceiling) on ``model``, or None."""
        lows = [b for b in self.bounds if b.model == model and b.is_lower and b.value is not None]
        return max(lows, key=lambda b: math.ceil(b.value - 1e-9), default=None)

    def best_upper(self, model: str = "D") -> Bound | None:
        """The smallest upper bound on ``model``, or None."""
        ups = [b for b in self.bounds if b.model == model and b.is_upper and b.value is not None]
        return min(ups, key=lambda b: b.value, default=None)

    def rows(self) -> list[dict[str, Any]]:
        """One plain dict per bound, with the columns of :meth:`to_frame`."""
        return [{"measure": b.measure + (f" (eps={b.eps_text})" if b.eps is not None else ""),
                 "direction": b.direction,
                 "value_bits": b.value if b.value is not None else b.expression,
                 "model": b.model, "method": b.method, "source": b.source,
                 "witness": witness_summary(b.witness)} for b in self.bounds]

    def to_frame(self) -> Any:
        """A pandas DataFrame with columns measure, direction, value_bits, model, method, source, witness."""
        import pandas as pd

        return pd.DataFrame(self.rows(), columns=_COLUMNS)

    def to_dict(self) -> dict[str, Any]:
        return {"problem": self.problem, "bounds": [b.to_dict() for b in self.bounds],
                "skipped": [{"method": m, "reason": r} for m, r in self.skipped],
                "exact": self.exact.to_dict() if self.exact is not None else None,
                "interval": self.interval.to_dict() if self.interval is not None else None,
                "notes": list(self.notes)}

    def _table(self) -> list[list[str]]:
        rel = {"lower": ">=", "upper": "<=", "exact": "="}
        out = [["measure", "", "bits", "method", "source", "witness"]]
        for b, r in zip(self.bounds, self.rows()):
            v = r["value_bits"]
            vtext = (str(int(v)) if float(v).is_integer() else f"{v:.4g}") if isinstance(v, (int, float)) else str(v)
            out.append([r["measure"], rel[b.direction], vtext, b.method, b.source, r["witness"]])
        return out

    def table(self, width: int | None = None, wide: bool = False) -> str:
        """The text table, fitting ``width`` columns (default: the terminal's, 100 without one).

        Sources are numbered footnotes under the table and witnesses are left out; ``wide=True`` puts
        both in columns (use a wide terminal, or :meth:`to_dict` / ``--json`` for everything).
        """
        from ccbounds._text import WIDE, fit_text, render_table

        t = self._table()
        if wide:
            body = render_table(t[0], t[1:], width=width or WIDE, no_wrap=(1, 2))
            notes: list[str] = []
        else:
            sources = list(dict.fromkeys(row[4] for row in t[1:]))
            rows = [row[:4] + [f"[{sources.index(row[4]) + 1}]"] for row in t[1:]]
            body = render_table(["measure", "", "bits", "method", "source"], rows, width=width, no_wrap=(1, 2, 4))
            notes = [f"[{k + 1}] {src}" for k, src in enumerate(sources)]
            notes.append("(witnesses: --wide or --json; report.to_dict() in Python)")
        lines = [f"Bounds for {self.problem} (bits)", body] + notes
        if self.interval is not None:
            lines.append(f"exact D not decided: {self.interval}")
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"skipped {m}: {r}" for m, r in self.skipped]
        return fit_text("\n".join(lines), width or (WIDE if wide else None))

    def __str__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        import pandas as pd

        t = self._table()
        frame = pd.DataFrame(t[1:], columns=["measure", "relation", "bits", "method", "source", "witness"])
        skipped = "".join([f"<li>note: {html.escape(n)}</li>" for n in self.notes]
                          + [f"<li>skipped {html.escape(m)}: {html.escape(r)}</li>" for m, r in self.skipped])
        return (f"<p><b>Bounds for {html.escape(self.problem)}</b> (bits)</p>" + frame.to_html(index=False)
                + (f"<ul>{skipped}</ul>" if skipped else ""))


def bounds_report(x: Any, exact: bool = False, eps: float = 1 / 3, time_limit: float = 10.0,
                  solver: str = "portfolio", randomized: float | None = None) -> BoundsReport:
    """Every matrix bound on ``x``: the cheap ones, the problem's known ones and, if asked, the exact ones.

    Parameters
    ----------
    x : array_like or Problem
        A 0/1 matrix or a Problem (then its ``known_bounds(eps)`` are included, and a matrix too large
        to build only skips the computed bounds).
    exact : bool
        Also compute the partition number C^D, the cover numbers C^1 and C^0 and the exact D (SAT).
    eps : float
        Error parameter passed to the problem's known randomized bounds.
    time_limit : float
        Seconds per exact computation; fooling-set searches past it report the best set found
        (marked not proven largest), rectangle numbers past it are listed under ``skipped``, and an
        exact D past it gives the certified interval (``interval``; its bounds join ``bounds``).
    solver : str
        pysat solver name or alias for the exact computations.
    randomized : float, optional
        Also compute the randomized lower bounds at this error (theory §10: discrepancy, corruption, partition
        LP, gamma2, exact one-way D^mu_eps, VC), each with a checked certificate; the problem's known bounds
        are then given at this error too. Methods too large for the matrix are listed under ``skipped``.

    Returns
    -------
    BoundsReport

    Raises
    ------
    InvalidInputError, UnknownNameError
        A bad matrix or solver name.

    Examples
    --------
    >>> r = bounds_report([[1, 0], [0, 1]], exact=True)
    >>> r.exact.value, r.best_lower("N1").value
    (2, 1.0)

    References
    ----------
    theory §1, §3; [KN] Ch. 1-2.

    Notes
    -----
    A matrix of more than two output values (q-ary INDEX) gets the per-value leaf count
    ``D >= log2 sum_v rank([M == v])`` over R and GF(2) (theory §3.4; one rank certificate per value), the
    one-way complexities, the one-way protocol, the problem's known bounds and (``exact=True``) exact D;
    the log-rank, fooling-set and rectangle bounds are defined here for 0/1 matrices and are listed under
    ``skipped``.
    """
    bounds: list[Bound] = []
    skipped: list[tuple[str, str]] = []
    notes: list[str] = []
    if randomized is not None:
        eps = randomized
    known: list[Bound] = list(x.known_bounds(eps)) if hasattr(x, "known_bounds") else []
    try:
        M, name = as_matrix(x, what="bounds_report", binary=False)
    except TooLargeError as e:
        if not known:
            raise
        return BoundsReport(known[0].problem, tuple(known), (("all computed bounds", str(e)),))

    def attempt(method: str, fn: Any, *args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except (TooLargeError, SolverLimitError) as e:
            skipped.append((method, str(e)))
            return None

    binary = is_binary(M)
    if binary:
        for field in ("R", "GF2"):
            bounds += [b for b in (attempt("log-rank", log_rank, x, field),
                                   attempt("leaf-rank", leaf_rank_bound, x, field)) if b is not None]
        for kind in ("combined", "1", "0"):
            if M.size <= EXACT_FOOLING_CELLS:
                b = attempt("fooling-set", largest_fooling_set, x, kind, time_limit=time_limit, on_limit="best")
            else:  # the exact clique search's graph alone takes seconds at 64 x 64: the greedy search
                b = fooling_bound(M, kind, time_limit=min(time_limit, 1.0), name=name)
            if b is not None:
                bounds.append(b)
    else:  # the per-value leaf count sum_v rank([M == v]) (theory §3.4), over R and GF(2)
        for field in ("R", "GF2"):
            b = attempt("leaf-rank", leaf_rank_bound, x, field)
            if b is not None:
                bounds.append(b)
        skipped.append(("log-rank and fooling-set bounds", (f"defined here for 0/1 matrices; {name} has "
                        f"{len(set(M.flat))} output values (the per-value leaf count, the one-way and exact D "
                        "bounds apply)")))
    ab, ba = one_way(x, "A->B"), one_way(x, "B->A")
    bounds += [ab, ba]
    from ccbounds.protocols import ProtocolTree

    axis = 0 if ab.value <= ba.value else 1
    tree = ProtocolTree.from_splits(_trees.oneway_spec(M, axis), name=f"one-way protocol for {name}")
    if hasattr(x, "x_index"):  # a Problem: the witness reads its inputs, not matrix indices
        tree = tree.over_inputs(x)
    sender, what = ("Alice", "rows") if axis == 0 else ("Bob", "columns")
    named = (ab if axis == 0 else ba).value
    answer = tree.cost - named  # bits of the receiver's answer on the longest path
    bounds.append(Bound(tree.cost, "upper", "D", name, method="protocol", witness=tree,
                        source=f"theory §1 ({sender} names the class of {'her row' if axis == 0 else 'his column'}, "
                        "then the other answers)",
                        expression=f"ceil(log2 #distinct {what})" + (f" + {answer}" if answer else ""),
                        note=f"{len(distinct_classes(M, axis))} distinct {what}; the answer takes "
                        f"{answer} bit(s)"))
    exact_res = interval = None
    if exact:
        if binary:
            for label, fn, args in (("partition number", partition_number, ()),
                                    ("cover number C^1", cover_number, (1,)),
                                    ("cover number C^0", cover_number, (0,))):
                b = attempt(label, fn, x, *args, solver=solver, time_limit=time_limit)
                if b is not None:
                    bounds.append(b)
        else:
            skipped.append(("partition and cover numbers", "defined here for 0/1 matrices"))
        extra = [b for b in bounds if b.method == "partition-number"]
        try:
            exact_res = exact_D(x, time_limit=time_limit, solver=solver, lower_bounds=extra)
        except ExactLimitError as e:
            interval = e.interval
            bounds += [interval.lower, interval.upper]
        except TooLargeError as e:
            skipped.append(("exact D", str(e)))
        if exact_res is not None:
            bounds.append(exact_res.bound)
    if randomized is not None:
        if binary:
            from ccbounds.bounds.randomized import randomized_bounds

            rb, rskip = randomized_bounds(x, randomized)
            bounds += rb
            skipped += rskip
        elif len(values := sorted(int(v) for v in set(M.flat))) == 2:
            # a 2-valued matrix is a Boolean function: relabel it 0/1 (smallest value -> 0) and say so
            from ccbounds.bounds.randomized import randomized_bounds

            lo, hi = values
            relabel = f"computed on the 0/1 relabelling of {name} ({lo} -> 0, {hi} -> 1)"
            rb, rskip = randomized_bounds((M != lo).astype(np.int64), randomized)
            bounds += [replace(b, problem=name, note=f"{b.note}; {relabel}" if b.note else relabel) for b in rb]
            skipped += rskip
            notes.append(f"the randomized bounds are {relabel}: the smallest value reads as 0")
        else:
            skipped.append(("randomized bounds", f"defined here for 0/1 (or 2-valued) matrices; {name} has "
                            f"{len(set(M.flat))} output values"))
    bounds += known
    return BoundsReport(name, tuple(bounds), tuple(skipped), exact_res, interval, tuple(notes))
