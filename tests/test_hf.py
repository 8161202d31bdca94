"""Hugging Face recurrent models (issue 9 item 4): Lemma R through the model's own cache.

Tiny configs built here (nothing downloads). Every supported family passes check_reduction; the cache reading
(builtin_reduction: the oracle of the compiled reduction, and what reduce() keeps where the compiled protocol
refuses) has message sizes equal to a count written here from the config; prefix + continuation equals one full
forward; the conv slot the reduction does not send is shown never to be read; hybrids are refused by name.

Where reduce()'s compiled cut differs from the cache, COMPILED_S says what it is and why."""

from __future__ import annotations

import copy

import pytest
import torch
import transformers as tf
from torch import nn

from ccbounds.adapters import get_adapter
from ccbounds.errors import InvalidInputError, ReductionNotApplicable
from ccbounds.models.answers import AnswerLogits
from ccbounds.problems import EQ, INDEX
from ccbounds.reduction import reduce
from ccbounds.testing import check_reduction, check_refusal
from reductions.hf_cache import HFCacheProtocol
from reductions.registry import builtin_reduction

torch.set_num_threads(1)
V = 8  # task ids 0..5, answer tokens 6 and 7
ANSWERS = [6, 7]


pytestmark = pytest.mark.slow  # Hugging Face models, compiled and checked


