"""Issue 18 item 4: binary rank (C^P_1) against an independent brute force, and its certificates."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from ccbounds.bounds import binary_rank, partition_number
from ccbounds.bounds.drup import UnsatProof


def _brute_binary_rank(M: np.ndarray) -> int:
    """Fewest disjoint all-ones rectangles covering the 1-cells, by exhaustive search (shares no code)."""
    R, C = M.shape
    ones = 0
    for i in range(R):
        for j in range(C):
            if M[i, j]:
                ones |= 1 << (i * C + j)
    rects = []
    for rs in range(1, 1 << R):
        rows = [i for i in range(R) if rs >> i & 1]
        for cs in range(1, 1 << C):
            cols = [j for j in range(C) if cs >> j & 1]
            if all(M[i, j] for i in rows for j in cols):
                rects.append(sum(1 << (i * C + j) for i in rows for j in cols))
    rects.sort(key=lambda r: -bin(r).count("1"))  # large rectangles first: good solutions early
    best = [bin(ones).count("1")]
    seen: dict[int, int] = {}

    def go(left: int, used: int) -> None:
        if left == 0:
            best[0] = min(best[0], used)
            return
        if used + 1 >= best[0] or seen.get(left, 1 << 30) <= used:
            return
        seen[left] = used
        low = left & -left
        for r in rects:
            if r & low and r & left == r:  # contains the first uncovered cell, disjoint from the covered ones
                go(left & ~r, used + 1)

    go(ones, 0)
    return best[0]


def _canonical_4x4() -> list[np.ndarray]:
    """One 4x4 0/1 matrix per class under row and column permutations (binary rank is invariant): the
    least, over column permutations, of the sorted tuple of rows (as 4-bit numbers)."""
    codes = np.arange(1 << 16)
    rows = np.stack([(codes >> (4 * i)) & 15 for i in range(4)], axis=1)  # (65536, 4) rows as 4-bit ints
    best = None
    for p in itertools.permutations(range(4)):
        table = np.array([sum(((v >> p[b]) & 1) << b for b in range(4)) for v in range(16)])
        mapped = np.sort(table[rows], axis=1)
        key = mapped[:, 0] | mapped[:, 1] << 4 | mapped[:, 2] << 8 | mapped[:, 3] << 12
        best = key if best is None else np.minimum(best, key)
    return [np.array([[(int(k) >> (4 * i + b)) & 1 for b in range(4)] for i in range(4)], dtype=np.int8)
            for k in np.unique(best)]


@pytest.mark.slow
def test_every_4x4_up_to_permutations():
    mats = _canonical_4x4()
    assert len(mats) == 317  # 0/1 4x4 matrices up to row and column permutations (OEIS A002724)
    for M in mats:
        b = binary_rank(M, solver="glucose4")
        assert b.number == _brute_binary_rank(M), M.tolist()
        assert b.check(M)


@pytest.mark.parametrize("side", [5, pytest.param(6, marks=pytest.mark.slow)])
def test_random_against_brute_force(side):
    rng = np.random.default_rng(side)
    for _ in range(8):
        M = (rng.random((side, side)) < rng.uniform(0.3, 0.8)).astype(np.int8)
        b = binary_rank(M, use_cheap_bounds=False, solver="glucose4")  # SAT down to the optimum: proofs exercised
        assert b.number == _brute_binary_rank(M), M.tolist()
        assert b.check(M)


def test_partition_number_is_the_sum_of_both_colours():
    rng = np.random.default_rng(7)
    for _ in range(6):
        M = rng.integers(0, 2, size=(4, 5)).astype(np.int8)
        assert partition_number(M).witness.number == binary_rank(M).number + binary_rank(1 - M).number


def test_corrupted_witnesses_are_rejected():
    M = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]], dtype=np.int8)
    b = binary_rank(M, use_cheap_bounds=False)
    assert b.check(M) and isinstance(b.lower, UnsatProof)
    r0 = b.rectangles[0]
    assert not dataclasses.replace(b, rectangles=b.rectangles[1:], number=b.number - 1).check(M)
    overlap = b.rectangles + ((r0[0], r0[1], 1),)
    assert not dataclasses.replace(b, rectangles=overlap, number=b.number + 1).check(M)
    assert not b.check(1 - M)
    lemmas = b.lower.lemmas
    assert not dataclasses.replace(b, lower=dataclasses.replace(b.lower, lemmas=lemmas[: len(lemmas) // 2])).check(M) \
        or len(lemmas) <= 1
    cheap = binary_rank(M)
    assert cheap.check(M) and not isinstance(cheap.lower, UnsatProof)
    bad = dataclasses.replace(cheap, certificates={})
    assert not bad.check(M)
