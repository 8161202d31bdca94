"""Tests of reductions.gadgets: every gadget brute-forced on all small inputs, property tests up to n = 64,
the exact Dyck blocks, ownership, and that the checker catches broken gadgets."""

from __future__ import annotations

import dataclasses
import json
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbounds.errors import InvalidInputError, TooLargeError, UnknownNameError
from ccbounds.problems import DISJ, EQ, INDEX, Problem, get_problem
from reductions.gadgets import (
    DYCK_BLOCKS,
    GADGETS,
    Gadget,
    ProblemMap,
    check_gadget,
    compose,
    get_gadget,
    index_to_disj,
    list_gadgets,
    pair_gadget,
)

ALL = [(p.__name__, t) for p, t in GADGETS]
PREFIX_CUT = {("INDEX", "index-lookup"): True, ("INDEX", "nn"): True, ("INDEX", "disj"): True,
              ("INDEX", "dyck"): False, ("EQ", "eq"): True, ("EQ", "dyck"): False,
              ("DISJ", "disj"): True, ("DISJ", "dyck"): False, ("GT", "gt"): True, ("IP", "ip"): True}


@cache
def gadget(fam: str, task: str, n: int) -> Gadget:
    return get_gadget(get_problem(fam, n), task)


# ---------------------------------------------------------------- brute force on all inputs


@pytest.mark.parametrize("fam,task", ALL)
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_every_gadget_exhaustive(fam, task, n):
    g = gadget(fam, task, n)
    r = check_gadget(g)
    assert r.ok, str(r)
    assert r.mode == "exhaustive" and r.num_inputs == g.problem.num_alice_inputs * g.problem.num_bob_inputs
    # independently of the checker: the task's own label, through the answer map, is f
    p = g.problem
    for x in p.alice_inputs():
        for y in p.bob_inputs():
            assert g.answer_map(g.task.label(g.encode(x, y))) == p.f(x, y)


@pytest.mark.parametrize("n,q", [(5, 2), (6, 2), (7, 2), (2, 3), (3, 3), (2, 5)])
def test_index_lookup_larger_exhaustive(n, q):
    assert check_gadget(get_gadget(INDEX(n, q=q))).ok
    if n <= 6:
        assert check_gadget(get_gadget(INDEX(n, q=q), "nn")).ok


@pytest.mark.parametrize("n", [5])
@pytest.mark.slow
def test_eq_disj_dyck_n5_exhaustive(n):
    for fam, task in [("EQ", "eq"), ("EQ", "dyck"), ("DISJ", "disj"), ("DISJ", "dyck")]:
        assert check_gadget(gadget(fam, task, n)).ok


# ---------------------------------------------------------------- property tests, n up to 64


def _inputs(fam: str, n: int, data: st.DataObject):
    bits = st.lists(st.integers(0, 1), min_size=n, max_size=n).map(tuple)
    if fam == "INDEX":
        return data.draw(bits), data.draw(st.integers(0, n - 1))
    return data.draw(bits), data.draw(bits)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ALL), st.sampled_from([5, 8, 13, 32, 64]), st.data())
@pytest.mark.slow
def test_gadgets_property_large_n(fam_task, n, data):
    fam, task = fam_task
    g = gadget(fam, task, n)
    pairs = [_inputs(fam, n, data) for _ in range(3)]
    r = check_gadget(g, pairs=pairs)
    assert r.ok and r.mode == "given", str(r)
    x, y = pairs[0]
    assert g.answer(x, y) == g.problem.f(x, y)


@pytest.mark.parametrize("fam,task", ALL)
def test_sampled_check_n64(fam, task):
    r = check_gadget(gadget(fam, task, 64), samples=16, seed=3)
    assert r.ok and r.mode == "sampled" and r.num_inputs == 16


# ---------------------------------------------------------------- the theory §5 layouts


def test_dyck_blocks_exact():
    assert DYCK_BLOCKS == {(0, 0): "(())", (1, 0): "[()]", (0, 1): "()()", (1, 1): "[)(]"}
    g = get_gadget(DISJ(1), "dyck")
    for (a, b), block in DYCK_BLOCKS.items():
        assert g.task.to_string(g.encode((a,), (b,))) == block
        assert g.task.label(g.encode((a,), (b,))) == int(not (a and b))
    g3 = get_gadget(DISJ(3), "dyck")
    x, y = (0, 1, 1), (1, 0, 1)
    assert g3.task.to_string(g3.encode(x, y)) == "()()" + "[()]" + "[)(]"
    assert g3.encode(x, y)[-1] == g3.task.layout()["END"] == 4
    assert g3.owners == ("Alice", "Bob", "Bob", "Alice") * 3 + ("public",)


