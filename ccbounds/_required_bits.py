"""How many bits a one-way message must have: the lower bound an induced protocol is held to.

Lemma R / Lemma T (theory §4) turn a model into a deterministic one-way protocol A->B. A model that is
correct on every input therefore has message size >= D^{A->B}(f) (exact: ceil(log2 #distinct rows),
theory §1); one with average error eps under the uniform INDEX distribution has message size >=
n·(1 - H2(eps)) (the [KNR] / Fano argument of theory §6; q-ary alphabets: n·(log2 q - H2(eps) -
eps·log2(q-1))). DISJ inherits the INDEX bound through the embedding y = {i} (theory §2). EQ has no
non-trivial bound once errors are allowed: its public-coin complexity is ceil(log2(1/eps)) + 1.

Examples
--------
>>> from ccbounds.problems import INDEX, EQ
>>> str(required_bits(INDEX(16)))
'D1way(A->B)(INDEX_16) = 16 bits  [known; theory §3 (q^n distinct rows)]'
>>> round(required_bits(INDEX(16), eps=0.1).value, 3)
8.496
>>> required_bits(EQ(8), eps=0.1).value
0
"""

from __future__ import annotations

from typing import Any

from ccbounds.bound_record import Bound
from ccbounds.errors import InvalidInputError
from ccbounds.information import fano_term

__all__ = ["required_bits", "index_distributional_bound"]


def index_distributional_bound(n: int, eps: float, q: int = 2) -> float:
    """n·(log2 q − H2(eps) − eps·log2(q−1)), floored at 0 (theory §6; [KNR] for q = 2).

    >>> index_distributional_bound(10, 0.0), index_distributional_bound(10, 0.5)
    (10.0, 0.0)
    """
    return n * float(fano_term(eps, q))


def required_bits(problem: Any, eps: float = 0.0) -> Bound:
    """The lower bound on the message of any one-way A->B protocol for ``problem`` (theory §1, §2, §6).

    Parameters
    ----------
    problem : Problem
        Any problem: the bound is its own :meth:`~ccbounds.problems.Problem.one_way_bound` (a textbook
        value, or the exact ceil(log2 #distinct rows) of its matrix).
    eps : float
        0 for protocols correct on every input; in (0, 1) for an average error eps under the problem's
        distribution (INDEX: x uniform, i uniform; DISJ and IP: y = {i}).

    Returns
    -------
    Bound
        Model ``"D1way(A->B)"`` (eps = 0) or ``"D_mu_eps(A->B)"`` (eps > 0), direction lower or exact.

    Raises
    ------
    InvalidInputError
        eps outside [0, 1), or eps > 0 for a problem without a distributional bound here.
    """
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not 0 <= eps < 1:
        raise InvalidInputError(f"eps must be in [0, 1), got {eps}")
    if not hasattr(problem, "one_way_bound"):
        raise InvalidInputError(f"required_bits needs a Problem such as ccbounds.INDEX(16), got {problem!r}")
    return problem.one_way_bound(eps)
