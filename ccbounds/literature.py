"""Communication matrices from the literature, each built from its definition (theory §8.8).

Every instance is a :class:`LiteratureInstance`: a stable id, the matrix, the citation, how it is
built, and the lower bound expected to be loose on it (why the instance is interesting for exact D).
The defining properties that can be checked are checked in code (:func:`kushilevitz_h_properties`,
the fooling set and rank of the Dietzfelbinger–Hromkovič–Schnitger matrices in the tests).

- ``kushilevitz-h-xor``, ``kushilevitz-h-and`` (64 x 64): Kushilevitz's 6-bit function h (published by
  Nisan and Szegedy 1994, Example; degree 3 and sensitivity 6) composed with XOR, ``h(x XOR y)``, and
  with AND, ``h(x AND y)``. The rank of ``h(x XOR y)`` is the Fourier sparsity of h and that of
  ``h(x AND y)`` its number of monomials (31): iterating h is how Nisan and Wigderson (1995) separate
  log-rank from D, so log-rank is the bound expected to be loose.
- ``domino-kron2`` (9 x 9), ``domino-kron3`` (27 x 27): Kronecker powers of the "Domino", the
  biadjacency matrix of the 2 x 3 grid graph ``[[1, 1, 0], [1, 0, 1], [1, 1, 1]]``, whose binary rank
  and fractional biclique partition number under Kronecker powers Ghosal and Karrenbauer study
  (arXiv 2502.06730). Their abstract names the Domino graph; we could retrieve no more of the paper
  than the abstract, so the matrix is our reading of "Domino" as the domino (2 x 3 grid) graph.
  Expected loose: the fooling-set bound (they show the fractional biclique bound beats it).
- ``dhs-kron2`` (16 x 16), ``dhs-kron3`` (64 x 64): Kronecker powers of a 4 x 4 0/1 matrix A with
  ``A o A^T = I`` (Hadamard product) and rank 3, the construction of Dietzfelbinger, Hromkovič and
  Schnitger (1996) of matrices with a fooling set of size n (the diagonal) and rank n^(log_4 3); it is
  the gap between rank and fooling-set size that Shigeta and Amano (arXiv 1311.6192) widen to almost
  quadratic with ordered biclique partitions. Their asymptotic construction is not built here (its
  sizes at n <= 64 were not derivable in the time we had); this is its predecessor. Expected loose:
  log-rank.

Not included: the function of Dektiarev and Vereshchagin (arXiv 2405.16881) with classical D = 6 and a
cheaper half-duplex protocol — its definition could not be retrieved with the search tools we had (only
the abstract).

Examples
--------
>>> [i.id for i in literature_instances()][:2]
['kushilevitz-h-xor', 'kushilevitz-h-and']
>>> kushilevitz_h_properties()
{'boolean': True, 'degree': 3, 'sensitivity': 6, 'monomials': 31}
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["DHS_BASE", "DOMINO", "LiteratureInstance", "kushilevitz_h", "kushilevitz_h_properties",
           "literature_instances"]

#: the ten triples of h's cubic part (1-based variable indices; Nisan–Szegedy 1994)
_H_TRIPLES = ((1, 3, 4), (1, 2, 5), (1, 4, 5), (2, 3, 4), (2, 3, 5), (1, 2, 6), (1, 3, 6), (2, 4, 6), (3, 5, 6),
              (4, 5, 6))

#: the Domino: biadjacency matrix of the 2 x 3 grid graph (rows: one colour class, columns: the other)
DOMINO = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 1]], dtype=np.int8)

#: a 4 x 4 0/1 matrix with A o A^T = I and rank 3 over R (found by exhaustive search over the 3^6 patterns)
DHS_BASE = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [0, 1, 1, 0], [1, 0, 0, 1]], dtype=np.int8)


def kushilevitz_h(z: int) -> int:
    """Kushilevitz's function on 6 bits (bit i of z is x_(i+1)): the multilinear polynomial
    ``sum x_i - sum_(i<j) x_i x_j + sum_(T in the ten triples) prod_(i in T) x_i``, which is 0/1-valued."""
    b = [(z >> i) & 1 for i in range(6)]
    s = sum(b) - sum(b[i] * b[j] for i in range(6) for j in range(i + 1, 6))
    return s + sum(b[i - 1] * b[j - 1] * b[k - 1] for i, j, k in _H_TRIPLES)


def kushilevitz_h_properties() -> dict[str, object]:
    """Checked from the truth table: 0/1-valued, degree (largest monomial of the Möbius expansion),
    sensitivity (most neighbours with another value), number of monomials."""
    vals = [kushilevitz_h(z) for z in range(64)]
    coef = list(vals)
    for i in range(6):  # Möbius transform: the multilinear coefficients
        for z in range(64):
            if (z >> i) & 1:
                coef[z] -= coef[z ^ (1 << i)]
    degree = max(bin(z).count("1") for z in range(64) if coef[z] != 0)
    sens = max(sum(vals[z] != vals[z ^ (1 << i)] for i in range(6)) for z in range(64))
    return {"boolean": set(vals) <= {0, 1}, "degree": degree, "sensitivity": sens,
            "monomials": sum(1 for c in coef if c != 0)}


@dataclass(frozen=True)
class LiteratureInstance:
    """A named matrix from the literature: ``id`` (stable), ``matrix``, ``citation``, ``construction``,
    ``loose`` (the lower bound expected to be loose) and ``note``."""

    id: str
    matrix: np.ndarray = field(repr=False)
    citation: str
    construction: str
    loose: str
    note: str = ""


def _kron_power(A: np.ndarray, k: int) -> np.ndarray:
    out = A
    for _ in range(k - 1):
        out = np.kron(out, A)
    return out.astype(np.int8)


def literature_instances() -> list[LiteratureInstance]:
    """The instances of the module docstring, in a fixed order."""
    h = np.array([kushilevitz_h(z) for z in range(64)], dtype=np.int8)
    idx = np.arange(64)
    nsw = ("N. Nisan, M. Szegedy, On the degree of Boolean functions as real polynomials, Comput. Complexity 4 "
           "(1994) (the function h, due to Kushilevitz); N. Nisan, A. Wigderson, On rank vs. communication "
           "complexity, Combinatorica 15 (1995)")
    gk = ("A. Ghosal, A. Karrenbauer, Engineering insights into biclique partitions and fractional binary ranks "
          "of matrices, arXiv 2502.06730 (2025)")
    dhs = ("M. Dietzfelbinger, J. Hromkovic, G. Schnitger, A comparison of two lower-bound methods for "
           "communication complexity, Theoret. Comput. Sci. 168 (1996); M. Shigeta, K. Amano, Ordered biclique "
           "partitions and communication complexity problems, arXiv 1311.6192")
    return [
        LiteratureInstance("kushilevitz-h-xor", h[idx[:, None] ^ idx[None, :]], nsw,
                           "h(x XOR y), x, y in {0,1}^6", "log-rank",
                           "rank = Fourier sparsity of h"),
        LiteratureInstance("kushilevitz-h-and", h[idx[:, None] & idx[None, :]], nsw,
                           "h(x AND y), x, y in {0,1}^6", "log-rank",
                           "rank = number of monomials of h (31)"),
        LiteratureInstance("domino-kron2", _kron_power(DOMINO, 2), gk, "Domino (x) Domino", "fooling-set",
                           "Domino = biadjacency of the 2 x 3 grid graph (our reading of the paper's 'Domino')"),
        LiteratureInstance("domino-kron3", _kron_power(DOMINO, 3), gk, "Domino^(x)3 (27 x 27)", "fooling-set",
                           "Domino = biadjacency of the 2 x 3 grid graph (our reading of the paper's 'Domino')"),
        LiteratureInstance("dhs-kron2", _kron_power(DHS_BASE, 2), dhs, "A (x) A, A o A^T = I, rank A = 3",
                           "log-rank", "fooling set of size 16 (the diagonal), rank 9"),
        LiteratureInstance("dhs-kron3", _kron_power(DHS_BASE, 3), dhs, "A^(x)3, A o A^T = I, rank A = 3",
                           "log-rank", "fooling set of size 64 (the diagonal), rank 27"),
    ]