def test_eq_dyck_blocks_and_task():
    g = get_gadget(EQ(3), "dyck")
    assert g.task.depth == 1 and g.task.types == 2 and g.task.seq_len == 7
    assert g.task.to_string(g.encode((0, 1, 0), (0, 1, 1))) == "()[](]"
    assert g.owners == ("Alice", "Bob") * 3 + ("public",)


def test_string_layouts_and_owners():
    g = get_gadget(EQ(3))
    assert g.encode((1, 0, 1), (1, 1, 0)).tolist() == [1, 0, 1, 2, 1, 1, 0, 3]
    assert g.owners == ("Alice",) * 3 + ("Bob",) * 5 and g.public_positions == ()
    assert g.encode_alice((1, 0, 1))[1].tolist() == [1, 0, 1]
    assert g.encode_bob((1, 1, 0)) [1].tolist() == [2, 1, 1, 0, 3]
    gp = pair_gadget(DISJ(3), end="public")
    assert gp.public_positions == (7,) and gp.bob_positions == (3, 4, 5, 6) and check_gadget(gp).ok
    with pytest.raises(InvalidInputError, match="end must be"):
        pair_gadget(DISJ(3), end="Alice")
    with pytest.raises(InvalidInputError, match="no x SEP y END task answers"):
        pair_gadget(INDEX(3))


def test_nearest_neighbour_gadget_codes():
    g = get_gadget(INDEX(8), "nn")
    u = g.task.codebook
    gram = np.abs(u @ u.T - np.eye(8))
    assert gram.max() <= g.task.gamma < 1
    seq = g.encode((1, 0, 0, 1, 1, 0, 1, 0), 4)
    assert np.array_equal(seq[8, : g.task.dim], u[4]) and seq[8, -1] == 1 and g.answer_map(g.task.label(seq)) == 1
    pos, rows = g.encode_alice((1,) * 8)
    assert pos == tuple(range(8)) and rows.shape == (8, g.task.dim + 2)
    g3 = get_gadget(INDEX(3, q=3), "nn")
    assert g3.task.num_labels == 3 and check_gadget(g3).ok


@pytest.mark.parametrize("fam,task", ALL)
def test_positions_partition_and_prefix_cut(fam, task):
    g = gadget(fam, task, 3)
    a, b, p = g.alice_positions, g.bob_positions, g.public_positions
    assert sorted(a + b + p) == list(range(g.task.seq_len))
    assert g.is_prefix_cut == PREFIX_CUT[(fam, task)]
    x, y = g.problem.sample(1, seed=0)[0]
    (pa, ta), (pb, tb), (pp, tp) = g.encode_alice(x), g.encode_bob(y), g.encode_public()
    assert (pa, pb, pp) == (a, b, p) and len(ta) == len(a) and len(tb) == len(b) and len(tp) == len(p)
    assert np.array_equal(g.assemble(ta, tb), g.encode(x, y))
    d = json.loads(json.dumps(g.to_dict()))
    assert d["is_prefix_cut"] == g.is_prefix_cut and "theory §5" in d["source"]
    assert g.name in str(g)


# ---------------------------------------------------------------- problem maps


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_index_to_disj_map(n):
    m = index_to_disj(n)
    r = check_gadget(m)
    assert r.ok and r.num_inputs == 2**n * n
    for x in INDEX(n).alice_inputs():
        for i in range(n):
            assert DISJ(n).f(m.map_x(x), m.map_y(i)) == 1 - x[i]
    assert "INDEX" in str(m) and m.to_dict()["target"] == f"DISJ_{n}"


def test_composed_gadgets_answer_map_complements():
    g = get_gadget(INDEX(4), "dyck")
    x = (1, 0, 1, 1)
    assert g.task.label(g.encode(x, 2)) == 0 and g.answer_map(0) == 1 == g.answer(x, 2)
    assert g.encode_bob(2)[1].tolist() == [0, 1, 0, 1, 1, 0, 0, 1]  # y = {2}: blocks 0, 1, 3 are "()", 2 is ")("
    with pytest.raises(InvalidInputError, match="q = 2"):
        get_gadget(INDEX(3, q=3), "disj")
    with pytest.raises(InvalidInputError, match="cannot compose"):
        compose(index_to_disj(3), get_gadget(DISJ(4)))


# ---------------------------------------------------------------- the checker catches broken gadgets


def test_checker_catches_wrong_answer_map():
    g = get_gadget(DISJ(3), "dyck")
    bad = dataclasses.replace(g, answer_fn=lambda a: 1 - a)
    r = check_gadget(bad)
    assert not r.ok and r.failures["answer"] == 64 and r.failures["ownership"] == 0
    assert r.counterexamples[0].kind == "answer"
    assert "answer failed 64" in str(r) and len(r.to_frame()) == 10


