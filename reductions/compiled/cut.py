"""The cheapest cut of a traced program between Alice's input and Bob's computation (theory §4.3, step 4).

Every value of the program is split by the dependency analysis into its *Alice elements* (depending on
her positions and public ones only), its *mixed elements* (depending on both parties) and the rest.
A flow network is built: a source at Alice's tokens; for each value with Alice elements a node pair
whose arc has the capacity of those elements in bits (elements × dtype bits; a complex element is two
reals; the token ids themselves are never a candidate); Alice elements feed the Alice and mixed elements
of the values that read them, mixed elements feed mixed elements, and the output's elements feed the
sink. An op with a split rule (:mod:`reductions.compiled.rules`) instead routes its Alice inputs through
a carry arc. A minimum cut (networkx) is the message. The cut is then *checked*: the dependency analysis
is re-run on Bob's program (message elements and carries marked as the message, rules' Bob parts in
place of the split ops); the cut is accepted only if Bob's output depends on none of Alice's positions.

Examples
--------
>>> import torch
>>> from torch import nn
>>> class Elman(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.emb, self.W, self.U, self.out = nn.Embedding(6, 3), nn.Linear(3, 4), nn.Linear(4, 4), nn.Linear(4, 2)
...     def forward(self, x):
...         h = torch.zeros(x.shape[0], 4)
...         for t in range(x.shape[1]):
...             h = torch.tanh(self.W(self.emb(x[:, t])) + self.U(h))
...         return self.out(h)
>>> cut = find_cut(Elman().eval(), owners=("Alice",) * 4 + ("Bob",), tokens=[1, 0, 1, 1, 4])
>>> cut.scalars, [p.shape for p in cut.parts]
(4, [(4,)])
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any

from ccbounds.errors import ReductionNotApplicable
from reductions.compiled.positions import flat_nodes

__all__ = ["Cut", "CutPart", "find_cut", "EXEC_BATCH", "ANALYSIS_BATCH"]

#: batch size of the program Alice and Bob run (inputs are processed in chunks of this size, padded)
EXEC_BATCH = 256
#: values with more elements than this are taken as wholly needed by the output (no per-element probe)
MAX_PROBE = 1 << 14
#: rounds of the minimum cut that rank a copy of Alice's input spread over several values higher (see find_cut)
MAX_SPREAD_ROUNDS = 8
#: batch size of the program the dependency analysis runs (2, not 1: torch decomposes some ops differently
#: for a batch of one, and the two programs must run the same ops)
ANALYSIS_BATCH = 2


@dataclass(eq=False)
class CutPart:
    """One tensor of the message: the Alice elements of a value (``kind="elements"``) or a split op's
    carry (``kind="carry"``). ``shape`` is per example; ``scalars`` counts reals."""

    kind: str
    node: Any
    shape: tuple
    scalars: int
    bits: int
    dtype: Any
    where: str
    what: str
    mask: Any = None  # elements: boolean mask over the B=1 value
    split: Any = None  # carry: the Split
    grows: bool = False  # the part is indexed by Alice's positions (a copy of her input, grows with n)

    @property
    def name(self) -> str:
        return self.node.name


@dataclass(eq=False)
class Cut:
    parts: list
    analysis: Any
    exec_program: Any
    splits: dict = field(default_factory=dict)
    #: the cheapest cut in bits when it is cheaper than this one (it then grows with n): see theory §4.3
    cheapest: Any = None

    @property
    def scalars(self) -> int:
        return sum(p.scalars for p in self.parts)

    @property
    def bits(self) -> int:
        return sum(p.bits for p in self.parts)

    @property
    def grows_with_n(self) -> bool:
        return any(p.grows for p in self.parts)


def _user_frame(node: Any) -> str:
    """'file:line: code' of the innermost frame of the user's code that made ``node``."""
    st = node.meta.get("stack_trace") or ""
    frames = []
    lines = st.strip().splitlines()
    for i, line in enumerate(lines):
        s = line.strip()
        if s.startswith("File "):
            code = lines[i + 1].strip() if i + 1 < len(lines) else ""
            frames.append((s, code))
    user = [f for f in frames if "/torch/" not in f[0] and "/reductions/compiled/" not in f[0]]
    module = node.meta.get("module")
    where = f"module {module}, " if module else ""
    if not user:
        return where.rstrip(", ")
    head, code = user[-1]
    code = " ".join(code.split())
    try:
        path = head.split('"')[1]
        lineno = head.split("line ")[1].split(",")[0]
        func = head.split(" in ")[-1]
    except IndexError:
        return where + code
    return f"{where}{path.rsplit('/', 1)[-1]}:{lineno} in {func}: {code}"


