"""The compiled reduction: the user's own forward, traced and cut, as a one-way protocol (theory §4.3).

:class:`CompiledProtocol` is an :class:`~ccbounds.protocols.induced.InducedProtocol` whose message is the
cheapest checked cut of the traced forward (:mod:`reductions.compiled.cut`): S float32 scalars, the Alice
elements of the cut's values and the carries of split ops, each named with the source line of the user's
code that made it. It is validated against the model's real forward (logits against logits) at the
gadget's own length on every input when there are at most 512 pairs, else on 512 sampled pairs.

Examples
--------
>>> import torch
>>> from torch import nn
>>> from ccbounds.problems import INDEX
>>> class CellLoop(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.emb, self.cell, self.head = nn.Embedding(6, 3), nn.GRUCell(3, 5), nn.Linear(5, 2)
...     def forward(self, x):
...         h = torch.zeros(x.shape[0], 5)
...         for t in range(x.shape[1]):
...             h = self.cell(self.emb(x[:, t]), h)
...         return self.head(h)
>>> _ = torch.manual_seed(0)
>>> p = compile_reduction(CellLoop().eval(), INDEX(3))
>>> p.scalars, p.message_grows_with_n
(5, False)
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Sequence
from typing import Any

from ccbounds.errors import ReductionNotApplicable
from ccbounds.protocols.induced import InducedProtocol
from ccbounds.protocols.reference import ForwardOnly

__all__ = ["CompiledProtocol", "compile_reduction", "VALIDATION_INPUTS"]

#: random inputs of the gadget on which the compiled protocol is compared with the model's forward
VALIDATION_INPUTS = 512
ATOL = RTOL = 1e-4


class CompiledProtocol(InducedProtocol):
    """Alice runs her part of the user's traced forward and sends the cut; Bob runs the rest."""

    lemma = "the cut theorem (theory §4.3): Alice sends a cut of the traced program"

    def __init__(self, model: Any, gadget: Any, *, device: Any = None, seed: int = 0, validate: bool = True,
                 _cached: bool = True) -> None:
        import torch

        from reductions.compiled.cut import find_cut
        from reductions.compiled.program import CutPrograms

        if device is None:
            p0 = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
            device = p0.device if p0 is not None else "cpu"
        self._x0, self._y0 = gadget.problem.sample(1, seed=seed)[0]  # fillers (never enumerate: n may be large)
        seq = gadget.sequences([self._x0], [self._y0])
        if seq.dtype.kind not in "iu":
            raise ReductionNotApplicable(
                f"the gadget {gadget.name} feeds vectors, not token ids; the compiled reduction traces token models")
        key = _cache_key(model, gadget, seq[0].tolist(), device)
        # a cached cut is reused only when this protocol is validated against the forward (which may have changed:
        # a flag it reads) and the cut's program reads the model's current weight tensors (not replaced ones)
        hit = _COMPILED.get(model, {}).get(key) if key is not None and _cached and validate else None
        if hit is not None and not _same_tensors(hit[0], model):
            hit = None
        def cut_at_n(spread: bool) -> Any:
            return find_cut(model, gadget.owners, seq[0].tolist(), bob_values=lambda pos: _bob_values(gadget, pos),
                            spread=spread)

        cut = cut_at_n(False) if hit is None else hit[0]
        self.cut, self._S = cut, cut.scalars
        super().__init__(model, ForwardOnly(model), gadget, name=f"{gadget.name} via the compiled cut",
                         device=device)
        if hit is None:
            self.message_grows_with_n, self.growth_note = self._growth(model, gadget, spread=False)
            if self.message_grows_with_n or self.growth_note.endswith(_UNJUDGED):
                # the cheapest cut grows with n (or could not be compared): it may be a copy of Alice's input
                # spread over tensors (a stacked RNN's layer-1 outputs at every position); found again with
                # values that depend on only some of her positions ranked above the rest (theory §4.3)
                again = cut_at_n(True)
                if again.scalars != cut.scalars or [p.node for p in again.parts] != [p.node for p in cut.parts]:
                    self.cut, self._S = again, again.scalars
                    self.message_grows_with_n, self.growth_note = self._growth(model, gadget, spread=True)
            if self.message_grows_with_n and self.cut.cheapest is not None:
                # no cut of constant size was found: report the cheapest one at this n (it grows too)
                self.growth_note += (f"; sent instead: the cut with the fewest bits at n ({self.cut.cheapest.scalars} "
                                     "scalars, e.g. Alice's embeddings), which grows too")
                self.cut = self.cut.cheapest
            if key is not None:
                _COMPILED.setdefault(model, {})[key] = (self.cut, self.message_grows_with_n, self.growth_note)
        else:
            self.message_grows_with_n, self.growth_note = hit[1], hit[2]
        self._S = self.cut.scalars
        self.message_bits = self._S * 32
        self.programs = CutPrograms(self.cut, model=model)
        if validate:
            try:
                with torch.no_grad():
                    self._validate(seed)
            except ReductionNotApplicable:
                if hit is None:
                    raise
                # the model changed since its cut was cached (e.g. its forward reads a new attribute): compile again
                _COMPILED.get(model, {}).pop(key, None)
                self.__init__(model, gadget, device=device, seed=seed, validate=validate, _cached=False)

    @property
    def scalars(self) -> int:
        return self._S

    def _growth(self, model: Any, gadget: Any, spread: bool = True) -> tuple[bool, str]:
        """Whether the message grows with n: a part indexed by Alice's positions (a copy of her input), or
        another cheapest cut for the same gadget at n + 1 (the program is compiled again there; at n - 1 when
        the model cannot run at n + 1, e.g. its positions end at this length)."""
        from reductions.compiled.cut import find_cut

        if self.cut.grows_with_n:
            return True, "a part of the cut is indexed by Alice's positions"
        from reductions.gadgets import get_gadget

        first: Exception | None = None
        n = self.problem.n
        if not isinstance(n, int):
            return False, f"the problem has no size parameter n, so {_UNJUDGED}"
        superset = _enumerates_vocabulary(gadget)  # list Bob's token values the same way at both lengths
        for m in (n + 1, n - 1):  # n - 1 where the model cannot run at n + 1
            try:
                if m < 1:
                    raise ValueError("no shorter problem")
                other = self.problem.resized(m)
                g2 = get_gadget(other, gadget.task.name)
                if g2.name.replace(str(m), "?") != gadget.name.replace(str(n), "?"):
                    raise ValueError("a gadget of another family")
                if _enumerates_vocabulary(g2) != superset:  # Bob's values listed another way there: not comparable
                    raise ValueError("Bob's token values are listed another way at this length")
                x2, y2 = other.sample(1, seed=0)[0]
                seq = g2.sequences([x2], [y2])
                S2 = find_cut(model, g2.owners, seq[0].tolist(), exec_batch=3, source_lines=False,
                              bob_values=lambda pos, g2=g2: _bob_values(g2, pos),
                              cheapest_in_bits=False, spread=spread).scalars
            except Exception as e:  # noqa: BLE001 - no other length to compare: try the next, else say so
                first = first or e
                continue
            at = "n + 1" if m > n else "n - 1"
            if (S2 > self._S) == (m > n) and S2 != self._S:
                return True, f"the cut found at {at} has {S2} scalars, against {self._S} at n"
            if S2 != self._S:  # another kind of cut at the other length: no constant size can be claimed
                return True, (f"the cut found at {at} has {S2} scalars against {self._S} at n: a cut of another "
                              "kind, so no constant size is claimed")
            return False, f"the cut found at {at} has the same {S2} scalars"
        return False, (f"the cut at n + 1 and n - 1 could not be compiled ({type(first).__name__}), so {_UNJUDGED}")

    def _tokens(self, xs: Sequence[Any], ys: Sequence[Any]) -> Any:
        import torch

        seq = self.gadget.sequences(list(xs), list(ys))
        return torch.as_tensor(seq, dtype=torch.long, device=self.device)

    def alice_messages(self, xs: Sequence[Any]) -> Any:
        return self.programs.alice(self._tokens(xs, [self._y0] * len(xs)))

    def bob_tokens(self, ys: Sequence[Any]) -> Any:
        """Full sequences for Bob's inputs (Alice's positions hold a fixed filler he never reads)."""
        return self._tokens([self._x0] * len(ys), ys)

    def bob_logits_from_tokens(self, messages: Any, tokens: Any) -> Any:
        return self.programs.bob(messages.to(self.device), tokens)

    def describe_message(self) -> str:
        """The message's tensors in message order; consecutive ones made by the same line of the user's code are
        named together."""
        runs: list = []
        for p in self.cut.parts:
            shape = "x".join(str(s) for s in p.shape) or "scalar"
            rule = f" [{p.split.rule}]" if p.kind == "carry" else ""
            item = f"{p.name} ({shape} {str(p.dtype).replace('torch.', '')}, {p.scalars} scalars: {p.what}{rule})"
            if runs and runs[-1][0] == p.where:
                runs[-1][1].append(item)
            else:
                runs.append((p.where, [item]))
        text = "; ".join(", ".join(items) + (f" at {where}" if where else "") for where, items in runs)
        head = f"{len(self.cut.parts)} tensor{'s' if len(self.cut.parts) != 1 else ''} of the traced forward"
        return head + (": " + text if text else " (none: Bob's answer does not depend on Alice)")

    def explain(self, precision: Any = 32, eps: float = 0.0) -> str:
        text = super().explain(precision, eps)
        if self.message_grows_with_n:
            text = text.replace(
                "Here the message itself grows with n (Alice prepares sums for every possible query token), so the "
                "argument gives no length limit: this is how one layer of attention escapes the bound on this "
                "task.",
                "Here the compiled analysis found no cut of constant size: the cheapest cut it finds grows with n "
                f"({self.growth_note}), so the argument gives no length limit: the structure of this model gives no "
                "bound (theory §4.3).")
        return text

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["parts"] = [{"tensor": p.name, "kind": p.kind, "shape": list(p.shape), "dtype": str(p.dtype),
                       "scalars": p.scalars, "bits": p.bits, "source": p.where, "what": p.what,
                       "rule": p.split.rule if p.kind == "carry" else None} for p in self.cut.parts]
        d["grows_with_n"] = self.message_grows_with_n
        return d

    def _validate(self, seed: int) -> None:
        import torch

        problem = self.problem
        if problem.num_alice_inputs * problem.num_bob_inputs <= VALIDATION_INPUTS:
            pairs = [(x, y) for x in problem.alice_inputs() for y in problem.bob_inputs()]
        else:
            pairs = list(problem.sample(VALIDATION_INPUTS, seed=seed))
        xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
        try:
            ref = self.adapter.forward(self._tokens(xs, ys)).float()
        except Exception as e:  # noqa: BLE001 - the user's forward on the gadget's sequences
            raise ReductionNotApplicable(
                f"the model's forward fails on the gadget's sequences ({type(e).__name__}: "
                f"{' '.join(str(e).split())[:200]}); check its vocabulary and maximum length") from None
        try:
            got = self.bob_logits_from_tokens(self.messages(xs), self.bob_tokens(ys)).float()
        except Exception:  # noqa: BLE001 - Bob's zeros made an op fail: recompute them (below)
            if not self.programs.fill:
                raise
            got = torch.full_like(ref, float("nan"))
        if self.programs.fill and (ref.shape != got.shape or not torch.allclose(got, ref, atol=ATOL, rtol=RTOL)):
            # Bob's zeros for values his output does not read gave NaN/inf somewhere: recompute them instead
            from reductions.compiled.program import CutPrograms

            self.programs = CutPrograms(self.cut, fill=False, model=self.module)
            got = self.bob_logits_from_tokens(self.messages(xs), self.bob_tokens(ys)).float()
        if ref.shape != got.shape or not torch.allclose(got, ref, atol=ATOL, rtol=RTOL):
            diff = (got - ref).abs().max().item() if ref.shape == got.shape else float("nan")
            bad = int((~torch.isclose(got, ref, atol=ATOL, rtol=RTOL)).any(-1).sum()) if ref.shape == got.shape \
                else len(pairs)
            raise ReductionNotApplicable(
                f"the compiled protocol differs from the model's own forward on {bad} of {len(pairs)} inputs (max "
                f"logit difference {diff:.3g}); the traced program is not the model's computation on every input "
                "(e.g. a Python branch on a value that tracing fixed); please report this model")


