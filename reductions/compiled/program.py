"""Alice's and Bob's programs: the traced forward, run in two pieces around the cut (theory §4.3, step 5).

Alice runs the ops her message needs, on sequences holding her tokens (and the public ones; Bob's
positions hold a fixed filler, which her message does not depend on: the cut was checked), and reads the
message off: the cut's Alice elements and the carries of split ops, flattened into S float32 scalars.
Bob runs the ops his output needs on sequences holding his tokens (Alice's positions hold a filler),
with the message written over the cut's elements and the split ops replaced by their Bob parts.
Both run the program traced at :data:`~reductions.compiled.cut.EXEC_BATCH` rows, in padded chunks. Bob's values
that do not depend on the message (his own positions' embeddings and input projections) are computed once per
distinct token row and gathered for every message that row is asked of (an audit asks the same queries of every
message), and a select of one step of a stacked tensor (an RNN's outputs, then ``out[:, -1]``) reads that step.
Along each sequence axis Bob computes only the suffix his output reads (:mod:`reductions.compiled.compact`).
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


def _downstream(nodes: set) -> set:
    """Every node that reads (through any chain of ops) one of ``nodes``, not counting them."""
    after: set = set()
    todo = list(nodes)
    while todo:
        n = todo.pop()
        for u in n.users:
            if u not in after:
                after.add(u)
                todo.append(u)
    return after


#: rows of Bob's larger program, for calls with at least as many rows (an audit's answer grids)
BOB_BATCH = 4096


def _mutated(node: Any) -> bool:
    """Whether an op writes into one of its inputs in place (or its schema is unknown)."""
    schema = getattr(node.target, "_schema", None)
    return schema is None or schema.is_mutable


def _stack_selects(order: list) -> dict:
    """``select`` nodes that read one input of a ``stack`` through transposes and permutes that leave the other
    axes in order, each mapped to that input (its value, exactly: the select of a stack of equal tensors along the
    stacked axis is the stacked tensor). A select whose value is written in place is left alone."""
    import torch

    aten = torch.ops.aten
    found: dict = {}
    for n in order:
        if n.op != "call_function" or n.target is not aten.select.int or any(_mutated(u) for u in n.users
                                                                                 if u.op == "call_function"):
            continue
        src, dim, index = n.args[0], n.args[1], n.args[2]
        chain = []
        while getattr(src, "op", None) == "call_function" and src.target in (aten.transpose.int, aten.permute.default,
                                                                             aten.t.default):
            chain.append(src)
            src = src.args[0]
        if getattr(src, "op", None) != "call_function" or src.target is not aten.stack.default:
            continue
        inputs = list(src.args[0])
        rank = len(getattr(inputs[0], "meta", {}).get("val", ()).shape) + 1 if inputs else 0
        if rank == 0:
            continue
        axis = src.args[1] if len(src.args) > 1 else src.kwargs.get("dim", 0)
        axis %= rank
        labels = list(range(rank))  # the stack's axes, then moved by the chain
        for c in reversed(chain):
            if c.target is aten.permute.default:
                labels = [labels[i % rank] for i in c.args[1]]
            else:
                a, b = (0, 1) if c.target is aten.t.default else (c.args[1] % rank, c.args[2] % rank)
                labels[a], labels[b] = labels[b], labels[a]
        dim %= rank
        rest = labels[:dim] + labels[dim + 1:]
        if labels[dim] != axis or rest != sorted(rest) or not -len(inputs) <= index < len(inputs):
            continue
        found[n] = inputs[index]
    return found


def _distinct_rows(tokens: Any) -> tuple[Any, Any]:
    """The distinct rows of an integer matrix and each row's index among them (rows hashed to one integer, then
    checked; on a collision, torch's row-wise unique)."""
    import torch

    keys = (tokens.long() * _row_weights(tokens.shape[1]).to(tokens.device)).sum(1)
    _, first_of, inverse = _unique_keys(keys)
    distinct = tokens[first_of]
    if not torch.equal(distinct[inverse], tokens):  # two rows with one key
        return torch.unique(tokens, dim=0, return_inverse=True)
    return distinct, inverse


def _row_weights(width: int) -> Any:
    import torch

    return torch.randint(1, 1 << 31, (width,), generator=torch.Generator().manual_seed(0), dtype=torch.long)


def _unique_keys(keys: Any) -> tuple[Any, Any, Any]:
    import torch

    uniq, inverse = torch.unique(keys, return_inverse=True)
    first_of = torch.full((uniq.shape[0],), keys.shape[0], dtype=torch.long, device=keys.device)
    first_of.scatter_reduce_(0, inverse, torch.arange(keys.shape[0], device=keys.device), reduce="amin")
    return uniq, first_of, inverse


