"""Foreign state_dicts: infer the architecture from tensor names and shapes, rename onto the reference.

Two families are read (theory §4: the ones Lemma R and Lemma T are about):

* recurrent: ``Embedding -> nn.RNN | nn.GRU | nn.LSTM -> Linear``. The cell comes from the gate
  multiple ``weight_ih_l0.shape[0] / hidden`` (1, 3, 4), the hidden size from ``weight_hh_l0``, the
  layers from the largest ``_l{k}``. ``_reverse`` keys (bidirectional) are refused.
* Transformer: ``Embedding (+ positions) -> nn.TransformerEncoderLayer x L (-> LayerNorm) -> Linear``,
  found through the attention's ``in_proj_weight``; the layer may sit inside ``nn.TransformerEncoder``
  (``enc.layers.0.self_attn...``), stand alone, or be a bare ``nn.MultiheadAttention`` whose FFN and
  norms are sibling modules (matched by shape, then by order of appearance).

Missing biases (``bias=False`` modules) become zeros, which computes the same function. What the
tensors cannot show (the number of heads, pre- or post-norm, the activation, a sinusoidal table that
is not stored) comes from the spec or the PyTorch defaults; the adapters compare the rebuilt model
with the task's data before any reduction uses it.

Examples
--------
>>> import torch
>>> sd = {"emb.weight": torch.zeros(6, 3), "gru.weight_ih_l0": torch.zeros(12, 3),
...       "gru.weight_hh_l0": torch.zeros(12, 4), "fc.weight": torch.zeros(2, 4)}
>>> config, mapped, provenance, ignored = infer_reference(sd)
>>> str(config), provenance["head.bias"]
('gru(vocab=6, classes=2, width=4, layers=1, embed_dim=3)', 'zeros (no bias in the checkpoint)')
"""

from __future__ import annotations

import re
from typing import Any

from ccbounds.architectures import ARCHITECTURES
from ccbounds.checkpoint._roles import Role, Unit, assign, embedding, group_units, linear, norm, table
from ccbounds.checkpoint._spec import CheckpointSpec
from ccbounds.errors import CheckpointError

__all__ = ["infer_reference"]

_RNN_KEY = re.compile(
    r"^(?P<mod>(?:.*\.)?)(?P<kind>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(?P<k>\d+)(?P<rev>_reverse)?$"
)
_READOUT_HINTS = ("head", "fc", "out", "classif", "readout", "decoder", "proj")
#: gate blocks of weight_hh per hidden unit -> recurrent family (the registry's checkpoint matchers)
_GATES = {a.gates: a.name for a in ARCHITECTURES.values() if a.gates}
_ZEROS = "zeros (no bias in the checkpoint)"


def _zeros(n: int) -> Any:
    import torch

    return torch.zeros(n)


