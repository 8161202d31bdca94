"""reduce(model, problem): the compiled cut checked against every built-in reading as an oracle (same S and
answers, or the difference named in COMPILED_DIFFERS), exact message sizes (theory §4), refusals, explain() and
the removed registrations."""

from __future__ import annotations

import functools
import re

import pytest

torch = pytest.importorskip("torch")

from ccbounds.errors import InvalidInputError, ReductionNotApplicable  # noqa: E402
from ccbounds.models import RecurrentConfig, TransformerConfig, build_model  # noqa: E402
from ccbounds.problems import DISJ, EQ, INDEX  # noqa: E402
from ccbounds.reduction import InducedProtocol, reduce  # noqa: E402
from ccbounds.testing import check_reduction, check_refusal  # noqa: E402
from reductions.gadgets import get_gadget  # noqa: E402
from reductions.registry import builtin_reduction, list_reductions, register_reduction  # noqa: E402
from tests.tiny_models import TinyRecurrent  # noqa: E402

torch.set_num_threads(1)


def _rec(cell: str, vocab: int, width: int = 6, layers: int = 1, seed: int = 0, classes: int = 2) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(RecurrentConfig(cell, vocab_size=vocab, num_classes=classes, width=width, layers=layers)).eval()


def _tf(vocab: int, max_len: int, d: int = 8, heads: int = 2, layers: int = 1, seed: int = 0, **kw) -> torch.nn.Module:
    torch.manual_seed(seed)
    cfg = TransformerConfig(vocab_size=vocab, num_classes=2, max_len=max_len, d_model=d, heads=heads, layers=layers,
                            **kw)
    return build_model(cfg).eval()


def _hf_mamba(vocab: int, seed: int = 0) -> torch.nn.Module:
    from transformers import MambaConfig, MambaForCausalLM

    from ccbounds.models.answers import AnswerLogits

    torch.manual_seed(seed)
    lm = MambaForCausalLM(MambaConfig(vocab_size=vocab + 2, hidden_size=16, state_size=4, conv_kernel=3,
                                      num_hidden_layers=1, expand=2)).eval()
    return AnswerLogits(lm, [vocab, vocab + 1])


class _UserGRU(torch.nn.Module):
    """A user's model: LayerNorm between embedding and a sequence-first GRU, 2-layer MLP head."""

    def __init__(self, vocab: int, seed: int = 0) -> None:
        torch.manual_seed(seed)
        super().__init__()
        self.emb, self.norm = torch.nn.Embedding(vocab, 6), torch.nn.LayerNorm(6)
        self.gru = torch.nn.GRU(6, 5, num_layers=2)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(self.norm(self.emb(x)).transpose(0, 1))
        return self.mlp(out[-1])


class _UserBlock(torch.nn.Module):
    """A user's hand-written block: MultiheadAttention + LayerNorm + FFN, learned positions."""

    def __init__(self, vocab: int, max_len: int, seed: int = 0) -> None:
        torch.manual_seed(seed)
        super().__init__()
        self.tok, self.pos = torch.nn.Embedding(vocab, 8), torch.nn.Embedding(max_len, 8)
        self.attn = torch.nn.MultiheadAttention(8, 2, batch_first=True)
        self.ln = torch.nn.LayerNorm(8)
        self.ffn = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.GELU(), torch.nn.Linear(16, 8))
        self.out = torch.nn.Linear(8, 2)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.tok(x) + self.pos(torch.arange(x.shape[1]))
        a, _ = self.attn(h, h, h)
        z = self.ln(h + a)
        return self.out(z + self.ffn(z))[:, -1]