class CutPrograms:
    """Alice's and Bob's programs of a checked :class:`~reductions.compiled.cut.Cut`."""

    def __init__(self, cut: Any, fill: bool = True, model: Any = None) -> None:
        self.cut = cut
        self.model = model  # to trace Bob's program at BOB_BATCH rows (None: never)
        self._big: Any = None  # Bob's program at BOB_BATCH rows: None = not built yet, False = not available
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
        self.whole = whole = {p.node for p in cut.parts if p.kind == "elements" and bool(p.mask.all())}
        extra = {n: list(sp.inputs) for n, sp in cut.splits.items()}
        # values computed before the message (no path from a message part or split op to them), every element of
        # which depends on Alice's positions and none on Bob's: the checked cut says Bob's output reads none of
        # their values, so Bob fills them with zeros instead of recomputing them from filler tokens (e.g. the
        # earlier steps of an RNN whose outputs are stacked). Values after the message are his to compute.
        import torch

        self.fill = set()
        parts = {p.node for p in cut.parts} | set(cut.splits)
        after = _downstream(parts)
        if fill:
            for n, d in an.deps.items():
                if isinstance(d, torch.Tensor) and n not in parts and n not in after and n.op == "call_function" \
                        and d.dim() > 1 and bool((d & an.alice_word).ne(0).any(-1).all()) \
                        and not bool((d & an.bob_word).ne(0).any()):
                    self.fill.add(n)
        # Bob reads the one step of a stack his output selects (an RNN's outputs stacked, then out[:, -1]) without
        # stacking the rest
        self.alias = {n: src for n, src in _stack_selects(self.order).items() if n not in cut.splits}
        extra.update({n: [src] for n, src in self.alias.items()})
        self.bob_nodes = _closure([out], whole | self.fill, an.tuple_nodes, extra)
        self.batch = an.progx.batch
        self._small = (self.batch, an.to_exec, self.x2one, an.progx.graph_module)
        self._static_split(parts | after | self.fill | _downstream(self.fill), whole, extra)
        self.bob_run = self.bob_nodes - (self.static - self.frontier)  # the nodes Bob runs per message
        self._cache: tuple | None = None
        self._lo: tuple | None = None  # per node, the first index of its axes Bob's output reads, and the
        # nodes of his program it reads nothing of (compact.py's first_needed)
        self._compactors: dict = {}  # per exec program: Bob's program on suffixes, or None
        self._free: dict | None = None  # after each node of Bob's program, the values it frees

    def _static_split(self, touched: set, whole: set, extra: dict) -> None:
        """Split Bob's program into the values that do not depend on the message (his own positions' embeddings,
        input projections, ...: computed once per distinct token row and reused for every message) and the
        rest. ``frontier``: the message-independent values the rest reads, each gathered per row along its batch
        axis; one without a batch axis that depends on positions is computed with the rest instead."""
        import torch

        an = self.an
        dynamic = {n for n in self.bob_nodes if n in touched}

        def reads(n: Any) -> list:
            if n in whole or n in self.fill:
                return []
            return list(extra.get(n, ())) if n in extra else flat_nodes((n.args, n.kwargs))

        while True:
            static = {n for n in self.bob_nodes - dynamic if n.op == "call_function"}
            frontier = {a for n in dynamic for a in reads(n) if a in static}
            if self.out in static:
                frontier.add(self.out)
            bad = set()
            for f in frontier:
                d = an.deps.get(f)
                if f in an.batch_dim or (isinstance(d, torch.Tensor) and not bool(d.ne(0).any())):
                    continue  # gathered along its batch axis, or a constant of the parameters
                bad.add(f)
            if not bad:
                break
            dynamic |= bad | (_downstream(bad) & self.bob_nodes)  # computed per row, and so is all that reads them
        self.static, self.frontier = static, frontier

    # -- running the exec program ---------------------------------------------------------------------
    def _run(self, tokens: Any, needed: set, on_value: Any = None, alias: dict | None = None,
             prog: tuple | None = None, compact: Any = None, free: dict | None = None) -> dict:
        import torch
        import torch.fx as fx

        an = self.an
        _, to_exec, x2one, gm = prog or self._small
        values: dict = {}
        params = list(an.progx.params.values())
        phs = an.prog1.placeholders()
        for node, p in zip(phs[:-1], params):
            values[node] = p
        values[phs[-1]] = tokens

        def val(a: Any) -> Any:
            if isinstance(a, fx.Node):
                return values[x2one[a]]
            if isinstance(a, (list, tuple)):
                return type(a)(val(x) for x in a)
            if isinstance(a, dict):
                return {k: val(x) for k, x in a.items()}
            return a

        with torch.no_grad():
            for n1 in self.order:
                if n1.op == "get_attr":
                    values[n1] = _attr(gm, to_exec[n1].target)
                    continue
                if n1.op != "call_function" or n1 not in needed:
                    continue
                nx_ = to_exec[n1]
                if on_value is not None and on_value(n1, values, None) is not None:
                    if compact is not None:
                        compact.after(n1, values)
                    continue
                if alias is not None and n1 in alias:
                    v = values[alias[n1]]
                    if compact is not None and alias[n1] in compact.reps:
                        compact.reps[n1] = compact.reps[alias[n1]]
                elif compact is not None:
                    v = compact.call(n1, nx_, values, val)
                else:
                    v = nx_.target(*val(nx_.args), **val(nx_.kwargs))
                values[n1] = v
                if on_value is not None:
                    if compact is not None and n1 in compact.inject:
                        v = compact.full(n1, values)
                    on_value(n1, values, v)
                if compact is not None:
                    compact.after(n1, values)
                for f in (free or {}).get(n1, ()):  # values no later op reads
                    values.pop(f, None)
                    if compact is not None:
                        compact.reps.pop(f, None)
        return values

    def _free_plan(self) -> dict:
        """For Bob's program: after each node, the values no later node of it reads (his output kept), so that a
        chunk holds only the values still to be read (a long sequence's unrolled steps otherwise all stay in
        memory)."""
        if self._free is not None:
            return self._free
        run = self.bob_run
        last: dict = {}
        for n in self.order:
            if n not in run or n.op != "call_function":
                continue
            reads = list(flat_nodes((n.args, n.kwargs)))
            if n in self.cut.splits:
                reads += list(self.cut.splits[n].inputs)
            if n in self.alias:
                reads.append(self.alias[n])
            for u in reads:
                last[u] = n
        plan: dict = {}
        for n in self.order:
            if n in run and n.op == "call_function" and n is not self.out:
                plan.setdefault(last.get(n, n), []).append(n)
        self._free = plan
        return plan

    def _flat(self, node: Any, v: Any) -> Any:
        import torch

        bd = self.an.batch_dim[node]
        v = v.movedim(bd, 0)
        if v.is_complex():
            v = torch.view_as_real(v)
        return v.reshape(v.shape[0], -1)

    def _padded(self, rows: Any, batch: int | None = None) -> tuple[Any, int]:
        """``rows`` (along axis 0) padded to ``batch`` rows by repeating its last, and how many were given."""
        import torch

        batch = batch or self.batch
        k = rows.shape[0]
        if k == batch:
            return rows, k
        pad = rows[-1:].expand(batch - k, *rows.shape[1:])
        return torch.cat([rows, pad]), k

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

        prog = self._bob_program(messages, tokens)
        return self._bob(messages, tokens, prog)

    def _bob(self, messages: Any, tokens: Any, prog: tuple) -> Any:
        import torch

        rows, inverse = self._static_values(tokens)
        B, to_exec = prog[0], prog[1]
        outs = []
        compact = self._compactor(prog)
        for s in range(0, tokens.shape[0], B):
            chunk, k = self._padded(tokens[s:s + B], B)
            index, _ = self._padded(inverse[s:s + B], B)
            m, _ = self._padded(messages[s:s + B], B)
            pieces, off = {}, 0
            for p in self.cut.parts:
                pieces[p.node] = (p, m[:, off:off + p.scalars])
                off += p.scalars
            def on_value(n: Any, values: dict, v: Any, pieces: dict = pieces, whole: set = self.whole,
                         index: Any = index) -> Any:
                if v is None and n in rows:  # message-independent: computed once per distinct token row
                    r = rows[n]
                    bd = self.an.batch_dim.get(n)
                    values[n] = r if bd is None else r.index_select(0, index).movedim(0, bd)
                    return True
                if n not in pieces:
                    if v is None and n in self.fill:
                        like = to_exec[n].meta["val"]
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
                        like = to_exec[n].meta["val"]
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

            run, free = self.bob_run, self._free_plan()
            if compact is None:
                values = self._run(chunk, run, on_value, self.alias, prog, free=free)
            elif compact.checked:
                compact.reset(tokens.device)
                values = self._run(chunk, run, on_value, self.alias, prog, compact, free)
            else:  # its first run: Bob's program on suffixes must give what his full program gives
                values = self._run(chunk, run, on_value, self.alias, prog, free=free)
                try:
                    compact.reset(tokens.device)
                    got = self._run(chunk, run, on_value, self.alias, prog, compact, free)[self.out]
                    same = got.shape == values[self.out].shape and bool(
                        torch.allclose(got, values[self.out], atol=1e-5, rtol=1e-4, equal_nan=True))
                except Exception:  # noqa: BLE001 - some op's rule guessed wrong: the full program
                    same = False
                compact.checked = True
                if not same:
                    self._compactors[id(prog[3])] = compact = None
            outs.append(values[self.out][:k])
        return torch.cat(outs)

    def _compactor(self, prog: tuple) -> Any:
        """Bob's program on the suffixes his output reads (:mod:`reductions.compiled.compact`) for the exec
        program ``prog``; None where it does not apply (nothing to drop, an op that writes in place) or gave
        other logits than his full program."""
        key = id(prog[3])
        if key in self._compactors:
            return self._compactors[key]
        from reductions.compiled.compact import Compactor, first_needed

        self._compactors[key] = None
        run = self.bob_run
        if any(getattr(getattr(n.target, "_schema", None), "is_mutable", False) for n in run):
            return None
        if self._lo is None:
            cut = self.cut
            given: dict = {p.node: (True if p.node in self.whole else p.mask) for p in cut.parts
                           if p.kind == "elements"}
            given.update({n: True for n in self.fill | self.frontier})
            reads = {n: list(sp.inputs) for n, sp in cut.splits.items()}
            needed = self.an._needed(self.out, run, given, reads, self.alias)
            self._lo = first_needed(needed, self.an, self.an.to_exec)
        if not self._lo[0] and not self._lo[1]:
            return None
        keep = {self.out} | {i for sp in self.cut.splits.values() for i in sp.inputs}
        inject = {p.node for p in self.cut.parts if p.kind == "elements" and p.node not in self.whole}
        self._compactors[key] = Compactor(*self._lo, keep, inject, prog[1], prog[2])
        return self._compactors[key]

    def _bob_program(self, messages: Any, tokens: Any) -> tuple:
        """The exec program Bob runs ``tokens`` through: the one traced at EXEC_BATCH rows, or for calls of at least
        BOB_BATCH rows the same program at BOB_BATCH rows (its sizes from one fake run; fewer, larger ops), once it
        gives the small program's logits on the first rows of such a call."""
        import torch

        if tokens.shape[0] < BOB_BATCH or self.model is None or self._big is False:
            return self._small
        if self._big is None:
            from reductions.compiled.trace import rebatch

            self._big = False
            with torch.inference_mode(False):  # the fake run traces; it fails under a caller's inference mode
                big = rebatch(self.an.progx, self.model, BOB_BATCH, real=False)
            if big is None:
                return self._small
            n1, nb = list(self.an.prog1.graph.nodes), list(big.graph.nodes)
            if len(n1) != len(nb) or any(a.target != b.target for a, b in zip(n1, nb)):
                return self._small
            to_exec = dict(zip(n1, nb))
            prog = (BOB_BATCH, to_exec, {v: k for k, v in to_exec.items()}, big.graph_module)
            k = min(self.batch, tokens.shape[0])
            small = id(self._small[3])
            kept = self._compactors.pop(small, None)
            self._compactors[small] = None  # his full traced program's logits
            want = self._bob(messages[:k], tokens[:k], self._small)
            if kept is not None:
                self._compactors[small] = kept
            else:
                del self._compactors[small]
            compact = self._compactor(prog)
            if compact is not None:  # checked here, against the traced program, not against itself
                compact.checked = True
            try:
                got = self._bob(messages[:BOB_BATCH], tokens[:BOB_BATCH], prog)[:k]
            except Exception:  # noqa: BLE001 - the larger program does not run: Bob keeps the traced one
                return self._small
            if got.shape != want.shape or not torch.allclose(got, want, atol=1e-5, rtol=1e-5):
                return self._small
            self._big = prog
        return self._big

    def _static_values(self, tokens: Any) -> tuple[dict, Any]:
        """The frontier's message-independent values for each distinct row of ``tokens`` (rows along axis 0), and
        each row's index among them; the last distinct rows asked are kept (an audit asks the same queries of
        every batch of messages)."""
        import torch

        distinct, inverse = _distinct_rows(tokens)
        weights = tuple((p.data_ptr(), p._version) for p in self.an.progx.params.values())  # changed in place: again
        if self._cache is not None and self._cache[2] == weights and torch.equal(self._cache[0], distinct):
            return self._cache[1], inverse
        pieces: dict = {f: [] for f in self.frontier}
        for s in range(0, distinct.shape[0], self.batch):
            chunk, k = self._padded(distinct[s:s + self.batch])
            values = self._run(chunk, self.static, alias=self.alias)
            for f in self.frontier:
                bd = self.an.batch_dim.get(f)
                if bd is None:
                    pieces[f] = values[f]
                else:
                    pieces[f].append(values[f].movedim(bd, 0)[:k])
        rows = {f: (v if isinstance(v, torch.Tensor) else torch.cat(v)) for f, v in pieces.items()}
        self._cache = (distinct, rows, weights)
        return rows, inverse
