"""Which input positions every value of a traced program depends on (theory §4.3, step 2).

Every tensor of the program gets a *dependency tensor*: for each of its elements, a bit set over the
input positions (and one extra bit, the message, used when a cut is checked). Bit sets are int64 words
in a trailing axis. The rules follow the op: pointwise ops join the sets of the elements they combine;
ops that only move data (views, slices, indexing by constant indices, concatenation) move the sets with
the same op; reductions, scans, softmax and FFTs join along their dims; matrix products join the row of
one factor with the column of the other; an embedding copies the set of its index; a convolution joins
its receptive field. An op without a rule makes every output element depend on every position any input
element depends on: a sound over-approximation (a larger message, never a wrong protocol).

Examples
--------
>>> import torch
>>> d = position_bits(torch.tensor([[0, 1, 2]]), 3)          # tokens (1, 3): position j has bit j
>>> [bits_to_positions(w) for w in d[0]]
[[0], [1], [2]]
>>> [bits_to_positions(w) for w in _cumulative_or(d, 1)[0]]
[[0], [0, 1], [0, 1, 2]]
"""

from __future__ import annotations

import operator
from typing import Any

__all__ = ["WORD_BITS", "position_bits", "bits_to_positions", "DependencyAnalysis", "words_for"]

#: bits used per int64 word (the sign bit is left alone)
WORD_BITS = 62