def _inputs(node: Any, tuple_nodes: set) -> list:
    """The nodes ``node`` reads (through getitem of a multi-output op, that op's inputs)."""
    direct = flat_nodes(node.args[0]) if node.target is operator.getitem else flat_nodes((node.args, node.kwargs))
    out: list = []
    for a in direct:
        for b in (_inputs(a, tuple_nodes) if a in tuple_nodes else [a]):
            if b not in out:
                out.append(b)
    return out


class _Analysis:
    """Values, dependency tensors and element classes of the B=1 program, with the batch axis of every
    value (from the exec program)."""

    def __init__(self, prog1: Any, progx: Any, owners: tuple, tokens: Any, bob_values: Any = None) -> None:
        import torch

        from reductions.compiled.positions import WORD_BITS, DependencyAnalysis

        self.prog1, self.progx, self.owners = prog1, progx, owners
        self._bob_values = bob_values
        self._memo: dict = {}
        n1 = [n for n in prog1.graph.nodes]
        nx_ = [n for n in progx.graph.nodes]
        if len(n1) != len(nx_) or any(a.target != b.target for a, b in zip(n1, nx_)):
            raise ReductionNotApplicable(
                "the model's forward runs different ops for different batch sizes; the compiled reduction needs one "
                "program for every batch size")
        self.to_exec = dict(zip(n1, nx_))
        self.dep = DependencyAnalysis(prog1, tokens)
        self.values, self.deps = self.dep.values, self.dep.deps
        W = self.dep.W
        self.W = W

        def mask(positions: list) -> Any:
            m = torch.zeros(W, dtype=torch.long)
            for p in positions:
                m[p // WORD_BITS] |= 1 << (p % WORD_BITS)
            return m

        self.alice_word = mask([p for p, o in enumerate(owners) if o == "Alice"])
        self.bob_word = mask([p for p, o in enumerate(owners) if o == "Bob"])
        self.msg_bit = len(owners)
        self.tuple_nodes = {n for n in n1 if isinstance(self.deps.get(n), list)}
        self.alice_only: dict = {}
        self.mixed: dict = {}
        self.batch_dim: dict = {}
        self.alice_side: dict = {}  # elements Alice can compute (no Bob position), public ones included
        for n in n1:
            d = self.deps.get(n)
            if not isinstance(d, torch.Tensor):
                continue
            has_a = (d & self.alice_word).ne(0).any(-1)
            has_b = (d & self.bob_word).ne(0).any(-1)
            self.alice_side[n] = ~has_b
            if bool((has_a & ~has_b).any()):
                self.alice_only[n] = has_a & ~has_b
            if bool((has_a & has_b).any()):
                self.mixed[n] = has_a & has_b
        out = [n for n in n1 if n.op == "output"][0].args[0]
        while isinstance(out, (list, tuple)):
            out = out[0]
        self.needed = self._needed(out)
        for cls in (self.alice_only, self.mixed):
            for n in list(cls):
                m = cls[n] & self.needed[n] if n in self.needed and self.needed[n].shape == cls[n].shape else None
                if m is None or not bool(m.any()):
                    del cls[n]
                else:
                    cls[n] = m
        for n in n1:
            v1 = n.meta.get("val")
            vx = self.to_exec[n].meta.get("val")
            if isinstance(v1, torch.Tensor) and isinstance(vx, torch.Tensor) and v1.dim() == vx.dim():
                diff = [i for i, (a, b) in enumerate(zip(v1.shape, vx.shape)) if a != b]
                if len(diff) == 1 and v1.shape[diff[0]] == prog1.batch and vx.shape[diff[0]] == progx.batch:
                    self.batch_dim[n] = diff[0]

    def bob_values(self, positions: tuple) -> list | None:
        """Every joint value of Bob's tokens at ``positions`` over his inputs (None: unknown or too many)."""
        if self._bob_values is None:
            return None
        key = ("bob_values", tuple(positions))
        if key not in self._memo:
            self._memo[key] = self._bob_values(positions)
        return self._memo[key]

    def _needed(self, out: Any, within: set | None = None, given: dict | None = None,
                reads: dict | None = None, aliases: dict | None = None) -> dict:
        """Per value, the elements the output reads (through any path): a backward pass in which each op's rule is
        re-run with every element of one input carrying its own bit. Values with no position dependency are
        skipped (they are constants for both parties).

        For a program that computes some values otherwise (Bob's, around the cut): only nodes in ``within`` are
        run; ``given`` maps a node to its elements that are given (read from the message or a filler: they
        read nothing; True for all of them); ``reads`` maps a node to the nodes it reads whole instead of its
        op's inputs (a split op's Bob part); ``aliases`` a node to the one node whose value it is (a select of a
        stack read as the stacked item), read at the node's own elements."""
        import torch

        needed = {out: torch.ones(self.values[out].shape, dtype=torch.bool)}
        order = [n for n in self.prog1.graph.nodes if n.op == "call_function"]
        tok = self.prog1.placeholders()[-1]
        for v in reversed(order):
            if within is not None and v not in within:
                continue
            nv = needed.get(v)
            if given is not None and v in given and nv is not None:
                g = given[v]
                if g is True:
                    continue
                nv = nv & ~g.reshape(nv.shape)
            redirect = (reads or {}).get(v, (aliases or {}).get(v))
            if redirect is not None and nv is not None and bool(nv.any()):
                for u in (redirect if v in (reads or {}) else [redirect]):
                    d = self.deps.get(u)
                    if not isinstance(d, torch.Tensor):
                        continue
                    whole = v in (reads or {}) or tuple(d.shape[:-1]) != tuple(nv.shape)
                    hit = torch.ones(tuple(d.shape[:-1]), dtype=torch.bool) if whole else nv
                    needed[u] = needed[u] | hit if u in needed else hit
                continue
            base = str(v.target).split(".")[-2] if str(v.target).startswith("aten.") else ""
            u0 = v.args[0] if v.args and hasattr(v.args[0], "op") else None
            if base.endswith("_") and not base.startswith("_") and u0 in needed:  # later reads of u0 read v
                val = self.values.get(v)
                if hasattr(val, "shape") and tuple(val.shape) == tuple(needed[u0].shape):
                    nv = needed[u0] if nv is None else nv | needed[u0]
                    needed[v] = nv
            if nv is None or not bool(nv.any()):
                continue
            op = v.args[0] if v.target is operator.getitem else v
            placed = self._placed(op, nv) if op is v else None
            for u in flat_nodes((op.args, op.kwargs)):
                d = self.deps.get(u)
                if not isinstance(d, torch.Tensor) or not bool(d.ne(0).any()) or u.op == "placeholder" \
                        and u is not tok:
                    continue
                shape = tuple(d.shape[:-1])
                if placed is not None:
                    hit = placed[u]
                else:
                    try:
                        hit = self._probe_elements(op, v, u, shape, nv)
                    except Exception:  # noqa: BLE001 - unknown: every element is needed (sound)
                        hit = torch.ones(shape, dtype=torch.bool)
                needed[u] = needed[u] | hit if u in needed else hit
        return needed

    def _probe_elements(self, op: Any, v: Any, u: Any, shape: tuple, at: Any) -> Any:
        """The elements of ``u`` (of ``shape``) that the elements ``at`` of ``v`` read: the rule of ``v``'s op re-run
        with each element of ``u`` carrying its own bit; for a value of more than MAX_PROBE elements, each row
        (all but the last axis) carrying one bit, so a row is read as a whole (coarser, still sound); all of
        them where even its rows are too many."""
        import torch

        from reductions.compiled.positions import decode_elements, element_bits

        grouped = math.prod(shape) > MAX_PROBE
        rows = shape[:-1] if grouped else shape
        if not shape or math.prod(rows) > MAX_PROBE:
            return torch.ones(shape, dtype=torch.bool)
        marks, nb = element_bits(rows)
        if grouped:
            marks = marks.unsqueeze(-2).expand(*shape, marks.shape[-1]).contiguous()
        got = self.dep.probe(op, {u: marks}, nb)
        if v.target is operator.getitem:
            got = got[v.args[1]]
        hit = decode_elements(got[at], nb).reshape(rows)
        return hit.unsqueeze(-1).expand(shape).clone() if grouped else hit

    def _placed(self, op: Any, nv: Any) -> dict | None:
        """For ``cat`` and ``stack``, which only place their inputs: per input node, its elements at the needed
        elements ``nv`` of the output. Their rule moves each input's bit sets with the op itself, so the op on
        element ids gives what the per-element probe gives, for every input at once (and in one pass, not one
        per input). None for other ops."""
        import torch

        if op.target not in (torch.ops.aten.cat.default, torch.ops.aten.stack.default) or not op.args \
                or not isinstance(op.args[0], (list, tuple)) or op.kwargs.keys() - {"dim"}:
            return None
        items, vals = op.args[0], self.values
        first: dict = {}
        offset = 1  # id 0: an element of no input node
        for a in items:
            if hasattr(a, "op"):
                if not isinstance(self.deps.get(a), torch.Tensor):
                    return None  # the rule falls back for this op
                if a not in first:
                    first[a] = offset
                    offset += vals[a].numel()
        try:
            ids = [first[a] + torch.arange(vals[a].numel()).reshape(vals[a].shape) if hasattr(a, "op")
                   else torch.zeros(tuple(vals_a.shape), dtype=torch.long)
                   for a, vals_a in zip(items, self.dep._val(items))]
            dim = op.args[1] if len(op.args) > 1 else op.kwargs.get("dim", 0)
            out = op.target(ids, dim)
            if tuple(out.shape) != tuple(nv.shape):
                return None
            seen = torch.zeros(offset, dtype=torch.bool)
            seen[out[nv]] = True
        except Exception:  # noqa: BLE001 - the per-element probe decides
            return None
        return {a: seen[o:o + vals[a].numel()].reshape(vals[a].shape) for a, o in first.items()}

    def read_mask(self, u: Any, v: Any) -> Any:
        """The Alice elements of ``u`` that the mixed elements of ``v`` read (per-element probe of ``v``'s op);
        all of them where the probe cannot tell."""

        mine = self.alice_only[u]
        op = v.args[0] if v.target is operator.getitem else v
        try:
            hit = self._probe_elements(op, v, u, tuple(mine.shape), self.mixed[v])
        except Exception:  # noqa: BLE001 - unknown: every Alice element is read (sound)
            return mine
        return hit & mine

    def reads(self, u: Any, v: Any, source: str = "alice") -> tuple[bool, bool]:
        """Whether the Alice (``source="alice"``) or mixed elements of ``u`` reach (the Alice elements, the mixed
        elements) of ``v``: the rule of ``v``'s op re-run with only those elements of ``u`` marked."""
        key = ("reads", u, v, source)
        if key not in self._memo:
            self._memo[key] = self._reads(u, v, source)
        return self._memo[key]

    def _reads(self, u: Any, v: Any, source: str) -> tuple[bool, bool]:
        import torch

        from reductions.compiled.positions import WORD_BITS

        op = v.args[0] if v.target is operator.getitem else v
        # one word whose only bit is the message bit's place in its word: every rule treats each bit (and each
        # word) alike, so this is the message word's column of the full probe
        bit = self.msg_bit % WORD_BITS
        mark = 1 << bit
        try:
            d = self.deps[u]
            marks = {}
            if isinstance(d, torch.Tensor):
                z = torch.zeros((*d.shape[:-1], 1), dtype=torch.long)
                z[(self.alice_only if source == "alice" else self.mixed)[u]] = mark
                marks[u] = z
            out = self.dep.probe(op, marks, bit + 1)
        except Exception:  # noqa: BLE001 - unknown: assume it reads (sound)
            return v in self.alice_only, v in self.mixed
        if v.target is operator.getitem:
            out = out[v.args[1]] if isinstance(out, (list, tuple)) else None
        if not isinstance(out, torch.Tensor):
            return v in self.alice_only, v in self.mixed
        hit = (out & mark).ne(0).any(-1)
        to_a = v in self.alice_only and bool(hit[self.alice_only[v]].any())
        to_m = v in self.mixed and bool(hit[self.mixed[v]].any())
        return to_a, to_m

    def message_word(self) -> Any:
        import torch

        from reductions.compiled.positions import WORD_BITS

        m = torch.zeros(self.W, dtype=torch.long)
        m[self.msg_bit // WORD_BITS] |= 1 << (self.msg_bit % WORD_BITS)
        return m


def _dtype_bits(dtype: Any) -> tuple[int, int]:
    """(reals per element, bits per real) of a dtype."""
    import torch

    if dtype.is_complex:
        return 2, torch.finfo(dtype).bits
    if dtype.is_floating_point:
        return 1, torch.finfo(dtype).bits
    return 1, (torch.iinfo(dtype).bits if dtype != torch.bool else 1)


def _row_ids(rows: Any) -> Any:
    """For an integer matrix (K, W), the index of each row among its distinct rows (0..distinct-1): the ids of the
    columns' values combined column by column (a 1-D ``unique`` each, faster than ``unique(dim=0)``)."""
    import torch

    ids = None
    for w in range(rows.shape[1]):
        _, col = torch.unique(rows[:, w], return_inverse=True)
        ids = col if ids is None else ids * (int(col.max()) + 1) + col  # < K * K: no overflow
        ids = torch.unique(ids, return_inverse=True)[1]
    return ids if ids is not None else torch.zeros(rows.shape[0], dtype=torch.long)


def _partial(mask: Any, deps: Any, alice_word: Any) -> bool:
    """True if some Alice element of the part depends on only some of Alice's positions (an intermediate value
    along her sequence: a cut through several of them is a copy of her input spread over many values)."""
    d = deps[mask] & alice_word
    return bool((d != alice_word).any())


def _grows(mask: Any, deps: Any, alice_word: Any, n_alice: int) -> bool:
    """True if the part is a copy of Alice's input indexed by her positions: along some axis its Alice slices
    depend on at least max(2, #Alice positions) different sets of her positions (per example).

    Vectorised: every distinct Alice-dependency row of the masked elements gets an id (one ``unique``); a slice's
    set is its row of a (slices x ids) incidence matrix, and the distinct non-empty rows are counted."""
    import torch

    need = max(2, n_alice)
    if mask.dim() == 0 or all(s < need for s in mask.shape) or not bool(mask.any()):
        return False
    rows = deps[mask] & alice_word  # (K, W), row-major like mask.nonzero()
    if bool((rows == rows[0]).all()):  # one set for every slice
        return False
    ids = _row_ids(rows)
    n_ids = int(ids.max()) + 1
    if n_ids < 63 and (1 << n_ids) - 1 < need:  # fewer possible non-empty sets of ids than needed
        return False
    where = mask.nonzero()  # (K, dims)
    for dim in range(mask.dim()):
        size = mask.shape[dim]
        if size < need:
            continue
        if size * n_ids <= 1 << 26:
            inc = torch.zeros((size, n_ids), dtype=torch.bool)
            inc[where[:, dim], ids] = True
            inc = inc[inc.any(1)]
            if inc.shape[0] >= need and int(_row_ids(inc.long()).max()) + 1 >= need:
                return True
        else:  # too many (slice, id) pairs for a dense matrix: the sets of ids, slice by slice
            pairs = torch.unique(torch.stack([where[:, dim], ids], 1), dim=0).tolist()
            sets: dict = {}
            for i, j in pairs:
                sets.setdefault(i, []).append(j)
            if len({tuple(v) for v in sets.values()}) >= need:
                return True
    return False


def _build_network(an: Any, splits: dict, promoted: frozenset | set = frozenset(), rank_partial: bool = False) -> Any:
    import networkx as nx

    G = nx.DiGraph()
    G.add_node("src")
    G.add_node("sink")
    nodes = [n for n in an.prog1.graph.nodes if n.op in ("call_function", "placeholder")]
    tok = an.prog1.placeholders()[-1]
    cand: dict = {}
    n_alice = sum(o == "Alice" for o in an.owners)
    pending = []
    for n in nodes:
        if n not in an.alice_only:
            continue
        if n is tok:
            G.add_edge("src", ("A_out", n))
            continue
        val = an.values[n]
        ok = (n in an.batch_dim and hasattr(val, "dtype") and (val.dtype.is_floating_point or val.dtype.is_complex))
        if ok:
            reals, bits = _dtype_bits(val.dtype)
            key = ("cand", n)
            if key not in an._memo:
                bd = an.batch_dim[n]
                m1 = an.alice_only[n].movedim(bd, 0)[0]
                d1 = an.deps[n].movedim(bd, 0)[0]
                an._memo[key] = (int(m1.sum()), _grows(m1, d1, an.alice_word, n_alice),
                                 _partial(m1, d1, an.alice_word))
            k, grows, partial = an._memo[key]
            cand[n] = (k * reals, k * reals * bits, grows)
            tier = 2 if grows or n in promoted else int(partial and rank_partial)
            pending.append((n, k * reals * bits, tier))
        else:
            G.add_edge(("A_in", n), ("A_out", n))
    # the cut is chosen lexicographically: fewest bits of copies of Alice's input (parts that grow with n, and
    # ``promoted`` values), then (with ``rank_partial``, once a cut was found spread along her sequence) fewest bits
    # of values that depend on only some of her positions (the layer-1 outputs of a stacked RNN at every position
    # undercut the stack's state at small n), then the fewest bits. Each tier's weight exceeds every
    # capacity of the tiers below together (each value's Alice elements bound every edge out of it: at most
    # len(nodes) edges each)
    total = (1 + sum(c for _, c, _ in pending) + sum(sp.carry_scalars * 64 for sp in splits.values())) \
        * (2 + len(nodes))
    weight = (1, 1 + total, 1 + total * (1 + total))

    def capacity(c: int, tier: int) -> int:
        return c * weight[tier]

    for n, c, tier in pending:
        G.add_edge(("A_in", n), ("A_out", n), capacity=capacity(c, tier), bits=c)
    edge_masks: dict = {}
    for n, sp in splits.items():
        reals, bits = _dtype_bits(an.values[n].dtype)
        G.add_edge(("C_in", n), ("C_out", n), capacity=sp.carry_scalars * bits, bits=sp.carry_scalars * bits)
        G.add_edge(("C_out", n), ("M", n))
        if sp.from_source:
            G.add_edge("src", ("C_in", n))
    for v in nodes:
        if v.op != "call_function" or v in an.tuple_nodes:
            continue
        sp = splits.get(v)
        if sp is not None and sp.from_source:
            continue  # Bob's part reads the carry and elements of his own only
        for u in _inputs(v, an.tuple_nodes):
            if u in an.alice_only:
                to_a, to_m = an.reads(u, v) if v.target is not operator.getitem or u in flat_nodes(
                    v.args[0].args) else (v in an.alice_only, v in an.mixed)
                if to_a:
                    G.add_edge(("A_out", u), ("A_in", v))
                if sp is not None and u in sp.alice_inputs:
                    G.add_edge(("A_out", u), ("C_in", v))
                elif to_m:
                    # Bob's part of v reads some of u's Alice elements: sending just those cuts this edge
                    if u in cand:
                        key = ("edge", u, v)
                        if key not in an._memo:
                            m = an.read_mask(u, v)
                            bd = an.batch_dim[u]
                            m1 = m.movedim(bd, 0)[0]
                            d1 = an.deps[u].movedim(bd, 0)[0]
                            an._memo[key] = (m, int(m1.sum()), _grows(m1, d1, an.alice_word, n_alice),
                                             _partial(m1, d1, an.alice_word))
                        m, k, g, partial = an._memo[key]
                        reals, bits = _dtype_bits(an.values[u].dtype)
                        edge_masks[(u, v)] = (m, k, g)
                        c = k * reals * bits
                        tier = 2 if g or u in promoted else int(partial and rank_partial)
                        G.add_edge(("A_out", u), ("M", v), capacity=capacity(c, tier), bits=c)
                    else:
                        G.add_edge(("A_out", u), ("M", v))
            if u in an.mixed and v in an.mixed and an.reads(u, v, "mixed")[1]:
                G.add_edge(("M", u), ("M", v))
    out = [n for n in an.prog1.graph.nodes if n.op == "output"][0].args[0]
    while isinstance(out, (list, tuple)):
        out = out[0]
    if out in an.mixed:
        G.add_edge(("M", out), "sink")
    if out in an.alice_only:
        G.add_edge(("A_out", out), "sink")
    G.graph["edge_masks"] = edge_masks
    return G, cand, out


def find_cut(model: Any, owners: tuple, tokens: Any, *, exec_batch: int = EXEC_BATCH, programs: Any = None,
             bob_values: Any = None, source_lines: bool = True, cheapest_in_bits: bool = True,
             spread: bool = True) -> Cut:
    """The cheapest checked cut of ``model``'s traced forward for a sequence with these ``owners``.

    ``tokens`` is one concrete sequence (any valid one: the dependency analysis runs on it); ``bob_values(positions)``
    lists every joint value of Bob's tokens at those positions (for Lemma T's split; None: none enumerated).
    ``cheapest_in_bits=False`` skips the cut in bits alone (``Cut.cheapest``), e.g. where only the size of the
    returned cut is read. ``spread=False`` keeps the first cheapest cut even where it is spread along Alice's
    sequence (see :func:`_spread`): the caller finds it again with ``spread=True`` if that cut grows with n.

    Raises
    ------
    ReductionNotApplicable
        The forward cannot be compiled, or no checked cut exists (the message says why).
    """
    import networkx as nx
    import torch
    from networkx.algorithms.flow import boykov_kolmogorov

    from reductions.compiled.rules import split_rules
    from reductions.compiled.trace import rebatch, trace_forward

    T = len(owners)
    if programs is None:
        # one trace, at the exec batch; the analysis program is the same program re-run at ANALYSIS_BATCH (its
        # sizes logged from one real run), or, where that run's ops differ, a second trace
        progx = trace_forward(model, T, exec_batch, stack_traces=source_lines)
        prog1 = rebatch(progx, model, ANALYSIS_BATCH) or trace_forward(model, T, ANALYSIS_BATCH,
                                                                       stack_traces=source_lines)
    else:
        prog1, progx = programs
    device = next(iter(prog1.params.values())).device if prog1.params else "cpu"
    tok = torch.as_tensor([list(tokens)] * prog1.batch, dtype=torch.long, device=device)
    try:
        an = _Analysis(prog1, progx, tuple(owners), tok, bob_values)
    except ReductionNotApplicable:
        raise
    except Exception as e:  # noqa: BLE001 - the user's ops failed on a real sequence of the gadget
        raise ReductionNotApplicable(
            f"the model's forward fails on the gadget's sequences ({type(e).__name__}: {' '.join(str(e).split())[:200]}"
            "); check that its vocabulary and maximum length cover the task") from None
    splits: dict = {}
    for n in an.prog1.graph.nodes:
        if n.op != "call_function" or n not in an.mixed:
            continue
        for rule in split_rules():
            sp = rule.match(n, an)
            if sp is not None:
                splits[n] = sp
                break
    # a split op's Bob part is one way for Bob to get its value, computing it from its inputs another: a flow
    # network holds one of them, so the cut is found with every split rule applied and with the rules whose
    # carry Alice computes from her raw input (Lemma T's) left out, and the better one is kept
    nets = [splits]
    if any(sp.from_source for sp in splits.values()):
        nets.append({n: sp for n, sp in splits.items() if not sp.from_source})
    best = cheapest = None
    n_alice = sum(o == "Alice" for o in owners)
    for sps in nets:
        # a cut spread over values along her sequence is found again with such values ranked above the rest (the
        # second tier), then with the spread values themselves in the top tier, until the cut is not spread
        promoted: set = set()
        rank_partial = False
        for _ in range(MAX_SPREAD_ROUNDS):
            G, cand, out = _build_network(an, sps, promoted, rank_partial)
            # the source side of networkx's minimum cut is the set of nodes that cannot reach the sink in the
            # residual network of a maximum flow, the same for every maximum flow: the algorithm changes only the time
            try:
                value, (reach, _) = nx.minimum_cut(G, "src", "sink", flow_func=boykov_kolmogorov)
            except nx.NetworkXUnbounded:  # a path of arcs that cannot be cut: no finite cut in this network
                value = math.inf
            if not math.isfinite(value):
                break
            found = _extract(G, reach, an, sps, cand, progx)
            if not spread:
                break
            nodes, sets = _spread(found, an)
            if sets < max(2, n_alice):  # not a copy of her input spread over tensors
                break
            if not rank_partial:
                rank_partial = True
                continue
            if nodes <= promoted:
                break
            promoted |= nodes  # a copy of her input spread over these values: cut elsewhere if anything else can
        if not math.isfinite(value):
            continue
        if best is None or value < best[0]:
            best = (value, found)
        if not cheapest_in_bits:
            continue
        try:
            bits, (reach2, _) = nx.minimum_cut(G, "src", "sink", capacity="bits", flow_func=boykov_kolmogorov)
        except nx.NetworkXUnbounded:  # pragma: no cover - the same arcs are finite as in the network above
            continue
        if cheapest is None or bits < cheapest[0]:
            cheapest = (bits, _extract(G, reach2, an, sps, cand, progx))
    if best is None:
        raise ReductionNotApplicable(
            "no finite cut separates Alice's input from Bob's computation in the compiled program (a value both "
            "parties need cannot be sent: it is not a floating-point tensor with a batch axis)")
    cut = best[1]
    check_cut(cut)
    # the cheapest cut in bits alone, whatever grows with n: the message to report when every cut grows
    if cheapest is not None and cheapest[1].scalars < cut.scalars:
        check_cut(cheapest[1])
        cut.cheapest = cheapest[1]
    return cut


def _spread(cut: Cut, an: Any) -> tuple[set, int]:
    """The values of the cut's element parts that depend on only some of Alice's positions, and how many
    different sets of her positions the cut's elements depend on, pooled over the parts (as many as her
    positions: the cut is a copy of her input spread over several tensors, e.g. every position's input projection,
    or the layer-1 outputs of a stacked RNN at every position)."""
    nodes, sets = set(), set()
    full = tuple(an.alice_word.tolist())
    for p in cut.parts:
        if p.kind != "elements":
            continue
        d = an.deps[p.node][p.mask] & an.alice_word
        part = {tuple(r) for r in d.reshape(-1, d.shape[-1]).unique(dim=0).tolist()}
        sets |= part
        if part - {full}:
            nodes.add(p.node)
    return nodes, len(sets)


def _extract(G: Any, reach: set, an: Any, splits: dict, cand: dict, progx: Any) -> Cut:
    """The message of the cut whose source side is ``reach``."""
    parts = []
    for u, v in G.edges:
        if u in reach and v not in reach and "capacity" in G.edges[u, v]:
            kind, node = u
            if kind == "A_in":
                val = an.values[node]
                reals, bits = _dtype_bits(val.dtype)
                mask = an.alice_only[node]
                bd = an.batch_dim[node]
                m1 = mask.movedim(bd, 0)[0]
                k = int(m1.sum())
                shape = tuple(m1.shape)
                grows = cand[node][2]
                parts.append(CutPart("elements", node, (k,) if k != math.prod(shape) else shape, k * reals,
                                     k * reals * bits, val.dtype, _user_frame(node),
                                     f"{k} of the {math.prod(shape)} elements of {node.name}", mask=mask,
                                     grows=grows))
            elif kind == "A_out" and v[0] == "M":  # the elements of node that one op of Bob's reads
                val = an.values[node]
                reals, bits = _dtype_bits(val.dtype)
                mask, k, grows = G.graph["edge_masks"][(node, v[1])]
                bd = an.batch_dim[node]
                total = math.prod(tuple(mask.movedim(bd, 0)[0].shape))
                parts.append(CutPart("elements", node, (k,), k * reals, k * reals * bits, val.dtype,
                                     _user_frame(node), f"{k} of the {total} elements of {node.name} (those "
                                     f"{v[1].name} reads)", mask=mask, grows=grows))
            elif kind == "C_in":
                sp = splits[node]
                val = an.values[node]
                reals, bits = _dtype_bits(val.dtype)
                parts.append(CutPart("carry", node, sp.carry_shape, sp.carry_scalars, sp.carry_scalars * bits,
                                     val.dtype, _user_frame(node), sp.what, split=sp))
    order = {n: i for i, n in enumerate(an.prog1.graph.nodes)}
    parts.sort(key=lambda p: order[p.node])
    return Cut(parts, an, progx, {p.node: p.split for p in parts if p.kind == "carry"})


def check_cut(cut: Cut) -> None:
    """Re-run the dependency analysis on Bob's program (message elements and carries marked as the message,
    split ops replaced by their Bob parts): Bob's output must depend on none of Alice's positions.

    Raises
    ------
    ReductionNotApplicable
        When it does (the cut is not a one-way protocol).
    """
    from reductions.compiled.positions import DependencyAnalysis

    an = cut.analysis
    msg = an.message_word()
    overrides: dict = {}
    for p in cut.parts:
        if p.kind == "elements":
            m = p.mask

            def inject(d: Any, dep: Any = None, node: Any = None, m: Any = m) -> Any:
                d = d.clone()
                d[m] = msg
                return d

            overrides[p.node] = inject
        else:
            sp = p.split
            overrides[p.node] = (lambda d, dep=None, node=None, sp=sp: sp.bob_deps(dep, d))
    tok = an.values[an.prog1.placeholders()[-1]]
    bob = DependencyAnalysis(an.prog1, tok, overrides={n: _bind(f) for n, f in overrides.items()},
                             message_bit=an.msg_bit)
    out = [n for n in an.prog1.graph.nodes if n.op == "output"][0].args[0]
    while isinstance(out, (list, tuple)):
        out = out[0]
    leak = (bob.deps[out] & an.alice_word).ne(0)
    if bool(leak.any()):
        raise ReductionNotApplicable(
            "the compiled cut does not separate the parties: Bob's output still depends on Alice's positions "
            "(an op without a rule mixes positions in a way the cut cannot split); please report this model")


def _bind(f: Any) -> Any:
    return f