def _recurrent(sd: dict[str, Any], spec: CheckpointSpec | None, sizes: dict[str, int]) -> tuple[Any, dict, dict, list]:
    from ccbounds.models.config import RecurrentConfig

    found = {name: m for name in sd if (m := _RNN_KEY.match(name))}
    rev = sorted(n for n, m in found.items() if m["rev"])
    if rev:
        raise CheckpointError(
            f"the checkpoint holds a bidirectional recurrent layer ({rev[0]}); its state at the cut depends on "
            "tokens after the cut, so no one-way protocol (theory §4 Lemma R) exists; audit a unidirectional model"
        )
    if any(m["kind"] == "weight_hr" for m in found.values()):
        raise CheckpointError(
            "the LSTM has proj_size > 0 (weight_hr_l* keys), which the reference LSTM lacks; re-train without proj_size"
        )
    mods = sorted({m["mod"] for m in found.values()})
    if len(mods) > 1:
        raise CheckpointError(
            f"the checkpoint holds {len(mods)} recurrent modules {[m.rstrip('.') or '(top level)' for m in mods]}; "
            "ccbounds reads Embedding -> one RNN/GRU/LSTM -> Linear"
        )
    mod = mods[0]
    layers = max(int(m["k"]) for m in found.values()) + 1
    for k in range(layers):
        for kind in ("weight_ih", "weight_hh"):
            if f"{mod}{kind}_l{k}" not in sd:
                raise CheckpointError(
                    f"the recurrent layer {k} has no {mod}{kind}_l{k}; the checkpoint is incomplete, re-save it"
                )
    w_hh = sd[f"{mod}weight_hh_l0"]
    hidden = int(w_hh.shape[1])
    gates, rem = divmod(int(w_hh.shape[0]), hidden)
    cell = _GATES.get(gates) if rem == 0 else None
    if cell is None:
        raise CheckpointError(
            f"{mod}weight_hh_l0 has shape {tuple(w_hh.shape)}: rows are not 1, 3 or 4 times the hidden size "
            f"{hidden}, so it is no RNN, GRU or LSTM; re-save the checkpoint"
        )
    if spec is not None and spec.arch is not None and spec.arch != cell:
        raise CheckpointError(
            f"the spec says arch {spec.arch!r} but the weights are a {cell} ({gates} gate block(s) of {hidden}); "
            "fix or drop 'arch' in the spec"
        )
    embed_dim = int(sd[f"{mod}weight_ih_l0"].shape[1])
    roles = [
        Role("embedding", embedding(embed_dim), hints=("emb", "tok", "wte", "encoder"), spec_key="embedding"),
        Role("readout", linear(hidden), hints=_READOUT_HINTS, spec_key="readout"),
    ]
    units = group_units(sd, skip=set(found))
    pinned = {r: getattr(spec, r) for r in ("embedding", "readout") if spec is not None and getattr(spec, r)}
    got, ignored = assign(units, roles, arch=cell, sizes=sizes, pinned=pinned)
    emb, head = got["embedding"].tensors["weight"], got["readout"]
    nonlin = (spec.nonlinearity if spec is not None else None) or "tanh"
    config = RecurrentConfig(
        cell, int(emb.shape[0]), int(head.tensors["weight"].shape[0]), hidden, layers, embed_dim,
        **({"nonlinearity": nonlin} if cell == "rnn" else {}),
    )
    if cell != "rnn" and nonlin != "tanh":
        raise CheckpointError(f"spec 'nonlinearity' applies to plain RNNs only, but the weights are a {cell}; drop it")
    mapped: dict[str, Any] = {"embed.weight": emb}
    prov = {"embed.weight": got["embedding"].key("weight")}
    for k in range(layers):
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            src = f"{mod}{kind}_l{k}"
            ref = f"rnn.{kind}_l{k}"
            mapped[ref] = sd[src] if src in sd else _zeros(gates * hidden)
            prov[ref] = src if src in sd else _ZEROS
    _put(mapped, prov, "head", head, int(head.tensors["weight"].shape[0]))
    return config, mapped, prov, ignored


def _put(mapped: dict, prov: dict, ref: str, unit: Unit, width: int) -> None:
    """Copy a Linear/LayerNorm-like unit to ``ref.weight`` / ``ref.bias`` (a missing bias is zeros)."""
    mapped[f"{ref}.weight"] = unit.tensors["weight"]
    prov[f"{ref}.weight"] = unit.key("weight")
    has_bias = "bias" in unit.tensors
    mapped[f"{ref}.bias"] = unit.tensors["bias"] if has_bias else _zeros(width)
    prov[f"{ref}.bias"] = unit.key("bias") if has_bias else _ZEROS


def _linear_into(d: int) -> Any:
    """Accepts a Linear with ``d`` outputs and any number of inputs (the FFN's second layer)."""
    return lambda u: "weight" in u.tensors and u.tensors["weight"].dim() == 2 and linear(u.main.shape[1], d)(u)


def _layer_roles(d: int) -> list[Role]:
    return [
        Role("linear1", linear(d), hints=("linear1", "fc1", "ff.0", "ffn.0", "mlp.0", "w1", "up")),
        Role("linear2", _linear_into(d), hints=("linear2", "fc2", "ff.2", "ffn.2", "mlp.2", "w2", "down"),
             after="linear1"),
        Role("norm1", norm(d), hints=("norm1", "ln1", "ln_1")),
        Role("norm2", norm(d), hints=("norm2", "ln2", "ln_2"), after="norm1"),
    ]