# Examples per built-in reduction: (model, problem, task). The suite runs over list_reductions() and
# fails if a registered reduction has no examples here, so a new built-in cannot skip conformance. Built on first
# use (the Hugging Face model costs seconds), once: the conformance and prose tests share the models.
@functools.cache
def examples() -> dict[str, list]:
    return {
        "recurrent-state": [
            (_rec("lstm", 6, layers=2), INDEX(4), None),
            (_rec("gru", 6, seed=1), INDEX(4), None),
            (_rec("rnn", 6, layers=3, seed=2), INDEX(4), None),
            (_rec("lstm", 4, seed=3), EQ(3), None),
            (_rec("gru", 4, seed=4), DISJ(3), None),
            (_rec("lstm", 8, seed=5), INDEX(3), "disj"),  # INDEX -> DISJ -> x SEP y END
        ],
        "intercepted-state": [
            (_UserGRU(6), INDEX(4), None),
            (_UserGRU(4, seed=1), EQ(3), None),
        ],
        "intercepted-attention": [
            (_UserBlock(6, 5), INDEX(4), None),
            (_UserBlock(5, 13, seed=2), DISJ(3), "dyck"),
        ],
        "one-layer-attention": [
            (_tf(6, 5), INDEX(4), None),  # query token is Bob's: Q = 4
            (_tf(4, 8, norm_first=True), EQ(3), None),
            (_tf(4, 8, positions="sinusoidal", seed=1), DISJ(3), None),
            (_tf(5, 13, seed=2), DISJ(3), "dyck"),  # interleaved positions, public END
            (_tf(5, 7, heads=1, seed=3), EQ(3), "dyck"),
        ],
        "hf-cache": [  # more families and both usage styles: tests/test_hf.py
            (_hf_mamba(4), EQ(4), None),  # n > conv_kernel - 1: below it the conv carry is all of her input
        ],
    }


#: where reduce()'s compiled cut differs from the built-in reading (the oracle), and why; both are protocols checked
#: against the model's forward. INDEX's query token is Bob's with Q = n values, so Lemma T's partial sums cost
#: H * (d/H + 1) * n = (d + H) * n scalars, more than the copy of Alice's n embeddings (d * n): the compiled cut
#: picks the copy, and both grow with n.
COMPILED_DIFFERS = {
    ("intercepted-attention", 0): (4 * 8, "Alice's 4 embeddings (d = 8), cheaper than Lemma T's 4 * 2 * (4 + 1)"),
    ("one-layer-attention", 0): (4 * 8, "Alice's 4 embeddings (d = 8), cheaper than Lemma T's 4 * 2 * (4 + 1)"),
}


#: the protocols check_reduction checked, by (reduction, example index): compiled once, read by the prose test too
_REDUCED: dict = {}


def _reduced(reduction: str, i: int) -> InducedProtocol:
    if (reduction, i) not in _REDUCED:
        model, problem, task = examples()[reduction][i]
        _REDUCED[reduction, i] = reduce(model, problem, task=task)
    return _REDUCED[reduction, i]


@pytest.mark.parametrize("reduction", [r.name for r in list_reductions()])
@pytest.mark.slow
def test_every_registered_reduction_passes_conformance(reduction: str) -> None:
    assert reduction in examples(), f"reduction {reduction} has no conformance examples"
    for i, (model, problem, task) in enumerate(examples()[reduction]):
        result = check_reduction(model, problem, task=task)
        result.raise_if_failed()
        assert set(result.checks) == {"protocol-equals-model", "message-bits", "bound-is-spec", "gadget"}
        # the compiled protocol (reduce's one path) against the built-in reading as an oracle: same S, answers
        new, old = result.reduced, builtin_reduction(model, problem, task=task)
        _REDUCED[reduction, i] = new
        assert type(new).__name__ == "CompiledProtocol" and type(old).__name__ != "CompiledProtocol"
        S, why = COMPILED_DIFFERS.get((reduction, i), (old.scalars, "the oracle's count"))
        assert new.scalars == S, (reduction, i, new.scalars, S, why)
        assert new.message_grows_with_n == old.message_grows_with_n, (reduction, i)
        pairs = new.problem.sample(12, seed=1)
        xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
        assert (new.answer_grid(new.messages(xs), ys) == old.answer_grid(old.messages(xs), ys)).all()


@pytest.mark.parametrize("cell,factor", [("lstm", 2), ("gru", 1), ("rnn", 1)])
@pytest.mark.parametrize("h,L", [(3, 1), (5, 2), (4, 3)])
@pytest.mark.slow
def test_recurrent_message_is_exactly_state_size_times_32(cell: str, factor: int, h: int, L: int) -> None:
    p = reduce(_rec(cell, 6, width=h, layers=L), INDEX(4))
    assert p.scalars == factor * h * L
    assert p.cost_bits(32) == factor * h * L * 32
    assert len(p.encode(p.alice((0, 1, 1, 0)))) == factor * h * L * 32


