"""Tests of ccbounds.adapters: Lemma R / Lemma T decompositions reproduce the models they wrap (theory §4)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ccbounds.adapters import (
    ADAPTERS,
    AttentionAdapter,
    PartialSums,
    RecurrentAdapter,
    attend,
    build_attention_adapter,
    combine,
    get_adapter,
    merge_partial_sums,
    partial_sums,
    register_adapter,
    unregister_adapter,
    validate_adapter,
)
from ccbounds.errors import (
    TWO_LAYER_REASON,
    InvalidInputError,
    ReductionNotApplicable,
    UnsupportedArchitecture,
)
from ccbounds.models import RecurrentConfig, TransformerConfig, build_model
from tests.tiny_models import TinyRecurrent

torch.set_num_threads(1)
ATOL = 1e-5


# ----------------------------------------------------------------------------- models used in the tests
def UserRecurrent(cell: str, vocab: int = 7, classes: int = 3, width: int = 6, layers: int = 1,
                  embed_dim: int | None = None, **kw) -> TinyRecurrent:
    """Foreign module of the reference layout, with the torch options the config lacks (proj_size, bidirectional)."""
    return TinyRecurrent(cell, vocab, embed_dim or width, width, classes, layers=layers, **kw)


def sinusoidal(max_len: int, d: int) -> torch.Tensor:
    pos = torch.arange(max_len, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    table = torch.zeros(max_len, d)
    table[:, 0::2], table[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
    return table


class UserTransformer(nn.Module):
    """Foreign: other names, nn.TransformerEncoder with a norm, sqrt(d)-scaled embeddings, (1, L, d) buffer."""

    def __init__(self, d=8):
        super().__init__()
        self.d = d
        self.words = nn.Embedding(5, d)
        self.register_buffer("enc", sinusoidal(7, d)[None])
        layer = nn.TransformerEncoderLayer(d, 4, 16, dropout=0.0, batch_first=True, norm_first=True, activation="gelu")
        self.encoder = nn.TransformerEncoder(layer, 1, norm=nn.LayerNorm(d), enable_nested_tensor=False)
        self.classifier = nn.Linear(d, 2)

    def forward(self, x):
        h = self.words(x) * math.sqrt(self.d) + self.enc[:, : x.shape[1]]
        return self.classifier(self.encoder(h))[:, -1]


class UserMHA(nn.Module):
    """Foreign bare-MultiheadAttention model; ``mode`` picks how the attention output is read."""

    def __init__(self, mode: str, d=8, batch_first=True):
        super().__init__()
        self.mode, self.bf = mode, batch_first
        self.position_table = nn.Embedding(6, d)
        self.tokens = nn.Embedding(4, d)
        self.mix = nn.MultiheadAttention(d, 2, batch_first=batch_first)
        self.ln = nn.LayerNorm(d)
        self.readout = nn.Linear(d, 3)

    def forward(self, x):
        h = self.tokens(x) + self.position_table(torch.arange(x.shape[1]))
        if not self.bf:
            h = h.transpose(0, 1)
        a = self.mix(h, h, h, need_weights=False)[0]
        if not self.bf:
            h, a = h.transpose(0, 1), a.transpose(0, 1)
        if self.mode == "residual":
            z = h[:, -1] + a[:, -1]
        elif self.mode == "attn":
            z = a[:, -1]
        elif self.mode == "ln":
            z = self.ln(h[:, -1] + a[:, -1])
        else:  # "first": reads position 0, which no Lemma-T reading does
            z = h[:, 0] + a[:, 0]
        return self.readout(z)


class UserGRU(nn.Module):
    """Foreign recurrent model: other names, sequence-first GRU."""

    def __init__(self, read_first=False):
        super().__init__()
        self.read_first = read_first
        self.lookup = nn.Embedding(5, 3)
        self.core = nn.GRU(3, 4, num_layers=2)
        self.decide = nn.Linear(4, 2)

    def forward(self, x):
        out, _ = self.core(self.lookup(x).transpose(0, 1))  # (T, B, 4)
        return self.decide(out[0] if self.read_first else out[-1])


def tokens(vocab: int, B: int, T: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, vocab, (B, T), generator=torch.Generator().manual_seed(seed))


def seeded(cls, *args, **kw):
    torch.manual_seed(0)
    return cls(*args, **kw).eval()


def ref_rnn(cell: str, layers: int = 1, **kw):
    """The reference RecurrentClassifier (vocab 7, 3 classes, width 6)."""
    return seeded(build_model, RecurrentConfig(cell, vocab_size=7, num_classes=3, width=6, layers=layers, **kw))


def ref_tf(layers: int = 1, **kw):
    """The reference TransformerClassifier (vocab 6, 3 classes, max_len 9, d 8, 2 heads)."""
    return seeded(build_model, TransformerConfig(6, 3, max_len=9, d_model=8, heads=2, layers=layers, **kw))


# ----------------------------------------------------------------------------- Lemma R
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("layers", [1, 2, 3])
def test_recurrent_reproduces_forward_and_state_size(cell, layers):
    model = ref_rnn(cell, layers=layers, embed_dim=5)
    a = get_adapter(model)
    assert isinstance(a, RecurrentAdapter) and a.kind == "recurrent"
    assert a.description.startswith("reference RecurrentClassifier")
    x = tokens(7, 4, 9)
    with torch.no_grad():
        assert torch.allclose(a.reconstruct(x), model(x), atol=ATOL)
        assert torch.equal(a.forward(x), model(x))
    assert a.state_size == (2 if cell == "lstm" else 1) * 6 * layers
    st = a.state_tensors(a.initial_state(4))
    assert sorted(st) == (["c", "h"] if cell == "lstm" else ["h"])
    assert sum(t[0].numel() for t in st.values()) == a.state_size
    assert all(t.shape == (4, layers, 6) for t in st.values())


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_advance_prefix_then_suffix_equals_whole(cell):
    model = ref_rnn(cell, layers=2)
    a = get_adapter(model)
    x = tokens(7, 3, 8, seed=2)
    with torch.no_grad():
        whole = a.advance(a.initial_state(3), x)
        for k in range(9):
            split = a.advance(a.advance(a.initial_state(3), x[:, :k]), x[:, k:])
            assert all(torch.allclose(s, w, atol=ATOL) for s, w in zip(split, whole))
        assert a.advance(whole, x[:, :0]) is whole
        flat = a.flatten(whole)
        assert flat.shape == (3, a.state_size)
        back = a.unflatten(flat)
        assert all(torch.equal(s, w) for s, w in zip(back, whole))
        assert torch.allclose(a.readout(back), model(x), atol=ATOL)


@pytest.mark.filterwarnings("ignore:LSTM with projections")
def test_recurrent_variants_relu_projection_and_foreign():
    relu = ref_rnn("rnn", layers=2, nonlinearity="relu")
    proj = seeded(UserRecurrent, "lstm", layers=2, width=6, proj_size=3)
    foreign = seeded(UserGRU)
    x = tokens(5, 4, 6)
    for model, S in ((relu, 12), (proj, 2 * (6 + 3)), (foreign, 8)):
        a = get_adapter(model)
        assert a.state_size == S and a.flatten(a.initial_state(2)).shape == (2, S)
        with torch.no_grad():
            assert torch.allclose(a.reconstruct(x), model(x), atol=ATOL)
    with pytest.raises(InvalidInputError, match="flat state"):
        a.unflatten(torch.zeros(2, S + 1))
    assert list(a.state_tensors(a.initial_state(2))) == ["core.h"]  # the foreign GRU's module name, measured


def test_foreign_recurrent_wrong_reading_rejected():
    with pytest.raises(ReductionNotApplicable, match="differs from the model's own forward.*states at the cut"):
        get_adapter(seeded(UserGRU, read_first=True))


# ----------------------------------------------------------------------------- Lemma T
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
@pytest.mark.parametrize("final_norm", [False, True])
def test_transformer_decomposition_reproduces_forward(norm_first, positions, final_norm):
    model = ref_tf(norm_first=norm_first, positions=positions, final_norm=final_norm)
    a = get_adapter(model)
    assert isinstance(a, AttentionAdapter) and a.kind == "attention"
    assert (a.heads, a.d_k, a.d_v, a.max_len, a.vocab_size) == (2, 4, 4, 9, 6)
    assert ("pre-norm" if norm_first else "post-norm") in a.description
    assert ("final_norm" in a.description) == final_norm
    # validate=False picks the same (most plausible) reading for the reference layout
    assert get_adapter(model, validate=False).description == a.description
    for T in (1, 4, 9):
        x = tokens(6, 5, T, seed=T)
        with torch.no_grad():
            q = a.queries(x[:, -1], T)
            k, v = a.keys_values(x, torch.arange(T))
            assert q.shape == (5, 2, 4) and k.shape == (5, 2, T, 4) and v.shape == (5, 2, T, 4)
            assert torch.allclose(a.finish(x[:, -1], T, attend(q, k, v)), model(x), atol=ATOL)


def test_keys_values_are_positionwise_and_split_reproduces_model():
    model = ref_tf(norm_first=True)
    a = get_adapter(model)
    T, gen = 9, torch.Generator().manual_seed(3)
    x = tokens(6, 4, T, seed=4)
    with torch.no_grad():
        q = a.queries(x[:, -1], T)
        k, v = a.keys_values(x, torch.arange(T))
        for _ in range(6):
            mask = torch.rand(T, generator=gen) < 0.5  # interleaved subsets, sometimes empty
            alice, bob = torch.nonzero(mask).flatten(), torch.nonzero(~mask).flatten()
            ka, va = a.keys_values(x[:, alice], alice)
            assert torch.allclose(ka, k[:, :, alice], atol=ATOL) and torch.allclose(va, v[:, :, alice], atol=ATOL)
            kb, vb = a.keys_values(x[:, bob], bob)
            att = combine([partial_sums(q, ka, va), partial_sums(q, kb, vb)])
            assert torch.allclose(a.finish(x[:, -1], T, att), model(x), atol=ATOL)
    with pytest.raises(InvalidInputError, match="sequence length"):
        a.queries(x[:, -1], 10)
    with pytest.raises(InvalidInputError, match="0-based"):
        a.keys_values(x[:, :1], torch.tensor([9]))


def brute_attend(q, k, v):
    """sum_j softmax_j(<q,k_j>) v_j with python floats, one (b, h) at a time."""
    B, H, t, _ = k.shape
    out = torch.zeros(B, H, v.shape[-1], dtype=torch.float64)
    for b in range(B):
        for h in range(H):
            s = [sum(float(q[b, h, i]) * float(k[b, h, j, i]) for i in range(q.shape[-1])) for j in range(t)]
            m = max(s)
            w = [math.exp(x - m) for x in s]
            for j in range(t):
                out[b, h] += w[j] / sum(w) * v[b, h, j].double()
    return out


def test_partial_sums_combine_exact_over_arbitrary_partitions():
    gen = torch.Generator().manual_seed(5)
    B, H, t, dk, dv = 2, 3, 7, 4, 5
    q = torch.randn(B, H, dk, generator=gen, dtype=torch.float64) * 30  # large scores: shifts matter
    k = torch.randn(B, H, t, dk, generator=gen, dtype=torch.float64)
    v = torch.randn(B, H, t, dv, generator=gen, dtype=torch.float64)
    full = attend(q, k, v)
    assert torch.allclose(full, brute_attend(q, k, v), atol=1e-10)
    for _ in range(10):
        labels = torch.randint(0, 3, (t,), generator=gen)  # three parties, interleaved, some empty
        parts = [partial_sums(q, k[:, :, labels == p], v[:, :, labels == p]) for p in range(3)]
        assert torch.allclose(combine(parts), full, atol=1e-10)
        for p, part in zip(range(3), parts):
            if (labels == p).any():
                assert torch.all(part.den >= 1) and torch.all(part.den <= int((labels == p).sum()))
            else:
                assert torch.all(part.den == 0) and torch.all(part.shift == -math.inf)
    # a public fixed shift (then the message needs no shift scalar) gives the same answer
    fixed = [partial_sums(q, k[:, :, :3], v[:, :, :3], shift=50.0),
             partial_sums(q, k[:, :, 3:], v[:, :, 3:], shift=50.0)]
    assert torch.allclose(combine(fixed), full, atol=1e-10)
    merged = merge_partial_sums([tuple(p) for p in fixed])
    assert isinstance(merged, PartialSums) and torch.all(merged.shift == 50.0)
    with pytest.raises(InvalidInputError, match="finite"):
        partial_sums(q, k, v, shift=math.inf)
    with pytest.raises(InvalidInputError, match="every part was empty"):
        combine([partial_sums(q, k[:, :, :0], v[:, :, :0])])
    with pytest.raises(InvalidInputError, match="at least one part"):
        combine([])


# ----------------------------------------------------------------------------- foreign layouts
def test_foreign_transformer_accepted_and_validated():
    model = seeded(UserTransformer)
    assert type(get_adapter(model)).__name__ == "InterceptedAttentionAdapter"  # user models: their own forward
    a = build_attention_adapter(model)  # the reading-based adapter still reads this layout
    assert "2.828*words" in a.description and "enc" in a.description and "encoder.norm" in a.description
    x = tokens(5, 3, 7)
    with torch.no_grad():
        assert torch.allclose(a.reconstruct(x), model(x), atol=ATOL)


@pytest.mark.parametrize(
    "mode,reading", [("residual", "head(h_T + attn(h))"), ("attn", "head(attn(h))"), ("ln", "head(LN(h_T + attn(h)))")]
)
def test_foreign_mha_readings(mode, reading):
    model = seeded(UserMHA, mode, batch_first=(mode != "attn"))
    a = build_attention_adapter(model)
    assert a.description.endswith(f"{reading}; H=2, d_k=d_v=4") and "tokens + position_table" in a.description
    x = tokens(4, 3, 6)
    with torch.no_grad():
        assert torch.allclose(a.reconstruct(x), model(x), atol=ATOL)


def test_foreign_module_reading_first_position_rejected():
    with pytest.raises(UnsupportedArchitecture) as err:
        build_attention_adapter(seeded(UserMHA, "first"))
    msg = str(err.value)
    assert "none of" in msg and "head(attn(h))" in msg and "head(LN(h_T + attn(h)))" in msg
    assert "register_split_rule" in msg


# ----------------------------------------------------------------------------- refusals and unknown layouts
def test_refusals_name_lemma_and_reason():
    with pytest.raises(ReductionNotApplicable, match="Lemma R.*bidirectional.*Bob's tokens"):
        get_adapter(seeded(UserRecurrent, "lstm", bidirectional=True))
    # theory §4.2: two layers do have one-way protocols, only long ones, so no size bound applies
    with pytest.raises(ReductionNotApplicable, match=r"2 attention layers: Lemma T covers one attention layer; .*"
                       r"one-way protocols too, but long ones.*\[BHBK\] \(theory §7\.4\).*width O\(log n\)"):
        get_adapter(ref_tf(layers=2))
    with pytest.raises(ReductionNotApplicable) as err:
        build_attention_adapter(ref_tf(layers=2))
    assert "has 2 attention layers: " + TWO_LAYER_REASON in str(err.value)
    assert "no one-way reduction" not in str(err.value)

    class Declared(nn.Module):
        attention_layers = 2

    with pytest.raises(ReductionNotApplicable, match="attention_layers=2.*Lemma T") as err:
        get_adapter(Declared())
    assert TWO_LAYER_REASON in str(err.value)

    class RNNWithAttention(TinyRecurrent):
        def __init__(self):
            super().__init__("gru", 7, 6, 6, 3)  # UserRecurrent("gru"), plus an attention back over the prefix
            self.look_back = nn.MultiheadAttention(6, 1, batch_first=True)

    with pytest.raises(ReductionNotApplicable, match="Lemma R.*attends back over the prefix"):
        get_adapter(RNNWithAttention())


def test_unknown_layouts_list_supported():
    for model in (nn.Sequential(nn.Embedding(3, 4), nn.Linear(4, 2)), "not a model"):
        with pytest.raises(UnsupportedArchitecture, match="supported: Lemma R.*Lemma T.*register_split_rule"):
            get_adapter(model)
    with pytest.raises(UnsupportedArchitecture, match="forward failed on token ids"):
        get_adapter(nn.Sequential(nn.GRU(4, 4), nn.Linear(4, 2)))
    assert [e.kind for e in ADAPTERS] == ["recurrent", "recurrent", "attention", "recurrent", "attention"]
    assert all(e.to_dict()["builtin"] for e in ADAPTERS)


# ----------------------------------------------------------------------------- user registrations
class CumSum(nn.Module):
    """A user model with a running-sum state (no built-in adapter reads it)."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Parameter(torch.randn(4, 3))
        self.w = nn.Parameter(torch.randn(3, 2))

    def forward(self, x):
        return torch.tanh(self.emb[x].sum(1)) @ self.w


