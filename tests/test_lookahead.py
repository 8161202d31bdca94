"""The split search refute(M, d) against brute-force D, and its independent certificate checker."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from ccbounds.bounds._lookahead import KIND_GF2, KIND_ISO, KIND_MODP, KIND_NODE, KIND_SUB, KIND_VALUES, refute
from ccbounds.bounds._lookahead_tree import refute_or_tree
from ccbounds.bounds._matrix import Deadline
from ccbounds.bounds._refutation_check import check_refutation
from ccbounds.bounds.bruteforce import brute_force_D
from ccbounds.errors import InvalidInputError, SolverLimitError, TooLargeError


def _agree(M: np.ndarray, sub=None, **kw) -> list:
    """refute(M, d) is a checked certificate iff D(M) > d, for every d up to D(M)."""
    D = brute_force_D(M).value
    refs = []
    for d in range(D + 1):
        ref = refute(M, d, sub=sub, **kw)
        assert (ref is not None) == (D > d), (M.tolist(), d, D)
        if ref is not None:
            assert check_refutation(M, ref, trust=(_BruteCert,)), (M.tolist(), d)
            refs.append(ref)
    tree = refute_or_tree(M, D, sub=sub, **kw)  # at d = D: a protocol of depth D, correct on every cell
    assert tree.cost == D
    assert all(tree.output(i, j) == M[i, j] for i in range(M.shape[0]) for j in range(M.shape[1]))
    return refs


@pytest.mark.parametrize("tests", [("gf2", "modp"), ()])
@pytest.mark.slow
def test_all_3x3(tests):
    for bits in itertools.product((0, 1), repeat=9):
        _agree(np.array(bits, dtype=np.int8).reshape(3, 3), tests=tests)


@pytest.mark.parametrize("shape, count", [((4, 4), 70), ((5, 4), 70), ((5, 5), 60)])
@pytest.mark.slow
def test_random_against_brute_force(shape, count):
    rng = np.random.default_rng([11, *shape])
    for _ in range(count):
        _agree(rng.integers(0, 2, size=shape).astype(np.int8))


@pytest.mark.parametrize("tests", [("modp",), ()])
@pytest.mark.slow
def test_each_cheap_test_alone_and_none(tests):
    """Only the mod-p ranks, or no rank test at all (the recursion and node entries do the work)."""
    rng = np.random.default_rng([12, len(tests)])
    kinds: set = set()
    for shape in [(4, 4), (5, 4), (4, 5)] * 20:  # roots scanned too: the entries' kinds are the point
        for ref in _agree(rng.integers(0, 2, size=shape).astype(np.int8), tests=tests, self_test=False):
            kinds.update(ref.kind.tolist())
    if tests:
        assert kinds == {KIND_MODP}
    else:  # symmetric images of refuted nodes (theory §8.9) may stand in for nodes
        assert {KIND_VALUES, KIND_NODE} <= kinds <= {KIND_VALUES, KIND_NODE, KIND_ISO}


@pytest.mark.slow
def test_multivalued_against_brute_force():
    rng = np.random.default_rng(5)
    for _ in range(40):
        M = rng.integers(0, 3, size=(4, 5)).astype(np.int8)
        _agree(M)
        _agree(M, tests=())


@dataclasses.dataclass(frozen=True)
class _BruteCert:
    """A subsolver certificate: D(matrix) > depth, checked by brute force."""

    matrix: np.ndarray
    depth: int

    def check(self) -> bool:
        return brute_force_D(self.matrix).value > self.depth


def _brute_sub(calls):
    def sub(X, e):
        calls.append((X.shape, e))
        return _BruteCert(X, e) if brute_force_D(X).value > e else None
    return sub


@pytest.mark.slow
def test_subsolver_hook():
    rng = np.random.default_rng(3)
    calls: list = []
    for _ in range(40):
        _agree(rng.integers(0, 2, size=(5, 5)).astype(np.int8), sub=_brute_sub(calls), sub_max_side=3)
    assert calls
    M, plain = _deep_refutation()  # needs recursion: with the hook, the children go to the subsolver
    ref = refute(M, plain.depth, sub=_brute_sub(calls), sub_max_depth=5, tests=())
    assert (ref.kind == KIND_SUB).any() and not (ref.kind == KIND_NODE).any()
    assert check_refutation(M, ref, trust=(_BruteCert,))
    assert not check_refutation(M, ref)  # an untrusted certificate type is never taken on its word
    # a subsolver certificate that does not check makes the whole certificate fail
    rows, cols, cert = ref.subs[0]
    lying = dataclasses.replace(ref, subs=((rows, cols, _BruteCert(cert.matrix, cert.depth + 9)),) + ref.subs[1:])
    assert not check_refutation(M, lying, trust=(_BruteCert,))
    # ... and so does one about another matrix
    other = dataclasses.replace(ref, subs=((rows, cols, _BruteCert(1 - cert.matrix, cert.depth)),) + ref.subs[1:])
    assert not check_refutation(M, other, trust=(_BruteCert,))


def _deep_refutation(tests=()):
    """A certificate with node entries (no rank test: the recursion has to work), seeded scan."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        M = rng.integers(0, 2, size=(5, 5)).astype(np.int8)
        D = brute_force_D(M).value
        ref = refute(M, D - 1, tests=tests)
        if ref is not None and (ref.kind == KIND_NODE).any():
            return M, ref
    raise AssertionError("no 5x5 matrix needed a recursive refutation")


def _with(ref, **arrays):
    return dataclasses.replace(ref, **{k: v.copy() if isinstance(v, np.ndarray) else v for k, v in arrays.items()})


