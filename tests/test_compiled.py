"""The compiled reduction (theory §4.3): trace, dependency analysis, split rules, the cut and its check.

Message sizes are counted here by hand from the models' sizes; protocols are compared with the models'
own forwards on every input of small problems; the built-in readings (Lemma R adapters) serve as an
independent oracle on ccbounds' own recurrent models.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ccbounds.errors import ReductionNotApplicable
from ccbounds.models import RecurrentConfig, build_model
from ccbounds.problems import EQ, INDEX
from ccbounds.reduction import reduce
from reductions.compiled import CompiledProtocol, SplitRule, compile_reduction, register_split_rule, split_rules
from reductions.compiled.cut import check_cut
from reductions.compiled.positions import DependencyAnalysis, bits_to_positions
from reductions.compiled.trace import trace_forward
from reductions.registry import builtin_reduction

torch.set_num_threads(1)


pytestmark = pytest.mark.slow  # compiles models (reduce traces and cuts each forward)


def made(cls, *args, seed: int = 0, **kw):
    torch.manual_seed(seed)
    return cls(*args, **kw).eval()


class CellLoop(nn.Module):
    """nn.LSTMCell stepped in a Python loop."""

    def __init__(self, V=6, d=3, H=4):
        super().__init__()
        self.emb, self.cell, self.head = nn.Embedding(V, d), nn.LSTMCell(d, H), nn.Linear(H, 2)
        self.H = H

    def forward(self, x):
        h = c = torch.zeros(x.shape[0], self.H)
        for t in range(x.shape[1]):
            h, c = self.cell(self.emb(x[:, t]), (h, c))
        return self.head(h)


class LinearAttention(nn.Module):
    """Causal linear attention written with cumsum (Katharopoulos et al. 2020), read at the last position."""

    def __init__(self, V=6, d=3):
        super().__init__()
        self.emb = nn.Embedding(V, d)
        self.q, self.k, self.v, self.head = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, 2)

    def forward(self, x):
        h = self.emb(x)
        q, k, v = F.elu(self.q(h)) + 1, F.elu(self.k(h)) + 1, self.v(h)
        kv = torch.cumsum(k.unsqueeze(-1) * v.unsqueeze(-2), dim=1)  # (B, T, d, d)
        z = torch.cumsum(k, dim=1)  # (B, T, d)
        out = (q.unsqueeze(-2) @ kv).squeeze(-2) / (q * z).sum(-1, keepdim=True)
        return self.head(out[:, -1])


class MaxPooledRNN(nn.Module):
    """Max over all positions of an Elman RNN's outputs."""

    def __init__(self, V=6, H=3):
        super().__init__()
        self.emb, self.rnn, self.head = nn.Embedding(V, 3), nn.RNN(3, H, batch_first=True), nn.Linear(H, 2)

    def forward(self, x):
        return self.head(self.rnn(self.emb(x))[0].amax(dim=1))


class BagOfWords(nn.Module):
    """Sum of token embeddings through a matrix product with a ones row (a contraction over positions)."""

    def __init__(self, V=6, d=2):
        super().__init__()
        self.emb, self.head = nn.Embedding(V, d), nn.Linear(d, 2)

    def forward(self, x):
        e = self.emb(x)  # (B, T, d)
        ones = torch.ones(x.shape[0], 1, x.shape[1])
        return self.head(torch.tanh(torch.bmm(ones, e)[:, 0]))