def words_for(bits: int) -> int:
    return max(1, -(-bits // WORD_BITS))


def position_bits(tokens: Any, nbits: int, seq_dim: int = -1) -> Any:
    """The dependency tensor of a token tensor: element at sequence index j has bit j."""
    import torch

    W = words_for(nbits)
    T = tokens.shape[seq_dim]
    words = torch.zeros((T, W), dtype=torch.long)
    for j in range(T):
        words[j, j // WORD_BITS] = 1 << (j % WORD_BITS)
    shape = [1] * tokens.dim()
    shape[seq_dim] = T
    return words.reshape(*shape, W).expand(*tokens.shape, W).clone()


def bits_to_positions(word_row: Any) -> list[int]:
    """The positions set in one element's words."""
    out = []
    for w, word in enumerate(word_row.tolist() if hasattr(word_row, "tolist") else word_row):
        b = 0
        while word:
            if word & 1:
                out.append(w * WORD_BITS + b)
            word >>= 1
            b += 1
    return out


def _attr(module: Any, target: str) -> Any:
    """``module``'s attribute at the dotted path ``target`` (a get_attr node's value)."""
    for part in target.split("."):
        module = getattr(module, part)
    return module


def flat_nodes(a: Any) -> list:
    """The graph nodes in ``a`` (a node, or lists, tuples and dicts of them), in order, each once."""
    import torch.fx as fx

    out: list = []

    def walk(b: Any) -> None:
        if isinstance(b, fx.Node):
            if b not in out:
                out.append(b)
        elif isinstance(b, (list, tuple)):
            for x in b:
                walk(x)
        elif isinstance(b, dict):
            for x in b.values():
                walk(x)

    walk(a)
    return out


def _input_nodes(node: Any) -> list:
    """The graph nodes among ``node``'s arguments (in lists too)."""
    return flat_nodes((node.args, node.kwargs))


def element_bits(shape: tuple) -> tuple[Any, int]:
    """A dependency tensor giving every element of a tensor of ``shape`` its own bit (row-major)."""
    import torch

    n = 1
    for s in shape:
        n *= int(s)
    W = words_for(n)
    idx = torch.arange(n)
    words = torch.zeros((n, W), dtype=torch.long)
    words[idx, idx // WORD_BITS] = torch.ones(n, dtype=torch.long) << (idx % WORD_BITS)
    return words.reshape(*shape, W), n


def decode_elements(d: Any, n: int) -> Any:
    """The boolean vector of length ``n`` of the element bits set anywhere in ``d``."""
    import torch

    acc = _or_dim(d.reshape(-1, d.shape[-1]), 0)
    bits = (acc.unsqueeze(-1) >> torch.arange(WORD_BITS)) & 1  # (W, WORD_BITS)
    return bits.reshape(-1)[:n].bool()


def _or_dim(d: Any, dim: int) -> Any:
    """OR of the words over one tensor dim (removed), by halving: log2(size) vectorised steps."""
    k = d.shape[dim]
    if k == 0:
        return d.sum(dim) * 0
    if k == 1:
        return d.select(dim, 0)
    while k > 1:
        h = k // 2
        y = d.narrow(dim, 0, h) | d.narrow(dim, h, h)
        if k % 2:
            y.narrow(dim, 0, 1).bitwise_or_(d.narrow(dim, 2 * h, 1))
        d, k = y, h
    return d.squeeze(dim)


def _or_reduce(d: Any, dims: Any, keepdim: bool) -> Any:
    """OR of the words over ``dims`` (tensor dims, not the word axis)."""
    nd = d.dim() - 1
    dims = sorted({x % nd for x in dims}, reverse=True) if nd else []
    for dim in dims:
        r = _or_dim(d, dim)
        d = r.unsqueeze(dim) if keepdim else r
    return d


def _cumulative_or(d: Any, dim: int) -> Any:
    """The running OR of the words along ``dim`` (a log-step scan: OR is associative and idempotent)."""
    import torch

    dim = dim % (d.dim() - 1)
    k = d.shape[dim]
    if k == 0:
        raise ValueError("a scan over an empty axis")
    x = d.clone()
    s = 1
    while s < k:
        x = torch.cat([x.narrow(dim, 0, s), x.narrow(dim, s, k - s) | x.narrow(dim, 0, k - s)], dim)
        s *= 2
    return x


def _broadcast_or(shape: tuple, deps: list) -> Any:
    import torch

    W = deps[0].shape[-1]
    out = torch.zeros((*shape, W), dtype=torch.long)
    for d in deps:
        # align trailing tensor dims (numpy broadcasting), the word axis stays last
        k = d.dim() - 1
        d = d.reshape((1,) * (len(shape) - k) + tuple(d.shape))
        out = out | d
    return out


def _uniform(shape: tuple, deps: list, W: int) -> Any:
    """Every element depends on the union of everything (the fallback)."""
    import torch

    acc = torch.zeros(W, dtype=torch.long)
    for d in deps:
        acc = acc | _or_reduce(d, range(d.dim() - 1), keepdim=False).reshape(W)
    return acc.expand(*shape, W).clone()


def _apply_per_word(op: Any, args: tuple, kwargs: dict, dep_args: dict) -> Any:
    """Run a data-movement op on each word of the dependency tensors (same op, int64 data)."""
    import torch

    W = next(iter(dep_args.values())).shape[-1]
    outs = []
    for w in range(W):
        a = tuple(dep_args[i][..., w].contiguous() if i in dep_args else x for i, x in enumerate(args))
        outs.append(op(*a, **kwargs))
    if isinstance(outs[0], (list, tuple)):
        return [torch.stack([o[k] for o in outs], -1) for k in range(len(outs[0]))]
    return torch.stack(outs, -1)


def _name(op: Any) -> str:
    return str(op).split(".")[-2] if str(op).startswith("aten.") else str(op)


#: ops that only move data: the same op on the word tensors moves the bit sets (tensor args that are
#: not data, e.g. indices, must not depend on positions; otherwise the fallback applies)
MOVEMENT = {
    "view", "_unsafe_view", "reshape", "permute", "transpose", "t", "expand", "slice", "select", "squeeze",
    "unsqueeze", "clone", "alias", "contiguous", "flatten", "unflatten", "narrow", "split", "split_with_sizes",
    "unsafe_split", "unbind", "chunk", "cat", "stack", "flip", "roll", "repeat", "index", "index_select",
    "gather", "movedim", "diagonal", "unfold", "tril", "triu", "lift_fresh_copy", "detach", "expand_as",
    "view_as", "hstack",
    "vstack", "tile", "repeat_interleave", "constant_pad_nd", "pad", "swapaxes", "mT",
}
#: pointwise ops torch does not tag as such
POINTWISE = {"where", "masked_fill", "clamp", "lerp", "addcmul", "addcdiv", "copy", "fill", "sigmoid", "tanh", "silu",
             "gelu", "relu", "elu", "softplus", "complex", "polar"}
#: ops whose output element depends on the same input element (shape kept, dtype may change)
SAME = {"_to_copy", "to", "real", "imag", "conj", "_conj", "resolve_conj", "resolve_neg", "abs", "angle",
        "type_as", "float", "double", "half", "bfloat16"}
#: ops whose values do not depend on the values of their tensor arguments (only on shapes)
CONST = {"zeros_like", "ones_like", "empty_like", "full_like", "new_zeros", "new_ones", "new_empty", "new_full",
         "sym_size", "size"}
REDUCE = {"sum", "mean", "amax", "amin", "prod", "max", "min", "logsumexp", "var", "std", "norm", "any", "all",
          "argmax", "argmin", "linalg_vector_norm", "nansum", "var_mean", "std_mean"}
SCAN = {"cumsum", "cumprod", "logcumsumexp", "cummax", "cummin", "_logcumsumexp"}
ALONG = {"_softmax", "_safe_softmax", "softmax", "_log_softmax", "log_softmax", "sort", "topk", "_fft_r2c",
         "_fft_c2r", "_fft_c2c", "fft_fft", "fft_ifft", "fft_rfft", "fft_irfft", "special_log_softmax"}
MATMUL = {"mm", "bmm", "addmm", "baddbmm", "matmul", "dot", "mv", "addmv", "linear", "einsum", "addbmm"}


class DependencyAnalysis:
    """Run a traced program once, on concrete tokens, alongside its dependency tensors.

    ``values[node]`` holds the concrete value, ``deps[node]`` the dependency tensor (shape of the value
    plus a word axis; a list for ops with several outputs). ``nbits`` = sequence length + 1: the last
    bit is the message bit used to check a cut (:mod:`reductions.compiled.cut`).
    """

    def __init__(self, program: Any, tokens: Any, overrides: dict | None = None,
                 message_bit: int | None = None) -> None:
        self.program = program
        self.nbits = program.seq_len + 1
        self.message_bit = program.seq_len if message_bit is None else message_bit
        self.W = words_for(self.nbits)
        self.values: dict = {}
        self.deps: dict = {}
        self.fallbacks: list = []  # nodes whose op had no rule
        self._run(tokens, overrides or {})

    def probe(self, op: Any, marks: dict, nbits: int) -> Any:
        """Re-run the rule of ``op`` with the dependency tensors of its inputs replaced by ``marks`` (node ->
        tensor of ``words_for(nbits)`` words; inputs not named get none) and return the output's tensor (a list
        for several outputs). Nothing of the analysis changes."""
        import torch

        inputs = _input_nodes(op)
        missing = object()
        saved = ({a: self.deps.get(a, missing) for a in inputs}, self.W, self.nbits, len(self.fallbacks))
        W = words_for(nbits)
        try:
            self.W, self.nbits = W, nbits
            zero = torch.zeros(W, dtype=torch.long)  # unmarked inputs: no bit (one word, broadcast: the rules
            for a in inputs:                         # never write into their inputs)
                d = self.deps.get(a)
                if a in marks:
                    self.deps[a] = marks[a]
                elif isinstance(d, torch.Tensor):
                    self.deps[a] = zero.expand(*d.shape[:-1], W)
                elif isinstance(d, list):
                    self.deps[a] = [zero.expand(*x.shape[:-1], W) if isinstance(x, torch.Tensor) else x for x in d]
            args = self._val(op.args)
            kwargs = {k: self._val(x) for k, x in op.kwargs.items()}
            return self._rule(op, args, kwargs, self.values[op])
        finally:  # the rules write no other entry of deps
            for a, d in saved[0].items():
                if d is missing:
                    self.deps.pop(a, None)
                else:
                    self.deps[a] = d
            self.W, self.nbits = saved[1], saved[2]
            del self.fallbacks[saved[3]:]

    def message_word(self) -> Any:
        """The words with only the message bit set."""
        import torch

        m = torch.zeros(self.W, dtype=torch.long)
        m[self.message_bit // WORD_BITS] |= 1 << (self.message_bit % WORD_BITS)
        return m

    # -- helpers ---------------------------------------------------------------------------------
    def _zero(self, v: Any) -> Any:
        import torch

        return torch.zeros((*v.shape, self.W), dtype=torch.long)

    def _dep_of(self, a: Any) -> Any:
        import torch.fx as fx

        if isinstance(a, fx.Node):
            return self.deps[a]
        return None

    def _val(self, a: Any) -> Any:
        import torch.fx as fx

        if isinstance(a, fx.Node):
            return self.values[a]
        if isinstance(a, (list, tuple)):
            return type(a)(self._val(x) for x in a)
        return a

    def _run(self, tokens: Any, overrides: dict) -> None:
        import torch

        phs = self.program.placeholders()
        params = list(self.program.params.values())
        for node, p in zip(phs[:-1], params):
            self.values[node] = p.detach()
            self.deps[node] = self._zero(p)
        tok = phs[-1]
        self.values[tok] = tokens
        self.deps[tok] = position_bits(tokens, self.nbits)
        with torch.no_grad():
            for node in self.program.graph.nodes:
                if node.op == "get_attr":  # a tensor constant the forward made (public: no position)
                    self.values[node] = _attr(self.program.graph_module, node.target)
                    self.deps[node] = self._zero(self.values[node]) if isinstance(self.values[node], torch.Tensor) \
                        else None
                    continue
                if node.op != "call_function":
                    continue
                args = self._val(node.args)
                kwargs = {k: self._val(v) for k, v in node.kwargs.items()}
                out = node.target(*args, **kwargs)
                self.values[node] = out
                self.deps[node] = self._rule(node, args, kwargs, out)
                if node in overrides:
                    self.deps[node] = overrides[node](self.deps[node], self, node)
                name = _name(node.target)
                if name.endswith("_") and not name.startswith("_") and node.args and hasattr(node.args[0], "op"):
                    src = node.args[0]
                    d_old, d_new = self.deps.get(src), self.deps[node]
                    if isinstance(d_old, torch.Tensor) and isinstance(d_new, torch.Tensor) \
                            and d_old.shape == d_new.shape:
                        self.deps[src] = d_new  # an in-place op changed its input's values

    # -- the rules ---------------------------------------------------------------------------------
    def _rule(self, node: Any, args: tuple, kwargs: dict, out: Any) -> Any:
        import torch
        import torch.fx as fx

        target = node.target
        if target is operator.getitem:
            d = self.deps[node.args[0]]
            return d[node.args[1]] if isinstance(d, (list, tuple)) else self._fallback(node, out)
        tensor_args = {i: a for i, a in enumerate(node.args) if isinstance(a, fx.Node)}
        list_args = {i: a for i, a in enumerate(node.args) if isinstance(a, (list, tuple))
                     and any(isinstance(x, fx.Node) for x in a)}
        deps = {i: self.deps[a] for i, a in tensor_args.items()}
        if not isinstance(out, (torch.Tensor, list, tuple)):
            return None
        if not deps and not list_args and not any(isinstance(v, fx.Node) for v in node.kwargs.values()):
            return self._zero(out) if isinstance(out, torch.Tensor) else [self._zero(o) for o in out]
        name = _name(target)
        base = name.rstrip("_") if not name.startswith("_") else name
        if base.endswith("_copy") and base != "_to_copy":  # functionalised views: view_copy, t_copy, ...
            base = base[:-5]
        tags = getattr(target, "tags", ())
        if base in CONST and isinstance(out, torch.Tensor):
            return self._zero(out)
        try:
            if base in SAME and isinstance(out, torch.Tensor) and 0 in deps and len(deps) == 1:
                if tuple(deps[0].shape[:-1]) == tuple(out.shape):
                    return deps[0].clone()
                return _broadcast_or(tuple(out.shape), [deps[0]])
            if base == "view_as_real" and 0 in deps:
                return deps[0].unsqueeze(-2).expand(*out.shape, self.W).clone()
            if base == "view_as_complex" and 0 in deps:
                return _or_reduce(deps[0], [-1], False)
            pointwise = torch.Tag.pointwise in tags or base in POINTWISE
            if pointwise and isinstance(out, torch.Tensor) and not list_args:
                return _broadcast_or(tuple(out.shape), list(deps.values()))
            if base in ("select_scatter", "slice_scatter") and isinstance(out, torch.Tensor):
                return self._scatter(base, args, kwargs, deps, out)
            if base == "index" and 1 in list_args and isinstance(out, torch.Tensor):
                return self._index(node, args, deps, out)
            if base in MOVEMENT:
                return self._movement(node, target, args, kwargs, deps, list_args, out)
            if base in REDUCE and isinstance(out, torch.Tensor | tuple) and 0 in deps:
                return self._reduce(node, base, args, kwargs, deps, out)
            if base in SCAN and 0 in deps:
                dim = args[1] if len(args) > 1 else kwargs["dim"]
                d = _cumulative_or(deps[0], dim)
                return [d, d] if isinstance(out, (tuple, list)) else d
            if base in ALONG and 0 in deps:
                return self._along(base, args, kwargs, deps, out)
            if base in MATMUL:
                return self._matmul(base, args, deps, out)
            if base == "embedding":
                w, idx = deps.get(0), deps.get(1)
                d = (idx.unsqueeze(-2) if idx is not None else self._zero(out))
                d = d.expand(*out.shape, self.W).clone() if idx is not None else d
                if w is not None:
                    d = d | _or_reduce(w, range(w.dim() - 1), False)
                return d
            if base == "convolution":
                return self._convolution(args, deps, out)
            if base in {"native_layer_norm", "native_group_norm", "_native_batch_norm_legit_no_training",
                        "native_rms_norm", "_fused_rms_norm"} and 0 in deps:
                return self._norm(base, args, deps, out)
        except Exception:  # noqa: BLE001 - an op the rule cannot handle falls back (sound)
            pass
        return self._fallback(node, out)

    def _scatter(self, base: str, args: tuple, kwargs: dict, deps: dict, out: Any) -> Any:
        """``select_scatter(input, src, dim, index)`` / ``slice_scatter(input, src, dim, start, end, step)`` (an
        in-place write into a view, functionalised): the written elements depend on ``src``'s, the rest on
        ``input``'s; the same op on the dependency tensors (whose word axis comes last) says which is which."""
        import torch

        d_in = deps[0] if 0 in deps else self._zero(args[0])
        d_src = deps[1] if 1 in deps else self._zero(args[1])
        rest = list(args[2:])
        dim = rest[0] if rest else kwargs.get("dim", 0)
        rest = rest[1:] if rest else []
        kw = {k: v for k, v in kwargs.items() if k != "dim"}
        return getattr(torch, base)(d_in, d_src, dim % out.dim(), *rest, **kw)

    def _index(self, node: Any, args: tuple, deps: dict, out: Any) -> Any:
        """``self[i_1, ..., i_k]`` (advanced indexing, the index tensors adjacent): an element depends on the
        element of ``self`` it reads and on the index elements that chose it (a table read by token ids)."""
        import torch
        import torch.fx as fx

        idx_nodes = list(node.args[1])
        used = [i for i, a in enumerate(idx_nodes) if a is not None]
        if not used or used != list(range(used[0], used[-1] + 1)):
            raise ValueError("index tensors that are not adjacent")
        k = used[0]
        data = deps.get(0)
        idx = [self.deps[a] if isinstance(a, fx.Node) else self._zero(args[1][i]) for i, a in enumerate(idx_nodes)
               if a is not None]
        if data is not None and bool(data.ne(0).any()) and any(bool(x.ne(0).any()) for x in idx):
            raise ValueError("a table that depends on positions read at positions that do")  # fall back (sound)
        where = tuple(slice(None) if a is None else a for a in args[1])
        d = data[where] if data is not None else self._zero(out)
        if tuple(d.shape[:-1]) != tuple(out.shape):
            raise ValueError("an indexing layout the rule does not model")
        shape = torch.broadcast_shapes(*(tuple(x.shape[:-1]) for x in idx))
        joined = _broadcast_or(tuple(shape), idx)  # (*shape, W)
        lead, rest = k, out.dim() - k - len(shape)
        joined = joined.reshape(*(1,) * lead, *shape, *(1,) * rest, self.W)
        return d | joined.expand(*out.shape, self.W)

    def _fallback(self, node: Any, out: Any) -> Any:
        import torch
        import torch.fx as fx

        flat = []

        def collect(a: Any) -> None:
            if isinstance(a, fx.Node):
                d = self.deps.get(a)
                if isinstance(d, (list, tuple)):
                    flat.extend(x for x in d if x is not None)
                elif d is not None:
                    flat.append(d)
            elif isinstance(a, (list, tuple)):
                for x in a:
                    collect(x)

        for a in list(node.args) + list(node.kwargs.values()):
            collect(a)
        self.fallbacks.append(node)
        if isinstance(out, torch.Tensor):
            return _uniform(tuple(out.shape), flat, self.W)
        return [_uniform(tuple(o.shape), flat, self.W) if isinstance(o, torch.Tensor) else None for o in out]

    def _movement(self, node: Any, target: Any, args: tuple, kwargs: dict, deps: dict, list_args: dict,
                  out: Any) -> Any:
        import torch

        # tensor arguments other than the data (indices) must not depend on positions
        data_positions = {0}
        if _name(target) in {"cat", "stack", "hstack", "vstack"}:
            items = node.args[0]
            ds = [self.deps[a] if hasattr(a, "op") else None for a in items]
            vals = args[0]
            ds = [d if d is not None else self._zero(v) for d, v in zip(ds, vals)]
            dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
            W = self.W
            outs = [target([d[..., w] for d in ds], dim) for w in range(W)]
            return torch.stack(outs, -1)
        for i, d in deps.items():
            if i not in data_positions and bool((d != 0).any()):
                return self._fallback(node, out)
        for items in list_args.values():  # index lists (aten.index): each index must be constant
            for a in items:
                if hasattr(a, "op") and bool((self.deps[a] != 0).any()):
                    return self._fallback(node, out)
        if 0 not in deps:
            return self._fallback(node, out)
        return _apply_per_word(target, args, kwargs, {0: deps[0]})

    def _reduce(self, node: Any, base: str, args: tuple, kwargs: dict, deps: dict, out: Any) -> Any:
        d = deps[0]
        nd = d.dim() - 1
        dims = args[1] if len(args) > 1 and args[1] is not None and not isinstance(args[1], bool) \
            else kwargs.get("dim")
        if dims is None:
            dims = list(range(nd))
        if isinstance(dims, int):
            dims = [dims]
        if len(dims) == 0:
            dims = list(range(nd))
        keep = bool(kwargs.get("keepdim", False))
        if len(args) > 2 and isinstance(args[2], bool):
            keep = args[2]
        r = _or_reduce(d, dims, keep)
        import torch

        if isinstance(out, (tuple, list)):
            return [r.reshape(*o.shape, self.W) for o in out]
        return r.reshape(*out.shape, self.W) if isinstance(out, torch.Tensor) else r

    def _along(self, base: str, args: tuple, kwargs: dict, deps: dict, out: Any) -> Any:
        import torch

        d = deps[0]
        if base.startswith("_fft") or base.startswith("fft"):
            dims = args[1] if len(args) > 1 else kwargs.get("dim")
            dims = [dims] if isinstance(dims, int) else list(dims)
            r = _or_reduce(d, dims, True)
            o = out if isinstance(out, torch.Tensor) else out[0]
            return r.expand(*[1 if i in [x % o.dim() for x in dims] else s for i, s in enumerate(o.shape)],
                            self.W).expand(*o.shape, self.W).clone() if r.shape[:-1] != o.shape else r
        dim = args[1] if len(args) > 1 else kwargs.get("dim", -1)
        r = _or_reduce(d, [dim], True).expand_as(d).clone()
        return [r, r] if isinstance(out, (tuple, list)) else r

    def _matmul(self, base: str, args: tuple, deps: dict, out: Any) -> Any:
        if base in {"addmm", "baddbmm", "addmv"}:
            bias, a, b = 0, 1, 2
        elif base in {"mm", "bmm", "matmul", "dot", "mv"}:
            bias, a, b = None, 0, 1
        else:
            raise ValueError(base)
        da = deps.get(a, self._zero(args[a]))
        db = deps.get(b, self._zero(args[b]))
        # out[.., i, k] = sum_j A[.., i, j] B[.., j, k]: the row of A joined with the column of B
        if base in {"mv", "addmv"}:
            ra = _or_reduce(da, [-1], False)  # (.., i)
            cb = _or_reduce(db, [0], False)   # ()
            r = ra | cb.reshape((1,) * (ra.dim() - 1) + (self.W,))
        elif base == "dot":
            r = _or_reduce(da, [0], False) | _or_reduce(db, [0], False)
        else:
            ra = _or_reduce(da, [-1], True)   # (.., i, 1)
            cb = _or_reduce(db, [-2], True)   # (.., 1, k)
            r = _broadcast_or(tuple(out.shape), [ra, cb])
        if bias is not None and bias in deps:
            r = _broadcast_or(tuple(out.shape), [r, deps[bias]])
        return r.reshape(*out.shape, self.W)

    def _norm(self, base: str, args: tuple, deps: dict, out: Any) -> Any:
        """Normalisations: an output element depends on the elements it is normalised with (the last
        ``len(normalized_shape)`` dims for layer and RMS norm; eval-mode batch norm is pointwise) and on the
        weights; the statistics outputs on those elements."""
        import torch

        d = deps[0]
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        if base == "_native_batch_norm_legit_no_training":
            main = d.clone()
            stats = self._zero(outs[1]) if len(outs) > 1 else None
        else:
            if base == "native_group_norm":
                dims = list(range(1, d.dim() - 1))  # (sound: the whole sample, not only its group)
            else:
                dims = list(range(d.dim() - 1 - len(args[1]), d.dim() - 1))
            r = _or_reduce(d, dims, True)
            main = r.expand_as(d).clone()
            stats = r
        for i in range(1, len(args)):
            if i in deps:
                main = main | _or_reduce(deps[i], range(deps[i].dim() - 1), False)
        res = [main]
        for o in outs[1:]:
            if isinstance(o, torch.Tensor):
                res.append(stats.reshape(*o.shape, self.W) if stats is not None and stats[..., 0].numel() == o.numel()
                           else _uniform(tuple(o.shape), [d], self.W))
            else:
                res.append(None)
        return res if isinstance(out, (tuple, list)) else res[0]

    def _convolution(self, args: tuple, deps: dict, out: Any) -> Any:
        """A convolution's receptive fields: the same convolution, with non-negative weights, of 0/1 indicators
        of each position bit (batched over bits)."""
        import torch

        x, w = args[0], args[1]
        dx = deps.get(0, self._zero(x))
        stride, padding, dilation, transposed, output_padding, groups = args[3:9]
        nbits = self.nbits
        N = x.shape[0]
        ind = torch.stack([((dx[..., b // WORD_BITS] >> (b % WORD_BITS)) & 1).float() for b in range(nbits)])
        ind = ind.reshape(nbits * N, *x.shape[1:])
        ones = (w != 0).float()
        y = torch.ops.aten.convolution(ind, ones, None, stride, padding, dilation, transposed, output_padding,
                                       groups)
        y = (y > 0).reshape(nbits, *out.shape)
        r = self._zero(out)
        for b in range(nbits):
            r[..., b // WORD_BITS] |= y[b].long() << (b % WORD_BITS)
        for i in (1, 2):
            if i in deps:
                r = r | _or_reduce(deps[i], range(deps[i].dim() - 1), False)
        return r
