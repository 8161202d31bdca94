"""Alice's and Bob's programs: the traced forward, run in two pieces around the cut (theory §4.3, step 5).

Alice runs the ops her message needs, on sequences holding her tokens (and the public ones; Bob's
positions hold a fixed filler, which her message does not depend on: the cut was checked), and reads the
message off: the cut's Alice elements and the carries of split ops, flattened into S float32 scalars.
Bob runs the ops his output needs on sequences holding his tokens (Alice's positions hold a filler),
with the message written over the cut's elements and the split ops replaced by their Bob parts.
Both run the program traced at :data:`~reductions.compiled.cut.EXEC_BATCH` rows, in padded chunks.
"""

from __future__ import annotations

from typing import Any

from reductions.compiled.positions import _attr, flat_nodes

__all__ = ["CutPrograms"]


def _closure(targets: list, stop: set, tuple_nodes: set, extra: dict) -> set:
    """Every node needed to compute ``targets``, not looking behind the nodes in ``stop``."""

    need: set = set()
    todo = list(targets)
    while todo:
        n = todo.pop()
        if n in need:
            continue
        need.add(n)
        if n in stop:
            continue
        reads = extra.get(n)
        if reads is None:
            reads = flat_nodes((n.args, n.kwargs))
        todo.extend(reads)
    return need


