"""What a reduction needs from a model: the adapter interfaces of Lemma R and Lemma T.

An adapter wraps a torch model and exposes exactly the pieces a one-way reduction (theory §4) uses:

* :class:`RecurrentAdapter` (Lemma R): a state carried across the cut, advanced token block by token
  block, and a readout that depends on the final state only.
* :class:`AttentionAdapter` (Lemma T, one softmax layer): per-head queries that depend only on
  ``(s_T, T)``, keys and values that depend only on ``(s_j, j)``, and a ``finish`` that maps the
  attended vectors (plus ``s_T``, ``T``) to logits. The softmax-splitting helpers Alice and Bob use
  are in :mod:`ccbounds.adapters.softmax`.

:func:`validate_adapter` checks an adapter's decomposition against the model's own forward.
This module does not import torch at import time (torch is imported inside the functions), so the
reduction registry can import it cheaply.

References
----------
.. [BHBK] S. Bhattamishra, M. Hahn, P. Blunsom, V. Kanade, "Separations in the Representational
   Capabilities of Transformers and Recurrent Architectures", NeurIPS 2024 (arXiv 2406.09347).
.. [SHT] C. Sanford, D. Hsu, M. Telgarsky, "Representational Strengths and Limitations of
   Transformers", NeurIPS 2023.

Examples
--------
>>> RecurrentAdapter.kind, AttentionAdapter.kind
('recurrent', 'attention')
>>> "register_split_rule" in REGISTER_HINT
True
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from ccbounds.adapters.softmax import attend
from ccbounds.errors import InvalidInputError, UnsupportedArchitecture

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

__all__ = [
    "Adapter",
    "RecurrentAdapter",
    "AttentionAdapter",
    "validate_adapter",
    "REGISTER_HINT",
    "removed_extension",
]

#: what to do about a model that no built-in reading accepts (quoted in error messages)
REGISTER_HINT = (
    "ccbounds.reduce compiles any traceable forward (theory §4.3); an op whose positions it cannot split is taught "
    "with reductions.compiled.register_split_rule"
)


def removed_extension(name: str) -> Any:
    """A stand-in for a removed extension point (adapters, state protocols and reductions registered by users):
    calling it raises one error saying what replaces it.

    Examples
    --------
    >>> register_thing = removed_extension("register_thing")
    >>> try:
    ...     register_thing(object)
    ... except Exception as e:
    ...     print(str(e).split(":")[0])
    register_thing was removed
    """

    def removed(*args: Any, **kwargs: Any) -> None:
        raise InvalidInputError(
            f"{name} was removed: ccbounds.reduce compiles the model's own forward (theory §4.3), so a model needs "
            "no adapter, state protocol or reduction of its own; delete the registration (an op whose positions "
            "the compiled analysis cannot split is taught with reductions.compiled.register_split_rule)")

    removed.__name__ = removed.__qualname__ = name
    removed.__doc__ = ("Removed: :func:`ccbounds.reduce` compiles the model's own forward (theory §4.3); see "
                       ":func:`reductions.compiled.register_split_rule` for an op it cannot split. Raises "
                       "InvalidInputError, saying what replaces it.")
    return removed


class Adapter(ABC):
    """Common part of every adapter: the wrapped model, its token range and its own forward.

    Attributes
    ----------
    kind : str
        ``"recurrent"`` (Lemma R) or ``"attention"`` (Lemma T).
    description : str
        One line saying which layout/reading the adapter uses.
    vocab_size : int
        Token ids are ``0 .. vocab_size - 1``.
    max_len : int or None
        Longest input the model accepts (``None``: unbounded).
    """

    kind: str = ""
    description: str = ""
    vocab_size: int = 0
    max_len: int | None = None

    def __init__(self, model: Any) -> None:
        self.model = model

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """The wrapped model's own forward: logits ``(B, C)`` for tokens ``(B, T)``."""
        return self.model(tokens)

    @abstractmethod
    def reconstruct(self, tokens: torch.Tensor) -> torch.Tensor:
        """The adapter's decomposition run end to end: must equal :meth:`forward`."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} kind={self.kind!r}: {self.description}>"


class RecurrentAdapter(Adapter):
    """Lemma R interface (theory §4): a state ``h_t = g(h_{t-1}, s_t)`` and a readout of the final state.

    ``State`` is a tuple of tensors, each with the batch dimension first. Subclasses implement
    :meth:`initial_state`, :meth:`advance`, :meth:`readout`, :meth:`state_tensors` and
    :attr:`state_size`; :meth:`flatten` / :meth:`unflatten` are derived from :meth:`state_tensors`
    order and shapes (override them if the state is not a tuple of fixed-shape tensors).
    """

    kind = "recurrent"

    @abstractmethod
    def initial_state(self, batch: int) -> tuple[torch.Tensor, ...]:
        """The state before any token, for ``batch`` examples."""

    @abstractmethod
    def advance(self, state: tuple[torch.Tensor, ...], tokens: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Run the model over ``tokens`` ``(B, t)`` (``t`` may be 0) starting from ``state``."""

    @abstractmethod
    def readout(self, state: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Logits ``(B, C)``: the model's answer from the state after the last token."""

    @abstractmethod
    def state_tensors(self, state: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        """Everything carried across the cut, by name (all layers; for an LSTM both h and c)."""

    @property
    @abstractmethod
    def state_size(self) -> int:
        """S: the number of scalars per example in the state (what Alice sends, theory §4)."""

    def flatten(self, state: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The state as one ``(B, S)`` tensor (the order of :meth:`state_tensors`)."""
        import torch

        parts = [t.reshape(t.shape[0], -1) for t in state]
        return torch.cat(parts, dim=1)

    def unflatten(self, flat: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Inverse of :meth:`flatten`: a ``(B, S)`` tensor back to a state."""
        if flat.dim() != 2 or flat.shape[1] != self.state_size:
            raise InvalidInputError(
                f"a flat state has shape (B, {self.state_size}), got {tuple(flat.shape)}; "
                "pass the output of flatten()"
            )
        template = self.initial_state(1)
        out, start = [], 0
        for t in template:
            size = t[0].numel()
            out.append(flat[:, start : start + size].reshape(flat.shape[0], *t.shape[1:]))
            start += size
        return tuple(out)

    def reconstruct(self, tokens: torch.Tensor) -> torch.Tensor:
        """``readout(advance(initial_state(B), tokens))``."""
        return self.readout(self.advance(self.initial_state(tokens.shape[0]), tokens))


class AttentionAdapter(Adapter):
    """Lemma T interface (theory §4): one softmax attention layer read at the last position T.

    Conventions: ``T`` is the sequence length, i.e. the output is read at the theory's (1-based) position
    T, the 0-based index ``T - 1``; ``positions`` passed to :meth:`keys_values` are 0-based indices.
    Queries carry the ``1/sqrt(d_k)`` scaling, so attention weights are ``softmax_j <q, k_j>``.

    Attributes
    ----------
    heads, d_k, d_v : int
        Number of heads and per-head key/query and value widths.
    """

    kind = "attention"
    heads: int = 0
    d_k: int = 0
    d_v: int = 0

    @abstractmethod
    def queries(self, last_tokens: torch.Tensor, T: int) -> torch.Tensor:
        """Per-head queries ``(B, H, d_k)`` at the output position; depend only on ``(s_T, T)``."""

    @abstractmethod
    def keys_values(self, tokens: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys ``(B, H, t, d_k)`` and values ``(B, H, t, d_v)`` of tokens ``(B, t)`` at ``positions`` ``(t,)``."""

    @abstractmethod
    def finish(self, last_tokens: torch.Tensor, T: int, attended: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, C)`` from ``(s_T, T)`` and the attended vectors ``(B, H, d_v)``."""

    def reconstruct(self, tokens: torch.Tensor) -> torch.Tensor:
        """``finish(s_T, T, attend(queries(s_T, T), *keys_values(tokens, 0..T-1)))``."""
        import torch

        T = tokens.shape[1]
        last = tokens[:, -1]
        k, v = self.keys_values(tokens, torch.arange(T, device=tokens.device))
        return self.finish(last, T, attend(self.queries(last, T), k, v))


def validate_adapter(
    adapter: Adapter,
    *,
    seed: int = 0,
    lengths: tuple[int, ...] = (1, 3, 7),
    batch: int = 3,
    atol: float = 1e-4,
    rtol: float = 1e-4,
    reading: str | None = None,
) -> float:
    """Check that ``adapter.reconstruct`` equals the model's own forward on seeded random tokens.

    Lengths longer than ``adapter.max_len`` are clipped to it. The model is evaluated in eval mode
    without gradients (its training flag is restored afterwards).

    Returns
    -------
    float
        The largest absolute difference seen.

    Raises
    ------
    UnsupportedArchitecture
        If forward fails on token ids, or the outputs differ beyond tolerance; the message names the
        reading tried (``reading`` or ``adapter.description``) and how to register a custom adapter.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    model = adapter.model
    was_training = bool(getattr(model, "training", False))
    what = reading or adapter.description
    worst = 0.0
    cap = adapter.max_len if adapter.max_len is not None else max(lengths)
    try:
        if hasattr(model, "eval"):
            model.eval()
        with torch.no_grad():
            for length in sorted({max(1, min(n, cap)) for n in lengths}):
                tokens = torch.randint(0, adapter.vocab_size, (batch, length), generator=gen)
                try:
                    ref = adapter.forward(tokens)
                except Exception as exc:  # the foreign forward may reject (B, T) token ids
                    raise UnsupportedArchitecture(
                        f"{type(model).__name__}.forward failed on token ids of shape (B, T) "
                        f"({type(exc).__name__}: {exc}); {REGISTER_HINT}"
                    ) from exc
                got = adapter.reconstruct(tokens)
                if not isinstance(ref, torch.Tensor) or ref.shape != got.shape:
                    raise UnsupportedArchitecture(
                        f"{type(model).__name__}: the reading '{what}' gives logits of shape "
                        f"{tuple(got.shape)} but forward returned {getattr(ref, 'shape', type(ref))}; {REGISTER_HINT}"
                    )
                worst = max(worst, float((ref - got).abs().max()))
                if not torch.allclose(ref, got, atol=atol, rtol=rtol):
                    raise UnsupportedArchitecture(
                        f"{type(model).__name__}: the reading '{what}' does not reproduce forward "
                        f"(max |diff| {worst:.3g} at length {length}); {REGISTER_HINT}"
                    )
    finally:
        if hasattr(model, "train"):
            model.train(was_training)
    return worst
