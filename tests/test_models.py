"""Reference models: configs, shapes, and output-for-output equality with hand-written references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ccbounds.errors import CCBoundsError, InvalidInputError, SolverLimitError, UnknownNameError
from ccbounds.models import (
    RecurrentClassifier,
    RecurrentConfig,
    TransformerClassifier,
    TransformerConfig,
    build_model,
    code_dimension,
    config_from_dict,
    count_parameters,
    last_position_logits,
    nearly_orthogonal_codes,
    sinusoidal_table,
)
from ccbounds.models.codes import max_coherence

torch.set_num_threads(1)


# ---------------------------------------------------------------- configs
def test_config_round_trip_and_arch():
    cases = [
        RecurrentConfig("rnn", 5, 2, width=7, nonlinearity="relu"),
        RecurrentConfig("gru", 3, 4, width=2, layers=3, embed_dim=5),
        RecurrentConfig("lstm", 9, 2, width=4),
        TransformerConfig(4, 2, max_len=10, d_model=8, heads=2),
        TransformerConfig(6, 3, max_len=5, d_model=12, heads=3, layers=2, d_ff=7, norm_first=True,
                          positions="sinusoidal", final_norm=True),
    ]
    archs = ["rnn", "gru", "lstm", "tf1", "tf2"]
    for c, arch in zip(cases, archs):
        d = c.to_dict()
        assert d["arch"] == c.arch == arch
        assert type(c).from_dict(d) == c
        assert config_from_dict(d) == c
        assert str(c).startswith(arch)
    assert cases[2].embed_dim == 4 and cases[3].d_ff == 32
    assert cases[2].state_scalars == 8 and cases[1].state_scalars == 6


@pytest.mark.parametrize(
    "make, err",
    [
        (lambda: RecurrentConfig("transformer", 3, 2, 4), UnknownNameError),
        (lambda: RecurrentConfig("lstm", 3, 2, 4, nonlinearity="relu"), InvalidInputError),
        (lambda: RecurrentConfig("rnn", 3, 2, 4, nonlinearity="gelu"), UnknownNameError),
        (lambda: RecurrentConfig("rnn", 0, 2, 4), InvalidInputError),
        (lambda: TransformerConfig(3, 2, 4, d_model=6, heads=4), InvalidInputError),
        (lambda: TransformerConfig(3, 2, 4, d_model=6, heads=2, positions="rotary"), UnknownNameError),
        (lambda: TransformerConfig(3, 2, 4, d_model=6, heads=2, norm_first=1), InvalidInputError),
        (lambda: RecurrentConfig.from_dict({"cell": "rnn", "vocab_size": 2, "num_classes": 2, "width": 1, "wdth": 3}),
         InvalidInputError),
        (lambda: config_from_dict({"arch": "tf3", "vocab_size": 2, "num_classes": 2, "max_len": 3, "d_model": 2,
                                   "heads": 1}), InvalidInputError),
        (lambda: config_from_dict({"vocab_size": 2}), InvalidInputError),
        (lambda: build_model("lstm"), InvalidInputError),
    ],
)
def test_config_errors(make, err):
    with pytest.raises(err) as e:
        make()
    assert isinstance(e.value, CCBoundsError) and "\n" not in str(e.value)


# ---------------------------------------------------------------- recurrent models
def _ref_recurrent(model: RecurrentClassifier, tokens: torch.Tensor) -> torch.Tensor:
    """A loop over time and layers with the cell equations written out (PyTorch's gate order)."""
    c, rnn = model.config, model.rnn
    x = model.embed.weight[tokens]  # (B, T, E)
    B, T = tokens.shape
    for l in range(c.layers):
        Wi, Wh = getattr(rnn, f"weight_ih_l{l}"), getattr(rnn, f"weight_hh_l{l}")
        bi, bh = getattr(rnn, f"bias_ih_l{l}"), getattr(rnn, f"bias_hh_l{l}")
        h = torch.zeros(B, c.width)
        cell = torch.zeros(B, c.width)
        outs = []
        for t in range(T):
            gi, gh = x[:, t] @ Wi.T + bi, h @ Wh.T + bh
            if c.cell == "rnn":
                act = torch.tanh if c.nonlinearity == "tanh" else torch.relu
                h = act(gi + gh)
            elif c.cell == "gru":
                ir, iz, inn = gi.chunk(3, 1)
                hr, hz, hn = gh.chunk(3, 1)
                r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
                h = (1 - z) * torch.tanh(inn + r * hn) + z * h
            else:
                i, f, g, o = (gi + gh).chunk(4, 1)
                cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(cell)
            outs.append(h)
        x = torch.stack(outs, 1)
    return x[:, -1] @ model.head.weight.T + model.head.bias


@pytest.mark.parametrize(
    "cfg",
    [
        RecurrentConfig("rnn", 6, 3, width=5),
        RecurrentConfig("rnn", 6, 3, width=5, layers=2, nonlinearity="relu"),
        RecurrentConfig("gru", 6, 2, width=4, embed_dim=3),
        RecurrentConfig("gru", 6, 2, width=4, layers=2),
        RecurrentConfig("lstm", 6, 4, width=3, embed_dim=7),
        RecurrentConfig("lstm", 6, 4, width=3, layers=3),
    ],
)
def test_recurrent_equals_reference(cfg):
    torch.manual_seed(7)
    model = build_model(cfg)
    assert isinstance(model, RecurrentClassifier) and model.config is cfg
    tokens = torch.randint(0, cfg.vocab_size, (4, 9), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = model(tokens)
        assert out.shape == (4, cfg.num_classes)
        torch.testing.assert_close(out, _ref_recurrent(model, tokens), atol=1e-5, rtol=1e-5)


def test_recurrent_layout_and_parameter_count():
    m = RecurrentClassifier(RecurrentConfig("lstm", 6, 4, width=3, layers=2, embed_dim=5))
    assert isinstance(m.rnn, torch.nn.LSTM) and m.rnn.batch_first and m.embed.weight.shape == (6, 5)
    # embedding + layer 1: 4W(E+W+2) + layer 2: 4W(2W+2) + head
    assert count_parameters(m) == 6 * 5 + 4 * 3 * (5 + 3 + 2) + 4 * 3 * (3 + 3 + 2) + 3 * 4 + 4
    assert isinstance(RecurrentClassifier(RecurrentConfig("rnn", 2, 2, 1)).rnn, torch.nn.RNN)


# ---------------------------------------------------------------- transformer models
def _ref_layer(layer: torch.nn.TransformerEncoderLayer, h: torch.Tensor, heads: int) -> torch.Tensor:
    B, T, d = h.shape
    dh = d // heads
    mha = layer.self_attn

    def ln(x, norm):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + norm.eps) * norm.weight + norm.bias

    def attn(x):
        Wq, Wk, Wv = mha.in_proj_weight.chunk(3)
        bq, bk, bv = mha.in_proj_bias.chunk(3)
        out = torch.zeros(B, T, d)
        for hd in range(heads):
            s = slice(hd * dh, (hd + 1) * dh)
            q, k, v = x @ Wq[s].T + bq[s], x @ Wk[s].T + bk[s], x @ Wv[s].T + bv[s]  # (B, T, dh)
            w = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(dh), dim=-1)  # (B, T, T)
            out[..., s] = w @ v
        return out @ mha.out_proj.weight.T + mha.out_proj.bias

    def ff(x):
        return torch.relu(x @ layer.linear1.weight.T + layer.linear1.bias) @ layer.linear2.weight.T + layer.linear2.bias

    if layer.norm_first:
        h = h + attn(ln(h, layer.norm1))
        return h + ff(ln(h, layer.norm2))
    h = ln(h + attn(h), layer.norm1)
    return ln(h + ff(h), layer.norm2)


