"""Every computed randomized lower bound of a matrix at one error eps, each with its checker (theory §10).

:func:`randomized_bounds` runs the discrepancy, corruption, partition-LP, gamma2 and one-way bounds that fit the
matrix's size and lists the others as skipped with the reason; :func:`check_randomized_bound` dispatches a bound to
the checker of its method. :func:`bounds_report` shows them with ``randomized=eps``.

Examples
--------
>>> bs, skipped = randomized_bounds([[1, 0], [0, 1]], 0.1)
>>> sorted({b.method for b in bs})[:3]
['corruption', 'discrepancy', 'exhaustive']
>>> all(check_randomized_bound([[1, 0], [0, 1]], b) for b in bs)
True
"""

from __future__ import annotations

from typing import Any

from ccbounds.bound_record import Bound
from ccbounds.bounds._matrix import as_matrix, is_binary
from ccbounds.bounds.discrepancy import check_discrepancy, discrepancy_bound
from ccbounds.bounds.gamma2 import check_gamma2, gamma2_bounds
from ccbounds.bounds.oneway_dist import check_one_way_protocol, check_vc, one_way_distributional, vc_bound
from ccbounds.bounds.partition import check_corruption, check_partition, corruption_bound, partition_bound
from ccbounds.errors import CCBoundsError, InvalidInputError, TooLargeError

__all__ = ["check_randomized_bound", "randomized_bounds"]

#: the checker of each method
CHECKERS = {
    "discrepancy": check_discrepancy,
    "discrepancy-sdp": check_discrepancy,
    "corruption": check_corruption,
    "partition-lp": check_partition,
    "gamma2-sdp": check_gamma2,
    "exhaustive": check_one_way_protocol,
    "vc-dimension": check_vc,
}


def randomized_bounds(x: Any, eps: float = 1 / 3) -> tuple[list[Bound], list[tuple[str, str]]]:
    """The computed randomized and distributional lower bounds of a 0/1 matrix at error eps.

    Parameters
    ----------
    x : array_like or Problem
        A 0/1 matrix (or a Problem whose matrix can be built).
    eps : float
        0 <= eps < 1/2.

    Returns
    -------
    (list of Bound, list of (method, reason))
        The bounds (models ``R_eps(pub)``, ``Q_eps``, ``D_mu_eps(A->B)``, ``R1way_eps(A->B)``) and the methods
        skipped because the matrix is too large for them (or a solver is missing).

    Raises
    ------
    InvalidInputError
        A matrix that is not 0/1, or eps outside [0, 1/2).
    """
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 <= eps < 0.5:
        raise InvalidInputError(f"eps must be a number in [0, 1/2), got {eps!r}")
    M, _ = as_matrix(x, what="randomized bounds", binary=False)
    if not is_binary(M):
        raise InvalidInputError("the randomized bounds are defined here for 0/1 matrices")
    out: list[Bound] = []
    skipped: list[tuple[str, str]] = []
    for label, fn in (("discrepancy", discrepancy_bound), ("corruption", corruption_bound),
                      ("partition bound", partition_bound), ("gamma2", gamma2_bounds),
                      ("one-way distributional", one_way_distributional), ("VC dimension", vc_bound)):
        try:
            res = fn(x, eps)
        except (TooLargeError, CCBoundsError) as e:
            skipped.append((label, str(e)))
            continue
        out += res if isinstance(res, list) else [res]
    return out, skipped


def check_randomized_bound(x: Any, bound: Bound) -> bool:
    """Check a bound of :func:`randomized_bounds` with the checker of its method (no solver is called)."""
    fn = CHECKERS.get(bound.method)
    return bool(fn is not None and fn(x, bound))