_UNJUDGED = "growth was judged from this length alone"

#: cuts already found, per model object (dropped with it) and per structure, gadget and device: the cut is a
#: function of the traced program, which depends on the model's code and the shapes of its weights, not on their
#: values; every protocol built from a cached cut is validated against the model's forward as usual
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _same_tensors(cut: Any, model: Any) -> bool:
    """Whether the programs of ``cut`` read the very parameter and buffer tensors ``model`` holds now."""
    now = {**dict(model.named_parameters(remove_duplicate=False)), **dict(model.named_buffers())}
    held = cut.analysis.progx.params
    return held.keys() == now.keys() and all(held[k] is now[k] for k in held)


def _cache_key(model: Any, gadget: Any, tokens: list, device: Any) -> tuple | None:
    """What the cut of ``model`` for ``gadget`` depends on besides the model object (None: not cacheable)."""
    try:
        weakref.ref(model)
        tensors = [*model.named_parameters(remove_duplicate=False), *model.named_buffers()]
        task = gadget.task.to_dict() if hasattr(gadget.task, "to_dict") else gadget.task.name
        return (type(model).forward, bool(getattr(model, "training", False)), str(device),
                tuple((k, tuple(v.shape), str(v.dtype), str(v.device)) for k, v in tensors),
                gadget.name, tuple(gadget.owners), tuple(tokens), repr(task))
    except Exception:  # noqa: BLE001 - not a module with weights and a task we can describe: never cached
        return None


