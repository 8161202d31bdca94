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

A user adds a rule with :func:`register_split_rule`. A rule is a :class:`SplitRule` with ``match(node, an)``
returning a :class:`Split` (or None), where ``an`` is the cut analysis (:mod:`reductions.compiled.cut`)
with the concrete values and element classes of the traced program.

Examples
--------
>>> [r.name for r in split_rules()]
['prefix-scan', 'partial-reduction', 'partial-contraction']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ccbounds.errors import InvalidInputError

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


_BUILTIN = [
    SplitRule("prefix-scan", _scan_match, "a scan carries its running value at Alice's last index"),
    SplitRule("partial-reduction", _reduction_match, "a sum/mean/max/min over positions carries Alice's part"),
    SplitRule("partial-contraction", _contraction_match, "a product contracting positions carries Alice's part"),
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