def _mamba(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    cfg = tf.MambaConfig(vocab_size=V, hidden_size=32, state_size=8, conv_kernel=4, num_hidden_layers=2, expand=2)
    return tf.MambaForCausalLM(cfg).eval()


def _falcon(seed: int = 1) -> nn.Module:
    torch.manual_seed(seed)
    cfg = tf.FalconMambaConfig(vocab_size=V, hidden_size=16, state_size=4, conv_kernel=3, num_hidden_layers=2,
                               expand=2)
    return tf.FalconMambaForCausalLM(cfg).eval()


def _mamba2(seed: int = 2) -> nn.Module:
    torch.manual_seed(seed)
    cfg = tf.Mamba2Config(vocab_size=V, hidden_size=16, state_size=4, conv_kernel=4, num_hidden_layers=2, expand=2,
                          num_heads=4, head_dim=8, n_groups=1, chunk_size=4)
    return tf.Mamba2ForCausalLM(cfg).eval()


def _rwkv(seed: int = 3) -> nn.Module:
    torch.manual_seed(seed)
    cfg = tf.RwkvConfig(vocab_size=V, hidden_size=16, num_hidden_layers=2, attention_hidden_size=16,
                        intermediate_size=32, context_length=32)
    return tf.RwkvForCausalLM(cfg).eval()


def _xlstm(seed: int = 4) -> nn.Module:
    torch.manual_seed(seed)
    cfg = tf.xLSTMConfig(vocab_size=V, hidden_size=64, num_hidden_layers=2, num_heads=4, qk_dim_factor=1.0,
                         v_dim_factor=1.0, chunk_size=4, autocast_kernel_dtype="float32")
    return tf.xLSTMForCausalLM(cfg).eval()


# independent counts from each config (theory §4: every layer; conv buffers without their unread slot)
def _count_mamba(c) -> int:  # conv: (expand*d) x (K-1), ssm: (expand*d) x N
    inner = c.expand * c.hidden_size
    return c.num_hidden_layers * (inner * (c.conv_kernel - 1) + inner * c.state_size)


def _count_mamba2(c) -> int:  # conv over x, B, C: (expand*d + 2*groups*N) x (K-1); ssm: heads x head_dim x N
    conv = (c.expand * c.hidden_size + 2 * c.n_groups * c.state_size) * (c.conv_kernel - 1)
    return c.num_hidden_layers * (conv + c.num_heads * c.head_dim * c.state_size)


def _count_rwkv(c) -> int:  # two token shifts, wkv numerator, denominator, max exponent
    return 5 * c.hidden_size * c.num_hidden_layers


def _count_xlstm(c) -> int:  # C (H x d_qk x d_v), n (H x d_qk), m (H)
    H, dqk, dv = c.num_heads, c.hidden_size // c.num_heads, c.hidden_size // c.num_heads
    return c.num_hidden_layers * (H * dqk * dv + H * dqk + H)


FAMILIES = {
    "mamba": (_mamba, _count_mamba),
    "falcon_mamba": (_falcon, _count_mamba),
    "mamba2": (_mamba2, _count_mamba2),
    "rwkv": (_rwkv, _count_rwkv),
    "xlstm": (_xlstm, _count_xlstm),
}

#: reduce()'s compiled S where it differs from the cache count, with why (every one a checked cut, validated against
#: the model's forward):
#: - falcon_mamba, mamba2: EQ_2's n = 2 Alice positions are at most the conv kernel's K - 1 slots, so every cut
#:   through the conv window is indexed by all of her positions (a copy of her input); the cheapest is her 2
#:   embeddings of width hidden_size, and it is reported as growing with n;
#: - xlstm: its chunkwise form (chunk_size 4) mixes the positions of a chunk in one product, so inside the first
#:   chunk no cut smaller than her 2 embeddings of width 64 exists; reported as growing with n;
#: - rwkv: 13 vectors of 16 against the cache's 10 (5 per layer): the wkv sums (numerator, denominator, max
#:   exponent) of both layers, and each token shift sent as its products with the time-mix coefficients (the
#:   shifted hidden state is read at every position by Alice's own recurrence, and the cut is per traced value)
COMPILED_S = {"falcon_mamba": 2 * 16, "mamba2": 2 * 16, "xlstm": 2 * 64, "rwkv": 13 * 16}


def test_hf_mamba_2_layers_d32_state8_conv4_passes_conformance_with_counted_message() -> None:
    lm = _mamba()
    p = builtin_reduction(AnswerLogits(lm, ANSWERS), INDEX(4))  # the cache reading
    assert p.scalars == 2 * (64 * 3 + 64 * 8) == _count_mamba(lm.config) == 1408
    assert p.adapter.state_bits() == 1408 * 32  # float32 tensors
    check_reduction(p.module, INDEX(4)).raise_if_failed()
    assert "oldest of its K slots" in p.describe_message() and "ssm 64x8" in p.describe_message()


@pytest.mark.slow
@pytest.mark.parametrize("family", ["falcon_mamba", "mamba2", "rwkv", "xlstm"])
def test_every_supported_family_passes_conformance(family: str) -> None:
    build, count = FAMILIES[family]
    lm = build()
    model = AnswerLogits(lm, ANSWERS)
    oracle = builtin_reduction(model, EQ(2))  # the cache reading
    assert oracle.adapter.family.model_type == family
    assert oracle.scalars == count(lm.config)
    result = check_reduction(model, EQ(2))
    result.raise_if_failed()
    p = result.reduced  # what reduce(model, EQ(2)) returned
    assert type(p).__name__ == "CompiledProtocol" and p.scalars == COMPILED_S.get(family, oracle.scalars)
    xs, ys = list(EQ(2).alice_inputs()), list(EQ(2).bob_inputs())
    assert (p.answer_grid(p.messages(xs), ys) == oracle.answer_grid(oracle.messages(xs), ys)).all()


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_prefix_plus_continuation_equals_one_full_forward(family: str) -> None:
    model = AnswerLogits(FAMILIES[family][0](), ANSWERS)
    a = get_adapter(model)
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for T in (5, 9):
            tokens = torch.randint(0, 6, (6, T), generator=gen)
            full = model(tokens)
            # the model's own logits, as HF computes them without any cache
            assert torch.allclose(full, model.lm(input_ids=tokens, use_cache=False).logits[:, -1, ANSWERS])
            for cut in (1, T // 2, T - 1):
                got = a.bob_logits(a.alice_messages(tokens[:, :cut]), tokens[:, cut:], cut)
                assert torch.allclose(got, full, atol=1e-4, rtol=1e-4), (T, cut, float((got - full).abs().max()))


@pytest.mark.parametrize("build", [_mamba, _falcon, _mamba2])
def test_the_unsent_conv_slot_is_never_read_and_the_sent_ones_are(build) -> None:
    """Perturbing slot 0 of every conv buffer leaves every later answer unchanged; slot 1 changes them."""
    lm = build()
    gen = torch.Generator().manual_seed(7)
    tokens = torch.randint(0, 6, (4, 9), generator=gen)
    with torch.no_grad():
        cache = lm(input_ids=tokens[:, :5], use_cache=True).cache

        def continue_from(c):
            for j in range(5, 9):  # one token per call, the model's own cached path
                out = lm(input_ids=tokens[:, j:j + 1], cache=c, use_cache=True)
                c = out.cache
            return out.logits[:, -1]

        ref = continue_from(copy.deepcopy(cache))
        for slot, same in ((0, True), (1, False)):
            c = copy.deepcopy(cache)
            for layer in c.layers:
                layer.conv_states[0][..., slot] += 5.0 * torch.randn(layer.conv_states[0][..., slot].shape,
                                                                     generator=gen)
            assert torch.equal(continue_from(c), ref) == same


def test_backbone_inside_the_users_own_classifier_with_its_own_head() -> None:
    class Classifier(nn.Module):  # a user's module: their names, their head, the HF backbone inside
        def __init__(self) -> None:
            super().__init__()
            cfg = tf.MambaConfig(vocab_size=4, hidden_size=16, state_size=4, conv_kernel=4, num_hidden_layers=2)
            self.encoder = tf.MambaModel(cfg)
            self.head = nn.Sequential(nn.LayerNorm(16), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(input_ids=tokens).last_hidden_state  # (B, T, d)
            return self.head(hidden[:, -1])

    torch.manual_seed(8)
    model = Classifier().eval()
    oracle = builtin_reduction(model, EQ(3))  # the cache reading
    assert oracle.scalars == _count_mamba(model.encoder.config) == 2 * (32 * 3 + 32 * 4)
    result = check_reduction(model, EQ(3))
    result.raise_if_failed()
    # the compiled cut: Alice's 3 embeddings of width 16; the two layers' conv windows (2 x 3 slots) are taken for
    # a copy of her 3 positions spread over tensors (see test_two_layer_mamba_at_small_n_keeps_its_state_cut)
    assert result.reduced.scalars == 3 * 16


def test_a_head_that_pools_over_all_positions_is_refused_with_the_reason() -> None:
    class Pooling(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = tf.MambaModel(tf.MambaConfig(vocab_size=4, hidden_size=16, state_size=4,
                                                         num_hidden_layers=1))
            self.head = nn.Linear(16, 2)

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            return self.head(self.backbone(tokens)[0].mean(dim=1))

    torch.manual_seed(9)
    # the cache reading refuses it (the head reads every position); the compiled reduction (theory §4.3) finds
    # no cut of constant size through transformers' pure-torch Mamba path (an op without a rule there), so it
    # reports the honest larger message, Alice's 3 embeddings of width 16, and rules out no length
    p = reduce(Pooling().eval(), EQ(3))
    assert type(p).__name__ == "CompiledProtocol" and p.scalars == 3 * 16 and p.message_grows_with_n


def _jamba() -> nn.Module:
    cfg = tf.JambaConfig(vocab_size=V, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                         num_key_value_heads=1, intermediate_size=32, attn_layer_period=2, attn_layer_offset=1,
                         num_experts=1, expert_layer_period=2, mamba_d_state=4, mamba_d_conv=2, mamba_expand=2,
                         mamba_dt_rank=4)
    return tf.JambaForCausalLM(cfg).eval()


def _recurrent_gemma() -> nn.Module:
    cfg = tf.RecurrentGemmaConfig(vocab_size=V, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                  num_key_value_heads=1, head_dim=8, lru_width=16, attention_window_size=4,
                                  intermediate_size=32, block_types=["recurrent", "attention"])
    return tf.RecurrentGemmaForCausalLM(cfg).eval()


def _gpt2() -> nn.Module:
    return tf.GPT2LMHeadModel(tf.GPT2Config(vocab_size=V, n_embd=16, n_layer=1, n_head=2, n_positions=16)).eval()


@pytest.mark.parametrize("build,mention", [(_recurrent_gemma, "window")])
def test_hybrids_and_attention_models_are_refused_by_name(build, mention: str) -> None:
    torch.manual_seed(10)
    msg = check_refusal(AnswerLogits(build(), ANSWERS), EQ(2), must_mention=mention)
    assert "prefix" in msg


def test_hybrid_with_attention_after_a_recurrence_is_compiled_with_a_message_that_grows() -> None:
    """Jamba's attention layer reads Alice's positions through its Mamba layers' outputs: the cut is Alice's 2
    embeddings of width 16, it grows with n, and no length is ruled out (theory §4.3)."""
    torch.manual_seed(10)
    p = reduce(AnswerLogits(_jamba(), ANSWERS), EQ(2))
    assert type(p).__name__ == "CompiledProtocol" and p.scalars == 2 * 16 and p.message_grows_with_n
    assert p.largest_n(32) is None


def test_one_layer_gpt2_is_split_by_lemma_t() -> None:
    """GPT-2's attention (scaled-dot-product, traced in math form) with one layer: Lemma T's partial sums per head,
    H (d_v + 1) = 2 x (8 + 1), for EQ's constant query token; constant in n (theory §4.2, §4.3)."""
    torch.manual_seed(10)
    p = reduce(AnswerLogits(_gpt2(), ANSWERS), EQ(2))
    assert type(p).__name__ == "CompiledProtocol" and p.scalars == 2 * (8 + 1) and not p.message_grows_with_n
    assert "partial-softmax" in p.describe_message()


def test_answer_tokens_are_checked() -> None:
    lm = _mamba()
    for bad in ([6], [6, 6], [6, 8], "ab"):
        with pytest.raises(InvalidInputError, match="answer_tokens"):
            reduce(lm, EQ(2), answer_tokens=bad)


def test_same_seed_same_messages_and_eval_mode_kept() -> None:
    lm = _mamba()
    a = reduce(lm, EQ(2), answer_tokens=ANSWERS)
    b = reduce(_mamba(), EQ(2), answer_tokens=ANSWERS)
    xs = EQ(2).alice_inputs()
    with torch.no_grad():
        assert torch.equal(a.alice_messages(xs), b.alice_messages(xs))
    assert not lm.training
    # on the interleaved Dyck gadget the cache reading does not apply; the compiled cut grows with n (theory §4.3)
    assert reduce(lm, EQ(2), task="dyck", answer_tokens=ANSWERS).message_grows_with_n


@pytest.mark.parametrize("family", ["rwkv", "mamba"])
def test_a_classifier_that_feeds_embeddings_or_a_mask_to_the_backbone(family: str) -> None:
    class OwnInputs(nn.Module):  # RWKV: the user embeds tokens themselves; Mamba: positional ids and a mask
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(4, 16)
            if family == "rwkv":
                self.core = tf.RwkvModel(tf.RwkvConfig(vocab_size=4, hidden_size=16, num_hidden_layers=2,
                                                       attention_hidden_size=16, intermediate_size=32))
            else:
                self.core = tf.MambaModel(tf.MambaConfig(vocab_size=4, hidden_size=16, state_size=4,
                                                         num_hidden_layers=1))
            self.out = nn.Linear(16, 2)

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            if family == "rwkv":
                hidden = self.core(inputs_embeds=self.emb(tokens), return_dict=False)[0]
            else:
                hidden = self.core(tokens, attention_mask=torch.ones_like(tokens)).last_hidden_state
            return self.out(hidden[:, -1])

    torch.manual_seed(11)
    model = OwnInputs().eval()
    oracle = builtin_reduction(model, EQ(2))  # the cache reading
    count = _count_rwkv(model.core.config) if family == "rwkv" else _count_mamba(model.core.config)
    assert oracle.scalars == count == (160 if family == "rwkv" else 32 * 3 + 32 * 4)
    result = check_reduction(model, EQ(2))
    result.raise_if_failed()
    p = result.reduced  # what reduce(model, EQ(2)) returned
    if family == "rwkv":  # the compiled cut: 13 vectors of 16 (COMPILED_S says why), constant in n
        assert type(p).__name__ == "CompiledProtocol" and p.scalars == COMPILED_S["rwkv"]
        assert not p.message_grows_with_n
    else:  # n = 2 <= K - 1 = 3: every cut is a copy of Alice's input; her 2 embeddings of width 16 (COMPILED_S)
        assert p.scalars == 2 * 16 and p.message_grows_with_n


@pytest.mark.parametrize("width,layers", [(4, 1), (8, 2)])
def test_the_registry_formula_of_mamba_equals_the_measured_cache(width: int, layers: int) -> None:
    from ccbounds.architectures import get_architecture

    arch = get_architecture("mamba")
    task = EQ(2)
    torch.manual_seed(12)
    config = arch.make_config(4, 2, 6, width, layers=layers)
    model = arch.build(config).eval()
    p = builtin_reduction(model, task)  # the cache reading
    inner = 2 * width  # expand 2; conv kernel 4 (3 slots sent), state 8
    assert p.scalars == layers * (inner * 3 + inner * 8) == arch.message_scalars(width, layers=layers)
    assert config.state_scalars == p.scalars and p.adapter.family.model_type == "mamba"


def test_the_message_is_what_the_models_own_cache_holds_after_the_prefix() -> None:
    lm = _mamba()
    p = builtin_reduction(AnswerLogits(lm, ANSWERS), INDEX(4))  # the cache reading
    xs = [(0, 1, 1, 0), (1, 1, 1, 1)]
    prefix = torch.as_tensor([[0, 1, 1, 0], [1, 1, 1, 1]])  # index lookup: data bits are tokens 0/1
    with torch.no_grad():
        cache = lm(input_ids=prefix, use_cache=True).cache  # HF's own prefill, no ccbounds code
        per_layer = [(layer.conv_states[0][..., 1:], layer.recurrent_states[0]) for layer in cache.layers]
        sent = torch.cat([t.reshape(2, -1) for pair in per_layer for t in pair], dim=1)
        assert torch.equal(p.alice_messages(xs), sent)


def test_two_layer_mamba_at_small_n_keeps_its_state_cut() -> None:
    p = reduce(_mamba(), INDEX(4), answer_tokens=ANSWERS)
    assert p.scalars == _count_mamba(_mamba().config) and not p.message_grows_with_n


def test_the_cache_is_read_where_the_forward_does_not_trace(monkeypatch) -> None:
    """reduce() compiles every model; a Hugging Face recurrent model whose forward does not trace (simulated here:
    the tracer refuses) is read through its own cache instead, and the protocol says why."""
    from reductions.compiled import trace

    def refuse(*args, **kwargs):
        raise ReductionNotApplicable("cannot trace the model's forward into one program: simulated")

    monkeypatch.setattr(trace, "trace_forward", refuse)
    model = AnswerLogits(_mamba(), ANSWERS)
    p = reduce(model, INDEX(4))
    assert isinstance(p, HFCacheProtocol) and p.scalars == _count_mamba(model.lm.config)
    assert "simulated" in p.compiled_refusal and "because the compiled reduction (theory §4.3) refused" in p.explain()
    assert p.to_dict()["compiled_refusal"] == p.compiled_refusal
