"""Tests of ccbounds.problems: matrices against f, input orders, known bounds against brute force, errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbounds.bound_record import MODELS, Bound
from ccbounds.errors import InvalidInputError, TooLargeError, UnknownNameError
from ccbounds.problems import (
    DISJ,
    EQ,
    GT,
    INDEX,
    IP,
    MAX_INPUTS,
    MAX_MATRIX_ENTRIES,
    PROBLEMS,
    FunctionProblem,
    MatrixProblem,
    Problem,
    get_problem,
)

BIT_CLASSES = [EQ, DISJ, GT, IP]
REFERENCE = {  # independent definitions, on tuples of bits
    EQ: lambda x, y: int(x == y),
    DISJ: lambda x, y: int(all(not (a and b) for a, b in zip(x, y))),
    GT: lambda x, y: int(int("".join(map(str, x)), 2) > int("".join(map(str, y)), 2)),
    IP: lambda x, y: int(np.dot(x, y)) % 2,
}


def small_problems() -> list[Problem]:
    out: list[Problem] = [cls(n) for cls in BIT_CLASSES for n in (1, 2, 3, 4)]
    out += [INDEX(n, q) for n, q in [(1, 2), (2, 2), (3, 2), (4, 2), (2, 3), (3, 3), (2, 5)]]
    return out


def ceil_log2(m: int) -> int:
    return math.ceil(math.log2(m)) if m > 1 else 0


# -- matrices and orders ---------------------------------------------------------------------------
@pytest.mark.parametrize("cls", BIT_CLASSES)
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_bit_problem_matrix_equals_reference(cls: type, n: int) -> None:
    p = cls(n)
    X, Y = p.alice_inputs(), p.bob_inputs()
    assert X == list(itertools.product((0, 1), repeat=n)) == Y
    M = p.matrix()
    assert M.dtype == np.int8 and M.shape == (2**n, 2**n)
    for i, x in enumerate(X):
        for j, y in enumerate(Y):
            assert M[i, j] == p.f(x, y) == REFERENCE[cls](x, y)
    assert p.name == f"{cls.__name__}_{n}"
    assert (p.num_alice_inputs, p.num_bob_inputs) == (len(X), len(Y))


@pytest.mark.parametrize("n,q", [(1, 2), (3, 2), (2, 3), (3, 3), (2, 5)])
def test_index_matrix_and_orders(n: int, q: int) -> None:
    p = INDEX(n, q)
    X, Y = p.alice_inputs(), p.bob_inputs()
    assert X == list(itertools.product(range(q), repeat=n)) and Y == list(range(n))
    M = p.matrix()
    assert M.shape == (q**n, n)
    assert all(M[i, j] == x[j] == p.f(x, j) for i, x in enumerate(X) for j in Y)
    assert p.outputs == tuple(range(q))
    assert p.name == (f"INDEX_{n}" if q == 2 else f"INDEX_{n}_q{q}")


@pytest.mark.parametrize("p", small_problems(), ids=lambda p: p.name)
def test_index_maps_are_inverse(p: Problem) -> None:
    for i, x in enumerate(p.alice_inputs()):
        assert p.x_index(x) == i and p.x_at(i) == x
    for j, y in enumerate(p.bob_inputs()):
        assert p.y_index(y) == j and p.y_at(j) == y


def test_ip_matrix_without_bitwise_count(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = IP(3).matrix()
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    assert np.array_equal(IP(3).matrix(), expected)


def test_inputs_accept_strings_lists_and_arrays() -> None:
    assert EQ(3).f("101", [1, 0, 1]) == 1
    assert DISJ(2).f(np.array([1, 0]), (0, 1)) == 1
    assert INDEX(3, q=3).f("210", np.int64(0)) == 2


# -- known bounds against brute force ----------------------------------------------------------------
@pytest.mark.parametrize("p", small_problems(), ids=lambda p: p.name)
def test_known_bounds_are_well_formed_and_brute_force_checked(p: Problem) -> None:
    M = p.matrix()
    rows = len({tuple(r) for r in M.tolist()})
    cols = len({tuple(c) for c in M.T.tolist()})
    bounds = p.known_bounds()
    assert bounds and all(isinstance(b, Bound) and b.method == "known" and b.model in MODELS for b in bounds)
    assert all(b.problem == p.name and b.source and b.expression for b in bounds)
    by_model = {b.model: b for b in bounds}
    assert by_model["D1way(A->B)"].direction == "exact"
    assert by_model["D1way(A->B)"].value == ceil_log2(rows)
    assert by_model["D1way(B->A)"].value == ceil_log2(cols)
    d = by_model["D"]
    if isinstance(p, INDEX):
        assert d.direction == "upper" and d.value == ceil_log2(p.n) + ceil_log2(p.q)
    else:
        assert d.value == p.n + 1 == ceil_log2(p.num_alice_inputs) + 1


def fooling_set_ok(M: np.ndarray, S: list[tuple[int, int]], value: int) -> bool:
    """Brute-force check of a fooling set: f = value on S, and every two pairs cross-fool."""
    if any(M[i, j] != value for i, j in S):
        return False
    return all(M[i1, j2] != value or M[i2, j1] != value for (i1, j1), (i2, j2) in itertools.combinations(S, 2))


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_exact_d_values_have_fooling_set_witnesses(n: int) -> None:
    """D = n+1 for EQ, DISJ, GT: a fooling set of size 2^n plus an input of the other value."""
    N = 2**n
    cases = [(EQ(n), [(i, i) for i in range(N)], 1), (DISJ(n), [(i, N - 1 - i) for i in range(N)], 1),
             (GT(n), [(i, i) for i in range(N)], 0)]
    for p, S, v in cases:
        M = p.matrix()
        assert fooling_set_ok(M, S, v) and (M == 1 - v).any()
        (d,) = [b for b in p.known_bounds() if b.model == "D"]
        assert d.direction == "exact" and d.value == math.ceil(math.log2(len(S) + 1)) == n + 1


def test_index_knr_and_qary_values() -> None:
    b = {x.model: x for x in INDEX(10).known_bounds(eps=0.1)}
    h = -0.1 * math.log2(0.1) - 0.9 * math.log2(0.9)
    assert b["R1way_eps(A->B)"].value == pytest.approx((1 - h) * 10) and b["R1way_eps(A->B)"].source == "[KNR]"
    assert b["R1way_eps(A->B)"].direction == "lower" and b["R1way_eps(A->B)"].eps == 0.1
    assert INDEX(8).known_bounds(eps=0)[3].value == 8
    q3 = {x.model: x for x in INDEX(3, q=3).known_bounds(eps=0)}
    assert q3["D1way(A->B)"].value == 5  # ceil(log2 27), not 3 * ceil(log2 3)
    assert q3["R1way_eps(A->B)"].value == pytest.approx(3 * math.log2(3))


def test_eq_disj_randomized_bounds() -> None:
    b = {x.model: x for x in EQ(16).known_bounds(eps=0.25)}
    assert b["R_eps(pub)"].value == 3 and b["R_eps(pub)"].direction == "upper"
    assert b["R_eps(priv)"].value is None and b["R_eps(priv)"].expression == "Theta(log n)"
    assert EQ(16).known_bounds(eps=0.1)[3].value == 5
    d = {x.model: x for x in DISJ(8).known_bounds()}
    assert d["R_eps(pub)"].expression == "Theta(n)" and "[KS]" in d["R_eps(pub)"].source
    assert {x.model for x in IP(3).known_bounds()} >= {"D", "D1way(A->B)", "R_eps(pub)"}


@pytest.mark.parametrize("eps", [-0.1, 0.5, 1.0, "x"])
def test_known_bounds_reject_bad_eps(eps: object) -> None:
    with pytest.raises(InvalidInputError):
        EQ(3).known_bounds(eps=eps)  # type: ignore[arg-type]


# -- sampling --------------------------------------------------------------------------------------
def test_sample_is_seeded_and_in_domain() -> None:
    p = INDEX(7, q=3)
    a, b = p.sample(50, seed=3), p.sample(50, seed=3)
    assert a == b and a != p.sample(50, seed=4)
    assert all(p.f(x, y) in p.outputs for x, y in a)


@pytest.mark.parametrize("p", [EQ(1), EQ(64), DISJ(64), GT(30), IP(20), INDEX(12, q=3)], ids=lambda p: p.name)
def test_balanced_sample_splits_outputs_evenly(p: Problem) -> None:
    pairs = p.sample(31, seed=1, balanced=True)
    counts = [sum(p.f(x, y) == v for x, y in pairs) for v in p.outputs]
    m = len(p.outputs)
    assert counts == [31 // m + (i < 31 % m) for i in range(m)]


def test_uniform_sample_matches_uniform_distribution() -> None:
    pairs = EQ(2).sample(4000, seed=0)
    freq = np.bincount([EQ(2).x_index(x) * 4 + EQ(2).y_index(y) for x, y in pairs], minlength=16) / 4000
    assert np.abs(freq - 1 / 16).max() < 0.03


def test_balanced_sample_of_missing_or_rare_output_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInputError, match="output 1"):
        Problem.from_matrix([[0, 0], [0, 0]]).sample(4, balanced=True)
    monkeypatch.setattr("ccbounds.problems.base.REJECTION_DRAWS", 1000)
    rare = Problem.from_function(lambda x, y: int(x == y == 0), list(range(2**10)), list(range(2**10)))
    with pytest.raises(TooLargeError, match="rejection sampling"):
        rare.sample(2, balanced=True)


# -- user problems -------------------------------------------------------------------------------------
def test_from_function_and_matrix() -> None:
    p = Problem.from_function(lambda x, y: int(x < y), ["a", "b"], ["b", "c"], name="LT")
    assert isinstance(p, FunctionProblem) and p.name == "LT"
    assert p.matrix().tolist() == [[1, 1], [0, 1]]
    with pytest.raises(InvalidInputError, match="not one of Alice"):
        p.f("z", "b")
    bad = Problem.from_function(lambda x, y: 5, [0], [0])
    with pytest.raises(InvalidInputError, match="not one of the outputs"):
        bad.f(0, 0)
    with pytest.raises(InvalidInputError, match="repeated"):
        Problem.from_function(lambda x, y: 0, [0, 0], [1])
    with pytest.raises(InvalidInputError, match="hashable"):
        Problem.from_function(lambda x, y: 0, [[0]], [1])
    q = Problem.from_matrix([[0, 2], [1, 0]])
    assert isinstance(q, MatrixProblem) and q.outputs == (0, 1, 2) and q.name == "matrix 2x2"


@pytest.mark.parametrize("M,match", [
    ([[0, 2.5]], "integers"), ([[0, float("nan")]], "NaN"), ([], "2-D|empty"), ([[]], "empty"),
    ([[0, 1], [1]], "ragged"), ([0, 1, 1], "2-D"), ([[0, -1]], "in 0"), ([[0, 300]], "in 0"),
    ([["a", "b"]], "integers"), (np.zeros((2, 2, 2)), "2-D"),
])
def test_from_matrix_rejects_malformed(M: object, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        Problem.from_matrix(M)


def test_from_matrix_too_large_and_float_integral() -> None:
    big = np.lib.stride_tricks.as_strided(np.zeros(1, dtype=np.int8), shape=(2**13, 2**12), strides=(0, 0))
    with pytest.raises(TooLargeError, match="MAX_MATRIX_ENTRIES"):
        Problem.from_matrix(big)
    assert Problem.from_matrix(np.array([[1.0, 0.0]])).matrix().tolist() == [[1, 0]]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6).flatmap(lambda r: st.integers(1, 6).flatmap(
    lambda c: st.lists(st.lists(st.integers(0, 3), min_size=c, max_size=c), min_size=r, max_size=r))))
def test_from_matrix_roundtrip(rows: list[list[int]]) -> None:
    p = Problem.from_matrix(rows)
    assert p.matrix().tolist() == rows
    assert p.matrix().tolist() == Problem.from_function(p.f, p.alice_inputs(), p.bob_inputs(),
                                                         outputs=p.outputs).matrix().tolist()


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 10), st.data())
def test_x_index_is_binary_expansion(n: int, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, 2**n - 1))
    x = EQ(n).x_at(i)
    assert x == tuple(int(c) for c in format(i, f"0{n}b")) and EQ(n).x_index(x) == i


# -- errors ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, -1, 2.5, "3", True, None])
@pytest.mark.parametrize("cls", [EQ, DISJ, GT, IP, INDEX])
def test_bad_n_rejected(cls: type, n: object) -> None:
    with pytest.raises(InvalidInputError):
        cls(n)


@pytest.mark.parametrize("q", [1, 0, 2.0, 200])
def test_bad_q_rejected(q: object) -> None:
    with pytest.raises(InvalidInputError):
        INDEX(3, q=q)  # type: ignore[arg-type]


def test_limits_refused_with_message() -> None:
    with pytest.raises(TooLargeError, match="MAX_MATRIX_ENTRIES = 16777216"):
        EQ(13).matrix()
    with pytest.raises(TooLargeError, match="MAX_MATRIX_ENTRIES"):
        INDEX(16, q=3).matrix()
    with pytest.raises(TooLargeError, match="MAX_INPUTS"):
        EQ(21).alice_inputs()
    assert MAX_MATRIX_ENTRIES == 2**24 and MAX_INPUTS == 2**20
    assert EQ(12).matrix().shape == (4096, 4096)  # the largest allowed


@pytest.mark.parametrize("p,x,y", [
    (EQ(3), (0, 1), (0, 1, 0)), (EQ(3), (0, 1, 2), (0, 1, 0)), (EQ(2), (True, False), (1, 0)),
    (INDEX(3), (0, 1, 1), 3), (INDEX(3), (0, 1, 1), -1), (INDEX(3), (0, 1, 2), 0), (INDEX(3), 5, 0),
    (DISJ(2), 3, (0, 1)), (Problem.from_matrix([[1]]), 1, 0),
])
def test_inputs_outside_domain_rejected(p: Problem, x: object, y: object) -> None:
    with pytest.raises(InvalidInputError):
        p.f(x, y)


def test_registry_and_get_problem() -> None:
    assert set(PROBLEMS) == {"index", "eq", "disj", "gt", "ip"}
    assert all(isinstance(d, str) and d for _, d in PROBLEMS.values())
    assert get_problem("EQ", 3).name == "EQ_3" and get_problem("index", 4, q=3).name == "INDEX_4_q3"
    with pytest.raises(UnknownNameError, match="valid names: index, eq, disj, gt, ip"):
        get_problem("foo", 3)
    with pytest.raises(InvalidInputError, match="bad parameters"):
        get_problem("eq", 3, q=2)
    assert EQ(3).to_dict()["num_alice_inputs"] == 8 and "EQ_3" in str(EQ(3))


def test_huge_n_is_answered_without_building_giant_integers():
    """Known bounds and size refusals for n far beyond enumeration stay instant and readable."""
    import math

    from ccbounds.bounds import bounds_report
    from ccbounds.problems import EQ, INDEX

    rep = bounds_report(EQ(10**9))
    assert any(b.model == "D" and b.value == 10**9 + 1 for b in rep.bounds)
    assert "2^1000000000x2^1000000000" in rep.skipped[0][1]
    one_way = next(b for b in INDEX(10**8, q=3).known_bounds() if b.model == "D1way(A->B)")
    assert one_way.value == math.floor(10**8 * math.log2(3)) + 1  # ceil(log2 3^n), q^n never a power of 2
    assert str(EQ(10**5)).endswith("(|X| = 2^100000, |Y| = 2^100000)")
    with pytest.raises(TooLargeError, match="MAX_INPUTS"):
        INDEX(10**6, q=3).alice_inputs()