@pytest.mark.parametrize("d,H", [(8, 1), (8, 2), (12, 3)])
@pytest.mark.slow
def test_attention_message_is_heads_times_dv_plus_one(d: int, H: int) -> None:
    p = reduce(_tf(4, 8, d=d, heads=H), EQ(3))  # END is Bob's and constant: Q = 1
    dv = d // H
    assert builtin_reduction(_tf(4, 8, d=d, heads=H), EQ(3)).query_values == (3,)  # the Lemma T oracle
    assert p.scalars == H * (dv + 1) and type(p).__name__ == "CompiledProtocol"
    assert p.cost_bits(32) == H * (dv + 1) * 32
    oracle = builtin_reduction(_tf(6, 5, d=d, heads=H), INDEX(4))  # the index token is Bob's: Q = n values
    assert oracle.scalars == 4 * H * (dv + 1) and oracle.message_grows_with_n
    q = reduce(_tf(6, 5, d=d, heads=H), INDEX(4))  # (d + H) * n > d * n: the copy of Alice's embeddings is cheaper
    assert q.scalars == 4 * d and q.message_grows_with_n and "gives no bound" in q.explain()


def test_bound_and_check_inequality() -> None:
    p = reduce(_rec("gru", 4, width=2), EQ(8) if False else EQ(3))
    chk = p.check(precision=1)
    assert chk.message_bits == 2 and chk.bound.value == 3 and not chk.holds
    assert "below bound" in chk.verdict
    assert p.check(precision=2).holds and "not ruled out" in p.check(precision=2).verdict
    assert p.largest_n(precision=1) == 2


@pytest.mark.slow
def test_explain_fills_in_the_numbers() -> None:
    p = reduce(_rec("lstm", 6, width=3, layers=2), INDEX(4))
    text = p.explain(precision=8)
    assert "S = 12 scalars" in text and "S*b = 96 bits" in text and "INDEX_4" in text
    assert "Alice owns positions 0..3" in text


@pytest.mark.parametrize("reduction", sorted(r.name for r in list_reductions()))
@pytest.mark.slow
def test_explain_prose_has_no_stray_spaces(reduction: str) -> None:
    for i in range(len(examples()[reduction])):
        p = _reduced(reduction, i)
        for precision in (1, 8, "fp16", 32):
            for eps in (0.0, 0.1):
                text = p.explain(precision, eps)
                for bad in (" .", " ,", "  "):
                    assert bad not in text, (reduction, precision, eps, bad, text)
                assert not re.search(r"\.\.(\s|$)", text), text  # no doubled full stop (0..3 is a range)
                assert all(line.endswith(".") for line in text.splitlines()), text
    assert "At b = 1 bit per scalar" in p.explain(1) and "At b = 8 bits per scalar" in p.explain(8)


@pytest.mark.slow
def test_former_refusals_get_their_honest_message_or_say_why() -> None:
    """Two attention layers and an RNN on an interleaved gadget are compiled (theory §4.3): the cheapest cut is a
    copy of Alice's input, so the message grows with n and no length limit follows; what cannot be compiled is
    refused with the reason."""
    tf2 = reduce(_tf(4, 8, layers=2), EQ(3))
    assert type(tf2).__name__ == "CompiledProtocol" and tf2.message_grows_with_n and tf2.largest_n(8) is None
    assert tf2.scalars == 3 * 8  # Alice's 3 positions x d_model = 8: her embeddings (with positions)
    assert "gives no bound" in tf2.explain()
    dyck = reduce(_rec("lstm", 5), DISJ(2), task="dyck")  # Alice's positions interleave with Bob's
    assert dyck.message_grows_with_n and dyck.largest_n(8) is None
    torch.manual_seed(0)
    bi = BiGRU().eval()  # the state at the cut depends on Bob's tokens: the cut is Alice's embeddings
    p = reduce(bi, EQ(3))
    assert p.message_grows_with_n and p.largest_n(8) is None and p.scalars == 3 * 4
    assert "gives no bound" in p.explain()
    check_refusal(torch.nn.Linear(3, 2), EQ(3), must_mention="fails on sequences")


def BiGRU() -> TinyRecurrent:
    # Embedding(4, 4) -> bidirectional GRU(4, 4) -> Linear(8, 2), read at position 0, where the backward
    # direction has read Bob's tokens
    return TinyRecurrent("gru", 4, 4, 4, 2, read=0, bidirectional=True)


def test_vocabulary_and_length_mismatch_are_refused() -> None:
    with pytest.raises(ReductionNotApplicable, match="token ids"):
        reduce(_rec("lstm", 3), INDEX(4))  # INDEX_4 needs 6 token ids
    with pytest.raises(ReductionNotApplicable, match="fails on sequences of .*max_len=5"):
        reduce(_tf(4, 5), EQ(3))  # x SEP y END has 8 tokens
    with pytest.raises(InvalidInputError):
        reduce(_rec("lstm", 6), "INDEX")


