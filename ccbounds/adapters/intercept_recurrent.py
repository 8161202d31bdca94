"""Lemma R by interception: the user's own forward, with its recurrent modules' states captured and injected.

Alice runs the user's model on her prefix; forward hooks capture the final state of every recurrent
module (``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM``: ``h_n`` of all layers, and ``c_n`` for an LSTM). That state is the
message. Bob runs the user's model on his part with forward pre-hooks that start each recurrent module
from the message (``hx`` for torch's RNNs). Everything else in the forward — embeddings, norms between
stacked modules, ``batch_first`` either way, MLP heads, reading ``output[:, -1]`` or ``h_n`` — is the
user's code, run as written (theory §4, Lemma R).

Whether Bob's result equals the model's own forward on the whole sequence is not assumed: it is
checked (:meth:`InterceptedRecurrentAdapter.check_split` here, and at the gadget's own cut by
:mod:`reductions.intercept`), and a model whose output depends on more than the states at the cut
(pooling over all positions, a position-dependent map, tokens read outside the recurrent modules) is
refused with what differed.

The message size is measured from the tensors captured, each with its own dtype
(:attr:`InterceptedRecurrentAdapter.layout`), never declared.

Examples
--------
>>> import torch
>>> from torch import nn
>>> class M(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.emb, self.norm = nn.Embedding(5, 4), nn.LayerNorm(4)
...         self.rnn = nn.LSTM(4, 3, num_layers=2, batch_first=True)
...         self.head = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
...     def forward(self, x):
...         out, _ = self.rnn(self.norm(self.emb(x)))
...         return self.head(out[:, -1])
>>> _ = torch.manual_seed(0)
>>> a = InterceptedRecurrentAdapter(M().eval())
>>> a.state_size, [(e.name, e.shape, e.dtype) for e in a.layout]
(12, [('rnn.h', (2, 3), 'float32'), ('rnn.c', (2, 3), 'float32')])
>>> x = torch.randint(0, 5, (4, 6))
>>> with torch.no_grad():
...     logits, _ = a.run(x[:, 3:], a.run(x[:, :3])[1])
...     bool(torch.allclose(logits, a.model(x), atol=1e-5))
True
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ccbounds.adapters._forward import forward_failed, logits_of, token_vocabulary
from ccbounds.adapters.base import REGISTER_HINT, Adapter, removed_extension
from ccbounds.errors import (
    InvalidInputError,
    ReductionNotApplicable,
    UnsupportedArchitecture,
)

__all__ = [
    "InterceptedRecurrentAdapter",
    "StateEntry",
    "StateProtocol",
    "TorchRNNState",
    "forward_failed",
    "logits_of",
    "register_state_module",
    "state_protocol_for",
    "token_vocabulary",
    "unregister_state_module",
]


class StateProtocol(ABC):
    """How one recurrent module type carries its state across a cut (register it for your own module types).

    A protocol has three methods; every state tensor has the batch dimension first.

    * :meth:`initial_state` — the state before any token;
    * :meth:`start_from` — change the module's call so that it advances from a given state (Bob);
    * :meth:`state_tensors` — the state after the call, by name, read from the call's inputs and output
      (Alice's message).

    :meth:`check` may refuse a module (e.g. a bidirectional one).
    """

    def check(self, module: nn.Module, name: str) -> None:  # noqa: B027 - optional: most modules need no check
        """Raise ReductionNotApplicable if this module cannot carry a state across a cut (default: accept)."""

    @abstractmethod
    def initial_state(self, module: nn.Module, batch: int) -> dict[str, torch.Tensor]:
        """The state before any token, for ``batch`` examples."""

    @abstractmethod
    def start_from(self, module: nn.Module, args: tuple, kwargs: dict,
                   state: dict[str, torch.Tensor]) -> tuple[tuple, dict]:
        """``(args, kwargs)`` of the call that advances from ``state`` instead of the module's own start."""

    @abstractmethod
    def state_tensors(self, module: nn.Module, args: tuple, kwargs: dict, output: Any) -> dict[str, torch.Tensor]:
        """The state after the call (everything the next call would need), batch first."""


class TorchRNNState(StateProtocol):
    """``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM``: the state is ``h_n`` (all layers), and ``c_n`` for an LSTM.

    Tensors are reported as ``(B, layers, width)`` (torch keeps them ``(layers, B, width)`` whatever
    ``batch_first`` says); an LSTM with ``proj_size`` has ``h`` of width ``proj_size``.
    """

    def check(self, module: nn.Module, name: str) -> None:
        if module.bidirectional:
            raise ReductionNotApplicable(
                f"Lemma R does not apply: {name} is a bidirectional {type(module).__name__}, so the state at the "
                "cut depends on Bob's tokens; use a unidirectional model")

    def initial_state(self, module: nn.Module, batch: int) -> dict[str, torch.Tensor]:
        p = next(module.parameters())
        width = getattr(module, "proj_size", 0) or module.hidden_size
        h = torch.zeros(batch, module.num_layers, width, dtype=p.dtype, device=p.device)
        if isinstance(module, nn.LSTM):
            c = torch.zeros(batch, module.num_layers, module.hidden_size, dtype=p.dtype, device=p.device)
            return {"h": h, "c": c}
        return {"h": h}

    def start_from(self, module: nn.Module, args: tuple, kwargs: dict,
                   state: dict[str, torch.Tensor]) -> tuple[tuple, dict]:
        hx: Any = state["h"].transpose(0, 1).contiguous()  # (layers, B, ·)
        if isinstance(module, nn.LSTM):
            hx = (hx, state["c"].transpose(0, 1).contiguous())
        if len(args) >= 2:
            return (args[0], hx, *args[2:]), kwargs
        return args, {**kwargs, "hx": hx}

    def state_tensors(self, module: nn.Module, args: tuple, kwargs: dict, output: Any) -> dict[str, torch.Tensor]:
        x = args[0] if args else kwargs.get("input")
        if isinstance(x, torch.Tensor) and x.dim() != 3:
            raise UnsupportedArchitecture(
                f"a {type(module).__name__} was called on an unbatched input of shape {tuple(x.shape)}; "
                "call it on (B, T, E) or (T, B, E) inputs")
        h_n = output[1]
        if isinstance(module, nn.LSTM):
            return {"h": h_n[0].transpose(0, 1), "c": h_n[1].transpose(0, 1)}
        return {"h": h_n.transpose(0, 1)}


_PROTOCOLS: dict[type, StateProtocol] = {nn.RNNBase: TorchRNNState()}


register_state_module = removed_extension("register_state_module")
unregister_state_module = removed_extension("unregister_state_module")


def state_protocol_for(module: Any) -> StateProtocol | None:
    """The registered state protocol of ``module``'s type (users' registrations first), or None."""
    for cls, proto in _PROTOCOLS.items():
        if isinstance(module, cls):
            return proto
    return None


@dataclass(frozen=True)
class StateEntry:
    """One tensor of the message: ``module.name``, its shape per example and dtype, as captured."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def scalars(self) -> int:
        out = 1
        for s in self.shape:
            out *= s
        return out

    @property
    def bits(self) -> int:
        """Bits at the tensor's own dtype (e.g. 32 per float32 scalar)."""
        return self.scalars * torch.finfo(getattr(torch, self.dtype)).bits


def _recurrent_modules(model: nn.Module) -> list[tuple[str, nn.Module, StateProtocol]]:
    found: list[tuple[str, nn.Module, StateProtocol]] = []
    for name, m in model.named_modules():
        proto = state_protocol_for(m)
        if proto is None or any(name.startswith(f"{n}.") for n, _, _ in found if n):
            continue  # modules inside a recurrent module belong to it
        found.append((name or type(m).__name__, m, proto))
    return found


class InterceptedRecurrentAdapter(Adapter):
    """The user's recurrent model, run as written, with its recurrent modules' states captured and injected.

    Parameters
    ----------
    model : nn.Module
        Any model whose forward maps token ids ``(B, T)`` to logits and whose state across positions is
        held by torch RNN modules.

    Raises
    ------
    ReductionNotApplicable
        A bidirectional module, a recurrent module called more than once in one forward, or an attention
        computation beside the recurrence (it reaches back over the prefix).
    UnsupportedArchitecture
        No recurrent module runs in the forward, or the forward fails on token ids.

    References
    ----------
    theory §4, Lemma R.
    """

    kind = "recurrent"

    def __init__(self, model: nn.Module, *, vocab_size: int | None = None) -> None:
        super().__init__(model)
        name = type(model).__name__
        self.recurrent = _recurrent_modules(model)
        if not self.recurrent:
            raise UnsupportedArchitecture(
                f"{name} has no nn.RNN/GRU/LSTM or registered recurrent module; {REGISTER_HINT}")
        for mname, m, proto in self.recurrent:
            proto.check(m, f"{name}.{mname}")
        probe = torch.zeros(1, 2, dtype=torch.long, device=self._device())
        self.vocab_size = int(vocab_size) if vocab_size else token_vocabulary(model, probe)
        from ccbounds.adapters.intercept_attention import count_attention

        calls = count_attention(model, probe)
        if calls:
            raise ReductionNotApplicable(
                f"Lemma R does not apply to {name}: it is recurrent but also attends back over the prefix "
                f"({calls} attention computation(s) per forward), so the state at the cut is not all that crosses it")
        _, state, used = self._run(probe, None)
        self.recurrent = [r for r, u in zip(self.recurrent, used) if u]
        self._names = [f"{mname}.{k}" for mname, _, _ in self.recurrent for k in self._keys(mname)]
        self.layout = tuple(StateEntry(n, tuple(t.shape[1:]), str(t.dtype).replace("torch.", ""))
                            for n, t in zip(self._names, state))
        self.max_len = None
        mods = ", ".join(f"{mname} ({type(m).__name__})" for mname, m, _ in self.recurrent)
        self.description = (f"{name}: its own forward, with the state of {mods} captured at the cut and "
                            f"injected for Bob; S = {self.state_size} measured scalars")

    # ------------------------------------------------------------------ running the user's forward
    def _device(self) -> torch.device:
        p = next(self.model.parameters(), None)
        return p.device if p is not None else torch.device("cpu")

    def _keys(self, mname: str) -> list[str]:
        return self._key_cache[mname]

    def _run(self, tokens: torch.Tensor, state: Sequence[torch.Tensor] | None) -> tuple[torch.Tensor, list, list]:
        parts = self._split(state) if state is not None else None
        calls = [0] * len(self.recurrent)
        captured: list[dict[str, torch.Tensor] | None] = [None] * len(self.recurrent)
        handles = []
        for i, (_, mod, proto) in enumerate(self.recurrent):
            def pre(module, args, kwargs, i=i, proto=proto):
                calls[i] += 1
                if parts is not None and calls[i] == 1:
                    return proto.start_from(module, args, kwargs, parts[i])
                return None

            def post(module, args, kwargs, output, i=i, proto=proto):
                captured[i] = proto.state_tensors(module, args, kwargs, output)

            handles.append(mod.register_forward_pre_hook(pre, with_kwargs=True))
            handles.append(mod.register_forward_hook(post, with_kwargs=True))
        try:
            logits = logits_of(self.model(tokens))
        except (ReductionNotApplicable, UnsupportedArchitecture):
            raise
        except Exception as exc:  # the user's forward may reject what we feed it
            raise forward_failed(self.model, tokens, exc) from exc
        finally:
            for h in handles:
                h.remove()
        for (mname, _, _), c in zip(self.recurrent, calls):
            if c > 1:
                raise ReductionNotApplicable(
                    f"{type(self.model).__name__}.{mname} runs {c} times in one forward, so which of its states "
                    "crosses the cut is ambiguous; call each recurrent module once per forward")
        if not hasattr(self, "_key_cache"):
            self._key_cache = {m: list(c) for (m, _, _), c in zip(self.recurrent, captured) if c is not None}
        flat = [t for c in captured if c is not None for t in c.values()]
        return logits, flat, [c > 0 for c in calls]

    def _split(self, state: Sequence[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        it = iter(state)
        return [{k: next(it) for k in self._keys(mname)} for mname, _, _ in self.recurrent]

    def run(self, tokens: torch.Tensor, state: Sequence[torch.Tensor] | None = None) -> tuple[torch.Tensor, tuple]:
        """The user's forward on ``tokens`` ``(B, t)``, every recurrent module started from ``state``
        (None: the model's own start). Returns (logits ``(B, C)``, the state after the last token)."""
        logits, flat, used = self._run(tokens, state)
        if not all(used):
            raise UnsupportedArchitecture(f"{type(self.model).__name__} skipped a recurrent module on this input")
        return logits, tuple(flat)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """The model's own forward (no interception): logits ``(B, C)``."""
        return logits_of(self.model(tokens))

    def reconstruct(self, tokens: torch.Tensor) -> torch.Tensor:
        """Alice on the first half, Bob on the rest from her state: must equal :meth:`forward`."""
        k = max(1, tokens.shape[1] // 2)
        if k >= tokens.shape[1]:
            return self.run(tokens)[0]
        return self.run(tokens[:, k:], self.run(tokens[:, :k])[1])[0]

    # ------------------------------------------------------------------ the state
    @property
    def state_size(self) -> int:
        """S, measured: the scalars per example of every captured tensor."""
        return sum(e.scalars for e in self.layout)

    @property
    def state_bits(self) -> int:
        """The message at the tensors' own dtypes, in bits."""
        return sum(e.bits for e in self.layout)

    def initial_state(self, batch: int) -> tuple[torch.Tensor, ...]:
        """Every module's initial state (from its protocol), in :attr:`layout` order."""
        out = []
        for mname, m, proto in self.recurrent:
            init = proto.initial_state(m, batch)
            out += [init[k] for k in self._keys(mname)]
        return tuple(out)

    def advance(self, state: tuple[torch.Tensor, ...], tokens: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The state after running the model over ``tokens`` from ``state``."""
        return state if tokens.shape[1] == 0 else self.run(tokens, state)[1]

    def state_tensors(self, state: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        """``{"module.h": ..., "module.c": ...}``: everything carried across the cut."""
        return dict(zip(self._names, state))

    def flatten(self, state: Sequence[torch.Tensor]) -> torch.Tensor:
        """The state as one float32 ``(B, S)`` tensor, in :attr:`layout` order."""
        return torch.cat([t.reshape(t.shape[0], -1).float() for t in state], dim=1)

    def unflatten(self, flat: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Inverse of :meth:`flatten`, each tensor back in its own dtype."""
        if flat.dim() != 2 or flat.shape[1] != self.state_size:
            raise InvalidInputError(f"a flat state has shape (B, {self.state_size}), got {tuple(flat.shape)}")
        out, start = [], 0
        for e in self.layout:
            out.append(flat[:, start:start + e.scalars].reshape(flat.shape[0], *e.shape).to(getattr(torch, e.dtype)))
            start += e.scalars
        return tuple(out)

    def describe_state(self) -> str:
        """``rnn.h (2 x 8, float32), rnn.c (...)``."""
        return ", ".join(f"{e.name} ({' x '.join(map(str, e.shape))}, {e.dtype})" for e in self.layout)

    # ------------------------------------------------------------------ the split check
    def check_split(self, tokens: torch.Tensor, cut: int, *, atol: float = 1e-4, rtol: float = 1e-4) -> None:
        """Refuse unless Bob's continuation from Alice's state equals the forward on every row of ``tokens``.

        Raises
        ------
        ReductionNotApplicable
            With the number of rows that differ, the largest logit difference and what usually causes it.
        """
        with torch.no_grad():
            ref = self.forward(tokens)
            again = self.forward(tokens)
            if not torch.equal(ref, again):
                raise ReductionNotApplicable(
                    f"{type(self.model).__name__}.forward is not deterministic (dropout in training mode?); call "
                    "model.eval() before reducing it")
            got = self.run(tokens[:, cut:], self.run(tokens[:, :cut])[1])[0]
        split_mismatch(self.model, ref, got, tokens.shape[1], cut, atol, rtol,
                       "the output depends on more than the recurrent states at the cut (pooling over positions, a "
                       "position-dependent map, or tokens read outside the recurrent modules)")


def split_mismatch(model: Any, ref: torch.Tensor, got: torch.Tensor, T: int, cut: Any, atol: float, rtol: float,
                   cause: str) -> None:
    """Raise ReductionNotApplicable when the protocol's logits ``got`` differ from the forward's ``ref``."""
    if ref.shape != got.shape:
        raise ReductionNotApplicable(
            f"{type(model).__name__}: Bob's run gives logits of shape {tuple(got.shape)} but the forward gives "
            f"{tuple(ref.shape)} at length {T}")
    bad = ~torch.isclose(got, ref, atol=atol, rtol=rtol).reshape(ref.shape[0], -1).all(dim=1)
    if bool(bad.any()):
        diff = float((got - ref).abs().max())
        raise ReductionNotApplicable(
            f"{type(model).__name__}: Bob's result differs from the model's own forward on {int(bad.sum())} of "
            f"{ref.shape[0]} inputs of length {T} split at {cut} (max |logit diff| {diff:.3g}): {cause}")
