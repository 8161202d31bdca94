"""The faster split search of theory §8.9: symmetries of D, the memo shared across depths, threads.

D of every matrix here is also computed by a brute force written in this file (the recursion of theory
§8.5 over row and column subsets, sharing no code with ccbounds).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

from ccbounds.bounds import _lookahead, exact_D
from ccbounds.bounds._canonical import apply_form, normal_form
from ccbounds.bounds._lookahead import KIND_ISO, KIND_NODE, refute
from ccbounds.bounds._lookahead_tree import refute_or_spec
from ccbounds.bounds._refutation_check import check_refutation
from ccbounds.errors import InvalidInputError


def _brute_D(M: np.ndarray) -> int:
    """D(M) by D(R) = 0 if R is monochromatic, else 1 + min over splits of one side of the larger child."""
    M = np.asarray(M)
    m, n = M.shape

    @functools.cache
    def d(rows: int, cols: int) -> int:
        cells = {int(M[i, j]) for i in range(m) if rows >> i & 1 for j in range(n) if cols >> j & 1}
        if len(cells) == 1:
            return 0
        best = 99
        for side, other, is_row in ((rows, cols, True), (cols, rows, False)):
            sub = (side - 1) & side
            while sub:
                a, b = (sub, other) if is_row else (other, sub)
                c, e = (side ^ sub, other) if is_row else (other, side ^ sub)
                best = min(best, 1 + max(d(a, b), d(c, e)))
                sub = (sub - 1) & side
        return best

    return d((1 << m) - 1, (1 << n) - 1)


def _images(M: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """A random row/column permutation of M, its transpose, and (0/1) its complement."""
    P = M[np.ix_(rng.permutation(M.shape[0]), rng.permutation(M.shape[1]))]
    return [P, P.T.copy(), 1 - P, (1 - P).T.copy()]


def test_brute_force_here_is_right_on_textbook_matrices():
    assert _brute_D(np.eye(4, dtype=int)) == 3  # D(EQ_2) = 3
    assert _brute_D(np.ones((3, 3), dtype=int)) == 0
    assert _brute_D(np.triu(np.ones((4, 4), dtype=int))) == 3  # GT on 4 inputs


@pytest.mark.slow
def test_D_is_invariant_under_the_symmetries_against_brute_force():
    """theory §8.9: a random matrix and its permuted, transposed and complemented images have the same D,
    by exact_D (with the symmetric memo) and by the brute force here."""
    rng = np.random.default_rng(18)
    for shape in [(3, 3), (3, 4), (4, 3), (4, 4)] * 6:
        M = rng.integers(0, 2, size=shape).astype(np.int8)
        D = _brute_D(M)
        assert exact_D(M, workers=1).value == D, M.tolist()
        for img in _images(M, rng):
            assert _brute_D(img) == D
            r = exact_D(img, workers=1)
            assert r.value == D and r.check(img), img.tolist()


def test_normal_form_is_an_image_and_canonical_when_discrete():
    rng = np.random.default_rng(7)
    discrete = 0
    for _ in range(60):
        M = rng.integers(0, 2, size=(int(rng.integers(3, 7)), int(rng.integers(3, 7)))).astype(np.int8)
        key, form = normal_form(M)
        N = apply_form(M, form)
        assert key.endswith(N.astype(np.int8).tobytes())
        if max(M.shape) <= 4:
            assert _brute_D(N) == _brute_D(M)
        if form.discrete and len({r.tobytes() for r in M}) == M.shape[0] \
                and len({c.tobytes() for c in M.T}) == M.shape[1]:
            discrete += 1
            for img in _images(M, rng):  # canonical: every image has the same key
                assert normal_form(img)[0] == key
    assert discrete >= 10
    # multi-valued matrices: no complement, but permutations and the transpose
    A = np.array([[0, 1, 2], [2, 2, 0]], dtype=np.int8)
    assert normal_form(A)[0] == normal_form(A.T[[2, 0, 1]])[0]
    assert not normal_form(A)[1].complemented


@pytest.fixture(autouse=True)
def _small_rectangles_use_the_symmetric_memo(monkeypatch):
    monkeypatch.setattr(_lookahead, "ISO_MIN_SIDE", 0)  # the small matrices here would not reach it


def _with_iso_hits(seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(100):
        M = rng.integers(0, 2, size=(5, 6)).astype(np.int8)
        D = _brute_D(M)
        st: dict = {}
        ref = refute_or_spec(M, D - 1, tests=(), stats=st)
        if st["iso_hits"] and st["contain_hits"]:
            return M, D, ref, st
    raise AssertionError("no 5x6 matrix with symmetry and containment hits")


@pytest.mark.slow
def test_memo_hits_give_checked_certificates():
    """The memo's hits are counted, and the certificate they give (KIND_ISO and node entries) checks."""
    M, D, ref, st = _with_iso_hits()
    assert (ref.kind == KIND_ISO).sum() > 0 and len(ref.isos) > 0
    assert check_refutation(M, ref)
    plain: dict = {}
    old = refute_or_spec(M, D - 1, tests=(), stats=plain, speedups=False)
    assert check_refutation(M, old) and plain["split_nodes"] > st["split_nodes"]  # the memo saves nodes
    assert refute(M, D, tests=()) is None and refute(M, D, tests=(), speedups=False) is None


