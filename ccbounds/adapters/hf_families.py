"""The Hugging Face recurrent families ccbounds reads, and the ones it refuses by name (theory §4).

Each :class:`Family` says how the installed ``transformers`` code keeps its state across calls (the
forward argument and output field that carry it), which parts of that state are counted in the message,
and how to rebuild a cache the installed code continues from. Read the modeling files of
``transformers.models.{mamba,falcon_mamba,mamba2,rwkv,xlstm}`` and ``cache_utils.py`` beside this.

Examples
--------
>>> FAMILIES["mamba"].backbone, FAMILIES["rwkv"].state_kwarg
('MambaModel', 'state')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["FAMILIES", "REFUSED", "Family"]


@dataclass(frozen=True)
class Family:
    """How one HF family's cache is read into message tensors and rebuilt from them.

    ``read(cache) -> [(name, tensor)]`` gives the counted parts (batch first); ``write(backbone, parts,
    prefix_len) -> cache`` rebuilds a cache the installed code continues from; ``state_kwarg`` /
    ``output_attr`` name the forward argument and output field that carry it.
    """

    model_type: str
    name: str
    backbone: str
    state_kwarg: str
    output_attr: str
    read: Callable[[Any], list[tuple[str, Any]]]
    write: Callable[[Any, list[Any], int], Any]
    counted: str
    rows_one_at_a_time: str = ""
    min_len: int = 1


# -- Mamba, FalconMamba, Mamba2: a DynamicCache of LinearAttentionLayers -------------------------------
def _read_linear(cache: Any) -> list[tuple[str, Any]]:
    parts = []
    for i, layer in enumerate(cache.layers):
        parts.append((f"layer {i} conv", layer.conv_states[0][..., 1:]))  # slot 0 is never read
        parts.append((f"layer {i} ssm", layer.recurrent_states[0]))
    return parts


def _write_linear(backbone: Any, parts: list[Any], prefix_len: int) -> Any:
    import torch
    from transformers import DynamicCache

    cache = DynamicCache(config=backbone.config)
    for i in range(len(parts) // 2):
        conv, ssm = parts[2 * i], parts[2 * i + 1]
        pad = torch.zeros(conv.shape[:-1] + (1,), dtype=conv.dtype, device=conv.device)
        full = torch.cat([pad, conv], dim=-1)
        cache.update_conv_state(full, i, conv_kernel_size=full.shape[-1])
        cache.update_recurrent_state(ssm.clone(), i)
    return cache


_LINEAR_NOTE = ("per layer: the conv buffer's last K-1 slots (intermediate x (K-1); the oldest of its K slots "
                "is overwritten before it is read, so it is not sent) and the SSM state")


# -- RWKV: five (B, hidden, layers) tensors ------------------------------------------------------------
_RWKV_NAMES = ("feed-forward token shift", "attention token shift", "wkv numerator", "wkv denominator",
               "wkv max exponent")


def _read_rwkv(state: Any) -> list[tuple[str, Any]]:
    return list(zip(_RWKV_NAMES, state))


def _write_rwkv(backbone: Any, parts: list[Any], prefix_len: int) -> Any:
    return [p.clone() for p in parts]


# -- xLSTM: per layer (C, n, m) ------------------------------------------------------------------------
def _read_xlstm(cache: Any) -> list[tuple[str, Any]]:
    parts = []
    for i in sorted(cache.rnn_state):
        for nm, t in zip(("C", "n", "m"), cache.rnn_state[i]):
            parts.append((f"layer {i} mLSTM {nm}", t))
    return parts


def _write_xlstm(backbone: Any, parts: list[Any], prefix_len: int) -> Any:
    from transformers.models.xlstm.modeling_xlstm import xLSTMCache

    c0 = parts[0]
    cache = xLSTMCache(backbone.config, c0.shape[0], dtype=c0.dtype, device=c0.device)
    for i in range(len(parts) // 3):
        for j in range(3):
            cache.rnn_state[i][j].copy_(parts[3 * i + j])
    cache.seqlen_offset += prefix_len  # public: Alice's prefix length; the forward never reads it
    return cache


FAMILIES: dict[str, Family] = {
    "mamba": Family("mamba", "Mamba", "MambaModel", "cache", "cache", _read_linear, _write_linear, _LINEAR_NOTE),
    "falcon_mamba": Family("falcon_mamba", "FalconMamba", "FalconMambaModel", "cache", "cache", _read_linear,
                           _write_linear, _LINEAR_NOTE),
    "mamba2": Family("mamba2", "Mamba2", "Mamba2Model", "cache", "cache", _read_linear, _write_linear,
                     _LINEAR_NOTE.replace("intermediate x (K-1)", "(intermediate + 2 groups x state) x (K-1)")
                     .replace("SSM state", "SSM state (heads x head_dim x state)")),
    "rwkv": Family("rwkv", "RWKV", "RwkvModel", "state", "state", _read_rwkv, _write_rwkv,
                   "all five state tensors, each hidden x layers: the two token shifts and the wkv numerator, "
                   "denominator and max exponent",
                   rows_one_at_a_time=("the installed RwkvModel's one-token path broadcasts a (B, hidden) shift "
                                       "against (B, 1, hidden) and mixes rows when B > 1, so Bob runs each row "
                                       "as its own batch of one"),
                   min_len=2),  # the same bug hits its full forward on one-token sequences: checked from 2 on
    "xlstm": Family("xlstm", "xLSTM", "xLSTMModel", "cache", "cache", _read_xlstm, _write_xlstm,
                    "per layer the mLSTM matrix memory C (heads x d_qk x d_v), normaliser n (heads x d_qk) and "
                    "stabiliser m (heads); the token counter seqlen_offset is public (Alice's length) and never "
                    "read by the forward"),
}

_ATTN = "it has attention layers that reach back over the prefix, so the state at the cut is not all that crosses it"
#: HF model types refused by name, with the reason (hybrids and windowed attention)
REFUSED: dict[str, str] = {
    "jamba": f"Jamba interleaves Mamba with full attention layers: {_ATTN}",
    "zamba": f"Zamba adds shared full attention blocks to Mamba: {_ATTN}",
    "zamba2": f"Zamba2 adds shared full attention blocks to Mamba2: {_ATTN}",
    "bamba": f"Bamba interleaves Mamba2 with full attention layers: {_ATTN}",
    "falcon_h1": f"Falcon-H1 runs attention beside Mamba2 in every layer: {_ATTN}",
    "granitemoehybrid": f"GraniteMoeHybrid interleaves Mamba2 with attention layers: {_ATTN}",
    "nemotron_h": f"Nemotron-H interleaves Mamba2 with attention layers: {_ATTN}",
    "qwen3_next": f"Qwen3-Next interleaves gated delta-net with full attention layers: {_ATTN}",
    "lfm2": f"LFM2 interleaves short convolutions with full attention layers: {_ATTN}",
    "minimax": f"MiniMax interleaves lightning attention with softmax attention layers: {_ATTN}",
    "recurrent_gemma": ("RecurrentGemma (Griffin) has local attention layers over a window of attention_window_size "
                        "tokens back over the prefix; ccbounds does not count a window's keys and values in the "
                        "message"),
}
