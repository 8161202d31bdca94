"""Lemma R for Hugging Face recurrent models: the message is the state the model's own cache holds.

Supported families (those the installed ``transformers`` has): Mamba, FalconMamba, Mamba2 (a
``DynamicCache`` of conv and SSM states per layer), RWKV (the five state tensors of ``RwkvModel``) and
xLSTM (an ``xLSTMCache`` of mLSTM states per layer). The model is the user's: an HF backbone such as
``MambaModel`` inside the user's own classifier, or a ``*ForCausalLM`` whose answer is read from given
output tokens (:class:`ccbounds.models.hf.AnswerLogits`). Nothing of the forward is re-implemented:

* Alice runs the user's forward on her prefix; when it calls the backbone, the backbone runs its own
  forward with ``use_cache=True`` and its cache is the message (the rest of her forward is skipped);
* Bob runs the user's forward on his tokens; when it calls the backbone, the backbone continues from a
  cache rebuilt from the message, one token per call with the installed code's cached path, and the
  outputs of those calls are handed back to the user's code (head, readout) as one output.

Counted (theory §4): every layer's SSM / recurrent state, and the convolution buffer without its
oldest slot: a causal conv of kernel K reads only the last K-1 inputs before the new token, so slot 0
of the K-slot buffer is overwritten before use (a test perturbs it); xLSTM's token counter is public.
Hybrids whose layers attend back over the prefix (Jamba, Zamba, Bamba, RecurrentGemma, ...) and HF
attention models are refused by name with the reason.

Examples
--------
>>> sorted(FAMILIES)
['falcon_mamba', 'mamba', 'mamba2', 'rwkv', 'xlstm']
>>> "attention" in REFUSED["jamba"]
True
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from typing import Any

from ccbounds.adapters.base import REGISTER_HINT, Adapter
from ccbounds.adapters.hf_families import FAMILIES, REFUSED, Family
from ccbounds.errors import ReductionNotApplicable, UnsupportedArchitecture

__all__ = [
    "ATOL",
    "FAMILIES",
    "REFUSED",
    "RTOL",
    "Family",
    "HFCacheAdapter",
    "check_same",
    "find_backbone",
    "is_hf_model",
]

#: tolerance on logits: fp32 prefill (chunked / parallel scan) and one-token steps round differently
ATOL, RTOL = 1e-4, 1e-4


def is_hf_model(model: Any) -> bool:
    """True when ``model`` is or contains a ``transformers`` PreTrainedModel (no import of transformers)."""
    mods = model.modules() if callable(getattr(model, "modules", None)) else [model]
    return any(_is_pretrained(m) for m in mods)


def _is_pretrained(m: Any) -> bool:
    return any(c.__name__ == "PreTrainedModel" and c.__module__.startswith("transformers.") for c in type(m).__mro__)


def find_backbone(model: Any) -> tuple[Any, Family]:
    """The one supported HF recurrent backbone inside ``model`` and its family.

    Raises
    ------
    ReductionNotApplicable
        A refused family (hybrid with attention, windowed attention) or an HF attention model.
    UnsupportedArchitecture
        No backbone, or more than one.
    """
    name = type(model).__name__
    found = []
    for m in model.modules():
        if not _is_pretrained(m):
            continue
        mtype = getattr(getattr(m, "config", None), "model_type", "")
        if mtype in REFUSED:
            raise ReductionNotApplicable(f"Lemma R does not apply to {name}: {REFUSED[mtype]}")
        fam = FAMILIES.get(mtype)
        if fam is None:
            raise ReductionNotApplicable(
                f"Lemma R does not apply to {name}: Hugging Face model type {mtype!r} is not a recurrent family "
                f"ccbounds reads ({', '.join(f.name for f in FAMILIES.values())}); attention models attend back "
                "over the prefix, so no fixed state crosses the cut")
        if type(m).__name__ == fam.backbone:
            found.append((m, fam))
    if len(found) != 1:
        raise UnsupportedArchitecture(
            f"{name}: expected exactly one Hugging Face recurrent backbone "
            f"({', '.join(f.backbone for f in FAMILIES.values())}), found {len(found)}; {REGISTER_HINT}")
    return found[0]


def check_same(adapter: Any, got: Any, ref: Any, where: str) -> float:
    """The largest |logit diff| of prefix + continuation (``got``) against one full forward (``ref``).

    Raises
    ------
    ReductionNotApplicable
        When they differ beyond fp32 tolerance: the message says where, by how much, on how many inputs.
    """
    import torch

    name = type(adapter.model).__name__
    if ref.shape != got.shape:
        raise ReductionNotApplicable(
            f"{name}: prefix + continuation gives logits of shape {tuple(got.shape)} but one full forward "
            f"{tuple(ref.shape)} ({where}); its head reads more than the backbone's output after the cut")
    close = torch.isclose(got, ref, atol=ATOL, rtol=RTOL).all(dim=1)
    worst = float((got - ref).abs().max()) if got.numel() else 0.0
    if not bool(close.all()):
        raise ReductionNotApplicable(
            f"{name}: prefix + continuation from the {adapter.family.name} cache differs from one full forward "
            f"({where}) on {int((~close).sum())} of {len(close)} inputs (max |logit diff| {worst:.3g}): the forward "
            "reads more than the state at the cut (pooling over all positions, a [CLS]-style readout, a "
            "position-dependent map), so Lemma R does not apply")
    return worst


class _Captured(Exception):
    """Raised inside Alice's run once the backbone has produced its cache (the rest is not needed)."""

    def __init__(self, cache: Any) -> None:
        super().__init__("cache captured")
        self.cache = cache


