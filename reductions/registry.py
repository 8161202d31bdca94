"""The built-in readings of a model as one-way protocols, written before the compiled reduction and kept as its
independent test oracles (:func:`builtin_reduction`), and for Hugging Face models whose forward does not trace.

Built-in: :mod:`reductions.recurrent` (Lemma R), :mod:`reductions.attention` (Lemma T), the hook and
``TorchFunctionMode`` interceptions (:mod:`reductions.intercept`) and Hugging Face caches
(:mod:`reductions.hf_cache`). ``register_reduction`` was removed: :func:`ccbounds.reduce` compiles the model's
own forward (theory §4.3); an op it cannot split is taught with :func:`reductions.compiled.register_split_rule`.

Examples
--------
>>> [r.name for r in list_reductions()]
['hf-cache', 'intercepted-state', 'intercepted-attention', 'recurrent-state', 'one-layer-attention']
"""

from __future__ import annotations

from typing import Any

from ccbounds.adapters.base import removed_extension
from ccbounds.errors import UnsupportedArchitecture
from reductions.base import Reduction

__all__ = ["Reduction", "register_reduction", "unregister_reduction", "find_reduction", "list_reductions",
           "builtin_reduction"]


_BUILTIN: list[Reduction] = []


def _builtins() -> list[Reduction]:
    if not _BUILTIN:
        from reductions.attention import ATTENTION_REDUCTION
        from reductions.hf_cache import HF_CACHE_REDUCTION
        from reductions.intercept import INTERCEPTED_ATTENTION, INTERCEPTED_STATE
        from reductions.recurrent import RECURRENT_REDUCTION

        _BUILTIN.extend([HF_CACHE_REDUCTION, INTERCEPTED_STATE, INTERCEPTED_ATTENTION, RECURRENT_REDUCTION,
                         ATTENTION_REDUCTION])
    return _BUILTIN


register_reduction = removed_extension("register_reduction")
unregister_reduction = removed_extension("unregister_reduction")


def list_reductions() -> list[Reduction]:
    """The built-in readings, in the order :func:`find_reduction` tries them (user registration was removed)."""
    return list(_builtins())


def find_reduction(adapter: Any, gadget: Any) -> Reduction:
    """The first reduction that applies to ``adapter`` and ``gadget`` (refusals propagate)."""
    for r in list_reductions():
        if r.applies(adapter, gadget):
            return r
    names = ", ".join(r.name for r in list_reductions())
    raise UnsupportedArchitecture(
        f"no reduction applies to a {getattr(adapter, 'kind', '?')} adapter ({names} were tried); "
        "ccbounds.reduce compiles the model's forward instead (theory §4.3)")


def builtin_reduction(model: Any, problem: Any, task: Any = None, gadget: Any = None, *, validate: bool = True,
                      seed: int = 0, device: Any = None) -> Any:
    """The built-in readings of a model, written before the compiled reduction and independently of it: Lemma R
    through the recurrent adapters (ccbounds' models, nn.RNN/GRU/LSTM modules by hooks, Hugging Face caches) and
    Lemma T through the attention adapters. They are the oracles the compiled reduction (:func:`ccbounds.reduce`)
    is tested against, and the cache reading is what ``reduce`` keeps for Hugging Face models whose forward does
    not trace. Not a production path: ``reduce`` is.

    Examples
    --------
    >>> import torch
    >>> from ccbounds.models import RecurrentConfig, build_model
    >>> from ccbounds.problems import INDEX
    >>> _ = torch.manual_seed(0)
    >>> gru = build_model(RecurrentConfig("gru", vocab_size=6, num_classes=2, width=3)).eval()
    >>> type(builtin_reduction(gru, INDEX(4))).__name__, builtin_reduction(gru, INDEX(4)).scalars
    ('RecurrentStateProtocol', 3)
    """
    from ccbounds.adapters import get_adapter
    from ccbounds.errors import ReductionNotApplicable
    from reductions.gadgets import get_gadget
    from reductions.gadgets.layouts import vocabulary_note

    if gadget is None:
        gadget = get_gadget(problem, task)
    if device is None:
        p0 = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
        device = p0.device if p0 is not None else "cpu"
    adapter = get_adapter(model, validate=validate, seed=seed)
    refuse, note = vocabulary_note(adapter.vocab_size, gadget)
    if refuse:
        raise ReductionNotApplicable(note)
    if adapter.max_len is not None and adapter.max_len < gadget.task.seq_len:
        raise ReductionNotApplicable(
            f"the model accepts sequences of at most {adapter.max_len} tokens but {gadget.task.name} needs "
            f"{gadget.task.seq_len}; reduce a smaller problem")
    protocol = find_reduction(adapter, gadget).build(model, adapter, gadget, device=device)
    protocol.vocabulary_note = note
    return protocol
