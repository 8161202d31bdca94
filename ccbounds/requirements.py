"""How many bits a one-way message must have: the lower bound an induced protocol is held to.

Lemma R / Lemma T (SPEC §4) turn a model into a deterministic one-way protocol A->B. A model that is
correct on every input therefore has message size >= D^{A->B}(f) (exact: ceil(log2 #distinct rows),
SPEC §1); one with average error eps under the uniform INDEX distribution has message size >=
n·(1 - H2(eps)) (the [KNR] / Fano argument of SPEC §6; q-ary alphabets: n·(log2 q - H2(eps) -
eps·log2(q-1))). DISJ inherits the INDEX bound through the embedding y = {i} (SPEC §2). EQ has no
non-trivial bound once errors are allowed: its public-coin complexity is ceil(log2(1/eps)) + 1.

Examples
--------
>>> from ccbounds.problems import INDEX, EQ
>>> str(required_bits(INDEX(16)))
'D1way(A->B)(INDEX_16) = 16 bits  [known; SPEC §3 (q^n distinct rows)]'
>>> round(required_bits(INDEX(16), eps=0.1).value, 3)
8.496
>>> required_bits(EQ(8), eps=0.1).value
0
"""

from __future__ import annotations

from typing import Any

from ccbounds.bound import Bound
from ccbounds.errors import InvalidInputError
from ccbounds.information import fano_term

__all__ = ["required_bits", "index_distributional_bound"]


def index_distributional_bound(n: int, eps: float, q: int = 2) -> float:
    """n·(log2 q − H2(eps) − eps·log2(q−1)), floored at 0 (SPEC §6; [KNR] for q = 2).

    >>> index_distributional_bound(10, 0.0), index_distributional_bound(10, 0.5)
    (10.0, 0.0)
    """
    return n * float(fano_term(eps, q))


def required_bits(problem: Any, eps: float = 0.0) -> Bound:
    """The lower bound on the message of any one-way A->B protocol for ``problem`` (SPEC §1, §2, §6).

    Parameters
    ----------
    problem : Problem
        INDEX, EQ, DISJ, or any problem small enough for its matrix (then the exact
        ceil(log2 #distinct rows) is computed).
    eps : float
        0 for protocols correct on every input; in (0, 1/2) for an average error eps under the
        uniform INDEX distribution (x uniform, i uniform; for DISJ: y = {i}).

    Returns
    -------
    Bound
        Model ``"D1way(A->B)"`` (eps = 0) or ``"D_mu_eps(A->B)"`` (eps > 0), direction lower or exact.

    Raises
    ------
    InvalidInputError
        eps outside [0, 1), or eps > 0 for a problem without a distributional bound here.
    """
    if not 0 <= eps < 1:
        raise InvalidInputError(f"eps must be in [0, 1), got {eps}")
    family = type(problem).__name__
    if eps == 0:
        for b in problem.known_bounds(eps=0.0):
            if b.model == "D1way(A->B)" and b.is_lower:
                return b
        from ccbounds.bounds import one_way

        return one_way(problem)  # exact: ceil(log2 #distinct rows) of the problem's matrix
    if family in ("INDEX", "DISJ"):
        q = getattr(problem, "q", 2)
        mu = "x uniform, i uniform" + ("; y = {i} (the INDEX->DISJ embedding)" if family == "DISJ" else "")
        return Bound(index_distributional_bound(problem.n, eps, q), "lower", "D_mu_eps(A->B)", problem.name,
                     eps=eps, method="known", source="[KNR]; SPEC §6 (Fano per coordinate)",
                     expression="n*(1-H2(eps))" if q == 2 else "n*(log2 q - H2(eps) - eps*log2(q-1))",
                     note=f"average error eps under mu: {mu}")
    if family == "EQ":
        return Bound(0, "lower", "D_mu_eps(A->B)", problem.name, eps=eps, method="known",
                     source="[KN] Ex. 3.5 (public-coin EQ in ceil(log2(1/eps))+1 bits)", expression="0",
                     note="no non-trivial bound with errors: hashing solves EQ with O(log 1/eps) bits")
    raise InvalidInputError(f"no distributional bound for {problem.name} with eps > 0; pass eps=0")