@pytest.mark.parametrize("tests", [(), ("gf2",), ("modp",)])
def test_corrupted_certificates_rejected(tests):
    M, ref = _deep_refutation()
    if tests:  # the same matrix, refuted by the leaf counts alone (the root scanned, not refuted by its own)
        ref = refute(M, ref.depth, tests=tests, self_test=False)
    assert check_refutation(M, ref)
    # an entry removed (the node's offsets shift: the node then misses a split)
    lo = ref.offsets[ref.root]
    keep = np.ones(ref.n_entries, dtype=bool)
    keep[lo] = False
    offs = ref.offsets.copy()
    offs[ref.root + 1:] -= 1
    cut = {k: getattr(ref, k)[keep] for k in ("axis", "part1", "child", "kind", "value")}
    assert not check_refutation(M, dataclasses.replace(ref, offsets=offs, **cut))
    cheap = int(np.flatnonzero(ref.kind != KIND_NODE)[0])
    changes = [
        ("value", cheap, ref.value[cheap] + 1),      # a wrong leaf count
        ("child", cheap, 1 - ref.child[cheap]),      # the other child named
        ("kind", cheap, KIND_NODE),                  # a reason changed
        ("part1", cheap, ref.part1[cheap] ^ 1 << 7),  # a split that is not one of the node's
    ]
    if not tests:
        node = int(np.flatnonzero(ref.kind == KIND_NODE)[0])
        changes += [("child", node, 1 - ref.child[node]),  # a node that is no sub-rectangle of that child
                    ("kind", node, KIND_GF2), ("value", node, ref.root)]
    for field, i, new in changes:
        arr = getattr(ref, field).copy()
        arr[i] = new
        assert not check_refutation(M, _with(ref, **{field: arr})), (field, i)
    deeper = ref.node_depth.copy()
    deeper[ref.root] = ref.depth - 1
    assert not check_refutation(M, _with(ref, node_depth=deeper))
    assert not check_refutation(np.zeros_like(M), ref)  # (1 - M would be refuted by the same certificate)
    assert not check_refutation(M[:4], ref)
    assert not check_refutation(M, dataclasses.replace(ref, depth=ref.depth + 1))


def test_gf2_too_weak_falls_back_to_mod_p():
    # J - I on 3 inputs: rank 2 over GF(2), 3 over Q; its leaf count is 5 over GF(2), 6 modulo P
    from ccbounds.bounds._lookahead import _leaves
    from ccbounds.bounds._refutation_check import _leaf_counts

    X = 1 - np.eye(3, dtype=np.int8)
    bits = np.array([[int(sum(1 << j for j in np.flatnonzero(X[i] == v))) for i in range(3)] for v in (0, 1)])
    assert _leaves(bits, 7, 7, KIND_GF2, 2147483647) == 5
    assert _leaves(bits, 7, 7, KIND_MODP, 2147483647) == 6
    full = np.ones((1, 3), dtype=bool)
    assert _leaf_counts(X, full, full, 2).tolist() == [5]
    assert _leaf_counts(X, full, full, 2147483647).tolist() == [6]


@pytest.mark.slow
def test_tree_or_refutation_on_a_24x24_union_of_rectangles():
    rng = np.random.default_rng([34, 7])  # the or6 generator of benchmarks/lookahead.py, seed 34: D = 5
    M = np.zeros((24, 24), np.int8)
    for _ in range(6):
        p, q = rng.uniform(0.2, 0.45, size=2)
        M |= np.outer(rng.random(24) < p, rng.random(24) < q).astype(np.int8)
    tree = refute_or_tree(M, 5)
    assert tree.cost == 5
    assert all(tree.output(i, j) == M[i, j] for i in range(24) for j in range(24))


def test_errors_and_deadline():
    with pytest.raises(InvalidInputError):
        refute(np.eye(2), -1)
    with pytest.raises(InvalidInputError, match="cheap tests"):
        refute(np.eye(2), 1, tests=("float",))
    with pytest.raises(TooLargeError):
        refute(np.random.default_rng(0).integers(0, 2, size=(40, 40)), 3)
    M = np.random.default_rng(1).integers(0, 2, size=(20, 20))
    with pytest.raises(SolverLimitError, match="time limit"):
        refute(M, 4, Deadline(1e-9))


def test_forged_certificates_are_rejected():
    """A node without splits (a single cell) proves nothing, nor does a negative depth, nor a subsolver
    certificate of a type the checker does not know, however its check() answers."""
    from ccbounds.bounds._lookahead import Refutation

    I = lambda *a: np.array(a, dtype=np.int64)  # noqa: E731, E741
    zero = np.zeros((3, 3), np.int8)
    one_cell = Refutation((3, 3), 50, 0, I(1), I(1), I(50), I(0, 0), I(), I(), I(), I(), I())
    assert not check_refutation(zero, one_cell)
    assert not check_refutation(np.eye(3, dtype=np.int8), dataclasses.replace(one_cell, depth=-1, node_depth=I(-1)))

    class Fake:
        matrix, depth = np.ones((1, 1), np.int8), 10  # M[0, 0] of the identity below

        def check(self) -> bool:
            return True

    # the whole matrix refuted at depth 11 by one subsolver entry per split, each a Fake
    M = np.eye(2, dtype=np.int8)
    fake = Refutation((2, 2), 11, 0, I(3), I(3), I(11), I(0, 2), I(0, 1), I(2, 2), I(0, 0), I(4, 4), I(0, 0),
                      subs=((1, 1, Fake()),))  # each split's part without the last line holds cell (0, 0)
    assert check_refutation(M, fake, trust=(Fake,))  # well formed: only trust decides
    assert not check_refutation(M, fake)
