"""``reduce(model, problem)``: a trained model becomes an executable one-way protocol (theory §4).

Every model goes one way: its own forward is traced and cut (theory §4.3, :mod:`reductions.compiled`).
Alice runs the part of the program that depends on her positions and sends the cheapest checked cut
of it; Bob runs the rest. For a recurrent model that cut is the state (Lemma R), for one softmax
attention layer the partial sums of Lemma T, for anything else whatever the program needs (Alice's
embeddings, which grow with n, when nothing smaller separates the parties). The result is an
:class:`~ccbounds.protocols.induced.InducedProtocol`, validated against the model's real forward. A
Hugging Face recurrent model whose forward does not trace is read through its own cache instead
(:mod:`reductions.hf_cache`); the built-in readings (:func:`reductions.registry.builtin_reduction`)
are otherwise the test oracles the compiled reduction is checked against.

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
        Any traceable, deterministic PyTorch classifier over token ids (logits of shape (batch, classes)).
    problem : Problem
        INDEX, EQ or DISJ (:mod:`ccbounds.problems`).
    task : str, optional
        Name of the sequence task the model was trained on (default: the problem's default task).
    gadget : Gadget, optional
        The embedding of the problem into the task; overrides ``task`` (e.g. other token ids).
    validate : bool
        Check the protocol against the model's own forward (every input, or 512 sampled ones).
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
        A forward that cannot be traced into one program (data-dependent Python control flow, ``.item()``),
        a random one (dropout in training mode), one that fails on the gadget's sequences; the message says
        why and what to do.
    """
    from reductions.gadgets import get_gadget

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
    from reductions.gadgets.layouts import vocabulary_note

    refuse, vocab_note = vocabulary_note(model_vocabulary(model), gadget)
    try:
        check_classifier_output(model, gadget.task, device)
    except ReductionNotApplicable:  # the forward fails on the gadget's ids: say so in terms of token ids
        if refuse:
            raise ReductionNotApplicable(vocab_note) from None
        raise
    if refuse:  # the forward reads every id: the embedding found first was not the token table (positions?)
        vocab_note = ""
    from reductions.compiled import CompiledProtocol

    try:
        protocol = CompiledProtocol(model, gadget, device=device, seed=seed, validate=validate)
    except ReductionNotApplicable as refused:
        protocol = _cache_reading(model, gadget, device, seed, validate, refused)
    protocol.vocabulary_note = vocab_note  # said in audit reports when the vocabularies differ
    return protocol


def model_vocabulary(model: Any) -> int:
    """The number of token ids ``model`` reads: its Hugging Face config's ``vocab_size``, else the size of its
    first ``nn.Embedding`` (0: unknown). A guess used for messages only: :func:`reduce` refuses a vocabulary
    only where the forward fails on the gadget's token ids.

    Examples
    --------
    >>> import torch
    >>> model_vocabulary(torch.nn.Sequential(torch.nn.Embedding(7, 2), torch.nn.Linear(2, 2)))
    7
    >>> model_vocabulary(torch.nn.Linear(2, 2))
    0
    """
    config = getattr(model, "config", None)
    size = getattr(config, "vocab_size", None)
    if isinstance(size, int) and size > 0:
        return size
    for m in model.modules() if hasattr(model, "modules") else ():
        if type(m).__name__ == "Embedding" and hasattr(m, "num_embeddings"):
            return int(m.num_embeddings)
    return 0


def _cache_reading(model: Any, gadget: Any, device: Any, seed: int, validate: bool,
                   refused: ReductionNotApplicable) -> InducedProtocol:
    """Where the compiled reduction refuses a Hugging Face recurrent model (its forward does not trace: data-
    dependent control flow or kernels without a fake implementation), Lemma R through the model's own cache
    (:mod:`reductions.hf_cache`), validated against its forward; every other refusal stands."""
    from reductions.hf_cache import HFCacheProtocol
    from reductions.registry import builtin_reduction

    if not _has_hugging_face_module(model):  # only a Hugging Face model has a cache to read
        raise refused
    try:
        protocol = builtin_reduction(model, gadget.problem, gadget=gadget, validate=validate, seed=seed,
                                     device=device)
    except ReductionNotApplicable as why:  # a built-in reading that refuses with a reason: say both
        raise ReductionNotApplicable(f"{refused} (the built-in readings: {_first_sentence(why)})") from None
    except Exception:  # noqa: BLE001 - no built-in reading of this layout: the compiled reduction's reason stands
        raise refused from None
    if not isinstance(protocol, HFCacheProtocol):
        raise refused
    protocol.compiled_refusal = _first_sentence(refused)
    return protocol


def _has_hugging_face_module(model: Any) -> bool:
    """Whether ``model`` is or holds a module of Hugging Face ``transformers`` (no import of it)."""
    mods = model.modules() if hasattr(model, "modules") else [model]
    return any(c.__module__.startswith("transformers.") for m in mods for c in type(m).__mro__)


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

    Raises
    ------
    ReductionNotApplicable
        The forward raises on the task's sequences (a vocabulary or maximum length that does not cover them).
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
    except Exception as e:  # noqa: BLE001 - the user's forward on the task's own sequences
        raise ReductionNotApplicable(
            f"{name}.forward fails on sequences of {task.name} ({task.seq_len} tokens, ids 0..{task.vocab_size - 1}"
            f"): {type(e).__name__}: {' '.join(str(e).split())[:200]}; reduce a problem whose sequences the model "
            "accepts, or pass a gadget with the model's token ids") from None
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