def _ref_transformer(model: TransformerClassifier, tokens: torch.Tensor) -> torch.Tensor:
    c = model.config
    T = tokens.shape[1]
    pos = model.pos.weight[:T] if c.positions == "learned" else sinusoidal_table(c.max_len, c.d_model)[:T]
    h = model.embed.weight[tokens] + pos
    for layer in model.layers:
        h = _ref_layer(layer, h, c.heads)
    z = h[:, -1]
    if c.final_norm:
        z = torch.nn.functional.layer_norm(z, (c.d_model,), model.final_norm.weight, model.final_norm.bias)
    return z @ model.head.weight.T + model.head.bias


TF_CASES = [
    dict(norm_first=nf, positions=p, heads=hd, layers=ly, final_norm=fn)
    for nf in (False, True)
    for p in ("learned", "sinusoidal")
    for hd, ly, fn in ((1, 1, False), (2, 1, True), (2, 2, False))
]


@pytest.mark.parametrize("kw", TF_CASES)
def test_transformer_equals_reference(kw):
    torch.manual_seed(3)
    cfg = TransformerConfig(vocab_size=7, num_classes=3, max_len=10, d_model=8, d_ff=16, **kw)
    model = build_model(cfg)
    assert isinstance(model, TransformerClassifier)
    with torch.no_grad():  # random LayerNorm affines and biases so every term is exercised
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    tokens = torch.randint(0, 7, (5, 8), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = _ref_transformer(model, tokens)
        for mode in (model.train, model.eval):  # eval mode may take PyTorch's fused fast path
            mode()
            out = model(tokens)
            assert out.shape == (5, 3)
            torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(last_position_logits(model, tokens, chunk_size=2), ref, atol=1e-5, rtol=1e-4)


def test_sinusoidal_table_formula_and_buffer():
    tab = sinusoidal_table(6, 5)
    for t in range(6):
        for j in range(5):
            w = t / 10000 ** ((j - j % 2) / 5)
            assert abs(tab[t, j].item() - (math.sin(w) if j % 2 == 0 else math.cos(w))) < 1e-6
    m = TransformerClassifier(TransformerConfig(3, 2, max_len=6, d_model=5, heads=1, positions="sinusoidal"))
    assert "pos_table" in m.state_dict() and not hasattr(m, "pos")
    assert count_parameters(m) == sum(p.numel() for n, p in m.named_parameters())


def test_state_dict_round_trip():
    cfg = TransformerConfig(5, 2, max_len=6, d_model=4, heads=2, positions="sinusoidal")
    torch.manual_seed(0)
    a, b = build_model(cfg), build_model(cfg.to_dict())
    b.load_state_dict(a.state_dict())
    t = torch.randint(0, 5, (3, 6))
    torch.testing.assert_close(a(t), b(t))


def test_token_validation():
    m = TransformerClassifier(TransformerConfig(4, 2, max_len=3, d_model=4, heads=1))
    r = RecurrentClassifier(RecurrentConfig("gru", 4, 2, 3))
    for bad in (torch.tensor([[0, 1, 2, 3]]), torch.tensor([[0, 4]]), torch.tensor([0, 1]),
                torch.tensor([[0.0, 1.0]]), torch.zeros(2, 0, dtype=torch.long)):
        with pytest.raises(InvalidInputError):
            m(bad)
    with pytest.raises(InvalidInputError):
        r(torch.tensor([[-1, 0]]))
    with pytest.raises(InvalidInputError):
        last_position_logits(r, torch.tensor([[0]]))
    assert r(torch.tensor([[0, 1, 2, 3, 3, 3]])).shape == (1, 2)  # recurrent models take any length


# ---------------------------------------------------------------- nearly orthogonal codes
def test_code_dimension_formula():
    for n in (1, 2, 10, 1000):
        for gamma in (0.1, 0.5, 0.9):
            for delta in (0.01, 0.5):
                k = code_dimension(n, gamma, delta)
                assert k == math.ceil(2 / gamma**2 * math.log(2 * n * n / delta))
                # Hoeffding + union bound at that k: failure probability <= n^2 exp(-k g^2 / 2) <= delta
                assert n * (n - 1) / 2 * 2 * math.exp(-k * gamma**2 / 2) <= delta
    with pytest.raises(InvalidInputError):
        code_dimension(3, gamma=1.0)


def test_codes_are_verified_and_deterministic():
    c = nearly_orthogonal_codes(30, gamma=0.6, seed=4)
    assert c.codes.shape == (30, code_dimension(30, 0.6, 0.1)) and c.k == c.codes.shape[1]
    assert np.allclose(np.abs(c.codes), 1 / math.sqrt(c.k))
    brute = max(abs(float(c.codes[i] @ c.codes[j])) for i in range(30) for j in range(30) if i != j)
    assert abs(brute - c.gamma_realised) < 1e-12 and brute <= 0.6
    again = nearly_orthogonal_codes(30, gamma=0.6, seed=4)
    assert np.array_equal(again.codes, c.codes) and again.seed_used == c.seed_used
    assert "30 codes" in str(c) and c.to_dict()["k"] == c.k


def test_codes_retry_with_next_seed_and_give_up():
    # k = 4 small enough that some seeds fail for 6 codes at gamma = 0.5: check the retry bookkeeping
    c = next(r for s in range(50) if (r := nearly_orthogonal_codes(6, k=4, gamma=0.5, seed=s)).tries > 1)
    s0 = c.seed_used - c.tries + 1
    for t in range(c.tries - 1):  # every earlier seed really failed
        codes = np.random.default_rng(s0 + t).choice(np.array([-1.0, 1.0]), size=(6, 4)) / 2
        assert max_coherence(codes) > 0.5 + 1e-9
    assert max_coherence(c.codes) <= 0.5 + 1e-9
    # a coherence exactly at gamma is accepted (6/12 = 0.5 is not lost to rounding)
    assert nearly_orthogonal_codes(9, k=12, gamma=0.5).gamma_realised <= 0.5
    with pytest.raises(SolverLimitError, match="raise k"):
        nearly_orthogonal_codes(3, k=1, gamma=0.5, max_tries=5)  # in 1 dimension every |<u,v>| = 1
    assert nearly_orthogonal_codes(1, k=3).gamma_realised == 0.0
