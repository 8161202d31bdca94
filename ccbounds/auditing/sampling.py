"""The query distribution mu of an audit: which Alice inputs and which Bob queries are measured (theory §6).

* Alice: x_1..x_K i.i.d. uniform on X (for INDEX_n over q symbols: uniform on [q]^n), drawn from a seeded
  stream in fixed chunks of :data:`CHUNK` inputs, so x_k depends only on (seed, k), not on the batch size.
* Bob, per x: the problem's own audit queries (:meth:`~ccbounds.problems.Problem.audit_queries`):
  - INDEX_n: every index i = 0..n-1 (the Fano certificate of theory §6 needs each coordinate's error);
  - DISJ_n, IP_n: the INDEX embedding y = {i} (the indicator e_i) for every i, DISJ(x, {i}) = 1 - x_i,
    IP(x, {i}) = x_i (theory §2), so the same certificate applies;
  - EQ_n, GT_n: y = x and the n single-bit flips x XOR e_i (n + 1 queries, labelled "equal", "flip i");
  - any other problem: a seeded sample of at most :data:`OTHER_QUERIES` Bob inputs, the same for every x
    (no certificate).

Calibration inputs (for fixed-point ranges) come from a different stream of the same seed.

Examples
--------
>>> from ccbounds.problems import EQ
>>> plan = QueryPlan.for_problem(EQ(3), seed=0)
>>> plan.labels, plan.certified
(('equal', 'flip 0', 'flip 1', 'flip 2'), False)
>>> plan.truth(plan.alice_rows(0, 1)).tolist()
[[1, 0, 0, 0]]
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError
from ccbounds.problems.facts import OTHER_QUERIES

__all__ = ["QueryPlan", "model_accuracy_on_mu", "CHUNK", "OTHER_QUERIES", "AUDITED", "CALIBRATION"]

#: Alice inputs are drawn in chunks of this many, each from its own seeded generator
CHUNK = 256
#: stream ids of the audited inputs and the calibration inputs (stream 2: the sampled Bob inputs)
AUDITED, CALIBRATION = 0, 1


@dataclass(frozen=True, eq=False)
class QueryPlan:
    """mu for one problem: how Alice's inputs are drawn, Bob's queries per x, and the true answers.

    Build it with :meth:`for_problem`, which asks the problem (:meth:`~ccbounds.problems.Problem.audit_queries`).
    ``kind`` names the distribution (``"index"``, ``"disj"``, ``"eq"``, ``"gt"``, ``"ip"`` or ``"sampled"``);
    ``fixed_queries`` holds Bob's inputs when they are the same for every x (None for EQ, GT); ``labels``
    names the query columns; ``certified`` says whether the Fano certificate applies (INDEX, DISJ, IP),
    and ``note`` why not.
    """

    problem: Any
    kind: str
    seed: int
    labels: tuple[str, ...]
    fixed_queries: tuple[Any, ...] | None
    q: int
    description: str
    certified: bool = False
    note: str = ""

    @classmethod
    def for_problem(cls, problem: Any, seed: int = 0) -> QueryPlan:
        """The audit's distribution for ``problem`` (see the module docstring)."""
        spec = problem.audit_queries(seed)
        return cls(problem, spec.kind, seed, spec.labels, spec.fixed, spec.q, spec.description,
                   spec.certified, spec.note)

    # -- Alice ----------------------------------------------------------------------------------------
    @property
    def vector_inputs(self) -> bool:
        """True when Alice's inputs are length-n symbol vectors (INDEX, EQ, DISJ and other bit problems)."""
        return self.problem.alphabet is not None and self.problem.n is not None

    def _chunk(self, stream: int, c: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, stream, c])
        if self.vector_inputs:
            return rng.integers(0, self.problem.alphabet, size=(CHUNK, self.problem.n), dtype=np.int64)
        total = int(self.problem.num_alice_inputs)
        if total >= 2**62:
            raise InvalidInputError(f"{self.problem.name} has too many Alice inputs to sample by index; "
                                    "audit INDEX, EQ or DISJ")
        return rng.integers(0, total, size=(CHUNK, 1), dtype=np.int64)

    def alice_rows(self, start: int, stop: int, stream: int = AUDITED) -> np.ndarray:
        """Rows start..stop-1 of the stream: ``(B, n)`` symbol vectors, or ``(B, 1)`` input indices."""
        out = [self._chunk(stream, c) for c in range(start // CHUNK, (stop - 1) // CHUNK + 1)] if stop > start else []
        if not out:
            return np.zeros((0, self.problem.n if self.vector_inputs else 1), dtype=np.int64)
        block = np.concatenate(out)
        off = start - (start // CHUNK) * CHUNK
        return block[off:off + stop - start]

    def inputs(self, rows: np.ndarray) -> list[Any]:
        """Alice's inputs (canonical tuples) for ``rows``."""
        if self.vector_inputs:
            return [tuple(r) for r in rows.tolist()]
        return [self.problem.x_at(int(r[0])) for r in rows]

    def row_hashes(self, rows: np.ndarray) -> np.ndarray:
        """A 64-bit hash of each row (to tell distinct inputs apart without storing them)."""
        return hash_rows(rows)

    # -- Bob ------------------------------------------------------------------------------------------
    def queries(self, rows: np.ndarray) -> list[Any]:
        """Bob's queries for each row, flattened row-major: ``len(rows) * len(labels)`` inputs."""
        return self.problem.audit_query_inputs(rows, self.fixed_queries)

    def truth(self, rows: np.ndarray) -> np.ndarray:
        """f(x, y) for every row and query column: ``(B, len(labels))`` int64."""
        return self.problem.audit_truth(rows, self.inputs(rows), self.fixed_queries)

    def to_dict(self) -> dict[str, Any]:
        """Plain data: the kind, description, query labels and whether a certificate applies."""
        return {"kind": self.kind, "description": self.description, "queries": list(self.labels),
                "certified": self.certified, "q": self.q, "chunk": CHUNK}


def hash_rows(rows: np.ndarray) -> np.ndarray:
    """A deterministic 64-bit BLAKE2b hash of each row's bytes, as uint64 ``(B,)``.

    Examples
    --------
    >>> h = hash_rows(np.array([[1, 2], [1, 2], [2, 1]], dtype=np.uint32))
    >>> bool(h[0] == h[1]), bool(h[0] == h[2])
    (True, False)
    """
    a = np.ascontiguousarray(rows)
    if a.ndim == 1:
        a = a[:, None]
    raw = a.reshape(a.shape[0], -1).view(np.uint8).reshape(a.shape[0], -1)
    return np.array([int.from_bytes(hashlib.blake2b(r.tobytes(), digest_size=8).digest(), "little") for r in raw],
                    dtype=np.uint64)


def model_accuracy_on_mu(model: Any, problem: Any, gadget: Any, samples: int, seed: int, device: Any = None) -> float:
    """The real model's accuracy on mu: ``samples`` Alice inputs of :class:`QueryPlan` x every query of each.

    The model runs on the gadget's full sequences through its own forward (the protocol engine's
    :class:`~ccbounds.protocols.reference.ModelOnGadget` over :class:`ForwardOnly`), so it needs no adapter
    and no reduction — a two-layer Transformer, which no reduction covers, is measured the same way; for a
    reduced model the audit measures the same number as ``AuditReport.model_accuracy``.
    """
    from ccbounds.protocols.reference import ForwardOnly, ModelOnGadget

    plan = QueryPlan.for_problem(problem, seed)
    rows = plan.alice_rows(0, samples)
    ref = ModelOnGadget(ForwardOnly(model), gadget, device=device)
    answers = ref.model_grid(plan.inputs(rows), plan.queries(rows), per_row=True)
    return float((answers == plan.truth(rows)).mean())