class CutPrograms:
    """Alice's and Bob's programs of a checked :class:`~reductions.compiled.cut.Cut`."""

    def __init__(self, cut: Any, fill: bool = True) -> None:
        self.cut = cut
        an = cut.analysis
        self.an = an
        self.order = [n for n in an.prog1.graph.nodes if n.op in ("placeholder", "call_function", "get_attr")]
        self.x2one = {v: k for k, v in an.to_exec.items()}
        out = [n for n in an.prog1.graph.nodes if n.op == "output"][0].args[0]
        while isinstance(out, (list, tuple)):
            out = out[0]
        self.out = out
        # Alice: whatever the message parts (and the split ops' inputs) need
        targets = []
        for p in cut.parts:
            targets.append(p.node)
            if p.kind == "carry":
                targets.extend(p.split.inputs)
        self.alice_nodes = _closure(targets, set(), an.tuple_nodes, {})
        # Bob: the output, stopping at values the message gives whole, reading split ops' Bob inputs
        whole = {p.node for p in cut.parts if p.kind == "elements" and bool(p.mask.all())}
        extra = {n: list(sp.inputs) for n, sp in cut.splits.items()}
        # values computed before the message (no path from a message part or split op to them), every element of
        # which depends on Alice's positions and none on Bob's: the checked cut says Bob's output reads none of
        # their values, so Bob fills them with zeros instead of recomputing them from filler tokens (e.g. the
        # earlier steps of an RNN whose outputs are stacked). Values after the message are his to compute.
        self.fill = set()
        if fill:
            import torch

            parts = {p.node for p in cut.parts} | set(cut.splits)
            after: set = set()
            todo = list(parts)
            while todo:
                n = todo.pop()
                for u in n.users:
                    if u not in after:
                        after.add(u)
                        todo.append(u)
            for n, d in an.deps.items():
                if isinstance(d, torch.Tensor) and n not in parts and n not in after and n.op == "call_function" \
                        and d.dim() > 1 and bool((d & an.alice_word).ne(0).any(-1).all()) \
                        and not bool((d & an.bob_word).ne(0).any()):
                    self.fill.add(n)
        self.bob_nodes = _closure([out], whole | self.fill, an.tuple_nodes, extra)
        self.batch = an.progx.batch

    # -- running the exec program ---------------------------------------------------------------------
    def _run(self, tokens: Any, needed: set, on_value: Any = None) -> dict:
        import torch
        import torch.fx as fx

        an = self.an
        values: dict = {}
        params = list(an.progx.params.values())
        phs = an.prog1.placeholders()
        for node, p in zip(phs[:-1], params):
            values[node] = p
        values[phs[-1]] = tokens

        def val(a: Any) -> Any:
            if isinstance(a, fx.Node):
                return values[self.x2one[a]]
            if isinstance(a, (list, tuple)):
                return type(a)(val(x) for x in a)
            if isinstance(a, dict):
                return {k: val(x) for k, x in a.items()}
            return a

        with torch.no_grad():
            for n1 in self.order:
                if n1.op == "get_attr":
                    values[n1] = _attr(an.progx.graph_module, an.to_exec[n1].target)
                    continue
                if n1.op != "call_function" or n1 not in needed:
                    continue
                nx_ = an.to_exec[n1]
                if on_value is not None and on_value(n1, values, None) is not None:
                    continue
                v = nx_.target(*val(nx_.args), **val(nx_.kwargs))
                values[n1] = v
                if on_value is not None:
                    on_value(n1, values, v)
        return values

    def _flat(self, node: Any, v: Any) -> Any:
        import torch

        bd = self.an.batch_dim[node]
        v = v.movedim(bd, 0)
        if v.is_complex():
            v = torch.view_as_real(v)
        return v.reshape(v.shape[0], -1)

    def _padded(self, tokens: Any) -> tuple[Any, int]:
        import torch

        k = tokens.shape[0]
        if k == self.batch:
            return tokens, k
        pad = tokens[-1:].expand(self.batch - k, -1)
        return torch.cat([tokens, pad]), k

    def alice(self, tokens: Any) -> Any:
        """Messages ``(B, S)`` float32 for full sequences ``tokens`` ``(B, T)`` (Bob's positions: any filler)."""
        import torch

        outs = []
        for s in range(0, tokens.shape[0], self.batch):
            chunk, k = self._padded(tokens[s:s + self.batch])
            values = self._run(chunk, self.alice_nodes)
            parts = []
            for p in self.cut.parts:
                if p.kind == "elements":
                    v = values[p.node]
                    bd = self.an.batch_dim[p.node]
                    m = p.mask.movedim(bd, 0)[0]
                    v = v.movedim(bd, 0)[:, m.to(v.device)]
                    if v.is_complex():
                        v = torch.view_as_real(v)
                    parts.append(v.reshape(v.shape[0], -1))
                elif p.split.runs:  # one run of her program per value of Bob's query tokens
                    pieces = []
                    for run, (pos, val) in enumerate(p.split.runs):
                        vals = values
                        if pos:
                            t2 = chunk.clone()
                            t2[:, list(pos)] = torch.as_tensor(val, dtype=t2.dtype, device=t2.device)
                            vals = self._run(t2, self.alice_nodes)
                        pieces.append(p.split.carry_piece(vals, run))
                    parts.append(self._flat(p.node, torch.cat(pieces, -2)))
                else:
                    parts.append(self._flat(p.node, p.split.carry(values)))
            msg = torch.cat([q.to(torch.float32) for q in parts], 1) if parts else \
                torch.zeros((chunk.shape[0], 0))
            outs.append(msg[:k])
        return torch.cat(outs) if outs else torch.zeros((0, self.cut.scalars))

    def _unflat(self, p: Any, flat: Any, like: Any) -> Any:
        """A message part ``(B, k)`` back into the shape of the value (elements) or carry."""
        import torch

        if like is not None and like.is_complex():
            flat = torch.view_as_complex(flat.to(torch.float32 if like.dtype == torch.complex64
                                                 else torch.float64).reshape(flat.shape[0], -1, 2).contiguous())
        elif like is not None:
            flat = flat.to(like.dtype)
        return flat

    def bob(self, messages: Any, tokens: Any) -> Any:
        """Logits ``(B, C)`` from messages ``(B, S)`` and full sequences ``tokens`` (Alice's positions: filler)."""
        import torch

        outs = []
        for s in range(0, tokens.shape[0], self.batch):
            chunk, k = self._padded(tokens[s:s + self.batch])
            m = messages[s:s + self.batch]
            if m.shape[0] != chunk.shape[0]:
                m = torch.cat([m, m[-1:].expand(chunk.shape[0] - m.shape[0], -1)])
            pieces, off = {}, 0
            for p in self.cut.parts:
                pieces[p.node] = (p, m[:, off:off + p.scalars])
                off += p.scalars
            whole = {p.node for p in self.cut.parts if p.kind == "elements" and bool(p.mask.all())}

            def on_value(n: Any, values: dict, v: Any, pieces: dict = pieces, whole: set = whole) -> Any:
                if n not in pieces:
                    if v is None and n in self.fill:
                        like = self.an.to_exec[n].meta["val"]
                        values[n] = torch.zeros(like.shape, dtype=like.dtype, device=tokens.device)
                        return True
                    return None
                p, flat = pieces[n]
                if v is None:  # before computing n
                    if p.kind == "carry":
                        bd = self.an.batch_dim[n]
                        shape = list(p.split.carry_shape)
                        like = self.an.values[n]
                        c = self._unflat(p, flat, like)
                        c = c.reshape(c.shape[0], *shape).movedim(0, bd)
                        values[n] = p.split.bob(values, c)
                        return True
                    if n in whole:
                        like = self.an.to_exec[n].meta["val"]
                        bd = self.an.batch_dim[n]
                        c = self._unflat(p, flat, like)
                        shape = [s_ for i, s_ in enumerate(like.shape) if i != bd]
                        values[n] = c.reshape(c.shape[0], *shape).movedim(0, bd)
                        return True
                    return None
                bd = self.an.batch_dim[n]
                mask = p.mask.movedim(bd, 0)[0]
                w = v.movedim(bd, 0).clone()
                w[:, mask.to(w.device)] = self._unflat(p, flat, v).reshape(w.shape[0], -1)
                values[n] = w.movedim(0, bd)
                return None

            values = self._run(chunk, self.bob_nodes, on_value)
            outs.append(values[self.out][:k])
        return torch.cat(outs)
