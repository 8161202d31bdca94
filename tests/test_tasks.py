"""Tests of ccbounds.tasks: labels against independent re-implementations, exact samplers, layouts, errors."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbounds.errors import CCBoundsError, InvalidInputError, TooLargeError, UnknownNameError
from ccbounds.models.codes import max_coherence
from ccbounds.problems import DISJ, EQ, INDEX
from ccbounds.tasks import (
    MAX_ALL_SEQUENCES,
    TASKS,
    BoundedDyck,
    Disjointness,
    IndexLookup,
    NearestNeighbour,
    StringEquality,
    get_task,
    list_tasks,
    task_from_dict,
)

# ---------------------------------------------------------------- independent re-implementations


def dyck_by_regex(s: str, depth: int) -> int:
    """Delete all adjacent matched pairs per round; members empty out in exactly max-depth rounds."""
    rounds = 0
    while s:
        t = re.sub(r"\(\)|\[\]|\{\}|<>", "", s)
        if t == s:
            return 0
        s, rounds = t, rounds + 1
    return int(rounds <= depth)


def dyck_dfa(types: int, depth: int) -> tuple[dict, dict]:
    """An explicit DFA: states are stack tuples (plus None = reject), built by BFS over the alphabet."""
    delta: dict = {}
    todo, seen = [()], {()}
    while todo:
        s = todo.pop()
        for b in range(2 * types):
            kind, closing = divmod(b, 2)
            if not closing:
                nxt = s + (kind,) if len(s) < depth else None
            else:
                nxt = s[:-1] if s and s[-1] == kind else None
            delta[(s, b)] = nxt
            if nxt is not None and nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return delta, {s: 0 for s in seen}


def run_dfa(delta: dict, brackets: list[int]) -> int:
    s = ()
    for b in brackets:
        s = delta[(s, b)]
        if s is None:
            return 0
    return int(s == ())


NAMES = "()[]{}<>"


def as_string(task: BoundedDyck, seq: np.ndarray) -> str:
    inv = {int(t): NAMES[j] for j, t in enumerate(task.bracket_ids)}
    return "".join(inv[int(t)] for t in seq[:-1])


def chi_square_ok(counts: np.ndarray, tol_sigma: float = 6.0) -> bool:
    """Counts look uniform: the chi-square statistic is within tol_sigma of its mean (df = m - 1)."""
    m, k = len(counts), counts.sum()
    exp = k / m
    stat = float(((counts - exp) ** 2 / exp).sum())
    return abs(stat - (m - 1)) <= tol_sigma * math.sqrt(2 * (m - 1))


def conditional_counts(task, tokens: np.ndarray, labels: np.ndarray, label: int) -> np.ndarray:
    """How often each sequence with `label` (from all_sequences) occurs among sampled ones with that label."""
    all_tok, all_lab = task.all_sequences()
    support = {row.tobytes(): j for j, row in enumerate(all_tok[all_lab == label])}
    counts = np.zeros(len(support), dtype=np.int64)
    for row in tokens[labels == label]:
        counts[support[row.tobytes()]] += 1  # KeyError = sampled outside the support
    return counts


# ---------------------------------------------------------------- index lookup


@pytest.mark.parametrize("n,q", [(n, 2) for n in range(1, 7)] + [(1, 3), (2, 3), (3, 4)])
def test_index_lookup_all_sequences(n, q):
    t = IndexLookup(n, q=q)
    tokens, labels = t.all_sequences()
    assert tokens.dtype == np.int64 and tokens.shape == (q**n * n, n + 1)
    p = INDEX(n, q=q)
    pairs = [(x, i) for x in p.alice_inputs() for i in p.bob_inputs()]
    for row, lab, (x, i) in zip(tokens, labels, pairs):
        assert row.tolist() == list(x) + [q + i]  # default layout, problem order
        assert lab == p.f(x, i) == t.label(row) == row[row[n] - q]


def test_index_lookup_sampling_balanced_and_seeded():
    t = IndexLookup(5, q=3)
    tok, lab = t.sample(3001, seed=7)
    assert sorted(np.bincount(lab).tolist()) == [1000, 1000, 1001]
    assert (lab == t.labels(tok)).all()
    tok2, lab2 = t.sample(3001, seed=7)
    assert np.array_equal(tok, tok2) and np.array_equal(lab, lab2)
    assert not np.array_equal(tok, t.sample(3001, seed=8)[0])
    tok, lab = t.sample(6000, seed=1, balanced=False)
    assert chi_square_ok(np.bincount(lab, minlength=3))


def test_index_lookup_conditionally_uniform():
    t = IndexLookup(2)
    tok, lab = t.sample(4000, seed=3)
    for a in (0, 1):
        counts = conditional_counts(t, tok, lab, a)
        assert len(counts) == 4 and chi_square_ok(counts)


def test_index_lookup_token_overrides():
    t = IndexLookup(3, tokens={"D0": 10, "D1": 11, "I2": 0}, vocab_size=12)
    assert t.layout() == {"D0": 10, "D1": 11, "I0": 2, "I1": 3, "I2": 0}
    assert t.vocab_size == 12
    assert t.label([11, 10, 10, 0]) == 0 and t.label([11, 10, 10, 2]) == 1
    tok, lab = t.sample(50, seed=0)
    assert np.array_equal(lab, [t.label(r) for r in tok])
    assert task_from_dict(json.loads(json.dumps(t.to_dict()))) == t


@pytest.mark.parametrize(
    "kw,msg",
    [
        ({"tokens": {"D0": 1}}, "distinct"),
        ({"tokens": {"X": 1}}, "unknown token name"),
        ({"tokens": {"D0": -1}}, ">= 0"),
        ({"vocab_size": 3}, "vocab_size"),
        ({"q": 1}, "q must be"),
        ({"q": True}, "q must be"),
    ],
)
def test_index_lookup_bad_parameters(kw, msg):
    with pytest.raises(InvalidInputError, match=msg):
        IndexLookup(3, **kw)


def test_index_lookup_bad_sequences():
    t = IndexLookup(3)
    with pytest.raises(InvalidInputError, match="position 3"):
        t.label([0, 1, 0, 1])  # a data symbol where the index token belongs
    with pytest.raises(InvalidInputError, match="position 1"):
        t.labels([[0, 4, 0, 3]])
    with pytest.raises(InvalidInputError, match="length 4"):
        t.label([0, 1, 3])
    with pytest.raises(InvalidInputError, match="integer"):
        t.labels(np.zeros((1, 4)))
    with pytest.raises(InvalidInputError):
        IndexLookup(0)
    with pytest.raises(InvalidInputError, match="index"):
        t.encode((0, 1, 1), 3)


# ---------------------------------------------------------------- EQ and DISJ


@pytest.mark.parametrize("cls,prob", [(StringEquality, EQ), (Disjointness, DISJ)])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_pair_tasks_all_sequences(cls, prob, n):
    t, p = cls(n), prob(n)
    tokens, labels = t.all_sequences()
    pairs = [(x, y) for x in p.alice_inputs() for y in p.bob_inputs()]
    assert tokens.shape == (4**n, 2 * n + 2) and len(pairs) == 4**n
    for row, lab, (x, y) in zip(tokens, labels, pairs):
        assert row.tolist() == list(x) + [2] + list(y) + [3]
        assert t.parse(row) == (x, y)
        assert lab == t.label(row) == p.f(x, y)


@pytest.mark.parametrize("cls", [StringEquality, Disjointness])
def test_pair_tasks_balanced_exact_and_seeded(cls):
    for n in (1, 3, 12, 64):
        t = cls(n)
        tok, lab = t.sample(1001, seed=n)
        assert sorted(np.bincount(lab, minlength=2).tolist()) == [500, 501]
        assert np.array_equal(lab, [t.label(r) for r in tok[:50]] + lab[50:].tolist())
        assert np.array_equal(tok, t.sample(1001, seed=n)[0])


@pytest.mark.parametrize("cls", [StringEquality, Disjointness])
def test_pair_tasks_conditionally_uniform(cls):
    t = cls(2)
    tok, lab = t.sample(6000, seed=11)
    for a in (0, 1):
        counts = conditional_counts(t, tok, lab, a)
        expected_support = {StringEquality: (12, 4), Disjointness: (7, 9)}[cls][a]
        assert len(counts) == expected_support and counts.min() > 0 and chi_square_ok(counts)


def test_pair_tasks_unbalanced_rates():
    _, lab = Disjointness(2).sample(8000, seed=2, balanced=False)
    assert abs(lab.mean() - 9 / 16) < 0.03
    _, lab = StringEquality(1).sample(8000, seed=2, balanced=False)
    assert abs(lab.mean() - 1 / 2) < 0.03


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 64).flatmap(lambda n: st.tuples(st.lists(st.integers(0, 1), min_size=n, max_size=n),
                                                      st.lists(st.integers(0, 1), min_size=n, max_size=n))))
def test_pair_tasks_property(xy):
    x, y = xy
    n = len(x)
    for cls, f in ((StringEquality, lambda: int(x == y)),
                   (Disjointness, lambda: int(not any(a & b for a, b in zip(x, y))))):
        t = cls(n)
        seq = t.encode(x, y)
        assert t.label(seq) == t.labels(seq[None])[0] == f()


def test_pair_tasks_tokens_and_errors():
    t = StringEquality(2, tokens={"SEP": 9, "END": 5})
    assert t.vocab_size == 10 and t.label([0, 1, 9, 0, 1, 5]) == 1
    with pytest.raises(InvalidInputError, match="SEP=9"):
        t.label([0, 1, 2, 0, 1, 5])
    with pytest.raises(InvalidInputError, match="END=5"):
        t.labels([[0, 1, 9, 0, 1, 3]])
    with pytest.raises(InvalidInputError, match="expected a bit"):
        Disjointness(2).label([0, 3, 2, 0, 1, 3])
    with pytest.raises(InvalidInputError, match="distinct"):
        StringEquality(2, tokens={"SEP": 3})
    with pytest.raises(InvalidInputError, match="bits"):
        StringEquality(2).encode((0, 2), (0, 1))
    assert StringEquality(2) != Disjointness(2)


# ---------------------------------------------------------------- Dyck


@pytest.mark.parametrize("types,depth,length", [(2, 2, 2), (2, 2, 4), pytest.param(2, 2, 8, marks=pytest.mark.slow),
                                                (2, 1, 6), (2, 3, 6), (1, 2, 8),
                                                pytest.param(3, 2, 6, marks=pytest.mark.slow)])
def test_dyck_three_implementations_agree(types, depth, length):
    t = BoundedDyck(1, depth=depth, types=types, length=length)
    tokens, labels = t.all_sequences()
    assert tokens.shape == ((2 * types) ** length, length + 1)
    delta, _ = dyck_dfa(types, depth)
    inv = t._inverse(t.bracket_ids)
    for row, lab in zip(tokens, labels):
        s = as_string(t, row)
        assert lab == dyck_by_regex(s, depth) == run_dfa(delta, inv[row[:-1]].tolist())
    sub = tokens[:: max(1, len(tokens) // 300)]
    assert [t.label(r) for r in sub] == t.labels(sub).tolist()
    assert t.count_members() == int(labels.sum())


def test_dyck_dfa_size_and_counts():
    delta, states = dyck_dfa(2, 2)
    assert len(states) == 7  # '', (, [, ((, ([, [(, [[  (+ reject = the 8 states of theory §7)
    for m in range(1, 8):  # Catalan numbers: one type, unbounded depth
        assert BoundedDyck(1, depth=m, types=1, length=2 * m).count_members() == math.comb(2 * m, m) // (m + 1)
    assert BoundedDyck(1).count_members() == 8 and BoundedDyck(1, depth=1).count_members() == 2
    # closed forms: Dyck-(2,2) of length L has 2**(L-1) members (height 1 -> 1 in two steps has 4 ways),
    # Dyck-(2,1) of length 2m has 2**m; both brute-force checked for small L in the test above
    for m in range(1, 40):
        assert BoundedDyck(1, length=2 * m).count_members() == 2 ** (2 * m - 1)
        assert BoundedDyck(1, depth=1, length=2 * m).count_members() == 2**m


@pytest.mark.slow
def test_dyck_random_long_strings():
    rng = np.random.default_rng(0)
    for depth in (1, 2, 4):
        t = BoundedDyck(16, depth=depth)
        tok, lab = t.sample(200, seed=depth)
        noise = t._uniform_strings(200, rng)
        delta, _ = dyck_dfa(2, depth)
        inv = t._inverse(t.bracket_ids)
        for row in np.concatenate([tok, noise]):
            want = dyck_by_regex(as_string(t, row), depth)
            assert t.label(row) == want == run_dfa(delta, inv[row[:-1]].tolist())
        assert np.array_equal(t.labels(tok), lab) and lab.sum() == 100


def test_dyck_unrank_is_a_bijection_onto_members():
    t = BoundedDyck(2)  # Dyck-(2,2), length 8
    tokens, labels = t.all_sequences()
    members = {r.tobytes() for r in tokens[labels == 1]}
    ranked = t.unrank(range(t.count_members()))
    assert {r.tobytes() for r in ranked} == members and len(ranked) == len(members) == t.count_members()
    with pytest.raises(InvalidInputError, match="ranks"):
        t.unrank([t.count_members()])


@pytest.mark.parametrize("negatives", ["uniform", pytest.param("near-miss", marks=pytest.mark.slow)])
def test_dyck_sampling(negatives):
    t = BoundedDyck(1, negatives=negatives)
    tok, lab = t.sample(8001, seed=5)
    assert sorted(np.bincount(lab).tolist()) == [4000, 4001]
    assert np.array_equal(tok, t.sample(8001, seed=5)[0])
    pos = conditional_counts(t, tok, lab, 1)
    assert len(pos) == 8 and chi_square_ok(pos)
    neg = conditional_counts(t, tok, lab, 0)
    if negatives == "uniform":
        assert len(neg) == 248 and neg.min() > 0 and chi_square_ok(neg)
    else:
        members = t.unrank(range(8))
        for row in tok[lab == 0]:
            assert (row != members).sum(axis=1).min() == 1  # one substitution away from a member


def test_dyck_long_near_miss_negatives_are_nonmembers():
    t = BoundedDyck(64, negatives="near-miss")  # length 256: exact big-integer counts
    assert t.count_members() == 2**255  # Dyck-(2,2) has 2**(L-1) members of even length L (see below)
    tok, lab = t.sample(40, seed=0)
    assert lab.sum() == 20 and tok.shape == (40, 257)
    assert [dyck_by_regex(as_string(t, r), 2) for r in tok] == lab.tolist()


def test_dyck_layout_and_errors():
    t = BoundedDyck(3, depth=1)
    assert t.length == 6 and t.seq_len == 7 and t.layout()["END"] == 4
    assert BoundedDyck(2, types=1).layout() == {"(": 0, ")": 1, "END": 2}
    assert BoundedDyck(2, tokens={"END": 0, "(": 4}).label([4, 1, 4, 1, 2, 3, 2, 3, 0]) == 1
    for kw, msg in [({"length": 5}, "even"), ({"types": 5}, "types"), ({"negatives": "x"}, "negatives"),
                    ({"depth": 0}, "depth")]:
        with pytest.raises(InvalidInputError, match=msg):
            BoundedDyck(2, **kw)
    with pytest.raises(InvalidInputError, match="END=4"):
        t.label([0, 1, 0, 1, 0, 1, 0])
    with pytest.raises(InvalidInputError, match="bracket"):
        t.labels([[0, 4, 0, 1, 0, 1, 4]])
    with pytest.raises(TooLargeError, match="all_sequences"):
        BoundedDyck(3).all_sequences()


# ---------------------------------------------------------------- nearest neighbour


def test_codes_are_nearly_orthogonal_and_seeded():
    for n, gamma in [(1, 0.5), (8, 0.5), (64, 0.5), (16, 0.3)]:
        t = NearestNeighbour(n, gamma=gamma)
        u = t.codebook
        assert u.shape == (n, t.dim) and max_coherence(u) <= gamma
        assert np.allclose(np.linalg.norm(u, axis=1), 1)
        assert np.array_equal(u, NearestNeighbour(n, gamma=gamma).codebook)
    with pytest.raises(CCBoundsError, match="raise k"):
        _ = NearestNeighbour(50, dim=4, gamma=0.1).codebook


def test_nearest_neighbour_labels_brute_force():
    for points, noise in [("random", 0.0), ("codebook", 0.5), ("random", 2.0)]:
        t = NearestNeighbour(6, dim=5, gamma=0.9, num_labels=3, points=points, query_noise=noise)
        tok, lab = t.sample(300, seed=4)
        assert tok.shape == (300, 7, 7) and tok.dtype == np.float64
        assert sorted(np.bincount(lab).tolist()) == [100, 100, 100]
        for row, a in zip(tok, lab):
            dist = np.linalg.norm(row[:6, :5] - row[6, :5], axis=1)  # Euclidean, unit vectors
            assert a == t.label(row) == int(row[dist.argmin(), 5])
        assert np.array_equal(tok, t.sample(300, seed=4)[0])


def test_nearest_neighbour_all_sequences_and_errors():
    t = NearestNeighbour(3)
    tok, lab = t.all_sequences()
    assert tok.shape == (24, 4, t.dim + 2)
    p = INDEX(3)
    assert lab.tolist() == [p.f(x, i) for x in p.alice_inputs() for i in p.bob_inputs()]
    with pytest.raises(InvalidInputError, match="continuum"):
        NearestNeighbour(3, points="random").all_sequences()
    with pytest.raises(InvalidInputError, match="gamma"):
        NearestNeighbour(3, gamma=1.0)
    with pytest.raises(InvalidInputError, match="points"):
        NearestNeighbour(3, points="grid")
    with pytest.raises(InvalidInputError, match="flag"):
        t.label(np.zeros((4, t.dim + 2)))
    with pytest.raises(InvalidInputError, match="shape"):
        t.label(np.zeros((3, t.dim + 2)))
    assert t.layout() == {"vector": 0, "label": t.dim, "is_query": t.dim + 1}


# ---------------------------------------------------------------- registry


def test_registry_round_trip_and_errors():
    assert {"disj", "dyck", "eq", "index-lookup", "nn"} <= set(list_tasks()) and list_tasks() == sorted(TASKS)
    for name, kw in [("index-lookup", {"q": 3}), ("eq", {}), ("disj", {"tokens": {"END": 7}}),
                     ("dyck", {"depth": 1, "negatives": "near-miss"}), ("nn", {"gamma": 0.4, "num_labels": 3})]:
        t = get_task(name, 3, **kw)
        d = json.loads(json.dumps(t.to_dict()))
        assert d["task"] == name and task_from_dict(d) == t
        assert str(t).startswith(f"{name}(n=3")
    with pytest.raises(UnknownNameError, match="valid names are .*'dyck'"):
        get_task("dyk", 3)
    with pytest.raises(InvalidInputError, match="does not take"):
        get_task("eq", 3, q=2)
    with pytest.raises(InvalidInputError, match="'task' and 'n'"):
        task_from_dict({"n": 3})
    with pytest.raises(InvalidInputError, match="seed"):
        get_task("eq", 2).sample(3, seed=None)
    with pytest.raises(InvalidInputError, match="sample size"):
        get_task("eq", 2).sample(-1, seed=0)
    assert issubclass(TooLargeError, CCBoundsError)


def test_all_sequences_limit():
    assert MAX_ALL_SEQUENCES == 2**20
    assert len(IndexLookup(10).all_sequences()[0]) == 2**10 * 10
    with pytest.raises(TooLargeError, match="use a smaller n"):
        StringEquality(11).all_sequences()
    with pytest.raises(TooLargeError):
        NearestNeighbour(17, gamma=0.9).all_sequences()


def test_sample_zero_and_one():
    for name in list_tasks():
        t = get_task(name, 2)
        tok, lab = t.sample(0, seed=0)
        assert len(tok) == len(lab) == 0
        tok, lab = t.sample(1, seed=0)
        assert len(tok) == 1 and lab.tolist() == t.labels(tok).tolist()