def test_checker_catches_leak_across_the_cut():
    g = get_gadget(EQ(3))
    t = g.task
    swapped = dataclasses.replace(g, encode_fn=lambda x, y: t.encode(y, x))  # EQ is symmetric: answers stay right
    r = check_gadget(swapped)
    assert r.failures["answer"] == 0 and r.failures["ownership"] > 0 and r.failures["assembly"] > 0
    assert not r.ok
    r2 = check_gadget(swapped, samples=30, seed=0)
    assert r2.failures["ownership"] > 0


def test_checker_catches_wrong_owners_and_blocks():
    g = get_gadget(DISJ(2), "dyck")
    owners = list(g.owners)
    owners[1], owners[3] = owners[3], owners[1]  # claim b_0 is Alice's and d_0 Bob's
    r = check_gadget(dataclasses.replace(g, owners=tuple(owners)))
    assert r.failures["ownership"] > 0 and r.failures["assembly"] > 0
    t = g.task
    wrong = dict(DYCK_BLOCKS) | {(1, 1): "[()]"}  # an intersecting block that is well nested
    bad = dataclasses.replace(g, encode_fn=lambda x, y: t.from_string("".join(wrong[(a, b)] for a, b in zip(x, y))))
    r = check_gadget(bad)
    assert r.failures["answer"] > 0 and r.failures["assembly"] > 0


def test_final_token_values():
    assert get_gadget(INDEX(3)).final_token_values == (2, 3, 4)
    assert get_gadget(EQ(3)).final_token_values == (3,) == get_gadget(INDEX(3), "disj").final_token_values
    assert get_gadget(DISJ(3), "dyck").final_token_values == (4,)
    assert get_gadget(INDEX(3), "nn").final_token_values == ()
    g = dataclasses.replace(get_gadget(INDEX(3)), final_token_values=(2, 3))
    assert check_gadget(g).failures["final-token"] == 8


def test_checker_reports_malformed_and_map_errors():
    g = get_gadget(EQ(2))
    bad = dataclasses.replace(g, encode_fn=lambda x, y: np.array([*x, 3, *y, 3]))
    r = check_gadget(bad)
    assert r.failures["malformed"] == 16 and "SEP" in str(r.counterexamples[0].got)
    m = index_to_disj(3)
    r = check_gadget(dataclasses.replace(m, output_map=lambda v: v))
    assert r.failures["answer"] == 24
    r = check_gadget(dataclasses.replace(m, map_y=lambda i: (1,) * 4))
    assert r.failures["domain"] == 24 and not r.ok
    assert r.to_dict()["failures"]["domain"] == 24


# ---------------------------------------------------------------- registry and errors


def test_registry():
    rows = list_gadgets()
    assert {(r["problem"], r["task"]) for r in rows} == set(PREFIX_CUT)
    assert get_gadget(INDEX(3)).task.name == "index-lookup"
    assert get_gadget(EQ(3)).task.name == "eq" and get_gadget(DISJ(3)).task.name == "disj"
    with pytest.raises(UnknownNameError, match="valid tasks for EQ: \\['eq', 'dyck'\\]"):
        get_gadget(EQ(3), "nn")
    with pytest.raises(UnknownNameError, match="gadgets exist for INDEX, EQ, DISJ"):
        get_gadget(Problem.from_matrix([[0, 1], [1, 0]]))


def test_token_overrides_pass_through():
    g = get_gadget(EQ(3), tokens={"SEP": 7, "0": 5})
    assert g.encode((0, 1, 0), (0, 0, 0)).tolist() == [5, 1, 5, 7, 5, 5, 5, 3]
    assert check_gadget(g).ok
    g = get_gadget(DISJ(2), "dyck", tokens={"(": 9, "END": 0})
    assert check_gadget(g).ok and g.public_tokens.tolist() == [0]


def test_check_errors():
    with pytest.raises(TooLargeError, match="samples=k"):
        check_gadget(get_gadget(EQ(9)))
    with pytest.raises(InvalidInputError, match="empty"):
        check_gadget(get_gadget(EQ(2)), pairs=[])
    with pytest.raises(InvalidInputError, match="exhaustive=True, samples=k"):
        check_gadget(get_gadget(EQ(2)), exhaustive=False)
    with pytest.raises(InvalidInputError, match="Gadget or a ProblemMap"):
        check_gadget(EQ(2))  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        get_gadget(EQ(2)).encode((0, 2), (0, 1))
    g = get_gadget(EQ(2))
    with pytest.raises(InvalidInputError, match="owners"):
        dataclasses.replace(g, owners=("Alice",) * 3)
    with pytest.raises(InvalidInputError, match="Bob has"):
        g.assemble([0, 1], [2, 0])
    assert isinstance(index_to_disj(2), ProblemMap)
