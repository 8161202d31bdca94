"""The gadgets of theory §5 and their registry.

==========  ================  ====================================================  ===========
problem     task              sequence (owners: A = Alice, B = Bob, . = public)      prefix cut
==========  ================  ====================================================  ===========
INDEX_n     index-lookup *    x_0..x_{n-1} I_i                      (A^n B)         yes
INDEX_n     nn                [u_j | x_j | 0] rows, query [u_i | 0 | 1]  (A^n B)   yes
INDEX_n     disj, dyck        via DISJ_n with y = {i}, answer 1 - DISJ               as DISJ
EQ_n        eq *              x SEP y END                           (A^n B^{n+2})   yes
EQ_n        dyck              Dyck-(2,1): a_i b_i blocks, END       ((AB)^n .)      no
DISJ_n      disj *            x SEP y END                           (A^n B^{n+2})   yes
DISJ_n      dyck              Dyck-(2,2): a_i b_i c_i d_i blocks, END  ((ABBA)^n .)  no
GT_n        gt *              x SEP y END                           (A^n B^{n+2})   yes
IP_n        ip *              x SEP y END                           (A^n B^{n+2})   yes
==========  ================  ====================================================  ===========

(* = the default task of the problem.) For EQ/DISJ/GT/IP -> x SEP y END, Bob owns SEP and END by
default (``end="public"`` makes END public; SEP stays Bob's, as theory §5 states). For the Dyck
gadgets END is public: it does not depend on either input.

Examples
--------
>>> from ccbounds.problems import EQ
>>> g = get_gadget(EQ(3), "dyck")
>>> g.task.to_string(g.encode((0, 1, 1), (0, 1, 0))), g.answer((0, 1, 1), (0, 1, 0))
('()[][)', 0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError, UnknownNameError
from ccbounds.problems import DISJ, EQ, GT, INDEX, IP
from ccbounds.tasks import TASKS, BoundedDyck, IndexLookup, NearestNeighbour
from reductions.gadgets.base import Gadget, ProblemMap, compose

__all__ = [
    "index_lookup_gadget", "pair_gadget", "disj_dyck_gadget", "eq_dyck_gadget", "index_nn_gadget",
    "index_to_disj", "GADGETS", "GadgetEntry", "register_gadget", "get_gadget", "list_gadgets", "DYCK_BLOCKS",
]

SRC = "theory §5; [BHBK] (communication-complexity lower bounds)"

#: the Dyck-(2,2) block of DISJ_n -> Dyck for each (x_i, y_i) (theory §5)
DYCK_BLOCKS = {(0, 0): "(())", (1, 0): "[()]", (0, 1): "()()", (1, 1): "[)(]"}


def index_lookup_gadget(problem: INDEX, **task_kw: Any) -> Gadget:
    """INDEX_n -> index lookup: Alice writes x, Bob the index token of i (theory §5).

    Examples
    --------
    >>> g = index_lookup_gadget(INDEX(2, q=3))
    >>> g.encode((2, 1), 1).tolist(), g.answer((2, 1), 1)
    ([2, 1, 4], 1)
    """
    t = IndexLookup(problem.n, q=problem.q, **task_kw)
    return Gadget(
        name=f"{problem.name}->index-lookup", problem=problem, task=t,
        owners=("Alice",) * problem.n + ("Bob",),
        encode_fn=t.encode,
        alice_fn=lambda x: t.data_ids[np.asarray(x, dtype=np.int64)],
        bob_fn=lambda i: t.index_ids[[i]],
        public_tokens=np.zeros(0, dtype=np.int64),
        description="x_0..x_{n-1} then the index token of i; answer x_i", source=SRC,
        final_token_values=tuple(t.index_ids.tolist()),
    )


def pair_gadget(problem: Any, end: str = "Bob", **task_kw: Any) -> Gadget:
    """A problem on two n-bit strings -> its ``x SEP y END`` task (theory §5): EQ -> string equality, ...

    The task is the registered ``x SEP y END`` task whose ``problem_class`` is the problem's class
    (:mod:`ccbounds.tasks.strings`). Alice owns x; Bob owns SEP, y and (with ``end="Bob"``, the
    default) END; ``end="public"`` makes END public. Both choices are prefix cuts.

    Raises
    ------
    InvalidInputError
        If ``end`` is not "Bob" or "public", or no ``x SEP y END`` task answers this problem.

    Examples
    --------
    >>> g = pair_gadget(DISJ(2), end="public")
    >>> g.owners, g.encode_public()
    (('Alice', 'Alice', 'Bob', 'Bob', 'Bob', 'public'), ((5,), array([3])))
    """
    task_cls = next((c for c in TASKS.values() if getattr(c, "problem_class", None) is type(problem)), None)
    if task_cls is None:
        raise InvalidInputError(f"no x SEP y END task answers {getattr(problem, 'name', problem)!r}; "
                                "define one in ccbounds.tasks.strings with problem_class set")
    if end not in ("Bob", "public"):
        raise InvalidInputError(f"end must be 'Bob' or 'public', got {end!r}")
    t = task_cls(problem.n, **task_kw)
    lay, bits, n = t.layout(), t._ids(["0", "1"]), problem.n

    def bob(y: Any) -> np.ndarray:
        tail = [lay["END"]] if end == "Bob" else []
        return np.array([lay["SEP"], *bits[np.asarray(y, dtype=np.int64)], *tail], dtype=np.int64)

    return Gadget(
        name=f"{problem.name}->{t.name}", problem=problem, task=t,
        owners=("Alice",) * n + ("Bob",) * (n + 1) + (end,),
        encode_fn=t.encode,
        alice_fn=lambda x: bits[np.asarray(x, dtype=np.int64)],
        bob_fn=bob,
        public_tokens=np.array([lay["END"]] if end == "public" else [], dtype=np.int64),
        description=f"x SEP y END; Alice owns x, Bob owns SEP y{' END' if end == 'Bob' else ', END public'}",
        source=SRC, final_token_values=(lay["END"],),
    )


def disj_dyck_gadget(problem: DISJ, **task_kw: Any) -> Gadget:
    """DISJ_n -> Dyck-(2,2) of length 4n: block i is a_i b_i c_i d_i (theory §5).

    ``(a_i, d_i) = ("(", ")")`` if x_i = 0 else ``("[", "]")`` (Alice); ``(b_i, c_i) = ("(", ")")``
    if y_i = 0 else ``(")", "(")`` (Bob); END is public. The blocks are :data:`DYCK_BLOCKS`; the
    string is in Dyck-(2,2) iff x ∩ y = ∅. Positions interleave, so this is not a prefix cut.

    Examples
    --------
    >>> g = disj_dyck_gadget(DISJ(1))
    >>> [g.task.to_string(g.encode((a,), (b,))) for b in (0, 1) for a in (0, 1)]
    ['(())', '[()]', '()()', '[)(]']
    """
    t = BoundedDyck(problem.n, depth=2, types=2, **task_kw)
    lay = t.layout()
    ad = {0: (lay["("], lay[")"]), 1: (lay["["], lay["]"])}
    bc = {0: (lay["("], lay[")"]), 1: (lay[")"], lay["("])}
    return Gadget(
        name=f"{problem.name}->dyck", problem=problem, task=t,
        owners=("Alice", "Bob", "Bob", "Alice") * problem.n + ("public",),
        encode_fn=lambda x, y: t.from_string("".join(DYCK_BLOCKS[(a, b)] for a, b in zip(x, y))),
        alice_fn=lambda x: np.array([tok for a in x for tok in ad[a]], dtype=np.int64),
        bob_fn=lambda y: np.array([tok for b in y for tok in bc[b]], dtype=np.int64),
        public_tokens=np.array([lay["END"]], dtype=np.int64),
        description="blocks a_i b_i c_i d_i in Dyck-(2,2) iff x ∩ y = ∅; END public", source=SRC,
        final_token_values=(lay["END"],),
    )


def eq_dyck_gadget(problem: EQ, **task_kw: Any) -> Gadget:
    """EQ_n -> Dyck-(2,1) of length 2n: block i is a_i b_i (theory §5).

    ``a_i = "("`` if x_i = 0 else ``"["`` (Alice), ``b_i = ")"`` if y_i = 0 else ``"]"`` (Bob); the
    task is :class:`~ccbounds.tasks.BoundedDyck` with ``depth=1``; END is public; in Dyck iff x = y.

    Examples
    --------
    >>> g = eq_dyck_gadget(EQ(2))
    >>> g.task.to_string(g.encode((0, 1), (0, 1))), g.answer((0, 1), (0, 1))
    ('()[]', 1)
    """
    t = BoundedDyck(problem.n, depth=1, types=2, **task_kw)
    lay = t.layout()
    opens, closes = (lay["("], lay["["]), (lay[")"], lay["]"])
    return Gadget(
        name=f"{problem.name}->dyck", problem=problem, task=t,
        owners=("Alice", "Bob") * problem.n + ("public",),
        encode_fn=lambda x, y: t.from_string("".join("(["[a] + ")]"[b] for a, b in zip(x, y))),
        alice_fn=lambda x: np.array([opens[a] for a in x], dtype=np.int64),
        bob_fn=lambda y: np.array([closes[b] for b in y], dtype=np.int64),
        public_tokens=np.array([lay["END"]], dtype=np.int64),
        description="blocks a_i b_i in Dyck-(2,1) iff x = y; END public", source=SRC,
        final_token_values=(lay["END"],),
    )


def index_nn_gadget(problem: INDEX, **task_kw: Any) -> Gadget:
    """INDEX_n -> nearest neighbour: public codes u_j, Alice's labels x_j, Bob's query u_i (theory §5).

    The codes are the task's public codebook (``|<u_i, u_j>| <= gamma < 1``), so the nearest point
    to the query ``u_i`` is u_i itself and the answer is x_i. Each point row holds Alice's label,
    so it is Alice's; the query row is Bob's.

    Examples
    --------
    >>> g = index_nn_gadget(INDEX(3), gamma=0.5)
    >>> g.answer((0, 1, 1), 1), g.encode((0, 1, 1), 1).shape
    (1, (4, 44))
    """
    kw = {"num_labels": problem.q, "points": "codebook"} | task_kw
    t = NearestNeighbour(problem.n, **kw)
    u, d = t.codebook, t.dim

    def alice(x: Any) -> np.ndarray:
        rows = np.zeros((problem.n, d + 2))
        rows[:, :d], rows[:, d] = u, x
        return rows

    def bob(i: int) -> np.ndarray:
        row = np.zeros((1, d + 2))
        row[0, :d], row[0, d + 1] = u[i], 1.0
        return row

    return Gadget(
        name=f"{problem.name}->nn", problem=problem, task=t,
        owners=("Alice",) * problem.n + ("Bob",),
        encode_fn=t.encode, alice_fn=alice, bob_fn=bob,
        public_tokens=np.zeros((0, d + 2)),
        description="public codes u_j labelled x_j, query u_i; nearest neighbour has label x_i", source=SRC,
    )


def index_to_disj(n: int) -> ProblemMap:
    """INDEX_n -> DISJ_n one way: Bob with index i uses y = {i}; DISJ(x, {i}) = 1 - x_i (theory §2).

    Examples
    --------
    >>> m = index_to_disj(2)
    >>> [m.apply(x, i) for x in INDEX(2).alice_inputs() for i in (0, 1)]
    [0, 0, 0, 1, 1, 0, 1, 1]
    """
    src, dst = INDEX(n), DISJ(n)
    return ProblemMap(
        name=f"{src.name}->{dst.name}", source=src, target=dst,
        map_x=lambda x: tuple(x), map_y=lambda i: tuple(int(j == i) for j in range(n)),
        output_map=lambda v: 1 - v,
        description="x as a set, y = {i}; answer 1 - DISJ(x, {i})", ref="theory §2 (INDEX embeds in DISJ one-way)",
    )


@dataclass(frozen=True)
class GadgetEntry:
    """One registered gadget: the problem class it embeds, the task, how to build it."""

    problem: type
    task: str
    build: Callable[..., Gadget]
    default: bool
    description: str


#: (problem class, task name) -> how to build the gadget; filled by :func:`register_gadget`
GADGETS: dict[tuple[type, str], GadgetEntry] = {}


def register_gadget(problem: type, task: str, build: Callable[..., Gadget], *, default: bool = False,
                    description: str = "") -> GadgetEntry:
    """Register ``build(problem_instance, **task_kw) -> Gadget`` for instances of ``problem`` and ``task``.

    The first gadget registered as ``default`` for a class is what :func:`get_gadget` builds when no
    task is named. Subclasses of ``problem`` use the gadget too unless they register their own.

    Raises
    ------
    InvalidInputError
        ``problem`` is not a class, or a second default for the same class.
    """
    if not isinstance(problem, type):
        raise InvalidInputError(f"register_gadget takes a problem class such as INDEX, got {problem!r}")
    if default and any(e.default for (p, _), e in GADGETS.items() if p is problem and e.task != task):
        raise InvalidInputError(f"{problem.__name__} already has a default gadget; "
                                "register this one with default=False")
    entry = GadgetEntry(problem, task, build, default, description)
    GADGETS[(problem, task)] = entry
    return entry


def _via_disj(build: Callable[..., Gadget]) -> Callable[..., Gadget]:
    def make(problem: INDEX, **task_kw: Any) -> Gadget:
        if problem.q != 2:
            raise InvalidInputError(f"INDEX -> DISJ needs a binary alphabet (q = 2), got q = {problem.q}")
        return compose(index_to_disj(problem.n), build(DISJ(problem.n), **task_kw))
    return make


for _cls, _task, _build, _default, _text in (
    (INDEX, "index-lookup", index_lookup_gadget, True, "x then the index token of i"),
    (INDEX, "nn", index_nn_gadget, False, "labelled public codes, query u_i"),
    (INDEX, "disj", _via_disj(pair_gadget), False, "via DISJ with y = {i}, complemented"),
    (INDEX, "dyck", _via_disj(disj_dyck_gadget), False, "via DISJ with y = {i}, complemented"),
    (EQ, "eq", pair_gadget, True, "x SEP y END"),
    (EQ, "dyck", eq_dyck_gadget, False, "Dyck-(2,1) blocks a_i b_i"),
    (DISJ, "disj", pair_gadget, True, "x SEP y END"),
    (DISJ, "dyck", disj_dyck_gadget, False, "Dyck-(2,2) blocks a_i b_i c_i d_i"),
    (GT, "gt", pair_gadget, True, "x SEP y END"),
    (IP, "ip", pair_gadget, True, "x SEP y END"),
):
    register_gadget(_cls, _task, _build, default=_default, description=_text)


def _gadget_class(problem: Any) -> type:
    """The nearest class in ``type(problem)``'s MRO with registered gadgets."""
    for cls in type(problem).__mro__:
        if any(p is cls for p, _ in GADGETS):
            return cls
    have = ", ".join(dict.fromkeys(p.__name__ for p, _ in GADGETS))
    raise UnknownNameError(
        f"no gadget for problem {getattr(problem, 'name', problem)!r}; gadgets exist for {have} "
        "(register one with reductions.gadgets.register_gadget)"
    )