def _outer_roles(d: int) -> list[Role]:
    return [
        Role("embedding", embedding(d), hints=("emb", "tok", "wte"), spec_key="embedding"),
        Role("position", table(d), optional=True, hints=("pos", "wpe"), spec_key="position_embedding",
             after="embedding"),
        Role("final_norm", norm(d), optional=True, hints=("norm", "ln_f", "final"), after="norm2"),
        Role("readout", linear(d), hints=_READOUT_HINTS, spec_key="readout"),
    ]


def _ffn_ok(c: dict[str, Unit]) -> bool:
    return "linear1" not in c or c["linear1"].tensors["weight"].shape[0] == c["linear2"].tensors["weight"].shape[1]


def _transformer(
    sd: dict[str, Any], spec: CheckpointSpec | None, sizes: dict[str, int], task_len: int | None
) -> tuple[Any, dict, dict, list]:
    from ccbounds.models.config import TransformerConfig

    if any(n.endswith("q_proj_weight") for n in sd):
        raise CheckpointError(
            "the attention has separate q/k/v projections (kdim/vdim differ from d_model), which the reference "
            "lacks; re-train with kdim = vdim = d_model"
        )
    attn = [n[: -len("in_proj_weight")] for n in sd if n.endswith("in_proj_weight")]
    d = int(sd[attn[0] + "in_proj_weight"].shape[1])
    parents = [a.rstrip(".").rpartition(".")[0] for a in attn]
    prefixes = [p + "." if p else "" for p in parents]
    if "" in prefixes and len(attn) > 1:
        raise CheckpointError(
            f"{len(attn)} attention modules at the top level {attn}; ccbounds reads a bare attention module for "
            "one layer only, wrap the layers in nn.TransformerEncoder"
        )
    idx = [int(m.group(1)) if (m := re.search(r"\.(\d+)\.$", p)) else i for i, p in enumerate(prefixes)]
    order = sorted(range(len(attn)), key=lambda i: idx[i])
    taken = set()
    for a in attn:
        taken |= {a + s for s in ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")}
    units = group_units(sd, skip=taken)
    arch = f"tf{len(attn)}"
    if prefixes == [""]:  # bare MultiheadAttention: its FFN and norms are siblings of the outer modules
        layer_units, outer_units = [units], units
        both = _layer_roles(d) + _outer_roles(d)
    else:
        layer_units = [[u for u in units if (u.name + ".").startswith(prefixes[i])] for i in order]
        outer_units = [u for u in units if not any((u.name + ".").startswith(p) for p in prefixes)]
        both = _outer_roles(d)
    pinned = {}
    if spec is not None:
        keys = (("embedding", "embedding"), ("readout", "readout"), ("position", "position_embedding"))
        pinned = {r: getattr(spec, k) for r, k in keys if getattr(spec, k)}
    outer, ignored = assign(outer_units, both, arch=arch, sizes=sizes, pinned=pinned, consistent=_ffn_ok)
    if prefixes == [""]:
        layers = [outer]
    else:
        layers = [assign(us, _layer_roles(d), arch=arch, consistent=_ffn_ok)[0] for us in layer_units]
    d_ff = int(layers[0]["linear1"].tensors["weight"].shape[0])
    if any(int(lay["linear1"].tensors["weight"].shape[0]) != d_ff for lay in layers):
        raise CheckpointError(
            "the layers have different FFN widths, which the reference lacks (one d_ff for all layers); "
            "re-train with a single d_ff"
        )
    heads = spec.heads if spec is not None else None
    if heads is None:
        if d != 1:
            divisors = [h for h in range(1, d + 1) if d % h == 0]
            raise CheckpointError(
                f"the number of attention heads cannot be read from the weights (in_proj_weight is ({3 * d}, {d}) for "
                f"any of {divisors} heads); pass \"heads\": H in the spec"
            )
        heads = 1
    positions = (spec.positions if spec is not None else None) or ("learned" if "position" in outer else None)
    pos_unit = outer.get("position")
    if pos_unit is not None:
        t = pos_unit.main
        pos_table = t.reshape(t.shape[-2], t.shape[-1])
        max_len = int(pos_table.shape[0])
    elif positions == "sinusoidal":
        max_len = (spec.max_len if spec is not None else None) or task_len
        if max_len is None:
            raise CheckpointError('a sinusoidal Transformer needs its longest input; pass "max_len" in the spec')
    else:
        raise CheckpointError(
            'no position table among the tensors; if the model adds a fixed sin/cos table pass "positions": '
            '"sinusoidal" in the spec (ccbounds reads models with learned or sinusoidal positions only)'
        )
    config = TransformerConfig(
        vocab_size=int(outer["embedding"].tensors["weight"].shape[0]),
        num_classes=int(outer["readout"].tensors["weight"].shape[0]),
        max_len=max_len, d_model=d, heads=heads, layers=len(attn), d_ff=d_ff,
        norm_first=bool(spec.norm_first) if spec is not None and spec.norm_first is not None else False,
        positions=positions, final_norm="final_norm" in outer,
    )
    mapped: dict[str, Any] = {"embed.weight": outer["embedding"].tensors["weight"]}
    prov = {"embed.weight": outer["embedding"].key("weight")}
    if pos_unit is not None:
        ref = "pos.weight" if positions == "learned" else "pos_table"
        mapped[ref], prov[ref] = pos_table, pos_unit.key("weight" if "weight" in pos_unit.tensors else "tensor")
    for i, (a, lay) in enumerate(zip([attn[j] for j in order], layers)):
        p = f"layers.{i}."
        for s, n in (("in_proj_weight", None), ("in_proj_bias", 3 * d), ("out_proj.weight", None),
                     ("out_proj.bias", d)):
            mapped[p + "self_attn." + s] = sd[a + s] if a + s in sd else _zeros(n)
            prov[p + "self_attn." + s] = a + s if a + s in sd else _ZEROS
        for role, width in (("linear1", d_ff), ("linear2", d), ("norm1", d), ("norm2", d)):
            _put(mapped, prov, p + role, lay[role], width)
    if "final_norm" in outer:
        _put(mapped, prov, "final_norm", outer["final_norm"], d)
    _put(mapped, prov, "head", outer["readout"], config.num_classes)
    return config, mapped, prov, ignored


def infer_reference(
    state_dict: dict[str, Any], spec: CheckpointSpec | None = None, task: Any = None
) -> tuple[Any, dict[str, Any], dict[str, str], list[str]]:
    """Infer the reference config of a foreign state_dict and rename its tensors onto it.

    Parameters
    ----------
    state_dict : dict
        Foreign names -> tensors (``torch.save(model.state_dict())`` of code unaware of ccbounds).
    spec : CheckpointSpec, optional
        Facts the tensors cannot tell (heads, norm_first, positions, ...) and names that resolve ties.
    task : Task, optional
        Its ``vocab_size`` / ``num_classes`` break ties between same-shaped modules.

    Returns
    -------
    (config, mapped, provenance, ignored)
        A ``RecurrentConfig`` or ``TransformerConfig``; reference names -> tensors (load with
        ``strict=True``); reference names -> the foreign key each came from (or how it was filled);
        modules left out because the spec chose another for their role.

    Raises
    ------
    CheckpointError
        Bidirectional or otherwise unsupported layouts, missing or extra tensors, ambiguous modules
        (the message names the spec key that resolves them), heads not given.
    """
    sizes = {} if task is None else {"embedding": int(task.vocab_size), "readout": int(task.num_classes)}
    if any(_RNN_KEY.match(n) for n in state_dict):
        return _recurrent(state_dict, spec, sizes)
    if any(n.endswith("in_proj_weight") or n.endswith("q_proj_weight") for n in state_dict):
        return _transformer(state_dict, spec, sizes, getattr(task, "seq_len", None))
    sample = sorted(state_dict)[:6]
    raise CheckpointError(
        f"cannot tell the architecture of this state_dict (keys {sample}...): found no nn.RNN/GRU/LSTM "
        "(weight_ih_l0) and no attention (in_proj_weight); ccbounds reads those two families only"
    )
