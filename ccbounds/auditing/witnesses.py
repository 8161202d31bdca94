"""Collision witnesses: two inputs Alice cannot tell apart, turned into concrete failing sequences (theory §6).

If the quantized messages of x != x' are equal, Bob answers (x, y) and (x', y) identically, so for a y
with f(x, y) != f(x', y) one of the two answers is wrong; the problem names that y
(:meth:`~ccbounds.problems.Problem.separating_query`): EQ takes y = x (f(x, x) = 1, f(x', x) = 0),
INDEX takes an index i with x_i != x'_i, DISJ and IP the set y = {i} for such an i, GT y = min(x, x'). The audit builds both token
sequences with the gadget, runs the real model (full precision, full sequence) on them and reports which
one it answers wrongly; a witness is *confirmed* when the real model errs on at least one of the two.

Examples
--------
>>> import numpy as np
>>> pairs, groups = collision_pairs(np.array([5, 7, 5, 5], dtype=np.uint64), np.array([1, 2, 1, 3], dtype=np.uint64), 10)
>>> pairs, groups
([(0, 3)], 1)
"""  # noqa: E501 (doctest output)

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CollisionWitness", "collision_pairs", "find_witnesses"]


@dataclass(frozen=True)
class CollisionWitness:
    """Two Alice inputs with the same message at ``precision``, and the model's answers on them."""

    precision: str
    message_bits: int
    x: tuple
    x_prime: tuple
    query: Any
    tokens: tuple[tuple, tuple]
    expected: tuple[int, int]
    model_answers: tuple[int, int]
    protocol_answer: int
    problem: str

    @property
    def fails(self) -> tuple[int, ...]:
        """Which of the two inputs (0: (x, query), 1: (x', query)) the real model answers wrongly."""
        return tuple(k for k in range(2) if self.model_answers[k] != self.expected[k])

    @property
    def confirmed(self) -> bool:
        """True when the real model errs on at least one of the two inputs."""
        return bool(self.fails)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (inputs and tokens as lists)."""
        return {"precision": self.precision, "message_bits": self.message_bits, "x": list(self.x),
                "x_prime": list(self.x_prime), "query": _plain(self.query),
                "tokens": [list(t) for t in self.tokens], "expected": list(self.expected),
                "model_answers": list(self.model_answers), "protocol_answer": self.protocol_answer,
                "fails": list(self.fails), "confirmed": self.confirmed}

    def __str__(self) -> str:
        x, xp, y = _text(self.x), _text(self.x_prime), _text(self.query)
        lines = [f"At {self.precision} (S*b = {self.message_bits} bits) Alice sends the same message for "
                 f"x = {x} and x' = {xp}, so Bob's answer to the query {y} is the same ({self.protocol_answer}) "
                 f"for both, although {self.problem}(x, {y}) = {self.expected[0]} and "
                 f"{self.problem}(x', {y}) = {self.expected[1]}."]
        for k, name in enumerate(("(x, y) ", "(x', y)")):
            mark = "WRONG" if k in self.fails else "ok"
            lines.append(f"  {name} tokens {list(self.tokens[k])}: expected {self.expected[k]}, "
                         f"the model answers {self.model_answers[k]}  {mark}")
        lines.append("  The real model (full precision) errs on it: confirmed." if self.confirmed else
                     "  The real model (full precision) answers both correctly: only the quantized protocol errs.")
        return "\n".join(lines)


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _text(v: Any) -> str:
    if isinstance(v, tuple) and all(isinstance(s, int) and 0 <= s <= 9 for s in v):
        return "".join(map(str, v))
    return str(v)


def collision_pairs(msg_hash: np.ndarray, x_hash: np.ndarray, limit: int) -> tuple[list[tuple[int, int]], int]:
    """Pairs of sample indices with equal message hashes but different input hashes.

    Returns up to ``limit`` pairs (k, k'), one per distinct input in a colliding group (each paired
    with the group's first input, in a deterministic order), and the number of colliding groups
    (messages sent by at least two distinct inputs).
    """
    if len(msg_hash) < 2:
        return [], 0
    order = np.lexsort((np.arange(len(msg_hash)), x_hash, msg_hash))
    mh, xh = msg_hash[order], x_hash[order]
    new_group = np.r_[True, mh[1:] != mh[:-1]]
    new_x = np.r_[True, xh[1:] != xh[:-1]]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(mh)), 0))
    hits = np.flatnonzero(~new_group & new_x)  # a further distinct input in a group
    groups = len(np.unique(group_start[hits])) if len(hits) else 0
    return [(int(order[group_start[h]]), int(order[h])) for h in hits[:limit]], groups


def _distinguishing_query(plan: Any, x: tuple, xp: tuple) -> Any:
    """A query y with f(x, y) != f(x', y): the problem's own :meth:`~ccbounds.problems.Problem.separating_query`."""
    return plan.problem.separating_query(x, xp, plan.fixed_queries)


def find_witnesses(p: Any, plan: Any, candidates: list[tuple[Any, Any, list[tuple[int, int]]]], want: int,
                   max_examined: int) -> tuple[list[CollisionWitness], int]:
    """Turn colliding pairs into confirmed witnesses by running the real model (theory §6).

    Parameters
    ----------
    p : InducedProtocol
    plan : QueryPlan
    candidates : list of (label, scheme, pairs)
        Per precision, highest first: its label, its quantization scheme and colliding sample pairs.
    want : int
        How many confirmed witnesses to return at most.
    max_examined : int
        How many pairs to examine at most.

    Returns
    -------
    (list of CollisionWitness, int)
        The confirmed witnesses and how many pairs were examined. A pair counts only if recomputing
        both messages reproduces the collision exactly (codes equal), which rules out hash accidents.
    """
    import torch

    found: list[CollisionWitness] = []
    examined = 0
    for label, scheme, pairs in candidates:
        for k, kp in pairs:
            if len(found) >= want or examined >= max_examined:
                return found, examined
            rows = np.concatenate([plan.alice_rows(k, k + 1), plan.alice_rows(kp, kp + 1)])
            x, xp = plan.inputs(rows)
            if x == xp:
                continue
            examined += 1
            msgs = p.messages([x, xp]).cpu().numpy().astype(np.float64)
            codes = scheme.encode(msgs)
            y = _distinguishing_query(plan, x, xp)
            if not np.array_equal(codes[0], codes[1]) or y is None:
                continue
            deq = torch.as_tensor(scheme.decode(codes[:1]).astype(np.float32), device=p.device)
            proto = int(p.bob_answers(deq, [y])[0])
            model = p.model_answers([(x, y), (xp, y)])
            toks = tuple(tuple(row) for row in p.gadget.sequences([x, xp], [y, y]).tolist())
            w = CollisionWitness(label, scheme.bits_per_scalar * p.scalars, tuple(x), tuple(xp), y, toks,
                                 (int(p.problem.f(x, y)), int(p.problem.f(xp, y))),
                                 (int(model[0]), int(model[1])), proto, p.problem.family)
            if w.confirmed:
                found.append(w)
    return found, examined