def test_registered_reductions_are_removed_with_what_replaces_them() -> None:
    from ccbounds.adapters import register_adapter, register_state_module

    for register in (register_reduction, register_adapter, register_state_module):
        with pytest.raises(InvalidInputError, match="was removed.*register_split_rule"):
            register("anything")


@pytest.mark.slow
def test_quantized_protocol_costs_s_times_b_and_degrades() -> None:
    p = reduce(_rec("lstm", 6, width=8), INDEX(4))
    xs = INDEX(4).alice_inputs()
    calib = p.alice_messages(xs).detach().numpy()
    q1 = p.at_precision(1, calibration=calib)
    assert len(q1.encode(q1.alice(xs[3]))) == p.scalars
    # at 32-bit fixed point the protocol still equals the model
    q32 = p.at_precision(32, calibration=calib)
    pairs = [(x, i) for x in xs[:4] for i in range(4)]
    assert [q32.output(x, y) for x, y in pairs] == p.model_answers(pairs).tolist()


@pytest.mark.slow
def test_attention_on_index_lookup_has_no_length_limit() -> None:
    p = reduce(_tf(6, 5), INDEX(4))  # the query token (Bob's index) takes n values: S grows with n
    assert p.message_grows_with_n and p.largest_n(32) is None
    assert "no length limit" in p.explain()
    q = reduce(_tf(4, 8), EQ(3))  # END is constant: S fixed, the bound limits n
    assert not q.message_grows_with_n and q.largest_n(32) == q.cost_bits(32)


@pytest.mark.slow
def test_vocabulary_fallback_query_keeps_the_length_limit() -> None:
    import dataclasses

    g = dataclasses.replace(get_gadget(EQ(17)), final_token_values=())  # no stated values, 2^17 Bob inputs
    p = reduce(_tf(4, 36), EQ(17), gadget=g)
    assert builtin_reduction(_tf(4, 36), EQ(17), gadget=g).query_values == (0, 1, 2, 3)  # the Lemma T oracle
    assert p.scalars == 4 * 2 * (4 + 1) and not p.message_grows_with_n
    assert p.largest_n(4) == p.cost_bits(4) and "no length limit" not in p.explain(4)


@pytest.mark.slow
def test_verdicts_with_errors_name_the_distribution() -> None:
    p = reduce(_rec("gru", 6, width=1), INDEX(4))
    chk = p.check(precision=1, eps=0.1)
    assert not chk.holds and "average error <= 0.1" in chk.verdict and "x uniform" in chk.verdict
    assert "exact on every input" not in chk.verdict
    assert "rules out average error <= 0.1" in p.explain(1, eps=0.1)


def _custom_index3() -> tuple:
    """INDEX_3 written as a user's function problem, with the INDEX gadget pointed at it."""
    import dataclasses
    import itertools

    from ccbounds.problems import Problem

    xs = list(itertools.product((0, 1), repeat=3))
    P = Problem.from_function(lambda x, i: x[i], xs, [0, 1, 2], name="lookup3")
    return P, dataclasses.replace(get_gadget(INDEX(3)), problem=P)


@pytest.mark.slow
def test_custom_problem_has_a_one_way_bound_check_and_audit() -> None:
    from ccbounds import audit
    from ccbounds._required_bits import required_bits
    from ccbounds.problems import Problem

    # independent count: 4 distinct rows (0,0,0), (0,1,1)... of this 4x3 matrix -> ceil(log2 4) = 2 bits
    M = [[0, 0, 0], [0, 1, 1], [1, 0, 1], [0, 1, 1], [1, 1, 0]]
    distinct = len({tuple(r) for r in M})
    b = required_bits(Problem.from_matrix(M))
    assert b.model == "D1way(A->B)" and b.is_lower and b.value == (distinct - 1).bit_length()
    P, g = _custom_index3()
    assert required_bits(P).value == 3  # 8 distinct rows
    p = reduce(_rec("gru", 5, width=2), P, gadget=g)
    assert p.lower_bound().value == 3 and p.check(precision=1).holds is False and p.check(precision=2).holds
    r = audit(_rec("gru", 5, width=2), P, gadget=g, precisions=(1, 32), samples=64, calibration_samples=32,
              witnesses=0)
    assert r.lower_bound.value == 3 and [row.verdict for row in r.rows] == ["below bound", "consistent"]