def _cat(items: list[Any], dim: int) -> Any:
    """Join per-call outputs along ``dim``: tensors are concatenated, tuples element-wise, others kept last."""
    import torch

    first = items[0]
    if isinstance(first, torch.Tensor) and first.dim() > dim:
        return torch.cat(items, dim=dim)
    if isinstance(first, tuple) and first and all(isinstance(t, torch.Tensor) for t in first):
        return tuple(_cat([it[k] for it in items], dim) for k in range(len(first)))
    return items[-1]


class HFCacheAdapter(Adapter):
    """Lemma R (theory §4) through the cache of a Hugging Face recurrent backbone inside ``model``.

    Parameters
    ----------
    model : torch.nn.Module
        Tokens ``(B, T)`` -> logits ``(B, C)``; contains exactly one supported backbone.

    Attributes
    ----------
    backbone, family :
        The backbone module and its :class:`Family`.
    parts : list of (name, shape, dtype)
        The counted message tensors (per example), in message order.
    """

    kind = "hf-cache"

    def __init__(self, model: Any) -> None:
        import torch

        super().__init__(model)
        self.backbone, self.family = find_backbone(model)
        self.vocab_size = int(self.backbone.config.vocab_size)
        self.max_len = None
        self._orig = self.backbone.forward
        self._sig = inspect.signature(self._orig)
        with torch.no_grad():
            probe = self.read_state(self.run_alice(torch.zeros(1, 1, dtype=torch.long, device=self._device)))
        self.parts = [(nm, tuple(t.shape[1:]), t.dtype) for nm, t in probe]
        self.description = (f"{type(model).__name__} with an HF {self.family.name} backbone "
                            f"({type(self.backbone).__name__}); message: the cache, S = {self.state_size}")

    @property
    def _device(self) -> Any:
        return next(self.backbone.parameters()).device

    # -- the message ---------------------------------------------------------------------------------
    @property
    def state_size(self) -> int:
        """S: counted scalars per example (the conv slot never read is not counted)."""
        import math

        return sum(math.prod(shape) for _, shape, _ in self.parts)

    def state_bits(self) -> int:
        """Bits of the counted tensors in their own dtypes (what the model itself would send)."""
        import math

        import torch

        return sum(math.prod(s) * torch.finfo(d).bits for _, s, d in self.parts)

    def read_state(self, cache: Any) -> list[tuple[str, Any]]:
        """The counted parts of a cache, by name, batch first."""
        return self.family.read(cache)

    def flatten(self, cache: Any) -> Any:
        """A cache as one float32 ``(B, S)`` tensor (exact for fp32/fp16/bf16 states)."""
        import torch

        return torch.cat([t.reshape(t.shape[0], -1).float() for _, t in self.read_state(cache)], dim=1)

    def unflatten(self, flat: Any, prefix_len: int) -> Any:
        """A fresh cache the installed code continues from, rebuilt from ``(B, S)`` messages."""
        import math

        out, start = [], 0
        for _, shape, dtype in self.parts:
            size = math.prod(shape)
            out.append(flat[:, start:start + size].reshape(flat.shape[0], *shape).to(dtype))
            start += size
        return self.family.write(self.backbone, out, prefix_len)

    def describe_state(self) -> str:
        """What the S scalars are, in words."""
        dtypes = sorted({str(d).replace("torch.", "") for _, _, d in self.parts})
        shapes = ", ".join(f"{nm} {'x'.join(map(str, s))}" for nm, s, _ in self.parts)
        return (f"the {self.family.name} cache after Alice's prefix ({self.family.counted}): {shapes}; "
                f"dtype {'/'.join(dtypes)}, {self.state_bits()} bits as the model stores them")

    # -- running the user's forward with the backbone intercepted ------------------------------------
    def _call(self, tokens: Any, backbone_forward: Callable[..., Any]) -> Any:
        """The user's forward on ``tokens`` with the backbone's forward replaced for this call only."""
        own = self.backbone.__dict__.get("forward")  # e.g. a hook library's wrapper: put back afterwards
        self.backbone.forward = backbone_forward
        try:
            return self.model(tokens)
        finally:
            if own is None:
                del self.backbone.forward
            else:
                self.backbone.forward = own

    def _bind(self, args: tuple, kwargs: dict) -> dict[str, Any]:
        bound = self._sig.bind_partial(*args, **kwargs)
        kw = dict(bound.arguments)
        kw.update(kw.pop("kwargs", {}) or {})
        return kw

    def run_alice(self, tokens: Any) -> Any:
        """The backbone's cache after the user's forward has fed it ``tokens`` (Alice's prefix)."""
        def capture(*args: Any, **kwargs: Any) -> Any:
            kw = self._bind(args, kwargs)
            kw.pop("cache_params", None)
            kw[self.family.state_kwarg], kw["use_cache"] = None, True
            out = self._orig(**kw)
            raise _Captured(getattr(out, self.family.output_attr, None) if not isinstance(out, tuple) else out[1])

        try:
            self._call(tokens, capture)
        except _Captured as c:
            return c.cache
        raise UnsupportedArchitecture(
            f"{type(self.model).__name__}.forward never called its {self.family.backbone}; {REGISTER_HINT}")

    def alice_messages(self, tokens: Any) -> Any:
        """Alice's messages ``(B, S)`` (float32) for her prefix tokens ``(B, k)``."""
        import torch

        if self.family.rows_one_at_a_time and tokens.shape[1] == 1:  # the one-token path, as for Bob
            return torch.cat([self.flatten(self.run_alice(tokens[r:r + 1])) for r in range(tokens.shape[0])])
        return self.flatten(self.run_alice(tokens))

    def _continue(self, cache: Any) -> Callable[..., Any]:
        import torch

        def step(*args: Any, **kwargs: Any) -> Any:
            kw = self._bind(args, kwargs)
            kw.pop("cache_params", None)
            seq = kw.get("input_ids") if kw.get("input_ids") is not None else kw.get("inputs_embeds")
            B, t = seq.shape[:2]
            state, outs = cache, []
            for j in range(t):  # one token per call, the installed code's cached path
                kj = {k: (v[:, j:j + 1] if isinstance(v, torch.Tensor) and v.dim() >= 2 and v.shape[:2] == (B, t)
                          else v) for k, v in kw.items()}
                kj[self.family.state_kwarg], kj["use_cache"] = state, True
                out = self._orig(**kj)
                state = out[1] if isinstance(out, tuple) else getattr(out, self.family.output_attr)
                outs.append(out)
            if isinstance(outs[0], tuple):
                return tuple(_cat([o[k] for o in outs], 1) if k != 1 else state for k in range(len(outs[0])))
            fields = {k: (state if k == self.family.output_attr else _cat([o[k] for o in outs], 1))
                      for k in outs[0]}
            return type(outs[0])(**fields)

        return step

    def bob_logits(self, messages: Any, tokens: Any, prefix_len: int) -> Any:
        """Bob's logits ``(B, C)``: the user's forward on his tokens, the backbone continuing from the messages."""
        import torch

        if tokens.shape[1] == 0:
            raise ReductionNotApplicable("Bob holds no token after the cut: the model's output is read at a "
                                         "position of Alice's, which this reduction does not cover")
        rows = 1 if self.family.rows_one_at_a_time else max(1, tokens.shape[0])
        out = []
        for r in range(0, tokens.shape[0], rows):
            m = None if messages is None else messages[r:r + rows].to(self._device)
            cache = None if m is None else self.unflatten(m, prefix_len)
            out.append(self._call(tokens[r:r + rows], self._continue(cache)))
        return torch.cat(out, dim=0)

    def reconstruct(self, tokens: Any) -> Any:
        """Alice on the first half, Bob (one token per call) on the rest: must equal :meth:`forward`."""
        cut = tokens.shape[1] // 2
        msgs = self.alice_messages(tokens[:, :cut]) if cut else None
        return self.bob_logits(msgs, tokens[:, cut:], cut)

    def validate(self, *, seed: int = 0, lengths: tuple[int, ...] = (1, 3, 7), batch: int = 8) -> float:
        """:meth:`reconstruct` against the user's full forward on seeded random tokens (eval mode, no grad).

        Returns the largest |logit diff|; raises ReductionNotApplicable (see :func:`check_same`).
        """
        import torch

        gen = torch.Generator().manual_seed(seed)
        was_training = bool(getattr(self.model, "training", False))
        self.model.eval()
        worst = 0.0
        try:
            with torch.no_grad():
                for length in sorted({max(n, self.family.min_len) for n in lengths}):
                    tokens = torch.randint(0, self.vocab_size, (batch, length), generator=gen).to(self._device)
                    worst = max(worst, check_same(self, self.reconstruct(tokens), self.forward(tokens),
                                                  f"length {length}, cut after {length // 2} tokens"))
        finally:
            self.model.train(was_training)
        return worst

    def __deepcopy__(self, memo: dict) -> HFCacheAdapter:  # the model is shared, never copied
        other = copy.copy(self)
        memo[id(self)] = other
        return other
