"""Facts a problem answers about itself (theory §1, §2, §6), each checked against an independent brute
force on small inputs: the one-way bound, the largest n, the audit's queries and answers, the
separating query of a collision; and, for every problem with a registered default gadget, reduce +
audit of a tiny trained LSTM."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ccbounds._required_bits import required_bits
from ccbounds.auditing import QueryPlan
from ccbounds.errors import InvalidInputError
from ccbounds.information import H2, max_index_length
from ccbounds.problems import DISJ, EQ, GT, INDEX, IP, PROBLEMS, Problem, get_problem

FAMILIES = [("index", {}), ("index", {"q": 3}), ("eq", {}), ("disj", {}), ("gt", {}), ("ip", {})]


def _small(name: str, kw: dict, ns=(1, 2, 3, 4)) -> list[Problem]:
    return [get_problem(name, n, **kw) for n in ns if not (kw.get("q") == 3 and n > 3)]


def _distinct_rows(M: np.ndarray) -> int:
    return len({tuple(r) for r in np.asarray(M).tolist()})


def _custom() -> list[Problem]:
    rng = np.random.default_rng(7)
    out = [Problem.from_matrix(rng.integers(0, 2, size=(r, c))) for r, c in ((3, 4), (6, 2), (5, 5))]
    out.append(Problem.from_matrix([[0, 1], [0, 1], [1, 1]], name="repeated rows"))
    out.append(Problem.from_function(lambda x, y: int(x + y >= 3), [0, 1, 2], [0, 1, 2]))
    return out


# -- the one-way bound ------------------------------------------------------------------------------
@pytest.mark.parametrize("name,kw", FAMILIES)
def test_one_way_bound_is_ceil_log2_distinct_rows(name: str, kw: dict) -> None:
    for p in _small(name, kw):
        b = p.one_way_bound()
        assert b.model == "D1way(A->B)" and b.is_lower
        assert b.value == math.ceil(math.log2(_distinct_rows(p.matrix()))), p.name
        assert required_bits(p) == b


def test_one_way_bound_of_custom_problems_is_computed_from_the_matrix() -> None:
    for p in _custom():
        b = p.one_way_bound()
        assert b.value == math.ceil(math.log2(_distinct_rows(p.matrix()))) and b.method == "distinct-rows"
        assert required_bits(p).value == b.value
        e = p.one_way_bound(0.1)  # exact D^{A->B,mu}_eps under the audit's mu (theory §10.6)
        assert e.model == "D_mu_eps(A->B)" and e.method == "exhaustive" and 0 <= e.value <= b.value


def test_gt_and_ip_one_way_bounds_are_n() -> None:
    for n in range(1, 7):
        assert GT(n).one_way_bound().value == n == _distinct_rows(GT(n).matrix()).bit_length() - 1
        assert IP(n).one_way_bound().value == n == _distinct_rows(IP(n).matrix()).bit_length() - 1


def test_distributional_bounds() -> None:
    for p in (INDEX(9), DISJ(9), IP(9)):
        b = p.one_way_bound(0.1)
        assert b.model == "D_mu_eps(A->B)" and b.value == pytest.approx(9 * (1 - H2(0.1)))
    assert INDEX(4, q=3).one_way_bound(0.1).value == pytest.approx(4 * (math.log2(3) - H2(0.1) - 0.1))
    assert EQ(9).one_way_bound(0.1).value == 0
    with pytest.raises(InvalidInputError, match="no distributional bound for GT_3"):
        required_bits(GT(3), 0.1)
    with pytest.raises(InvalidInputError, match="eps"):
        EQ(3).one_way_bound(1.5)


# -- the largest n ------------------------------------------------------------------------------------
def _needs(p: Problem, n: int, eps: float) -> int:
    return math.ceil(p.resized(n).one_way_bound(eps).value - 1e-9)


@pytest.mark.parametrize("name,kw", FAMILIES)
@pytest.mark.parametrize("eps", [0.0, 0.05, 0.3])
def test_largest_n_is_consistent_with_the_required_bits(name: str, kw: dict, eps: float) -> None:
    p = get_problem(name, 4, **kw)
    for bits in (0, 1, 2, 7, 16, 33, 100, 1000):
        if eps and p.distributional_bound(eps) is None:
            assert p.largest_n(bits, eps) is None
            continue
        n_max = p.largest_n(bits, eps)
        if eps and p.resized(10**6).one_way_bound(eps).value == 0:
            assert n_max is None  # EQ with errors: no length is ruled out
            continue
        assert n_max is not None and n_max >= 0
        if n_max:
            assert _needs(p, n_max, eps) <= bits
        assert _needs(p, n_max + 1, eps) > bits


@pytest.mark.slow
def test_largest_n_against_closed_forms() -> None:
    for bits in range(40):
        for q in (2, 3, 5):
            brute = max([n for n in range(1, 10 * bits + 2) if math.ceil(n * math.log2(q) - 1e-12) <= bits], default=0)
            assert INDEX(2, q=q).largest_n(bits) == brute
        for eps in (0.01, 0.1, 0.25):
            assert INDEX(2).largest_n(bits, eps) == max_index_length(bits, eps)
        largest = {p.largest_n(bits) for p in (EQ(3), DISJ(3), GT(3), IP(3))}
        assert largest == {bits}
    assert INDEX(5).largest_n(100, eps=0.5) is None and INDEX(5, q=3).largest_n(100, eps=0.9) is None
    assert _custom()[0].largest_n(100) is None


# -- the audit's queries, their answers and the certificate --------------------------------------------
@pytest.mark.parametrize("problem", [INDEX(3), INDEX(2, q=3), EQ(3), DISJ(3), GT(3), IP(3), *_custom()],
                         ids=lambda p: p.name)
def test_audit_truth_equals_f_on_the_planned_queries(problem: Problem) -> None:
    plan = QueryPlan.for_problem(problem, seed=0)
    rows = plan.alice_rows(0, 40)
    xs, ys = plan.inputs(rows), plan.queries(rows)
    width = len(plan.labels)
    assert len(ys) == width * len(xs)
    brute = [[problem.f(x, y) for y in ys[r * width:(r + 1) * width]] for r, x in enumerate(xs)]
    assert plan.truth(rows).tolist() == brute
    assert plan.certified == (not plan.note)


@pytest.mark.parametrize("problem", [INDEX(3), DISJ(3), IP(3), EQ(3), GT(3)], ids=lambda p: p.name)
def test_certified_plans_read_one_coordinate_per_fixed_query(problem: Problem) -> None:
    plan = QueryPlan.for_problem(problem)
    if not plan.certified:
        assert plan.fixed_queries is None and plan.kind in ("eq", "gt")
        return
    assert plan.fixed_queries is not None and len(plan.fixed_queries) == problem.n
    xs = problem.alice_inputs()
    for j, y in enumerate(plan.fixed_queries):  # f(x, y_j) is a function of x_j alone, and a bijection of it
        answer_of = {}
        for x in xs:
            answer_of.setdefault(x[j], set()).add(problem.f(x, y))
        assert all(len(v) == 1 for v in answer_of.values())
        assert len({v.pop() for v in answer_of.values()}) == len(answer_of)


@pytest.mark.parametrize("problem", [INDEX(3), INDEX(2, q=3), EQ(3), DISJ(3), GT(3), IP(3), *_custom()],
                         ids=lambda p: p.name)
def test_separating_query_separates_every_pair_of_distinct_rows(problem: Problem) -> None:
    xs = problem.alice_inputs()
    M = problem.matrix()
    fixed = QueryPlan.for_problem(problem).fixed_queries
    for a in range(len(xs)):
        for b in range(len(xs)):
            y = problem.separating_query(xs[a], xs[b], fixed)
            if np.array_equal(M[a], M[b]):
                assert y is None
            else:
                assert problem.f(xs[a], y) != problem.f(xs[b], y)


def test_problem_facts_used_by_plots_and_budgets() -> None:
    from ccbounds.budgets import budget

    assert INDEX(5).query_token_values == 5 and EQ(5).query_token_values == 1 == GT(5).query_token_values
    assert INDEX(5).axis_label("Bob").startswith("Bob's index") and EQ(5).axis_label("Bob") is None
    for name in PROBLEMS:
        r = budget("lstm", width=4, precision=2, problem=name, n=20)
        assert r.largest_n == get_problem(name, 20).largest_n(16) and r.verdict == "below bound"
    assert budget("tf1", width=4, heads=1, precision=8, problem="gt", n=64).largest_n == 40


# -- every problem with a default gadget: reduce and audit a tiny trained LSTM --------------------------
def _default_problem_classes() -> list[type]:
    from reductions.gadgets import GADGETS

    return list(dict.fromkeys(p for (p, _), e in GADGETS.items() if e.default))


@pytest.mark.parametrize("cls", _default_problem_classes(), ids=lambda c: c.__name__)
@pytest.mark.slow
def test_reduce_and_audit_a_trained_lstm(cls: type) -> None:
    import ccbounds
    from ccbounds.models import RecurrentConfig, build_model
    from ccbounds.testing import check_reduction
    from ccbounds.training import TrainConfig, train
    from reductions.gadgets import get_gadget

    problem = get_problem(cls.__name__, 3)
    gadget = get_gadget(problem)
    result = train(TrainConfig("lstm", gadget.task.name, n=3, width=8, steps=200, seed=0, eval_size=200))
    model = result.model.eval()
    check_reduction(model, problem).raise_if_failed()
    report = ccbounds.audit(model, problem, precisions=(1, 32), samples=64, seed=0, witnesses=2)
    fp32 = report.row(32)
    assert report.protocol_mismatches == 0 and fp32.mismatches == 0
    assert fp32.largest_n_exact == problem.largest_n(fp32.message_bits)
    assert (fp32.L_certified is not None) == QueryPlan.for_problem(problem).certified
    for w in report.witnesses:  # the separating query really separates, and the model errs on one input
        assert problem.f(w.x, w.query) != problem.f(w.x_prime, w.query) and w.confirmed
    big = problem.resized(8)  # random init at n = 8: S = 16 scalars (h and c), D^{A->B} = 8 bits
    task = get_gadget(big).task
    p8 = ccbounds.reduce(build_model(RecurrentConfig("lstm", task.vocab_size, task.num_classes, width=8)), big)
    assert p8.check(precision=1).message_bits == 16 and p8.lower_bound().value == 8 and p8.largest_n(1) == 16
