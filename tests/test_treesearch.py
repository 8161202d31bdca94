"""find_tree (the heuristic protocol-tree search) against the independent brute-force D: every tree it
returns is run on every cell through ProtocolTree; it never beats D; it reaches D on small matrices."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from ccbounds.bounds import _trees, brute_force_D
from ccbounds.bounds._matrix import Deadline
from ccbounds.bounds._treesearch import find_tree, spec_errors
from ccbounds.protocols import ProtocolTree

DATA = Path(__file__).parent / "data"


def _check(M: np.ndarray, spec, d: int) -> None:
    """``spec`` computes M on every cell (evaluated by ProtocolTree, not by the search) within depth d."""
    tree = ProtocolTree.from_splits(spec)
    assert tree.cost == _trees.depth(spec) <= d
    assert all(tree.output(i, j) == M[i, j] for i in range(M.shape[0]) for j in range(M.shape[1]))


def _against_brute_force(matrices) -> tuple[int, int]:
    """(#matrices where find_tree reached D, #matrices); asserts no tree is wrong or shallower than D."""
    hits = total = 0
    for M in matrices:
        D = brute_force_D(M).value
        for d in (D - 1, D):
            if d < 0:
                continue
            spec = find_tree(M, d, Deadline(30))
            if spec is not None:
                _check(M, spec, d)
                assert d >= D, M
        hits += find_tree(M, D, Deadline(30)) is not None
        total += 1
    return hits, total


@pytest.mark.parametrize("shape", [(2, 2), pytest.param((3, 3), marks=pytest.mark.slow)])
def test_every_small_matrix(shape):
    r, c = shape
    matrices = [np.array(bits, dtype=np.int8).reshape(r, c) for bits in itertools.product((0, 1), repeat=r * c)]
    hits, total = _against_brute_force(matrices)
    assert hits == total  # few classes: every split is tried, the search is complete


@pytest.mark.slow
def test_random_4x4_and_5x5():
    rng = np.random.default_rng(11)
    matrices = [(rng.random((n, n)) < rng.uniform(0.2, 0.8)).astype(np.int8) for n in (4, 5) for _ in range(100)]
    hits, total = _against_brute_force(matrices)
    assert total == 200 and hits == total


def test_random_multivalued():
    rng = np.random.default_rng(12)
    matrices = [rng.integers(0, int(rng.integers(2, 5)), size=(r, c)).astype(np.int8)
                for r, c in [(3, 4), (4, 4), (5, 4)] for _ in range(20)]
    hits, total = _against_brute_force(matrices)
    assert hits == total


@pytest.mark.slow
def test_larger_random_against_brute_force():
    """6 x 6 and 7 x 6 (more classes than the exhaustive limit on one side: heuristic splits)."""
    rng = np.random.default_rng(13)
    matrices = [(rng.random((r, 6)) < 0.5).astype(np.int8) for r in (6, 7, 8) for _ in range(6)]
    hits, total = _against_brute_force(matrices)
    assert hits >= total * 0.8


@pytest.mark.parametrize("name", ["or6_24_8", "or6_24_18", "or6_24_27", "or6_24_37", "or6_24_39"])
@pytest.mark.slow
def test_or6_depth5(name):
    """The union of 6 rectangles in 24 x 24 (greedy: depth 6 or 7; D = 5 for 8, 27, 37, 39)."""
    M = np.load(DATA / f"{name}.npy")
    assert _trees.depth(_trees.greedy_spec(M)) > 5
    spec = find_tree(M, 5, Deadline(120))
    assert spec is not None
    _check(M, spec, 5)


def test_duplicates_and_seed():
    M = np.load(DATA / "or6_24_27.npy")  # 24 x 24 with duplicate rows and columns
    a, b = find_tree(M, 5, seed=3), find_tree(M, 5, seed=3)
    assert a == b and not spec_errors(M, a)


def test_deadline_gives_none_not_a_claim():
    M = np.load(DATA / "or6_24_8.npy")
    assert find_tree(M, 5, Deadline(1e-9)) is None
    assert find_tree(M, 1, Deadline(10)) is None  # refuted (a tree of depth 1 has 2 leaves)


def test_spec_errors_finds_a_wrong_leaf():
    M = np.eye(2, dtype=np.int8)
    good = ("Alice", [1], ("Bob", [0], 0, 1), ("Bob", [1], 0, 1))
    bad = ("Alice", [1], ("Bob", [0], 0, 1), ("Bob", [1], 1, 0))
    assert spec_errors(M, good) == [] and spec_errors(M, bad) == [(1, 0), (1, 1)]
