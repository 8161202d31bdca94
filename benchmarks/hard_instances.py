"""Seeded generator of hard instances for exact D: matrices the cheap bounds do not settle (lower < upper).

``python benchmarks/hard_instances.py`` lists the suite (name, shape, distinct rows x columns, the best
cheap lower bound, the cheap upper bound); :func:`suite` returns it as ``(name, matrix)`` pairs, the
same for the same ``seed``. Every matrix has sides between 12 and 32 (square and not). The families:

``or``
    the union (OR) of k = 4..7 random combinatorial rectangles (rows and columns each kept with
    probability 0.3-0.45): rank <= k, so log-rank and leaf-rank are small, but covering the union
    without overlaps takes many leaves.
``or6``
    the example of issue 11: the union of 6 random combinatorial rectangles in a 24 x 24 matrix, each
    rectangle keeping rows and columns with probabilities drawn uniformly from 0.2-0.45. Up to 64 row
    and column patterns, typically 17-22 distinct rows and columns: depth 5 must be found or refuted on
    matrices the tree CNF of ccbounds <= 0.1 could not settle within minutes.
``xor``
    the XOR of k = 3..5 random rectangles (rank over GF(2) <= k).
``block``
    block compositions of two or three small random matrices: block-diagonal with an all-0 or all-1
    background, and 2 x 2 block matrices [[A, B], [C, A]].
``kron``
    Kronecker-type compositions of two small random matrices A (a x b) and B (c x d):
    M[(i, k), (j, l)] = A[i, j] op B[k, l] with op AND (the Kronecker product) or XOR.
``perm``
    sparse permutation-like matrices: the union of 2-3 random permutation matrices of side n, or one
    permutation matrix with a few cells flipped.
``bits``
    functions of a few bits per party, x, y in {0,1}^4 or {0,1}^5, built from the textbook ones
    whose cheap bounds are tight (EQ, DISJ, GT, IP) by thresholds and compositions: |x AND y| >= 2
    or = 1, Hamming distance <= 1 or = 2, x + y >= 2^a (the carry of an addition), [x*y mod 3 = 0],
    [x + y mod 5 = 0], [x + 2y mod 7 < 3], majority of three inner products, majority of three
    ANDs, IP AND [x_0 = y_0], DISJ of the low bits OR EQ of the high ones, GT XOR IP of two bits,
    and [x <= y] XOR [x_0 = y_0].

``literature_suite()`` adds the instances of :mod:`ccbounds.literature`, built from their definitions with
their citations and the bound expected to be loose (Kushilevitz's h composed with XOR and AND, 64 x 64;
Kronecker powers of the Domino, 9 x 9 and 27 x 27; the Dietzfelbinger–Hromkovič–Schnitger matrices with a
fooling set of size n and rank n^0.79, 16 x 16 and 64 x 64). They are not filtered by the cheap gap and
may be larger than 32: ``benchmarks/exact_cc.py --literature`` runs them.

Each family draws candidates from its own ``numpy.random.default_rng((seed, family))`` stream and keeps
the first ones whose best cheap lower bound (log-rank and leaf-rank over R and GF(2), the largest
combined fooling set within 1 s; rounded up) is strictly below the cheap upper bound (the better of
the two one-way protocols plus an answer bit and the greedy tree of :mod:`ccbounds.bounds`), so only
a search can settle D — by finding a tree as deep as the cheap lower bound (the ``or`` and ``or6``
families mostly: the greedy tree is too deep, D equals the leaf-rank bound) or by refuting that depth
(the cheap lower bound is below D). ``benchmarks/exact_cc.py`` decides each exactly and counts the
instances of the second kind (62 of the 92 at seed 0).

Examples
--------
>>> items = suite(seed=0, per_family=1, max_tries=200)
>>> len(items), all(12 <= min(M.shape) and max(M.shape) <= 32 for _, M in items)
(7, True)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator

import numpy as np

from ccbounds.bounds import _trees
from ccbounds.bounds._matrix import distinct_classes
from ccbounds.bounds.fooling import largest_fooling_set
from ccbounds.bounds.rank import leaf_rank_bound, log_rank
from ccbounds.catalogue import threshold_functions as _bit_functions  # the catalogue's bits entries are these

__all__ = ["FAMILIES", "QUOTAS", "cheap_gap", "literature_suite", "suite"]

Instance = tuple[str, np.ndarray]


def cheap_gap(M: np.ndarray, fooling_seconds: float = 1.0) -> tuple[int, int]:
    """``(best cheap lower bound rounded up, cheap upper bound)`` on D(M) for a 0/1 matrix."""
    rc, cc = distinct_classes(M, 0), distinct_classes(M, 1)
    R = np.ascontiguousarray(M[np.ix_([c[0] for c in rc], [c[0] for c in cc])])
    lows = [log_rank(R, f).value for f in ("R", "GF2")] + [leaf_rank_bound(R, f).value for f in ("R", "GF2")]
    up = min(_trees.depth(_trees.oneway_spec(R, 0)), _trees.depth(_trees.oneway_spec(R, 1)))
    if math.ceil(max(lows) - 1e-9) < up:
        up = min(up, _trees.depth(_trees.greedy_spec(R)))
    if math.ceil(max(lows) - 1e-9) < up:
        lows.append(largest_fooling_set(R, "combined", time_limit=fooling_seconds, on_limit="best").value)
    return math.ceil(max(lows) - 1e-9), up


def _blow_up(rng: np.random.Generator, core: np.ndarray) -> np.ndarray:
    """Copy random rows and columns of ``core`` until both sides lie in 12..32 (D is unchanged)."""
    R = max(core.shape[0], int(rng.integers(12, 33)))
    C = max(core.shape[1], int(rng.integers(12, 33)))
    rows = np.concatenate([np.arange(core.shape[0]), rng.integers(0, core.shape[0], R - core.shape[0])])
    cols = np.concatenate([np.arange(core.shape[1]), rng.integers(0, core.shape[1], C - core.shape[1])])
    return core[np.ix_(rng.permutation(rows), rng.permutation(cols))].astype(np.int8)


def _rect(rng: np.random.Generator, R: int, C: int) -> np.ndarray:
    p, q = rng.uniform(0.3, 0.5, size=2)
    return np.outer(rng.random(R) < p, rng.random(C) < q).astype(np.int8)


def _or(rng: np.random.Generator) -> Instance:
    R, C, k = int(rng.integers(12, 33)), int(rng.integers(12, 33)), int(rng.integers(4, 6))
    M = np.zeros((R, C), np.int8)
    for _ in range(k):
        M |= _rect(rng, R, C)
    return f"or{k}_{R}x{C}", M


def _or6(rng: np.random.Generator) -> Instance:
    M = np.zeros((24, 24), np.int8)
    for _ in range(6):
        p, q = rng.uniform(0.2, 0.45, size=2)
        M |= np.outer(rng.random(24) < p, rng.random(24) < q).astype(np.int8)
    return f"or6-{int(rng.integers(1 << 16)):04x}_24x24", M


def _xor(rng: np.random.Generator) -> Instance:
    R, C, k = int(rng.integers(12, 33)), int(rng.integers(12, 33)), int(rng.integers(3, 5))
    M = np.zeros((R, C), np.int8)
    for _ in range(k):
        M ^= _rect(rng, R, C)
    return f"xor{k}_{R}x{C}", M


def _small(rng: np.random.Generator, r: int, c: int) -> np.ndarray:
    return (rng.random((r, c)) < rng.uniform(0.3, 0.7)).astype(np.int8)


def _block(rng: np.random.Generator) -> Instance:
    if rng.random() < 0.5:
        sizes = [(int(rng.integers(3, 7)), int(rng.integers(3, 7))) for _ in range(int(rng.integers(2, 4)))]
        bg = int(rng.integers(0, 2))
        R, C = sum(s[0] for s in sizes), sum(s[1] for s in sizes)
        core = np.full((R, C), bg, np.int8)
        i = j = 0
        for r, c in sizes:
            core[i:i + r, j:j + c] = _small(rng, r, c)
            i, j = i + r, j + c
        M = _blow_up(rng, core)
        return f"blockdiag{len(sizes)}/{bg}_{M.shape[0]}x{M.shape[1]}", M
    r, c = int(rng.integers(3, 8)), int(rng.integers(3, 8))
    A, B, Cm = _small(rng, r, c), _small(rng, r, c), _small(rng, r, c)
    M = _blow_up(rng, np.block([[A, B], [Cm, A]]))
    return f"block2x2_{M.shape[0]}x{M.shape[1]}", M


def _kron(rng: np.random.Generator) -> Instance:
    a, b, c, d = (int(v) for v in rng.integers(2, 5, size=4))
    A, B = _small(rng, a, b), _small(rng, c, d)
    op = "and" if rng.random() < 0.5 else "xor"
    core = np.kron(A, B) if op == "and" else (A[:, None, :, None] ^ B[None, :, None, :]).reshape(a * c, b * d)
    M = _blow_up(rng, core)
    return f"kron-{op}{a}x{b}.{c}x{d}_{M.shape[0]}x{M.shape[1]}", M


def _perm(rng: np.random.Generator) -> Instance:
    n = int(rng.integers(6, 17))
    core = np.zeros((n, n), np.int8)
    if rng.random() < 0.5:
        k = int(rng.integers(2, 4))
        for _ in range(k):
            core[np.arange(n), rng.permutation(n)] = 1
        tag = f"perm-union{k}"
    else:
        core[np.arange(n), rng.permutation(n)] = 1
        flips = int(rng.integers(2, n))
        core[rng.integers(0, n, flips), rng.integers(0, n, flips)] ^= 1
        tag = f"perm-flip{flips}"
    M = _blow_up(rng, core)
    return f"{tag}.{n}_{M.shape[0]}x{M.shape[1]}", M


def _bits() -> Iterator[Instance]:
    for a, name in itertools.product((4, 5), _bit_functions(4)):
        fa = _bit_functions(a)[name]
        yield f"bits{a}:{name}", np.array([[fa(x, y) for y in range(1 << a)] for x in range(1 << a)], np.int8)


def _sampled(draw: Callable[[np.random.Generator], Instance]) -> Callable[[np.random.Generator], Iterator[Instance]]:
    def gen(rng: np.random.Generator) -> Iterator[Instance]:
        while True:
            yield draw(rng)
    return gen


#: family name -> generator of candidates (given the family's random stream)
FAMILIES: dict[str, Callable[[np.random.Generator], Iterator[Instance]]] = {
    "or": _sampled(_or), "xor": _sampled(_xor), "block": _sampled(_block), "kron": _sampled(_kron),
    "perm": _sampled(_perm), "bits": lambda rng: _bits(), "or6": _sampled(_or6),
}


#: instances per family. Set from one run of ``benchmarks/exact_cc.py`` with 13 of each, by how often
#: a family's instances turned out to have cheap lower bound < D (the search may find a tree as deep
#: as the cheap lower bound): or 0 of 13, xor 13/13, block 4/13, kron 11/13, perm 13/13, bits 2/2.
#: This weights the families; no instance is picked by its D. ``or6`` (added last, so the other
#: families' random streams are unchanged) takes the first 12 candidates with a gap.
QUOTAS = {"or": 6, "xor": 21, "block": 12, "kron": 21, "perm": 21, "bits": 28, "or6": 12}


def suite(seed: int = 0, per_family: int | None = None, max_tries: int = 3000) -> list[Instance]:
    """The hard instances: :data:`QUOTAS` per family, each with cheap lower < cheap upper bound.

    Parameters
    ----------
    seed : int
        Seeds every family's stream: the same seed gives the same suite.
    per_family : int or None
        Instances kept per family instead of :data:`QUOTAS` (the ``bits`` family has 28 candidates).
    max_tries : int
        Candidates drawn per family at most.
    """
    out: list[Instance] = []
    for k, (family, gen) in enumerate(FAMILIES.items()):
        rng = np.random.default_rng([seed, k])
        kept, names = 0, set()
        for name, M in itertools.islice(gen(rng), max_tries):
            if kept >= (QUOTAS[family] if per_family is None else per_family):
                break
            if not (12 <= min(M.shape) and max(M.shape) <= 32) or name in names:
                continue
            lo, up = cheap_gap(M)
            if lo < up:
                names.add(name)
                out.append((name, M))
                kept += 1
    return out


def literature_suite() -> list[Instance]:
    """The literature instances (:func:`ccbounds.literature.literature_instances`) as ``(id, matrix)`` pairs."""
    from ccbounds.literature import literature_instances

    return [(f"lit:{inst.id}", inst.matrix) for inst in literature_instances()]


def main() -> None:
    items = suite()
    print(f"{'instance':<26}{'shape':>8}{'distinct':>10}{'cheap lo':>10}{'cheap up':>10}")
    for name, M in items:
        lo, up = cheap_gap(M)
        d = f"{len(distinct_classes(M, 0))}x{len(distinct_classes(M, 1))}"
        print(f"{name:<26}{M.shape[0]:>4}x{M.shape[1]:<3}{d:>10}{lo:>10}{up:>10}")
    print(f"{len(items)} instances")
    from ccbounds.literature import literature_instances

    print("\nliterature instances (built from their definitions):")
    for inst in literature_instances():
        lo, up = cheap_gap(inst.matrix)
        print(f"{inst.id:<20}{inst.matrix.shape[0]:>4}x{inst.matrix.shape[1]:<3} cheap {lo}..{up}; expected loose: "
              f"{inst.loose}; {inst.citation[:60]}...")


if __name__ == "__main__":
    main()