class CumSumAdapter(RecurrentAdapter):
    description = "running sum of embeddings"
    vocab_size = 4

    def __init__(self, model, wrong=False):
        super().__init__(model)
        self.wrong = wrong

    state_size = 3

    def initial_state(self, batch):
        return (torch.zeros(batch, 3),)

    def advance(self, state, tokens):
        return (state[0] + self.model.emb[tokens].sum(1),)

    def readout(self, state):
        return (state[0] if self.wrong else torch.tanh(state[0])) @ self.model.w

    def state_tensors(self, state):
        return {"sum": state[0]}


@pytest.mark.slow
def test_user_adapters_are_replaced_by_the_compiled_reduction():
    """A model no built-in reading accepts (the running sum of CumSum) needs no adapter any more: reduce()
    compiles its forward, and the hand-written adapter (Lemma R with the sum as the state) is the oracle."""
    from ccbounds import reduce
    from ccbounds.problems import INDEX

    model = seeded(CumSum)
    with pytest.raises(UnsupportedArchitecture, match="supported"):
        get_adapter(model)
    oracle = CumSumAdapter(model)
    x = tokens(4, 2, 5)
    assert torch.allclose(oracle.reconstruct(x), model(x), atol=ATOL)
    p = reduce(model, INDEX(2))  # data 0/1 and index tokens 2/3: CumSum's 4 token ids
    assert p.scalars == oracle.state_size == 3 and not p.message_grows_with_n
    xs, ys = list(p.problem.alice_inputs()), list(p.problem.bob_inputs())
    assert (p.answer_grid(p.messages(xs), ys) == p.model_grid(xs, ys)).all()
    for removed in (register_adapter, unregister_adapter):
        with pytest.raises(InvalidInputError, match="was removed.*register_split_rule"):
            removed(CumSum, CumSumAdapter, "cumsum")


def test_validation_is_seeded_and_restores_training_mode():
    model = ref_tf()
    model.train()
    a = get_adapter(model, seed=3)
    assert model.training
    assert validate_adapter(a, seed=7) == validate_adapter(a, seed=7)
