"""``reduce(model, problem)``: a trained model becomes an executable one-way protocol (theory §4).

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
'D1way(A->B)(INDEX_4) = 4 bits  [known; theory §3 (q^n distinct rows)]'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ccbounds.errors import InvalidInputError, ReductionNotApplicable
from ccbounds.protocols.induced import DEFAULT_BATCH, InducedProtocol, ReductionCheck, as_scheme

__all__ = ["InducedProtocol", "ReductionCheck", "reduce", "as_scheme", "DEFAULT_BATCH"]


def reduce(model: Any, problem: Any, task: Any = None, gadget: Any = None, *, validate: bool = True,
           seed: int = 0, device: Any = None, answer_tokens: Sequence[int] | None = None) -> InducedProtocol:
    """Turn ``model`` into a one-way protocol for ``problem`` (theory §4, Lemma R / Lemma T).

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
    answer_tokens : sequence of int, optional
        For a causal LM (e.g. a Hugging Face ``*ForCausalLM``): the vocabulary id of each answer, in
        answer order; the model is read at its last position at those ids
        (:class:`ccbounds.models.answers.AnswerLogits`).

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
    if answer_tokens is not None:
        from ccbounds.models.answers import AnswerLogits

        model = AnswerLogits(model, answer_tokens)
    if gadget is None:
        gadget = get_gadget(problem, task)
    elif gadget.problem.name != problem.name:
        raise InvalidInputError(f"the gadget is for {gadget.problem.name}, not {problem.name}; pass a matching gadget")
    check_not_meta(model)
    params = list(model.parameters()) if hasattr(model, "parameters") else []
    if device is None:
        device = params[0].device if params else "cpu"
    else:
        from ccbounds.devices import resolve_device

        device = resolve_device(device)
    check_classifier_output(model, gadget.task, device)
    try:
        adapter = get_adapter(model, validate=validate, seed=seed)
    except ReductionNotApplicable as first:  # no adapter reads it: compile the user's own forward
        return _compiled(model, gadget, device, seed, validate, first)
    t = gadget.task
    from reductions.gadgets.layouts import vocabulary_note

    refuse, vocab_note = vocabulary_note(adapter.vocab_size, gadget)
    if refuse:
        raise ReductionNotApplicable(vocab_note)
    if adapter.max_len is not None and adapter.max_len < t.seq_len:
        raise ReductionNotApplicable(
            f"the model accepts sequences of at most {adapter.max_len} tokens but {t.name} needs {t.seq_len}; "
            "reduce a smaller problem")
    try:
        protocol = find_reduction(adapter, gadget).build(model, adapter, gadget, device=device)
    except ReductionNotApplicable as first:  # the built-in reading does not apply: compile the forward
        return _compiled(model, gadget, device, seed, validate, first)
    protocol.vocabulary_note = vocab_note  # said in audit reports when the vocabularies differ
    return protocol


def _compiled(model: Any, gadget: Any, device: Any, seed: int, validate: bool, first: Exception) -> InducedProtocol:
    """The compiled reduction (theory §4.3), tried when no built-in reading applies; if it refuses too, its
    reason is the one reported (with the built-in one after it)."""
    from reductions.compiled import CompiledProtocol

    try:
        protocol = CompiledProtocol(model, gadget, device=device, seed=seed, validate=validate)
    except ReductionNotApplicable as e:
        raise type(e)(f"{e} (the built-in reductions: {_first_sentence(first)})") from None
    protocol.vocabulary_note = ""
    return protocol


def _first_sentence(e: Exception) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= 200 else text[:197] + "..."


def check_not_meta(model: Any) -> None:
    """Refuse a model with parameters or buffers on the meta device (shapes without values)."""
    tensors = [*model.parameters(), *model.buffers()] if hasattr(model, "parameters") else []
    if any(t.device.type == "meta" for t in tensors):
        raise InvalidInputError(f"{type(model).__name__} has parameters on the meta device (no values); load or "
                                "initialise its weights (e.g. model.to_empty(device='cpu') and load_state_dict) "
                                "before reducing it")


def check_classifier_output(model: Any, task: Any, device: Any, k: int = 4) -> None:
    """Refuse a model whose forward on ``k`` sequences of ``task`` does not return finite float logits of shape
    ``(k, task.num_classes)`` (or an object with such a ``logits`` field).

    A forward that raises is left to the adapters, which report it with what they expected.

    Raises
    ------
    InvalidInputError
        Class ids or other integer outputs, a wrong batch size or number of classes, NaN or inf logits.
    """
    import numpy as np
    import torch

    tokens, _ = task.sample(k, seed=0)
    if not np.issubdtype(np.asarray(tokens).dtype, np.integer):
        return
    x = torch.as_tensor(tokens, dtype=torch.long, device=device)
    name = type(model).__name__
    try:
        with torch.no_grad():
            out = model(x)
    except Exception:  # noqa: BLE001 - the adapters report a failing forward with the layouts they read
        return
    logits = out if isinstance(out, torch.Tensor) else getattr(out, "logits", None)
    if not isinstance(logits, torch.Tensor):
        raise InvalidInputError(f"{name}.forward returns {type(out).__name__}, not logits: a classifier returns a "
                                f"float tensor of shape (batch, classes) = ({k}, {task.num_classes})")
    if not torch.is_floating_point(logits):
        raise InvalidInputError(f"{name}.forward returns {logits.dtype} values of shape {tuple(logits.shape)} "
                                "(class ids?), not logits; return the float scores before argmax")
    if tuple(logits.shape) != (k, task.num_classes):
        raise InvalidInputError(f"{name}.forward returns shape {tuple(logits.shape)} for a batch of {k} sequences "
                                f"of {task.name}; a classifier returns logits of shape (batch, classes) = "
                                f"({k}, {task.num_classes}), one row per sequence")
    bad = int((~torch.isfinite(logits)).any(dim=1).sum())
    if bad:
        raise InvalidInputError(f"{name}.forward returns NaN or inf logits on {bad} of {k} sequences of "
                                f"{task.name} (in eval mode, so not dropout); its weights are corrupted or training "
                                "diverged: use an earlier checkpoint")