def test_corrupted_symmetry_entries_rejected():
    M, D, ref, _ = _with_iso_hits()
    node, rows, cols, t, c = ref.isos[0]
    bad = [
        (node, rows, cols, t, not c),                       # complement flag flipped
        (node, rows, cols, not t, c),                       # transpose flag flipped
        (node, rows[::-1], cols, t, c) if len(set(rows)) > 1 else (node, rows, cols, t, not c),
        (node, rows[:-1], cols, t, c),                      # a row dropped: shapes differ
        (node, (rows[0],) * len(rows), cols, t, c),         # repeated rows
        (len(ref.node_rows), rows, cols, t, c),             # no such node
    ]
    results = [check_refutation(M, dataclasses.replace(ref, isos=(b,) + ref.isos[1:])) for b in bad]
    assert not any(results[:2] + results[3:])
    # a node claiming less depth than the entry needs
    shallow = dataclasses.replace(ref, node_depth=np.where(np.arange(len(ref.node_rows)) == node, 0,
                                                           ref.node_depth).astype(np.int8))
    assert not check_refutation(M, shallow)
    # an iso index out of range
    k = int(np.flatnonzero(ref.kind == KIND_ISO)[0])
    value = ref.value.copy()
    value[k] = len(ref.isos)
    assert not check_refutation(M, dataclasses.replace(ref, value=value))


def test_complement_never_accepted_on_multivalued_matrices():
    M = np.array([[0, 1, 2], [1, 2, 0], [2, 0, 1]], dtype=np.int8)
    ref = refute(M, 1, self_test=False)  # the root's splits scanned (its own leaf count 9 > 2 would do)
    assert ref is not None and check_refutation(M, ref)
    k = int(ref.offsets[ref.root])
    kinds, values = ref.kind.copy(), ref.value.copy()
    kinds[k], values[k] = KIND_ISO, 0
    fake = dataclasses.replace(ref, kind=kinds, value=values,
                               isos=((ref.root, (0, 1, 2), (0, 1, 2), False, True),))
    assert not check_refutation(M, fake)


def test_bounds_shared_across_depths():
    """One search reused from depth to depth (as exact_D does): D > d proven once answers every depth <= d
    without a new node, and the same search then finds the tree at D."""
    M, D, _, _ = _with_iso_hits()
    shared: list = []
    st: dict = {}
    ref = refute_or_spec(M, D - 1, tests=(), stats=st, search=shared)
    nodes = len(shared[0].nodes)
    again = refute_or_spec(M, D - 2, tests=(), stats=st, search=shared)
    assert st["depth_hits"] >= 1 and len(shared[0].nodes) == nodes  # the root's refutation at D - 1, reused
    assert check_refutation(M, ref) and check_refutation(M, again) and again.depth == D - 2
    spec = refute_or_spec(M, D, tests=(), search=shared)  # a tree of depth D, from the same search
    assert not hasattr(spec, "depth")


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.slow
def test_two_workers_same_answer_and_certificate(seed, monkeypatch):
    monkeypatch.setattr(_lookahead, "PARALLEL_SPLITS", 1)  # every scan on the threads, however small
    rng = np.random.default_rng([18, seed])
    M = np.zeros((10, 10), np.int8)
    for _ in range(4):
        M ^= np.outer(rng.random(10) < 0.5, rng.random(10) < 0.5).astype(np.int8)
    one, two = exact_D(M, workers=1), exact_D(M, workers=2)
    assert one.value == two.value == exact_D(M, workers=1, speedups=False).value
    assert one.check(M) and two.check(M)
    d = one.value - 1
    r1, r2 = refute(M, d, workers=1), refute(M, d, workers=2)
    assert (r1 is None) == (r2 is None)
    if r1 is not None:  # the scan's threads change nothing: the same certificate
        assert all(np.array_equal(getattr(r1, f), getattr(r2, f)) for f in ("part1", "kind", "value", "child"))
        assert check_refutation(M, r2)


def test_workers_validated():
    with pytest.raises(InvalidInputError, match="workers"):
        exact_D(np.eye(3, dtype=int), workers=0)
    with pytest.raises(InvalidInputError, match="workers"):
        refute(np.eye(3, dtype=np.int8), 1, workers=0)


def test_search_size_reported():
    r = exact_D(np.eye(5, dtype=int) ^ np.eye(5, k=1, dtype=int), workers=1)
    assert {"split_nodes", "splits_scanned", "sat_calls", "proof_lines", "depth_hits", "contain_hits",
            "iso_hits"} <= set(r.search) and r.to_dict()["search"] == r.search
    assert KIND_NODE == 3  # the entry kinds the certificate format documents
