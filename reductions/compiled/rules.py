"""Split rules: how an op that mixes positions is split at the cut, and what it carries (theory §4.3, step 3).

A rule looks at one op of the traced program whose output has elements depending on both parties
(*mixed* elements) and, where it applies, splits it into an Alice part that computes a **carry** from
her elements only, and a Bob part that finishes the op from the carry and his elements. The cut then may
send the carry instead of the Alice elements the op reads. Built in:

* ``prefix-scan``: ``cumsum``, ``cumprod``, ``logcumsumexp`` along an axis whose Alice-only slices form a
  prefix: the carry is the scan's running value at Alice's last index.
* ``partial-reduction``: ``sum``, ``mean``, ``amax``, ``amin`` over an axis whose Alice-only slices Alice
  can reduce: the carry is her partial result (the size of the output).
* ``partial-contraction``: a matrix product ``A @ B`` contracting an axis whose Alice-only slices of A's
  columns and B's rows Alice holds: the carry is her partial product (the size of the output).
* ``partial-softmax``: ``softmax(S) @ V`` over a key axis (Lemma T): per head, for every read-out query row
  and every joint value of the Bob tokens that row's scores on her keys depend on, her normalised partial
  average a_A and log-denominator log Z_A (d_v + 1 scalars); Bob merges by log-sum-exp. Alice computes the
  carry by running her program once per value.
* ``partial-attention``: the same without a softmax (``W @ V`` with weights W, e.g. retention's decayed
  scores): her partial weighted sum (d_v scalars) per row and value.

A user adds a rule with :func:`register_split_rule`. A rule is a :class:`SplitRule` with ``match(node, an)``
returning a :class:`Split` (or None), where ``an`` is the cut analysis (:mod:`reductions.compiled.cut`)
with the concrete values and element classes of the traced program.

Examples
--------
>>> [r.name for r in split_rules()]
['prefix-scan', 'partial-reduction', 'partial-contraction', 'partial-softmax']
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ccbounds.errors import InvalidInputError
from reductions.compiled.positions import WORD_BITS

__all__ = ["SplitRule", "Split", "register_split_rule", "split_rules"]


@dataclass(eq=False)
class Split:
    """One op split at the cut.

    ``alice_inputs``: the input nodes whose Alice elements Alice uses to compute the carry (edges that
    now end at the carry, not at the op's mixed elements). ``carry(values)`` computes the carry from the
    exec-graph values of the op's inputs (and of the op itself, under ``values[node]``); ``bob(values,
    carry)`` returns the op's full output for Bob (only the elements the cut needs must be right);
    ``bob_deps(an, node)`` the dependency tensor of Bob's output, for the check of the cut.
    ``carry_shape`` is per example (no batch axis); ``batch_dim`` where the batch axis of the carry is.
    """

    rule: str
    node: Any
    alice_inputs: tuple
    carry_shape: tuple
    carry: Callable[[dict], Any]
    bob: Callable[[dict, Any], Any]
    bob_deps: Callable[[Any, Any], Any]
    what: str = ""
    complex_carry: bool = False
    reads: tuple = ()  # every input node carry() and bob() read (default: alice_inputs)
    #: Alice computes the carry from her raw input (e.g. once per value of Bob's query tokens): the flow network
    #: feeds the carry from the source, and the op's Bob part reads no other Alice or mixed element
    from_source: bool = False
    #: runs of Alice's program the carry needs: (token positions, values) per run, each run's piece computed by
    #: ``carry_piece(values, run_index)``; empty: one run, ``carry(values)``
    runs: tuple = ()
    carry_piece: Callable[[dict, int], Any] | None = None

    @property
    def inputs(self) -> tuple:
        return self.reads or self.alice_inputs

    @property
    def carry_scalars(self) -> int:
        n = 1
        for s in self.carry_shape:
            n *= int(s)
        return n * (2 if self.complex_carry else 1)


@dataclass(frozen=True)
class SplitRule:
    """A named rule: ``match(node, analysis) -> Split | None``."""

    name: str
    match: Callable[[Any, Any], Split | None]
    description: str = ""


def _args(node: Any) -> tuple:
    return node.args


def _slices(an: Any, node: Any, dim: int) -> tuple[Any, Any]:
    """Per index along ``dim``: whether Alice can compute the whole slice, and whether it holds an element that
    depends on her positions."""
    import torch

    side = an.alice_side[node].movedim(dim, 0).reshape(an.alice_side[node].shape[dim], -1)
    mine = an.alice_only.get(node)
    touched = (mine.movedim(dim, 0).reshape(mine.shape[dim], -1).any(1) if mine is not None
               else torch.zeros(side.shape[0], dtype=torch.bool))
    return side.all(1), touched


def _alice_indices(an: Any, nodes_dims: list) -> list[int] | None:
    """The indices J_A of a shared axis (one (node, dim) per operand) whose slices Alice can compute in every
    operand and that hold an element depending on her positions in some operand; None unless every element
    depending on her positions only lies in those slices and Bob keeps at least one index."""
    sides, touched = None, None
    for node, dim in nodes_dims:
        s, t = _slices(an, node, dim)
        sides = s if sides is None else sides & s
        touched = t if touched is None else touched | t
    ja = [i for i in range(len(sides)) if bool(sides[i] and touched[i])]
    if not ja or len(ja) == len(sides):
        return None
    for node, dim in nodes_dims:
        _, t = _slices(an, node, dim)
        if any(bool(t[i]) for i in range(len(t)) if i not in ja):
            return None
    return ja


def _scan_match(node: Any, an: Any) -> Split | None:
    import torch

    name = str(node.target).split(".")[-2] if str(node.target).startswith("aten.") else ""
    if name not in {"cumsum", "cumprod", "logcumsumexp", "_logcumsumexp"}:
        return None
    src = node.args[0]
    if not hasattr(src, "op") or src not in an.alice_only:
        return None
    dim = node.args[1] % an.values[src].dim()
    if dim == an.batch_dim.get(src):
        return None
    ja = _alice_indices(an, [(src, dim)])
    if ja is None:
        return None
    k = max(ja) + 1  # the carry covers indices 0..k-1: Alice must be able to compute every one of them
    side, _ = _slices(an, src, dim)
    if not bool(side[:k].all()) or k == an.values[src].shape[dim]:
        return None
    bdim = an.batch_dim.get(node)
    if bdim is None:
        return None
    op = node.target
    shape = list(an.values[node].shape)
    shape[dim] = 1
    per_example = [s for i, s in enumerate(shape) if i != bdim]

    def carry(values: dict) -> Any:
        return values[node].narrow(dim, k - 1, 1)

    def bob(values: dict, c: Any) -> Any:
        x = values[src]
        rest = x.narrow(dim, k, x.shape[dim] - k)
        if name == "cumsum":
            tail = c + op(rest, dim)
        elif name == "cumprod":
            tail = c * op(rest, dim)
        else:
            tail = torch.logaddexp(c, op(rest, dim))
        head = values[node].narrow(dim, 0, k) if node in values else torch.zeros_like(x.narrow(dim, 0, k))
        return torch.cat([head.to(tail.dtype), tail], dim)

    def bob_deps(an2: Any, d_node: Any) -> Any:
        from reductions.compiled.positions import _cumulative_or

        d_src = an2.deps[src]
        rest = d_src.narrow(dim, k, d_src.shape[dim] - k)
        tail = _cumulative_or(rest, dim) | an2.message_word()
        head = d_node.narrow(dim, 0, k)
        return torch.cat([head, tail], dim)

    return Split("prefix-scan", node, (src,), tuple(per_example), carry, bob, bob_deps,
                 what=f"{name}'s running value at index {k - 1} of axis {dim}",
                 complex_carry=an.values[node].is_complex())


_REDUCERS = {"sum", "mean", "amax", "amin"}


def _reduction_match(node: Any, an: Any) -> Split | None:
    import torch

    name = str(node.target).split(".")[-2] if str(node.target).startswith("aten.") else ""
    if name not in _REDUCERS:
        return None
    src = node.args[0]
    if not hasattr(src, "op") or src not in an.alice_only or node not in an.mixed:
        return None
    x = an.values[src]
    dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
    if dims is None or (isinstance(dims, (list, tuple)) and len(dims) == 0):
        return None
    dims = [dims] if isinstance(dims, int) else [d % x.dim() for d in dims]
    keep = bool(node.args[2]) if len(node.args) > 2 else bool(node.kwargs.get("keepdim", False))
    bsrc = an.batch_dim.get(src)
    if bsrc in dims or an.batch_dim.get(node) is None:
        return None
    for dim in dims:
        idx = _alice_indices(an, [(src, dim)])
        if idx is not None:
            break
    else:
        return None
    n_total = 1
    for d in dims:
        n_total *= x.shape[d]
    rest = [i for i in range(x.shape[dim]) if i not in idx]
    if not rest:
        return None
    out_shape = list(an.values[node].shape)
    bdim = an.batch_dim[node]
    per_example = [s for i, s in enumerate(out_shape) if i != bdim]
    base = torch.ops.aten.sum.dim_IntList if name == "mean" else node.target
    ia = torch.tensor(idx)
    ib = torch.tensor(rest)

    def part(values: dict, which: Any) -> Any:
        v = values[src].index_select(dim, which.to(values[src].device))
        return base(v, dims, keep)

    def carry(values: dict) -> Any:
        return part(values, ia)

    def bob(values: dict, c: Any) -> Any:
        r = part(values, ib)
        if name in {"sum", "mean"}:
            tot = c + r
            return tot / n_total if name == "mean" else tot
        return torch.maximum(c, r) if name == "amax" else torch.minimum(c, r)

    def bob_deps(an2: Any, d_node: Any) -> Any:
        from reductions.compiled.positions import _or_reduce

        d = an2.deps[src].index_select(dim, ib)
        return _or_reduce(d, dims, keep).reshape(d_node.shape) | an2.message_word()

    return Split("partial-reduction", node, (src,), tuple(per_example), carry, bob, bob_deps,
                 what=f"Alice's partial {name} over {len(idx)} of {x.shape[dim]} indices of axis {dim}",
                 complex_carry=an.values[node].is_complex())


def _contraction_match(node: Any, an: Any) -> Split | None:
    import torch

    name = str(node.target).split(".")[-2] if str(node.target).startswith("aten.") else ""
    if name not in {"mm", "bmm"} or node not in an.mixed:
        return None
    a, b = node.args[0], node.args[1]
    if not (hasattr(a, "op") and hasattr(b, "op")) or (a not in an.alice_only and b not in an.alice_only):
        return None
    ja = _alice_indices(an, [(a, an.values[a].dim() - 1), (b, an.values[b].dim() - 2)])
    if ja is None:
        return None
    J = an.values[a].shape[-1]
    rest = [j for j in range(J) if j not in ja]
    if not rest or an.batch_dim.get(node) is None or an.batch_dim.get(a) == an.values[a].dim() - 1 \
            or an.batch_dim.get(b) == an.values[b].dim() - 2:
        return None
    ia, ib = torch.tensor(ja), torch.tensor(rest)
    op = node.target
    out_shape = list(an.values[node].shape)
    bdim = an.batch_dim[node]
    per_example = [s for i, s in enumerate(out_shape) if i != bdim]
    da, db = an.values[a].dim() - 1, an.values[b].dim() - 2

    def part(values: dict, which: Any) -> Any:
        w = which.to(values[a].device)
        return op(values[a].index_select(da, w), values[b].index_select(db, w))

    def bob_deps(an2: Any, d_node: Any) -> Any:
        from reductions.compiled.positions import _broadcast_or, _or_reduce

        ra = _or_reduce(an2.deps[a].index_select(da, ib), [-1], True)
        cb_ = _or_reduce(an2.deps[b].index_select(db, ib), [-2], True)
        return _broadcast_or(tuple(d_node.shape[:-1]), [ra, cb_]) | an2.message_word()

    mine = tuple(u for u in (a, b) if u in an.alice_only)
    return Split("partial-contraction", node, mine, tuple(per_example), lambda v: part(v, ia),
                 lambda v, c: c + part(v, ib), bob_deps,
                 what=f"Alice's partial product over {len(ja)} of {J} contracted indices",
                 complex_carry=an.values[node].is_complex(), reads=(a, b))


_VIEWLIKE = {"view", "_unsafe_view", "reshape", "clone", "contiguous", "alias", "expand"}


def _base(node: Any) -> str:
    t = str(node.target)
    return t.split(".")[-2] if t.startswith("aten.") else ""


def _back(node: Any, allowed: set) -> Any:
    while hasattr(node, "op") and node.op == "call_function" and _base(node) in allowed:
        node = node.args[0]
    return node


def _softmax_match(node: Any, an: Any) -> Split | None:
    """Lemma T (theory §4.2) on the traced program: ``O = softmax(S) @ V`` over a key axis, split by keys into
    Alice's per-row partial average and log-denominator, for every value of the Bob tokens the row's scores
    on her keys depend on."""
    import torch

    if node not in an.mixed or an.batch_dim.get(node) != 0:
        return None
    mm = node if _base(node) == "bmm" else (node.args[0] if _base(node) in {"view", "_unsafe_view", "reshape"}
                                            and hasattr(node.args[0], "op") else None)
    if mm is None or _base(mm) not in {"bmm", "mm"}:
        return None
    sm = _back(mm.args[0], _VIEWLIKE)
    soft = _base(sm) in {"_softmax", "_safe_softmax"}
    if soft and not hasattr(sm.args[0], "op") or not hasattr(sm, "op"):
        return None
    S = sm.args[0] if soft else sm  # the scores (softmax) or the weights themselves (retention, linear attention)
    ve = _back(mm.args[1], _VIEWLIKE - {"expand"})
    if not hasattr(ve, "op") or ve not in an.alice_side:
        return None
    vs, vv, vo = an.values[S], an.values[ve], an.values[node]
    if soft and sm.args[1] % vs.dim() != vs.dim() - 1:
        return None
    if vv.dim() != vs.dim() or tuple(vo.shape) != (*vs.shape[:-1],
                                                                                             vv.shape[-1]):
        return None
    if an.batch_dim.get(S) != 0 or an.batch_dim.get(ve) != 0 or tuple(vv.shape[:-2]) != tuple(vs.shape[:-2]):
        return None
    Tq, Tk, dv = vs.shape[-2], vs.shape[-1], vv.shape[-1]
    rows = [r for r in range(Tq) if bool(an.mixed[node][..., r, :].any())]
    if not rows:
        return None
    bob_w, alice_w = an.bob_word, an.alice_word
    dS, dV = an.deps[S], an.deps[ve]

    def free_of(d: Any, w: Any) -> bool:
        return not bool((d & w).ne(0).any())

    # keys: Alice's hold values she computes and that depend on her positions; Bob's must not depend on hers
    ja = [j for j in range(Tk) if free_of(dV[..., j, :, :], bob_w) and not free_of(dV[..., j, :, :], alice_w)]
    jb = [j for j in range(Tk) if j not in ja]
    if not ja or not jb:
        return None
    iA, iB = torch.tensor(ja), torch.tensor(jb)
    tok_bits = [p for p, o in enumerate(an.owners) if o == "Bob"]
    runs, slots = [], []
    for r in rows:
        if not free_of(dS[..., r, :, :].index_select(-2, iB), alice_w) or not free_of(dV.index_select(-3, iB),
                                                                                          alice_w):
            return None
        d = dS[..., r, :, :].index_select(-2, iA)
        acc = functools.reduce(operator.or_, d.reshape(-1, d.shape[-1]).unbind(0))
        pos = tuple(p for p in tok_bits if (int(acc[p // WORD_BITS]) >> (p % WORD_BITS)) & 1)
        vals = an.bob_values(pos) if pos else [()]
        if vals is None or len(vals) * len(rows) > MAX_QUERY_VALUES:
            return None
        for v in vals:
            runs.append((pos, tuple(v)))
            slots.append(r)
    heads = tuple(vs.shape[1:-2])
    width = dv + 1 if soft else dv  # (a_A, log Z_A) for a softmax; the partial sum of w v otherwise
    per_example = (*heads, len(runs), width)
    tok_node = an.prog1.placeholders()[-1]

    def partial(s_: Any, v_: Any) -> tuple[Any, Any]:
        lz = torch.logsumexp(s_, -1)  # (..., )
        lz = torch.where(torch.isneginf(lz), torch.full_like(lz, EMPTY_LOG_MASS), lz)  # every key of hers masked
        w = torch.softmax(s_, -1).nan_to_num(0.0)
        a = (w.unsqueeze(-2) @ v_).squeeze(-2)  # (..., dv)
        return a, lz

    def carry_piece(values: dict, k: int) -> Any:
        r = slots[k]
        s_ = values[S][..., r, :].index_select(-1, iA.to(values[S].device))
        v_ = values[ve].index_select(-2, iA.to(values[ve].device))
        if not soft:
            return (s_.unsqueeze(-2) @ v_)  # (B, *heads, 1, dv)
        a, lz = partial(s_, v_)
        return torch.cat([a, lz.unsqueeze(-1)], -1).unsqueeze(-2)  # (B, *heads, 1, dv + 1)

    def bob(values: dict, c: Any) -> Any:
        Sb, Vb = values[S], values[ve]
        tok = values[tok_node]
        out = torch.zeros(*Sb.shape[:-1], dv, dtype=Vb.dtype, device=Vb.device)
        sB = Sb.index_select(-1, iB.to(Sb.device))  # (B, *heads, Tq, |J_B|)
        vB = Vb.index_select(-2, iB.to(Vb.device))
        if soft:
            lB = torch.logsumexp(sB, -1)  # (B, *heads, Tq)
            aB = torch.softmax(sB, -1).nan_to_num(0.0) @ vB  # (B, *heads, Tq, dv)
        else:
            aB = sB @ vB
        for r in rows:
            ks = [k for k in range(len(runs)) if slots[k] == r]
            pos = runs[ks[0]][0]
            if pos:
                have = tok[:, list(pos)]  # (B, |pos|)
                table = torch.tensor([runs[k][1] for k in ks], device=tok.device)  # (Q, |pos|)
                hit = (have.unsqueeze(1) == table.unsqueeze(0)).all(-1)  # (B, Q)
                pick = torch.tensor(ks, device=tok.device)[hit.float().argmax(-1)]
            else:
                pick = torch.full((tok.shape[0],), ks[0], device=tok.device)
            piece = c.movedim(-2, 1)[torch.arange(tok.shape[0], device=tok.device), pick]  # (B, *heads, dv + 1)
            if not soft:
                out[..., r, :] = piece + aB[..., r, :]
                continue
            aA, lA = piece[..., :dv], piece[..., dv]
            tot = torch.logaddexp(lA, lB[..., r])
            wa = torch.exp(lA - tot).nan_to_num(0.0).unsqueeze(-1)
            wb = torch.exp(lB[..., r] - tot).nan_to_num(0.0).unsqueeze(-1)
            out[..., r, :] = wa * aA + wb * aB[..., r, :]
        return out

    def bob_deps(an2: Any, d_node: Any) -> Any:
        from reductions.compiled.positions import _or_reduce

        out = torch.zeros_like(d_node)
        dS2, dV2 = an2.deps[S], an2.deps[ve]
        extra = _or_reduce(dV2.index_select(-3, iB), [-2, -1], True).squeeze(-2)  # (B, *heads, 1, W)
        for r in rows:
            pos = runs[[k for k in range(len(runs)) if slots[k] == r][0]][0]
            d = _or_reduce(dS2[..., r, :, :].index_select(-2, iB), [-1], False)  # (B, *heads, W)
            tokd = an2.deps[tok_node][:, list(pos)] if pos else None
            t = _or_reduce(tokd, [-1], False) if tokd is not None else torch.zeros_like(an2.message_word())
            t = t.reshape(t.shape[0], *([1] * (d.dim() - 2)), t.shape[-1]) if tokd is not None else t
            out[..., r, :, :] = (d | t | an2.message_word()).unsqueeze(-2) | extra
        return out

    Q = len(runs)
    kind = "partial average and log-denominator" if soft else "partial weighted sum"
    return Split("partial-softmax" if soft else "partial-attention", node, (), per_example, lambda v: None, bob,
                 bob_deps,
                 what=f"per head, Alice's {kind} over her {len(ja)} keys, for {Q} "
                      f"(query row, value of Bob's query tokens) pair{'s' if Q != 1 else ''}",
                 reads=(S, ve), from_source=True, runs=tuple(runs), carry_piece=carry_piece)


#: the most (query row, token values) pairs a softmax split enumerates
MAX_QUERY_VALUES = 4096
#: log Z_A sent when a mask excludes every one of Alice's keys (logsumexp = -inf): finite, so the message
#: quantizes, and exp() of it is 0 next to any unmasked score of Bob's (validation checks the model's real ones)
EMPTY_LOG_MASS = -1.0e4


_BUILTIN = [
    SplitRule("prefix-scan", _scan_match, "a scan carries its running value at Alice's last index"),
    SplitRule("partial-reduction", _reduction_match, "a sum/mean/max/min over positions carries Alice's part"),
    SplitRule("partial-contraction", _contraction_match, "a product contracting positions carries Alice's part"),
    SplitRule("partial-softmax", _softmax_match, "softmax attention carries Lemma T's partial sums per query value"),
]
_USER: list[SplitRule] = []


def register_split_rule(rule: SplitRule) -> SplitRule:
    """Add a split rule (tried before the built-ins; a same-named one is replaced)."""
    if not isinstance(rule, SplitRule):
        raise InvalidInputError("register_split_rule takes a reductions.compiled.rules.SplitRule")
    _USER[:] = [r for r in _USER if r.name != rule.name]
    _USER.insert(0, rule)
    return rule


def split_rules() -> list[SplitRule]:
    """User rules first, then the built-ins."""
    return [*_USER, *_BUILTIN]