#: enumerate Bob's inputs to list his token values at a query's positions when there are at most this many
MAX_ENUMERATE = 1 << 16


def _enumerates_vocabulary(gadget: Any) -> bool:
    """Whether Bob has too many inputs to list (his token values are then every id of the vocabulary)."""
    return gadget.problem.num_bob_inputs > MAX_ENUMERATE


def _bob_values(gadget: Any, positions: tuple) -> list | None:
    """Every joint value of Bob's tokens at ``positions`` over his inputs, in first-seen order (None: too many
    inputs to enumerate); when he has more than MAX_ENUMERATE inputs, every joint value of the task's token ids."""
    if _enumerates_vocabulary(gadget):
        last = (int(gadget.task.seq_len) - 1,)
        if tuple(positions) == last and gadget.final_token_values:
            # the values the gadget states for its last position (checked by check_gadget)
            return [(int(v),) for v in gadget.final_token_values]
        # too many inputs to list: every joint value of the task's token ids (a superset: Alice sends more)
        vocab = int(gadget.task.vocab_size)
        if vocab ** len(positions) > MAX_ENUMERATE:
            return None
        return list(itertools.product(range(vocab), repeat=len(positions)))
    where = [gadget.bob_positions.index(p) for p in positions]
    seen: dict = {}
    for toks in _bob_token_rows(gadget):
        seen.setdefault(tuple(int(toks[i]) for i in where), None)
    return list(seen)


_ROWS: list = []  # (gadget, its distinct rows of Bob's tokens): the last few gadgets asked about


def _bob_token_rows(gadget: Any) -> list:
    """The distinct rows of Bob's tokens over all his inputs, in first-seen order (computed once per gadget)."""
    for g, rows in _ROWS:
        if g is gadget:
            return rows
    seen: dict = {}
    for y in gadget.problem.bob_inputs():
        seen.setdefault(tuple(int(t) for t in gadget.encode_bob(y)[1]), None)
    _ROWS.insert(0, (gadget, list(seen)))
    del _ROWS[4:]
    return _ROWS[0][1]


def compile_reduction(model: Any, problem: Any, gadget: Any = None, *, device: Any = None, seed: int = 0,
                      validate: bool = True) -> CompiledProtocol:
    """The compiled protocol of ``model`` for ``problem`` through ``gadget`` (default: the problem's default)."""
    if gadget is None:
        from reductions.gadgets import get_gadget

        gadget = get_gadget(problem)
    return CompiledProtocol(model, gadget, device=device, seed=seed, validate=validate)
