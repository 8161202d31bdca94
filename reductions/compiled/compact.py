"""Bob's program on the positions his output reads (theory §4.3, step 5).

Bob's program is traced at the gadget's full length, but around the cut his output reads only some positions of
most values: in a recurrent model cut at its state, the positions after Alice's (and the few before them a causal
convolution reads, which the message supplies). This module runs Bob's ops on a *suffix* of such an axis: a
value is held as its elements from index ``d`` on along one axis (a :class:`Rep`); elementwise ops, views,
matrix products over other axes, selects and slices, causal convolutions and the like keep the suffix, with
their index arguments moved; any other op gets its inputs back at full size (the dropped prefix as zeros) and
runs as traced.

Why this is sound: ``d`` never exceeds the first index of the axis that Bob's output reads through any path
(:meth:`reductions.compiled.cut._Analysis._needed`, run on Bob's program with the message's elements given), and
every rule keeps that invariant, so no dropped or zero-filled element is ever read by an element the output reads.
Bob's compacted program is also run once against his full program on the first rows of a call
(:meth:`reductions.compiled.program.CutPrograms._bob`); on any difference he keeps the full program.
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from typing import Any, NamedTuple

from reductions.compiled.positions import _name, flat_nodes

__all__ = ["Rep", "Compactor", "first_needed"]


class Rep(NamedTuple):
    """A value held from index ``d`` on along a virtual axis of length ``T`` inside real axis ``axis``, whose
    logical size is ``o * T * i`` (``o`` and ``i``: the axes merged into it before and after, by a view)."""

    axis: int
    T: int
    d: int
    o: int = 1
    i: int = 1

    @property
    def size(self) -> int:  # the compacted size of the real axis
        return self.o * (self.T - self.d) * self.i

    @property
    def simple(self) -> bool:
        return self.o == 1 and self.i == 1


class _Fallback(Exception):
    """The op has no suffix rule for these inputs: it runs on full-size inputs."""


def first_needed(needed: dict, an: Any, to_exec: dict) -> tuple[dict, set]:
    """Per node, ``{axis: first index read}`` for its axes (not the batch axis, sizes equal in both traced
    programs, more than one element) whose first indices Bob's output does not read; and the nodes of which his
    output reads no element (computed as zeros)."""
    import torch

    lo: dict = {}
    unread: set = set()
    for n, m in needed.items():
        if not isinstance(m, torch.Tensor) or m.dim() == 0:
            continue
        if not bool(m.any()):
            unread.add(n)
            continue
        like = to_exec[n].meta.get("val") if n in to_exec else None
        if not isinstance(like, torch.Tensor) or like.dim() != m.dim():
            continue
        bd = an.batch_dim.get(n)
        axes = {}
        for a in range(m.dim()):
            if a == bd or m.shape[a] != like.shape[a] or m.shape[a] < 2:
                continue
            first = int(m.movedim(a, 0).reshape(m.shape[a], -1).any(1).nonzero()[0])
            if first > 0:
                axes[a] = first
        if axes:
            lo[n] = axes
    return lo, unread


def _narrow(t: Any, r: Rep, k: int) -> Any:
    """``t`` (held as ``r``) with ``k`` more indices dropped."""
    if k == 0:
        return t
    if r.simple:
        return t.narrow(r.axis, k, t.shape[r.axis] - k)
    s = list(t.shape)
    u = t.reshape(*s[:r.axis], r.o, r.T - r.d, r.i, *s[r.axis + 1:]).narrow(r.axis + 1, k, r.T - r.d - k)
    return u.reshape(*s[:r.axis], r.o * (r.T - r.d - k) * r.i, *s[r.axis + 1:])


def _restore(t: Any, r: Rep) -> Any:
    """The full-size value of ``t`` held as ``r``, its dropped indices zero."""
    import torch

    s = list(t.shape)
    u = t.reshape(*s[:r.axis], r.o, r.T - r.d, r.i, *s[r.axis + 1:])
    z = u.new_zeros(*s[:r.axis], r.o, r.d, r.i, *s[r.axis + 1:])
    return torch.cat([z, u], r.axis + 1).reshape(*s[:r.axis], r.o * r.T * r.i, *s[r.axis + 1:])


_ELEMENTWISE = {"clone", "_to_copy", "alias", "lift_fresh_copy", "detach", "contiguous", "masked_fill", "where",
               "type_as", "to", "dropout", "native_dropout"}
_REDUCE = {"sum", "mean", "amax", "amin", "prod", "logsumexp"}  # (x, dim, keepdim, ...)
_ALONG = {"_softmax", "_log_softmax", "softmax", "log_softmax", "cumsum", "cumprod", "logcumsumexp"}


def _pointwise(target: Any) -> bool:
    import torch

    return torch.Tag.pointwise in getattr(target, "tags", ()) or _name(target) in _ELEMENTWISE


class Compactor:
    """Bob's program on suffixes (one per run of a chunk: call :meth:`reset`). ``lo``, ``unread``:
    :func:`first_needed`;
    ``keep_full``: nodes whose values must be whole (inputs of split ops, the output); ``inject``: nodes whose
    values are made whole for the message to be written into them, then dropped again."""

    def __init__(self, lo: dict, unread: set, keep_full: set, inject: set, to_exec: dict, x2one: dict) -> None:
        self.lo, self.unread, self.keep_full, self.inject = lo, unread, keep_full, inject
        self.to_exec, self.x2one = to_exec, x2one
        self.reps: dict = {}
        self.device: Any = None
        self.checked = False  # run once against the full program
        self.full_size: Counter = Counter()  # ops run at full size on held inputs (no rule, or a rule declined)

    def reset(self, device: Any = None) -> None:
        self.reps = {}
        self.device = device

    # -- values -------------------------------------------------------------------------------------------
    def full(self, n1: Any, values: dict) -> Any:
        """The full-size value of ``n1`` (restored in ``values``)."""
        r = self.reps.pop(n1, None)
        if r is not None:
            v = values[n1]
            values[n1] = tuple(_restore(t, r) for t in v) if isinstance(v, (tuple, list)) else _restore(v, r)
        return values[n1]

    def after(self, n1: Any, values: dict) -> None:
        """Drop the indices of ``n1``'s value its readers never read (or restore it where it must stay whole)."""
        import torch

        if n1 in self.keep_full:
            self.full(n1, values)
            return
        axes = self.lo.get(n1)
        v = values.get(n1)
        if not axes or not isinstance(v, torch.Tensor):
            return
        r = self.reps.get(n1)
        if r is not None:
            want = axes.get(r.axis, 0) if r.simple else 0
            if want > r.d and want < r.T:
                values[n1] = _narrow(v, r, want - r.d)
                self.reps[n1] = r._replace(d=want)
            return
        like = self.to_exec[n1].meta.get("val")
        a, k = max(axes.items(), key=lambda kv: kv[1] / v.shape[kv[0]] if v.shape[kv[0]] else 0)
        if like is None or tuple(v.shape) != tuple(like.shape):
            return
        r = Rep(a, v.shape[a], k)
        values[n1] = _narrow(v, r._replace(d=0), k)
        self.reps[n1] = r

    # -- ops ----------------------------------------------------------------------------------------------
    def call(self, n1: Any, nx: Any, values: dict, val: Any) -> Any:
        """Run the exec node ``nx`` (of prog1 node ``n1``) on its inputs' held values; record the output's Rep."""
        import torch

        like = nx.meta.get("val")
        if n1 in self.unread and isinstance(like, torch.Tensor):  # his output reads none of it
            return torch.zeros((), dtype=like.dtype, device=self.device).expand(like.shape)
        held = [a for a in flat_nodes((nx.args, nx.kwargs)) if self.x2one[a] in self.reps]
        if not held:
            return nx.target(*val(nx.args), **val(nx.kwargs))
        reps = {a: self.reps[self.x2one[a]] for a in held}
        lo = self.lo.get(n1, {})
        try:
            out, rep = self._rule(nx, val, reps, lo)
            # the invariant every rule keeps: a suffix starts at or before the first index the output reads
            if rep is not None and rep.simple and isinstance(like, torch.Tensor) and rep.d > lo.get(rep.axis, 0):
                out = None
        except _Fallback:
            out, rep = None, None
        except Exception:  # noqa: BLE001 - the rule's guess of the shapes was wrong: run at full size
            out, rep = None, None
        if out is None:
            self.full_size[_name(nx.target)] += 1
            for a in held:
                self.full(self.x2one[a], values)
            return nx.target(*val(nx.args), **val(nx.kwargs))
        if rep is not None:
            self.reps[n1] = rep
        return out

    def _rule(self, nx: Any, val: Any, reps: dict, lo: dict) -> tuple[Any, Rep | None]:
        import torch

        t = nx.target
        name = _name(t)
        like = nx.meta.get("val")
        args = list(nx.args)

        def logical(a: Any) -> tuple:
            return tuple(a.meta["val"].shape)

        if t is operator.getitem:
            return val(nx.args[0])[nx.args[1]], reps[nx.args[0]]
        if not isinstance(like, (torch.Tensor, tuple, list)):
            raise _Fallback
        if _pointwise(t):
            return self._broadcast(nx, val, reps, len(like.shape))
        (x, r), = [(a, reps[a]) for a in args[:1] if a in reps] or [(None, None)]
        if x is None:
            return self._other(nx, name, val, reps, lo)
        ndim = len(logical(x))
        if name in ("view", "_unsafe_view", "reshape"):
            return self._view(val(x), r, logical(x), tuple(like.shape))
        if name == "expand":
            sizes = list(args[1])
            A = r.axis + len(sizes) - ndim
            if sizes[A] != -1:
                sizes[A] = r.size
            return val(x).expand(sizes), r._replace(axis=A)
        if name == "unsqueeze":
            dim = args[1] % (ndim + 1)
            return val(x).unsqueeze(dim), r._replace(axis=r.axis + (dim <= r.axis))
        if name == "squeeze" and len(args) > 1:
            dims = [d % ndim for d in (args[1] if isinstance(args[1], (list, tuple)) else [args[1]])]
            if r.axis in dims:
                raise _Fallback
            return t(val(x), args[1]), r._replace(axis=r.axis - sum(d < r.axis for d in dims))
        if name in ("transpose", "t"):
            d0, d1 = (0, 1) if name == "t" else (args[1] % ndim, args[2] % ndim)
            A = d1 if r.axis == d0 else d0 if r.axis == d1 else r.axis
            return t(val(x), *args[1:]), r._replace(axis=A)
        if name == "permute":
            dims = [d % ndim for d in args[1]]
            return val(x).permute(dims), r._replace(axis=dims.index(r.axis))
        if name == "select":
            dim, idx = args[1] % ndim, args[2]
            if dim != r.axis:
                return val(x).select(dim, idx), r._replace(axis=r.axis - (dim < r.axis))
            if not r.simple:
                raise _Fallback
            idx %= r.T
            if idx >= r.d:
                return val(x).select(dim, idx - r.d), None
            return torch.zeros((), dtype=like.dtype, device=val(x).device).expand(like.shape), None  # never read
        if name == "slice":
            dim = (args[1] if len(args) > 1 else 0) % ndim
            if dim != r.axis:
                return t(val(x), *args[1:]), r
            start = args[2] if len(args) > 2 and args[2] is not None else 0
            end = args[3] if len(args) > 3 and args[3] is not None else r.T
            step = args[4] if len(args) > 4 else 1
            if not r.simple or step != 1:
                raise _Fallback
            start = min(max(start + r.T if start < 0 else start, 0), r.T)
            end = min(max(end + r.T if end < 0 else end, 0), r.T)
            L = max(end - start, 0)
            d = min(max(r.d - start, 0), L)
            out = val(x).narrow(dim, max(start - r.d, 0), L - d)
            return out, (Rep(dim, L, d) if d else None)
        if name in _REDUCE or name in _ALONG:
            dims = args[1] if len(args) > 1 else None
            if dims is None:
                raise _Fallback
            dims = [d % ndim for d in (dims if isinstance(dims, (list, tuple)) else [dims])]
            if r.axis in dims or any(a in reps for a in flat_nodes(args[1:])):
                raise _Fallback
            keep = name in _ALONG or (len(args) > 2 and bool(args[2])) or bool(nx.kwargs.get("keepdim", False))
            A = r.axis if keep else r.axis - sum(d < r.axis for d in dims)
            return t(*val(tuple(args)), **val(nx.kwargs)), r._replace(axis=A)
        if name in ("mm", "addmm", "bmm", "convolution", "embedding", "split", "split_with_sizes", "cat", "stack"):
            return self._other(nx, name, val, reps, lo)
        raise _Fallback

    def _other(self, nx: Any, name: str, val: Any, reps: dict, lo: dict) -> tuple[Any, Rep | None]:
        args = list(nx.args)
        t = nx.target
        if name == "stack":  # the items before the first one the output reads are left out
            items = list(args[0])
            dim = (args[1] if len(args) > 1 else nx.kwargs.get("dim", 0)) % len(nx.meta["val"].shape)
            k = lo.get(dim, 0)
            if k:
                keep = [_restore(val(a), reps[a]) if a in reps else val(a) for a in items[k:]]
                return t(keep, dim), Rep(dim, len(items), k)
        if name in ("mm", "addmm"):
            a, b = args[-2], args[-1]
            if b in reps or a not in reps or reps[a].axis != 0 or (name == "addmm" and args[0] in reps):
                raise _Fallback
            if name == "addmm" and len(args[0].meta["val"].shape) == 2 and args[0].meta["val"].shape[0] != 1:
                raise _Fallback
            return t(*val(tuple(args)), **val(nx.kwargs)), reps[a]
        if name == "bmm":
            a, b = args
            ra, rb = reps.get(a), reps.get(b)
            if ra is not None and ra.axis == 0 or rb is not None and rb.axis == 0:
                return self._broadcast(nx, val, reps, 3, axes_only=(0,))
            if ra is not None and rb is None and ra.axis == 1:
                return t(val(a), val(b)), ra
            if rb is not None and ra is None and rb.axis == 2:
                return t(val(a), val(b)), rb
            raise _Fallback
        if name == "convolution":
            x, w, b, stride, padding, dilation, transposed = args[:7]
            r = reps.get(x)
            nd = len(x.meta["val"].shape)
            if r is None or w in reps or b in reps or transposed or nd != 3:
                raise _Fallback
            if r.axis == 0:
                return t(*val(tuple(args))), r
            if r.axis != 2 or not r.simple or list(stride) != [1]:
                raise _Fallback
            # output index j' of the suffix's convolution is output r.d + j', exact from j' = p on (its window
            # lies in the suffix); before that, exact where the taps reaching before the suffix are zero, which
            # is what the analysis found where the output's first read index is below r.d + p
            p = int(padding[0])
            D = min(r.d + p, lo.get(2, 0))
            if D < r.d:
                raise _Fallback
            out = t(*val(tuple(args)))
            T = int(nx.meta["val"].shape[2])
            return out.narrow(2, D - r.d, out.shape[2] - (D - r.d)), Rep(2, T, D)
        if name == "embedding":
            w, idx = args[0], args[1]
            if w in reps:
                raise _Fallback
            return t(*val(tuple(args)), **val(nx.kwargs)), reps[idx]
        if name in ("split", "split_with_sizes"):
            x = args[0]
            r = reps.get(x)
            nd = len(x.meta["val"].shape)
            dim = (args[2] if len(args) > 2 else nx.kwargs.get("dim", 0)) % nd
            if r is None or dim == r.axis:
                raise _Fallback
            return t(*val(tuple(args)), **val(nx.kwargs)), r
        if name in ("cat", "stack"):
            items = list(args[0])
            nd = len(items[0].meta["val"].shape) if hasattr(items[0], "meta") else 0
            dim = (args[1] if len(args) > 1 else nx.kwargs.get("dim", 0))
            held = [reps[a] for a in items if a in reps]
            r0 = held[0]
            if any(h._replace(d=0) != r0._replace(d=0) for h in held):
                raise _Fallback
            dim %= nd + (name == "stack")
            if len(items) == 1:  # a copy
                return t([val(items[0])], dim), r0._replace(axis=r0.axis + (name == "stack" and dim <= r0.axis))
            if name == "cat" and dim == r0.axis:
                raise _Fallback
            # each output element reads one input's element, so the output keeps the suffix all its inputs hold
            if len(held) < len(items):
                raise _Fallback
            D = min(h.d for h in held)
            vals = [_narrow(_restore(val(a), reps[a]), reps[a]._replace(d=0), D) if reps[a].d > D else val(a)
                    for a in items]
            A = r0.axis + (name == "stack" and dim <= r0.axis)
            return t(vals, dim), r0._replace(axis=A, d=D)
        raise _Fallback

    def _broadcast(self, nx: Any, val: Any, reps: dict, R: int, axes_only: tuple | None = None) -> tuple:
        """An op whose output index along each axis reads its inputs' same index (broadcast from the right)."""
        import torch.fx as fx

        held = {a: reps[a] for a in flat_nodes((nx.args, nx.kwargs)) if a in reps}
        outs = {(r.axis + R - len(a.meta["val"].shape), r.T, r.o, r.i) for a, r in held.items()}
        if len(outs) != 1:
            raise _Fallback
        A, T, o, i = outs.pop()
        if axes_only is not None and A not in axes_only:
            raise _Fallback
        D = max(r.d for r in held.values())
        full = o * T * i

        def conv(a: Any) -> Any:
            if isinstance(a, fx.Node):
                v = val(a)
                if a in held:
                    return _narrow(v, held[a], D - held[a].d)
                shape = getattr(v, "shape", None)
                if shape is None:
                    return v
                ax = A - (R - len(shape))
                if ax < 0 or shape[ax] == 1:
                    return v
                if shape[ax] != full:
                    raise _Fallback
                return _narrow(v, Rep(ax, T, 0, o, i), D)
            if isinstance(a, (list, tuple)):
                return type(a)(conv(x) for x in a)
            if isinstance(a, dict):
                return {k: conv(x) for k, x in a.items()}
            return a

        return nx.target(*conv(nx.args), **conv(nx.kwargs)), Rep(A, T, D, o, i)

    @staticmethod
    def _view(x: Any, r: Rep, s_in: tuple, s_out: tuple) -> tuple:
        outer = math.prod(s_in[:r.axis]) * r.o
        inner = r.i * math.prod(s_in[r.axis + 1:])
        for b in range(len(s_out)):
            before, after = math.prod(s_out[:b]), math.prod(s_out[b + 1:])
            if outer % before or inner % after:
                continue
            o, i = outer // before, inner // after
            if s_out[b] != o * r.T * i:
                continue
            rb = Rep(b, r.T, r.d, o, i)
            shape = list(s_out)
            shape[b] = rb.size
            return x.reshape(shape), rb
        raise _Fallback