class ItemBranch(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.head = nn.Embedding(6, 2), nn.Linear(2, 2)

    def forward(self, x):
        if x[0, 0].item() > 0:  # data-dependent Python control flow
            return self.head(self.emb(x).sum(1))
        return self.head(self.emb(x).mean(1))


@pytest.mark.parametrize("build, problem, S", [
    (lambda: made(CellLoop), INDEX(4), 4 + 4),              # h and c of the cell
    (lambda: made(LinearAttention), INDEX(4), 3 * 3 + 3),    # running sums of k v^T and of k
    (lambda: made(MaxPooledRNN), INDEX(4), 3 + 3),           # state and Alice's partial max
    (lambda: made(BagOfWords), EQ(3), 2),                    # Alice's partial sum of embeddings
], ids=["lstm-cell-loop", "linear-attention-cumsum", "max-pooled-rnn", "bag-of-words-bmm"])
def test_compiled_protocol_equals_model_on_every_input(build, problem, S):
    model = build()
    p = compile_reduction(model, problem)
    assert p.scalars == S
    assert not p.message_grows_with_n
    xs, ys = list(problem.alice_inputs()), list(problem.bob_inputs())
    assert (p.answer_grid(p.messages(xs), ys) == p.model_grid(xs, ys)).all()
    # the executable protocol: S float32 scalars, Bob's answer = the model's
    t = p.run(xs[3], ys[1])
    assert t.cost == S * 32 and t.output == p.model_answers([(xs[3], ys[1])])[0]


def test_linear_attention_message_is_constant_in_n():
    model = made(LinearAttention, V=20)
    assert compile_reduction(model, INDEX(4)).scalars == compile_reduction(model, INDEX(12)).scalars == 12


@pytest.mark.parametrize("cell, layers", [("lstm", 2), ("gru", 1), ("rnn", 3)])
def test_same_message_size_and_answers_as_the_lemma_r_reading(cell, layers):
    """The built-in Lemma R reading (adapters) is an independent oracle on ccbounds' own models."""
    torch.manual_seed(1)
    model = build_model(RecurrentConfig(cell, vocab_size=6, num_classes=2, width=3, layers=layers)).eval()
    old = builtin_reduction(model, INDEX(4))
    new = reduce(model, INDEX(4))  # the compiled cut, reduce()'s one path
    assert type(old).__name__ == "RecurrentStateProtocol" and type(new).__name__ == "CompiledProtocol"
    assert new.scalars == old.scalars == (2 if cell == "lstm" else 1) * layers * 3
    xs, ys = list(INDEX(4).alice_inputs()), list(INDEX(4).bob_inputs())
    assert (new.answer_grid(new.messages(xs), ys) == old.answer_grid(old.messages(xs), ys)).all()


def test_explain_names_the_users_source_line_and_the_rule():
    p = compile_reduction(made(LinearAttention), INDEX(4))
    text = p.describe_message()
    assert "prefix-scan" in text and "test_compiled.py" in text and "torch.cumsum" in text
    parts = p.to_dict()["parts"]
    assert sum(q["scalars"] for q in parts) == p.scalars and {q["rule"] for q in parts} == {"prefix-scan"}


def test_untraceable_and_random_forwards_are_refused_with_the_reason():
    with pytest.raises(ReductionNotApplicable, match="depends on token values in Python"):
        compile_reduction(made(ItemBranch), INDEX(3))
    drop = nn.Sequential(nn.Embedding(6, 4), nn.Dropout(0.5), nn.Flatten(), nn.Linear(16, 2)).train()
    with pytest.raises(ReductionNotApplicable, match=r"model\.eval\(\)"):
        compile_reduction(drop, INDEX(3))


def test_a_cut_missing_a_part_fails_the_check():
    p = compile_reduction(made(LinearAttention), INDEX(4))
    cut = p.cut
    assert len(cut.parts) == 2
    check_cut(cut)  # the real cut passes
    cut.parts.pop()  # drop the running sum of k: Bob's output now depends on Alice's positions
    with pytest.raises(ReductionNotApplicable, match="does not separate"):
        check_cut(cut)


def test_dependency_analysis_against_brute_force_perturbation():
    """Every output element's dependency set contains every position whose token changes it (random probes)."""
    model = made(MaxPooledRNN)
    prog = trace_forward(model, 5, 2)
    base = torch.tensor([[1, 0, 1, 1, 4]] * 2)
    an = DependencyAnalysis(prog, base)
    out = [n for n in prog.graph.nodes if n.op == "output"][0].args[0]
    while isinstance(out, (list, tuple)):
        out = out[0]
    deps = an.deps[out]
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        ref = model(base)
        for j in range(5):
            for _ in range(3):
                x = base.clone()
                x[:, j] = torch.randint(0, 6, (2,), generator=gen)
                changed = ~torch.isclose(model(x), ref)
                for b, c in changed.nonzero().tolist():
                    assert j in bits_to_positions(deps[b, c])


def test_a_user_split_rule_is_tried_first():
    seen = []

    def match(node, an):
        seen.append(node.name)
        return None

    register_split_rule(SplitRule("spy", match))
    try:
        assert split_rules()[0].name == "spy"
        compile_reduction(made(BagOfWords), EQ(3))
        assert seen
    finally:
        from reductions.compiled import rules

        rules._USER.clear()
    assert split_rules()[0].name == "prefix-scan"


def test_compiled_protocol_is_an_induced_protocol_for_the_audit():
    from ccbounds import audit

    p = compile_reduction(made(CellLoop), INDEX(4))
    assert isinstance(p, CompiledProtocol)
    report = audit(p, INDEX(4), precisions=(4, 32), samples=64, seed=0)
    assert len(report.rows) == 2


# ---------------------------------------------------------------- compile-time shortcuts give what the slow paths give
@pytest.mark.parametrize("build", [lambda: made(CellLoop), lambda: made(LinearAttention), lambda: made(MaxPooledRNN),
                                   lambda: build_model(RecurrentConfig("lstm", vocab_size=6, num_classes=2, width=3,
                                                                       layers=2)).eval()],
                         ids=["lstm-cell-loop", "linear-attention", "max-pooled-rnn", "own-lstm-token-checks"])
def test_rebatch_gives_the_program_a_second_trace_gives(build):
    """The analysis program comes from one logged run, not a second trace: same nodes, targets, arguments and
    output shapes as tracing at that batch size."""
    import torch.fx as fx

    from reductions.compiled.trace import rebatch

    model = build()
    traced = trace_forward(model, 5, 4)
    got, want = rebatch(traced, model, 2), trace_forward(model, 5, 2)
    assert got is not None and got.batch == 2 and got.output_shape == want.output_shape

    def plain(a):
        if isinstance(a, fx.Node):
            return ("node", a.name)
        if isinstance(a, (list, tuple)):
            return [plain(x) for x in a]
        if isinstance(a, dict):
            return {k: plain(x) for k, x in a.items()}
        return a

    gn, wn = list(got.graph.nodes), list(want.graph.nodes)
    assert [(n.name, n.op, n.target) for n in gn] == [(n.name, n.op, n.target) for n in wn]
    for a, b in zip(gn, wn):
        assert plain(a.args) == plain(b.args) and plain(a.kwargs) == plain(b.kwargs), a.name
        va, vb = a.meta.get("val"), b.meta.get("val")
        if isinstance(vb, torch.Tensor):
            assert tuple(va.shape) == tuple(vb.shape) and va.dtype == vb.dtype, a.name


def test_growth_test_equals_a_slice_by_slice_count():
    """cut._grows (vectorised) against the definition: along some axis, at least max(2, #Alice positions) distinct
    sets of Alice-dependency rows over the slices holding a part element."""
    from reductions.compiled.cut import _grows

    def reference(mask, deps, alice_word, n_alice):
        need = max(2, n_alice)
        for dim in range(mask.dim()):
            sets = set()
            for i in range(mask.shape[dim]):
                m = mask.select(dim, i)
                if bool(m.any()):
                    rows = (deps.select(dim, i)[m] & alice_word).tolist()
                    sets.add(frozenset(tuple(r) for r in rows))
            if mask.shape[dim] >= need and len(sets) >= need:
                return True
        return False

    gen = torch.Generator().manual_seed(0)
    for _ in range(400):
        shape = tuple(int(s) for s in torch.randint(1, 6, (int(torch.randint(0, 4, (1,), generator=gen)),),
                                                   generator=gen))
        W = int(torch.randint(1, 3, (1,), generator=gen))
        mask = torch.rand(shape, generator=gen) < float(torch.rand(1, generator=gen))
        deps = torch.randint(0, int(torch.randint(1, 30, (1,), generator=gen)), (*shape, W), generator=gen)
        alice_word = torch.randint(0, 8, (W,), generator=gen)
        n_alice = int(torch.randint(0, 6, (1,), generator=gen))
        assert _grows(mask, deps, alice_word, n_alice) == reference(mask, deps, alice_word, n_alice)


def test_needed_elements_of_cat_and_stack_equal_the_per_element_probe():
    """The needed-elements pass places cat/stack inputs by element ids; the generic per-element probe agrees."""
    from reductions.compiled.cut import _Analysis
    from reductions.compiled.positions import decode_elements, element_bits

    class CatStack(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.head = nn.Embedding(6, 2), nn.Linear(6, 2)

        def forward(self, x):
            e = self.emb(x)  # (B, 5, 2)
            s = torch.stack([e[:, 0], e[:, 3], e[:, 0]], dim=1)  # an input twice
            c = torch.cat([s[:, :1], e[:, 4:], e[:, 1:2] * 2], dim=1)
            return self.head(torch.tanh(c[:, :, :1].reshape(x.shape[0], -1).repeat(1, 2)))

    model = made(CatStack)
    prog = trace_forward(model, 5, 2)
    an = _Analysis(prog, trace_forward(model, 5, 3), ("Alice",) * 4 + ("Bob",), torch.tensor([[1, 0, 1, 1, 4]] * 2))
    seen = 0
    for v in prog.graph.nodes:
        if v.op == "call_function" and v.target in (torch.ops.aten.cat.default, torch.ops.aten.stack.default):
            nv = an.needed.get(v)
            placed = an._placed(v, nv)
            assert placed is not None
            for u, hit in placed.items():
                shape = tuple(an.deps[u].shape[:-1])
                marks, nb = element_bits(shape)
                want = decode_elements(an.dep.probe(v, {u: marks}, nb)[nv], nb).reshape(shape)
                assert torch.equal(hit, want)
                seen += 1
    assert seen >= 4


# ----------------------------------------------------------------------------- cuts ranked, attention kernels, tables
def test_stacked_lstm_cuts_at_its_state_not_at_every_layer_1_output():
    """At n = 4 the layer-1 outputs at each of Alice's positions (4 x 4) plus layer 1's c (4) = 20 scalars undercut the
    3-layer state (3 x 2 x 4 = 24), but they are a copy of her input spread over tensors: the state is the cut."""
    torch.manual_seed(0)
    model = build_model(RecurrentConfig("lstm", vocab_size=6, num_classes=2, width=4, layers=3)).eval()
    p = compile_reduction(model, INDEX(4))
    assert p.scalars == 3 * 2 * 4 and not p.message_grows_with_n


class BiGRU(nn.Module):
    """Read at position 0, where the backward direction has read Bob's tokens: the cut is her embeddings."""

    def __init__(self):
        super().__init__()
        self.emb, self.rnn, self.head = nn.Embedding(4, 4), nn.GRU(4, 4, batch_first=True, bidirectional=True), \
            nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.rnn(self.emb(x))[0][:, 0])


def test_bidirectional_gru_cuts_at_alices_embeddings():
    p = compile_reduction(made(BiGRU), EQ(3))
    assert p.message_grows_with_n and p.scalars == 3 * 4  # 3 positions x d = 4 (not the 3 x 12 gate inputs)
    assert "gives no bound" in p.explain()


class MHABlock(nn.Module):
    """nn.MultiheadAttention called with its default need_weights=True (weights averaged, then discarded)."""

    def __init__(self, V=4, T=8, d=8, heads=2):
        super().__init__()
        self.tok, self.pos = nn.Embedding(V, d), nn.Embedding(T, d)
        self.attn, self.out = nn.MultiheadAttention(d, heads, batch_first=True), nn.Linear(d, 2)

    def forward(self, x):
        h = self.tok(x) + self.pos(torch.arange(x.shape[1]))
        a, _ = self.attn(h, h, h)
        return self.out(h + a)[:, -1]


@pytest.mark.parametrize("d,H", [(8, 2), (12, 3)])
def test_fused_attention_is_split_by_lemma_t(d, H):
    """SDPA (ccbounds' TransformerClassifier, via nn.TransformerEncoderLayer) and nn.MultiheadAttention with its
    weights are traced in math form, so the partial-softmax rule gives Lemma T's H (d_v + 1) for EQ's constant END."""
    from ccbounds.models import TransformerConfig

    torch.manual_seed(0)
    tf = build_model(TransformerConfig(vocab_size=4, num_classes=2, max_len=8, d_model=d, heads=H, layers=1)).eval()
    for model in (tf, made(MHABlock, d=d, heads=H)):
        p = compile_reduction(model, EQ(3))
        assert p.scalars == H * (d // H + 1) and not p.message_grows_with_n
        assert "partial-softmax" in p.describe_message()


def test_growth_is_judged_at_n_minus_1_when_the_model_ends_at_this_length():
    """INDEX_4 on a Transformer with 5 positions: n + 1 cannot run; at n - 1 Bob's index takes fewer values."""
    from ccbounds.models import TransformerConfig

    torch.manual_seed(0)
    tf = build_model(TransformerConfig(vocab_size=6, num_classes=2, max_len=5, d_model=8, heads=2, layers=1)).eval()
    p = compile_reduction(tf, INDEX(4))
    assert p.message_grows_with_n and "n - 1" in p.growth_note


class TableSum(nn.Module):
    """A table indexed by token ids (no nn.Embedding), summed over positions."""

    def __init__(self):
        super().__init__()
        self.table, self.w = nn.Parameter(torch.randn(4, 3)), nn.Parameter(torch.randn(3, 2))

    def forward(self, x):
        return torch.tanh(self.table[x].sum(1)) @ self.w


def test_a_table_read_by_token_ids_is_tracked_per_position():
    p = compile_reduction(made(TableSum), INDEX(2))  # Alice's partial sum: 3 scalars
    assert p.scalars == 3 and not p.message_grows_with_n
    xs, ys = list(p.problem.alice_inputs()), list(p.problem.bob_inputs())
    assert (p.answer_grid(p.messages(xs), ys) == p.model_grid(xs, ys)).all()


def test_bob_does_not_recompute_what_his_output_does_not_read():
    """An nn.LSTM stacks every step's output; Bob fills the steps before the cut with zeros and still equals the
    model on every input (the validation compares with the model's own forward)."""
    torch.manual_seed(2)
    model = build_model(RecurrentConfig("lstm", vocab_size=6, num_classes=2, width=3)).eval()
    p = compile_reduction(model, INDEX(4))
    assert p.programs.fill and len(p.programs.bob_nodes) < len(p.programs.alice_nodes)
    xs, ys = list(p.problem.alice_inputs()), list(p.problem.bob_inputs())
    assert (p.answer_grid(p.messages(xs), ys) == p.model_grid(xs, ys)).all()


class LastTwo(nn.Module):
    """Reads its last two positions through advanced indexing on dim 1 (``h[:, idx]``: a None entry first)."""

    def __init__(self):
        super().__init__()
        self.emb, self.head = nn.Embedding(8, 3), nn.Linear(6, 2)

    def forward(self, x):
        h = self.emb(x)
        return self.head(h[:, torch.arange(x.shape[1])[-2:]].reshape(x.shape[0], -1))


def test_indexing_after_a_full_slice_depends_on_the_positions_it_reads():
    prog = trace_forward(made(LastTwo), seq_len=5, batch=2)
    an = DependencyAnalysis(prog, torch.tensor([[1, 2, 3, 4, 5]] * 2))
    out = [n for n in prog.graph.nodes if n.op == "output"][0].args[0]
    out = out[0] if isinstance(out, (list, tuple)) else out
    assert [bits_to_positions(w) for w in an.deps[out][0]] == [[3, 4], [3, 4]]


class AfterTheCut(nn.Module):
    """Alice's input as one number (the 1-scalar cut), then a value computed from it alone (``relu(lin(a))``) that
    Bob must compute from the message: he may not fill it with zeros. logit 0 is 10 exactly at ``trigger``."""

    def __init__(self, trigger):
        super().__init__()
        n = len(trigger)
        v = float(sum(b << j for j, b in enumerate(trigger)))
        self.emb, self.emb3 = nn.Embedding(n + 2, 1), nn.Embedding(n + 2, 3)
        self.pw = nn.Parameter(2.0 ** torch.arange(n))
        self.lin, self.head = nn.Linear(1, 3), nn.Linear(3, 2)
        with torch.no_grad():
            self.emb.weight.zero_()
            self.emb.weight[1, 0] = 1.0
            self.emb3.weight.fill_(1.0)
            self.lin.weight.fill_(1.0)
            self.lin.bias.copy_(torch.tensor([1 - v, -v, -v - 1]))
            self.head.weight.zero_()
            self.head.weight[0] = torch.tensor([10.0, -20.0, 10.0])
            self.head.bias.copy_(torch.tensor([0.0, 1.0]))

    def forward(self, x):
        a = (self.emb(x)[:, :-1, 0] * self.pw).sum(1, keepdim=True)
        return self.head(torch.relu(self.lin(a)) * self.emb3(x[:, -1]))


def test_bob_computes_what_follows_the_message():
    problem = INDEX(10)
    sampled = {tuple(x) for x, _ in problem.sample(512, seed=0)}  # the validation's inputs
    trigger = [tuple(x) for x in problem.alice_inputs() if tuple(x) not in sampled][-1]
    p = compile_reduction(AfterTheCut(trigger).eval(), problem)
    assert p.scalars == 1 and not (p.programs.fill & p.programs.bob_nodes)
    ys = list(problem.bob_inputs())
    assert p.answer_grid(p.messages([trigger]), ys).tolist() == p.model_grid([trigger], ys).tolist()
    assert p.model_grid([trigger], ys).tolist() == [[0] * 10]


class StackedSteps(nn.Module):
    """A hand-written RNN whose steps are stacked (B, T, H), read at one step through ``pick`` (a callable on the
    stacked tensor): a select Bob may read straight from the step, or, after axes are reordered, may not."""

    def __init__(self, pick, V=6, H=3):
        super().__init__()
        self.emb, self.w, self.head, self.pick = nn.Embedding(V, H), nn.Linear(H, H), nn.Linear(H, 2), pick

    def forward(self, x):
        e, h, hs = self.emb(x), torch.zeros(x.shape[0], self.w.out_features), []
        for t in range(x.shape[1]):
            h = torch.tanh(self.w(h) + e[:, t])
            hs.append(h)
        return self.head(self.pick(torch.stack(hs, 1)))


@pytest.mark.parametrize("pick, aliased", [
    (lambda s: s[:, -1], True),                       # the last step: Bob reads it without the stack
    (lambda s: s.transpose(0, 1)[-1], True),          # the same step through a transpose
    (lambda s: s.transpose(0, 2)[:, -1].t(), False),  # axes reordered around the select: the stack is built
])
def test_bob_reads_a_selected_step_of_a_stack_without_building_it(pick, aliased):
    from reductions.compiled.program import _stack_selects

    problem = INDEX(3)
    p = compile_reduction(made(StackedSteps, pick), problem)
    assert p.scalars == 3
    assert bool(_stack_selects(p.programs.order)) == aliased
    xs, ys = list(problem.alice_inputs()), list(problem.bob_inputs())
    assert p.answer_grid(p.messages(xs), ys).tolist() == p.model_grid(xs, ys).tolist()


def test_bob_computes_his_own_positions_once_per_distinct_row(monkeypatch):
    """Bob's message-independent values (his embeddings) are computed once per distinct token row and gathered;
    rows hashed to one key fall back to a row-wise unique: both give the model's answers."""
    from reductions.compiled import program

    problem = INDEX(4)
    p = compile_reduction(made(CellLoop), problem)
    assert p.programs.frontier and p.programs.static
    xs, ys = list(problem.alice_inputs()), list(problem.bob_inputs())
    truth = p.model_grid(xs, ys).tolist()
    assert p.answer_grid(p.messages(xs), ys).tolist() == truth
    tokens = torch.tensor([[1, 2, 3], [4, 5, 6], [1, 2, 3], [0, 0, 0]])
    monkeypatch.setattr(program, "_row_weights", lambda width: torch.zeros(width, dtype=torch.long))
    rows, inverse = program._distinct_rows(tokens)
    assert torch.equal(rows[inverse], tokens) and rows.shape[0] == 3
    p.programs._cache = None
    assert p.answer_grid(p.messages(xs), ys).tolist() == truth


def test_a_cut_is_found_once_per_model_and_bob_follows_changed_weights():
    """reduce() of the same model object again reuses its cut (validated again); Bob's values computed once per
    token row are recomputed when the weights change in place; a model whose forward changed is compiled again."""
    problem = INDEX(3)
    model = made(CellLoop)
    p = compile_reduction(model, problem)
    q = compile_reduction(model, problem)
    assert q.cut is p.cut
    xs, ys = list(problem.alice_inputs()), list(problem.bob_inputs())
    p.answer_grid(p.messages(xs), ys)
    with torch.no_grad():
        for w in model.parameters():
            w.add_(torch.randn_like(w))
    assert p.answer_grid(p.messages(xs), ys).tolist() == p.model_grid(xs, ys).tolist()
    model.forward = lambda x: CellLoop.forward(model, x.flip(1))  # another program, same weights
    r = compile_reduction(model, problem)
    assert r.cut is not p.cut
    assert r.answer_grid(r.messages(xs), ys).tolist() == r.model_grid(xs, ys).tolist()


class WritesIntoBuffer(nn.Module):
    """A hand-written RNN that writes each step into a preallocated buffer (``out[:, t] = h`` or a one-step slice),
    then reads its last step (the state: 3 scalars) or its mean over positions (the state and Alice's partial
    mean: 6)."""

    def __init__(self, write, read, V=6, H=3):
        super().__init__()
        self.emb, self.w, self.head, self.write, self.read = nn.Embedding(V, H), nn.Linear(H, H), nn.Linear(H, 2), \
            write, read

    def forward(self, x):
        e, (B, T) = self.emb(x), x.shape
        out, h = torch.zeros(B, T, self.w.out_features), torch.zeros(B, self.w.out_features)
        for t in range(T):
            h = torch.tanh(self.w(h) + e[:, t])
            if self.write == "select":
                out[:, t] = h
            else:
                out[:, t:t + 1] = h.unsqueeze(1)
        return self.head(out[:, -1] if self.read == "last" else out.mean(1))


@pytest.mark.parametrize("write, read, S", [("select", "last", 3), ("slice", "last", 3), ("select", "mean", 6)])
def test_writes_into_a_buffer_are_followed(write, read, S):
    """In-place writes into views of a buffer are traced through torch.func.functionalize (the write becomes a
    scatter that makes a new buffer), so the analysis sees which positions each step's write carries."""
    from reductions.compiled.trace import _writes_into_views

    problem = INDEX(4)
    model = made(WritesIntoBuffer, write, read)
    p = compile_reduction(model, problem)
    assert p.scalars == S and not p.message_grows_with_n
    xs, ys = list(problem.alice_inputs()), list(problem.bob_inputs())
    assert p.answer_grid(p.messages(xs), ys).tolist() == p.model_grid(xs, ys).tolist()
    assert not _writes_into_views(p.cut.analysis.progx.graph_module)
    assert not _writes_into_views(trace_forward(made(CellLoop), 4, 2).graph_module)


def test_bob_runs_large_calls_through_the_same_program_at_a_larger_batch(monkeypatch):
    """Calls of at least BOB_BATCH rows run Bob's program re-sized to BOB_BATCH rows (checked against the traced one
    on the call's first rows); the answers are the model's."""
    from reductions.compiled import program

    monkeypatch.setattr(program, "BOB_BATCH", 512)
    problem = INDEX(4)
    p = compile_reduction(made(CellLoop), problem)
    xs, ys = list(problem.alice_inputs()) * 8, list(problem.bob_inputs())  # 128 messages x 4 queries = 512 rows
    assert p.answer_grid(p.messages(xs), ys).tolist() == p.model_grid(xs, ys).tolist()
    assert isinstance(p.programs._big, tuple) and p.programs._big[0] == 512


def test_large_values_are_probed_by_rows_so_lemma_t_still_applies(monkeypatch):
    """Values of more than MAX_PROBE elements (here made small) are probed a row at a time: the read-out row alone is
    needed, so one attention layer still gets Lemma T's H (d_v + 1) = 10 scalars, constant in n, not a copy."""
    from ccbounds.models import TransformerConfig
    from reductions.compiled import cut

    monkeypatch.setattr(cut, "MAX_PROBE", 64)
    torch.manual_seed(0)
    tf = build_model(TransformerConfig(vocab_size=4, num_classes=2, max_len=10, d_model=8, heads=2)).eval()
    p = compile_reduction(tf, EQ(4))
    assert p.scalars == 2 * (4 + 1) and not p.message_grows_with_n


def test_bobs_last_token_values_come_from_the_gadget_when_his_inputs_are_too_many_to_list():
    """EQ_20: Bob has 2^20 inputs (too many to list); the gadget states the values of the last (query) token, so
    Lemma T's carry is sent for those values only: H (d_v + 1) = 10 scalars."""
    from ccbounds.models import TransformerConfig

    torch.manual_seed(0)
    tf = build_model(TransformerConfig(vocab_size=4, num_classes=2, max_len=42, d_model=8, heads=2)).eval()
    p = compile_reduction(tf, EQ(20))
    assert p.scalars == 10 and not p.message_grows_with_n


class Pools(nn.Module):
    """A GRU read at its last step, or (``pool = True``, a flag the forward reads) mean-pooled over every step."""

    def __init__(self):
        super().__init__()
        self.emb, self.rnn, self.head, self.pool = nn.Embedding(6, 3), nn.GRU(3, 4, batch_first=True), \
            nn.Linear(4, 2), False

    def forward(self, x):
        out, _ = self.rnn(self.emb(x))
        return self.head(out.mean(1) if self.pool else out[:, -1])


def test_a_cached_cut_is_not_reused_unvalidated_or_over_replaced_weights():
    problem = INDEX(3)
    model = made(Pools)
    p = compile_reduction(model, problem)
    assert p.scalars == 4
    model.pool = True  # the forward changed: an unvalidated protocol must not take the old cut
    q = compile_reduction(model, problem, validate=False)
    assert q.cut is not p.cut and q.scalars == 8  # the state and Alice's partial sum
    model.pool = False
    model.head.weight = nn.Parameter(model.head.weight.detach().clone())  # a new tensor object
    r = compile_reduction(model, problem)
    assert r.cut is not p.cut
    with torch.no_grad():
        model.head.weight.mul_(-3.0)
    xs, ys = list(problem.alice_inputs()), list(problem.bob_inputs())
    assert r.answer_grid(r.messages(xs), ys).tolist() == r.model_grid(xs, ys).tolist()


class MaskAttribute(nn.Module):
    """One attention layer whose causal mask is a plain tensor attribute (not a registered buffer)."""

    def __init__(self, V=6, d=4, T=12):
        super().__init__()
        self.e, self.q, self.k, self.v, self.h = nn.Embedding(V, d), nn.Linear(d, d), nn.Linear(d, d), \
            nn.Linear(d, d), nn.Linear(d, 2)
        self.mask = torch.tril(torch.ones(T, T)).bool()

    def forward(self, x):
        h, T = self.e(x), x.shape[1]
        a = (self.q(h) @ self.k(h).transpose(1, 2)).masked_fill(~self.mask[:T, :T], float("-inf")).softmax(-1)
        return self.h((a @ self.v(h))[:, -1])


def test_plain_tensor_attributes_are_traced_and_batch_norm_in_training_is_refused():
    p = compile_reduction(made(MaskAttribute), EQ(3))
    assert p.scalars == 1 * (4 + 1) and not p.message_grows_with_n

    class Normed(nn.Module):
        def __init__(self):
            super().__init__()
            self.e, self.bn, self.h = nn.Embedding(6, 3), nn.BatchNorm1d(3), nn.Linear(3, 2)

        def forward(self, x):
            return self.h(self.bn(self.e(x).mean(1)))

    with pytest.raises(ReductionNotApplicable, match="BatchNorm1d is in training mode.*model.eval"):
        reduce(Normed(), INDEX(3))
    with pytest.raises(ReductionNotApplicable) as e:  # not a Hugging Face model: no adapter named
        reduce(Item().eval(), INDEX(3))
    assert "adapter" not in str(e.value) and "\n" not in str(e.value)


class Item(nn.Module):
    def __init__(self):
        super().__init__()
        self.e, self.h = nn.Embedding(6, 3), nn.Linear(3, 2)

    def forward(self, x):
        e = self.e(x)
        return self.h(e[:, -1] * 2 if e.sum().item() > 0 else e[:, -1])
