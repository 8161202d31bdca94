"""``reduce(model, problem)``: a trained model becomes an executable one-way protocol (SPEC §4).

Lemma R (recurrent models) and Lemma T (one softmax attention layer) say how. The result is an
:class:`~ccbounds.protocols.induced.InducedProtocol` (the core's protocol engine, re-exported here),
whose message is a vector of S scalars. This module is the facade: :func:`reduce` finds the model's
adapter (:mod:`ccbounds.adapters`), the gadget (:mod:`reductions.gadgets`) and the reduction that
applies (:mod:`reductions.registry`, where users register their own).

Examples
--------
>>> import torch
>>> from ccbounds.models import RecurrentConfig, build_model
>>> from ccbounds.problems import INDEX
>>> torch.manual_seed(0) and None
>>> lstm = build_model(RecurrentConfig("lstm", vocab_size=6, num_classes=2, width=8, layers=2))
>>> p = reduce(lstm, INDEX(4))
>>> p.scalars, p.cost_bits(32), p.cost_bits(4)
(32, 1024, 128)
>>> str(p.lower_bound())
'D1way(A->B)(INDEX_4) = 4 bits  [known; SPEC §3 (q^n distinct rows)]'
"""

from __future__ import annotations

from typing import Any

from ccbounds.errors import InvalidInputError, ReductionNotApplicable
from ccbounds.protocols.induced import DEFAULT_BATCH, InducedProtocol, ReductionCheck, as_scheme

__all__ = ["InducedProtocol", "ReductionCheck", "reduce", "as_scheme", "DEFAULT_BATCH"]


def reduce(model: Any, problem: Any, task: Any = None, gadget: Any = None, *, validate: bool = True,
           seed: int = 0, device: Any = None) -> InducedProtocol:
    """Turn ``model`` into a one-way protocol for ``problem`` (SPEC §4, Lemma R / Lemma T).

    Parameters
    ----------
    model : torch.nn.Module
        A recurrent classifier or a one-layer Transformer classifier (see :mod:`ccbounds.adapters`).
    problem : Problem
        INDEX, EQ or DISJ (:mod:`ccbounds.problems`).
    task : str, optional
        Name of the sequence task the model was trained on (default: the problem's default task).
    gadget : Gadget, optional
        The embedding of the problem into the task; overrides ``task`` (e.g. other token ids).
    validate : bool
        Check the adapter's reading of the model against the model's own forward.
    device : str or torch.device, optional
        Where to run the model (default: where its parameters are).

    Returns
    -------
    InducedProtocol

    Raises
    ------
    ReductionNotApplicable
        Two or more attention layers, bidirectional RNNs, attention back over the prefix, a gadget
        whose cut the reduction cannot use; the message says why.
    UnsupportedArchitecture
        No adapter reads the model's layout (the message lists the supported ones).
    """
    from ccbounds.adapters import get_adapter
    from reductions.gadgets import get_gadget
    from reductions.registry import find_reduction

    if not hasattr(problem, "alice_inputs"):
        raise InvalidInputError(f"reduce() needs a Problem such as ccbounds.INDEX(16), got {problem!r}")
    if gadget is None:
        gadget = get_gadget(problem, task)
    elif gadget.problem.name != problem.name:
        raise InvalidInputError(f"the gadget is for {gadget.problem.name}, not {problem.name}; pass a matching gadget")
    adapter = get_adapter(model, validate=validate, seed=seed)
    t = gadget.task
    if adapter.vocab_size and adapter.vocab_size < t.vocab_size:
        raise ReductionNotApplicable(
            f"the model reads {adapter.vocab_size} token ids but the task {t.name} uses {t.vocab_size}; "
            "pass a gadget with the model's token ids: get_gadget(problem, task, tokens={...}, vocab_size=...)")
    if adapter.max_len is not None and adapter.max_len < t.seq_len:
        raise ReductionNotApplicable(
            f"the model accepts sequences of at most {adapter.max_len} tokens but {t.name} needs {t.seq_len}; "
            "reduce a smaller problem")
    if device is None:
        params = list(model.parameters()) if hasattr(model, "parameters") else []
        device = params[0].device if params else "cpu"
    else:
        from ccbounds.devices import resolve_device

        device = resolve_device(device)
    return find_reduction(adapter, gadget).build(model, adapter, gadget, device=device)
