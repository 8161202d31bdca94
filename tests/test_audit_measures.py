"""Audit measurements fed batch by batch give what a direct computation on all K rows gives."""

from __future__ import annotations

import itertools
import math

import numpy as np

from ccbounds.auditing.measures import (
    Batch,
    Certificate,
    Collisions,
    DistinctMessages,
    Entropy,
    MessageLog,
    Mismatches,
    ModelAccuracy,
    QueryAccuracy,
)


def _feed(K: int, W: int, splits: list[int], seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, (K, W))
    answers = np.where(rng.random((K, W)) < 0.2, 1 - truth, truth)
    model = np.where(rng.random((K, W)) < 0.1, 1 - answers, answers)
    msg = rng.integers(0, 5, K).astype(np.uint64)  # few distinct messages: collisions
    inp = rng.integers(0, 40, K).astype(np.uint64)
    log, inputs = MessageLog(K), MessageLog(K, what="input")
    ms = {"acc": QueryAccuracy(W), "cert": Certificate(W, 2, 0.95, True), "ent": Entropy(log),
          "dist": DistinctMessages(log), "coll": Collisions(log, inputs, 1000), "model": ModelAccuracy(),
          "mm": Mismatches(keep=2)}
    bounds = [0, *splits, K]
    for a0, a1 in itertools.pairwise(bounds):
        b = Batch(a0, a1, truth=truth[a0:a1], answers=answers[a0:a1], model=model[a0:a1],
                  xs=[(int(i),) for i in inp[a0:a1]], query=lambda r, c: c, input_hashes=inp[a0:a1],
                  message_hashes=msg[a0:a1])
        log.update(b)
        inputs.update(b)
        for m in ms.values():
            m.update(b)
    return {"data": (truth, answers, model, msg, inp), **{k: m.result() for k, m in ms.items()}}


def test_batches_of_any_size_give_the_direct_values() -> None:
    one, many = _feed(300, 4, []), _feed(300, 4, [1, 7, 100, 299])
    for k in ("acc", "cert", "ent", "dist", "coll", "model", "mm"):
        assert one[k] == many[k], k
    truth, answers, model, msg, inp = one["data"]
    err = (answers != truth).sum(axis=0)
    assert one["acc"].errors == tuple(err) and math.isclose(one["acc"].accuracy, 1 - err.sum() / truth.size)
    assert one["dist"].distinct_messages == len(set(msg.tolist()))
    groups = {m for m in set(msg.tolist()) if len(set(inp[msg == m].tolist())) > 1}
    assert one["coll"].colliding_messages == len(groups)
    assert all(msg[a] == msg[b] and inp[a] != inp[b] for a, b in one["coll"].pairs)
    assert math.isclose(one["model"], float((model == truth).mean()))
    assert one["mm"].mismatches == int((answers != model).sum()) and len(one["mm"].examples) == 2
    assert one["ent"].entropy_cap_bits == math.log2(300)