def get_gadget(problem: Any, task_name: str | None = None, **task_kw: Any) -> Gadget:
    """The gadget embedding ``problem`` in the task ``task_name`` (default: the problem's own task).

    Parameters
    ----------
    problem : Problem
        An instance of a class with registered gadgets (INDEX, EQ, DISJ, ...).
    task_name : str, optional
        A task of :func:`list_gadgets` for this problem; default: the class's default gadget.
    **task_kw
        Passed to the task (e.g. ``tokens=``, ``gamma=``) or, for x SEP y END, ``end=``; and the layout
        parameters of :mod:`reductions.gadgets.layouts`: ``data_offset=``, ``index_offset=`` (whole blocks of
        ids moved), ``bos=``, ``eos=`` (public tokens before and after the sequence).

    Raises
    ------
    UnknownNameError
        No gadget for this problem or task; the message lists the valid tasks.

    Examples
    --------
    >>> get_gadget(INDEX(4), "dyck").name
    'INDEX_4->dyck (via DISJ_4)'
    """
    cls = _gadget_class(problem)
    mine = {t: e for (p, t), e in GADGETS.items() if p is cls}
    if task_name is None:
        task_name = next((t for t, e in mine.items() if e.default), next(iter(mine)))
    if task_name not in mine:
        raise UnknownNameError(f"no gadget {cls.__name__} -> {task_name!r}; "
                               f"valid tasks for {cls.__name__}: {list(mine)}")
    from reductions.gadgets.layouts import framed, offset_tokens

    bos, eos = task_kw.pop("bos", None), task_kw.pop("eos", None)
    offsets = {k: task_kw.pop(k) for k in ("data_offset", "index_offset") if k in task_kw}
    if offsets:
        inner = "disj" if task_name in ("disj", "dyck") and cls.__name__ == "INDEX" else task_name
        moved = offset_tokens(inner, problem.n, getattr(problem, "q", 2), **offsets)
        task_kw["tokens"] = {**moved, **dict(task_kw.get("tokens") or {})}
    return framed(mine[task_name].build(problem, **task_kw), bos=bos, eos=eos)


def list_gadgets() -> list[dict[str, Any]]:
    """One row per registered gadget: problem, task, whether it is the default, description.

    Examples
    --------
    >>> [(r["problem"], r["task"]) for r in list_gadgets() if r["default"]]
    [('INDEX', 'index-lookup'), ('EQ', 'eq'), ('DISJ', 'disj'), ('GT', 'gt'), ('IP', 'ip')]
    """
    return [{"problem": e.problem.__name__, "task": e.task, "default": e.default, "description": e.description}
            for e in GADGETS.values()]
