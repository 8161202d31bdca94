"""Check the witness of any bound a report gives, with the checker that does not call the solver (theory §3, §8).

Every :class:`~ccbounds.bound_record.Bound` of :func:`ccbounds.bounds_report` carries a witness of one of a few
types; :func:`check_witness` dispatches each to its independent checker — rank certificates by exact
determinants, fooling sets pair by pair, row classes and rectangle partitions cell by cell, protocol trees by
running them on every cell, UNSAT proofs by unit propagation, split-search refutations by the independent
:func:`~ccbounds.bounds._refutation_check.check_refutation` — and :func:`check_report` does it for a whole report.
A textbook value (``method="known"``) has no witness: its check is ``None``, never ``True``.

Examples
--------
>>> from ccbounds import EQ, bounds_report
>>> checks = check_report(bounds_report(EQ(2), exact=True, time_limit=20), EQ(2))
>>> all(c.ok for c in checks if c.ok is not None), any(c.ok is None for c in checks)
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["WitnessCheck", "check_witness", "check_report"]


@dataclass(frozen=True)
class WitnessCheck:
    """The outcome of checking one bound's witness: what it is and whether it holds (None: no witness)."""

    bound: Any
    witness: str
    ok: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {"bound": str(self.bound).split("  [")[0], "witness": self.witness, "checked": self.ok}


def _check_lower_of_exact(problem: Any, w: Any) -> bool:
    """The lower half of an exact D: an UNSAT proof, a split refutation or a cheap bound reaching the value."""
    if w.proof is not None:
        return bool(w.proof.check())
    low = w.lower
    lw = low.witness
    if type(lw).__name__ == "Refutation":
        import numpy as np

        from ccbounds.bounds._refutation_check import check_refutation
        from ccbounds.bounds.drup import UnsatProof

        M = np.asarray(problem.matrix() if hasattr(problem, "matrix") else problem)
        return lw.depth == w.value - 1 and check_refutation(M, lw, trust=(UnsatProof,))
    if lw is None:
        return False  # an exact value must carry its own proof of optimality
    import math

    return bool(check_witness(problem, low).ok) and math.ceil(float(low.value) - 1e-9) >= w.value


def check_witness(problem: Any, bound: Any) -> WitnessCheck:
    """Check ``bound``'s witness against ``problem`` with an independent checker.

    Parameters
    ----------
    problem : Problem or array_like
        What the bound is about.
    bound : Bound
        A bound from :func:`ccbounds.bounds_report` (or any function of :mod:`ccbounds.bounds`).

    Returns
    -------
    WitnessCheck
        ``ok`` is True or False for a checkable witness, None when there is none (a textbook value) or its type
        is not one this function knows.

    Examples
    --------
    >>> from ccbounds import IP
    >>> from ccbounds.bounds import log_rank
    >>> check_witness(IP(3), log_rank(IP(3))).ok
    True
    """
    from ccbounds.bounds import check_rank_certificate, check_rectangles, check_row_classes, is_fooling_set
    from ccbounds.protocols import verify

    w = getattr(bound, "witness", None)
    if w is None:
        return WitnessCheck(bound, "none (textbook value)", None)
    kind = type(w).__name__
    if kind == "RankCertificate":
        ok = check_rank_certificate(problem, w)
    elif kind == "FoolingSet":
        ok = is_fooling_set(w, problem, w.kind)
    elif kind == "RowClasses":
        ok = check_row_classes(problem, w)
    elif kind == "RectangleSolution":
        ok = check_rectangles(problem, w) and (w.lower.check() if hasattr(w.lower, "check") else True)
    elif kind == "ProtocolTree":
        ok = verify(w, problem).ok
    elif isinstance(w, tuple) and w and all(type(c).__name__ == "RankCertificate" for c in w):
        ok = _check_leaf_ranks(problem, bound, w)
    elif kind == "ExactResult":
        ok = verify(w.tree, problem).ok and w.tree.cost == w.value and _check_lower_of_exact(problem, w)
    else:
        return WitnessCheck(bound, kind, None)
    return WitnessCheck(bound, kind, bool(ok))


def _check_leaf_ranks(problem: Any, bound: Any, certs: tuple) -> bool:
    """A leaf-rank witness (theory §3.4): the pair of certificates for M and J - M, or one per output value
    (``cert.value`` set); each is checked and the bound must not exceed log2 of the leaves they prove."""
    import math

    from ccbounds.bounds import check_rank_certificate
    from ccbounds.bounds._matrix import as_matrix

    if all(c.value is not None for c in certs):
        ok = all(check_rank_certificate(problem, c) for c in certs)
    elif len(certs) == 2 and all(c.value is None for c in certs):
        M, _ = as_matrix(problem, binary=True)
        ok = check_rank_certificate(M, certs[0]) and check_rank_certificate(1 - M, certs[1])
    else:
        return False
    leaves = sum(c.rank for c in certs)
    return bool(ok) and bound.value <= (math.log2(leaves) if leaves > 0 else 0.0) + 1e-9


def check_report(report: Any, problem: Any) -> list[WitnessCheck]:
    """:func:`check_witness` for every bound of a :func:`ccbounds.bounds_report` result."""
    return [check_witness(problem, b) for b in report.bounds]
