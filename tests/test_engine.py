"""The one protocol engine: every caller runs the protocol and the real model through InducedProtocol.

The reference answers come from ``adapter.forward``, so a model whose forward returns an output object
(as every Hugging Face model does) works everywhere once its adapter unwraps it: reduce, audit (with
collision witnesses), check_reduction -- all through the public API.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ccbounds import EQ, INDEX, audit, check_reduction, reduce  # noqa: E402
from ccbounds.errors import InvalidInputError  # noqa: E402
from ccbounds.protocols.induced import InducedProtocol  # noqa: E402
from ccbounds.quantize import parse_precision  # noqa: E402
from reductions.gadgets import get_gadget  # noqa: E402
from tests.tiny_models import TinyRecurrent  # noqa: E402


@dataclass
class Output:
    """A model output object with a ``logits`` field (like transformers' ModelOutput)."""

    logits: torch.Tensor
    hidden: torch.Tensor


class WrappedLSTM(TinyRecurrent):
    """Embedding(n + 2, width) -> LSTM(width, width) -> Linear(width, 2), answering with an output object."""

    def __init__(self, n: int, width: int) -> None:
        super().__init__("lstm", n + 2, width, width, 2)

    def forward(self, tokens: torch.Tensor) -> Output:
        out, _ = self.rnn(self.embed(tokens))
        return Output(logits=self.head(out[:, -1]), hidden=out)


@pytest.mark.slow
def test_model_returning_an_output_object_is_reduced_audited_checked_and_witnessed() -> None:
    torch.manual_seed(0)
    model = WrappedLSTM(4, 1).eval()  # width 1: S = 2 scalars, so low precisions collide
    p = reduce(model, INDEX(4))
    assert p.scalars == 2 and isinstance(p, InducedProtocol)
    xs = INDEX(4).alice_inputs()
    ys = INDEX(4).bob_inputs()
    own = np.array([[int(model(torch.as_tensor(get_gadget(INDEX(4)).encode(x, y))[None]).logits.argmax())
                     for y in ys] for x in xs])  # the model run by hand, one sequence at a time
    assert (p.model_grid(xs, ys) == own).all() and (p.answer_grid(p.messages(xs), ys) == own).all()
    assert check_reduction(model, INDEX(4)).ok
    r = audit(model, INDEX(4), precisions=(1, 32), samples=128, calibration_samples=32, witnesses=2)
    assert r.protocol_mismatches == 0 and r.exit_status == 0
    assert r.witnesses and all(w.confirmed for w in r.witnesses)
    for w in r.witnesses:  # each witness's model answers are the real model's, unwrapped
        for k, toks in enumerate(w.tokens):
            assert int(model(torch.as_tensor(toks)[None]).logits.argmax()) == w.model_answers[k]


@pytest.mark.slow
def test_audit_accepts_a_ready_protocol_and_gives_the_same_report() -> None:
    from ccbounds.models import RecurrentConfig, build_model

    torch.manual_seed(1)
    gru = build_model(RecurrentConfig("gru", vocab_size=5, num_classes=2, width=2)).eval()
    p = reduce(gru, EQ(3))
    kw = {"precisions": (2, "fp16", 32), "samples": 96, "calibration_samples": 16, "witnesses": 1}
    assert audit(p, **kw).to_json() == audit(gru, EQ(3), **kw).to_json()
    assert audit(p, EQ(3), **kw).problem == "EQ_3"
    with pytest.raises(InvalidInputError, match="not INDEX_3"):
        audit(p, INDEX(3), **kw)
    with pytest.raises(InvalidInputError, match="no task, gadget"):
        audit(p, task="eq", **kw)


@pytest.mark.slow
def test_grids_agree_with_single_runs_for_shared_and_per_row_queries() -> None:
    from ccbounds.models import RecurrentConfig, build_model

    torch.manual_seed(2)
    lstm = build_model(RecurrentConfig("lstm", vocab_size=4, num_classes=2, width=3)).eval()
    p = reduce(lstm, EQ(2))
    xs = EQ(2).alice_inputs()
    per_row = [y for x in xs for y in (x, (1 - x[0], x[1]))]  # two queries per x, row-major
    grid = p.answer_grid(p.messages(xs), p.prepare_queries(per_row, per_row=True))
    single = np.array([p.run(x, y).output for x in xs for y in (x, (1 - x[0], x[1]))]).reshape(len(xs), 2)
    assert (grid == single).all() and (p.model_grid(xs, per_row, per_row=True) == single).all()
    assert (p.bob_answers(p.messages(xs), [x for x in xs]) == single[:, 0]).all()
    model = p.model_answers([(x, y) for x in xs for y in EQ(2).bob_inputs()])
    assert (model.reshape(len(xs), -1) == p.model_grid(xs, EQ(2).bob_inputs())).all()


def test_gadget_sequences_are_the_encodings() -> None:
    for problem, task in ((INDEX(3), None), (EQ(2), None), (EQ(2), "dyck")):
        g = get_gadget(problem, task)
        xs, ys = problem.alice_inputs(), problem.bob_inputs()
        grid = g.sequences(xs, ys, grid=True)
        assert grid.tolist() == [g.encode(x, y).tolist() for x in xs for y in ys]
        pairs = [(x, y) for x in xs for y in ys][::3]
        assert g.sequences([x for x, _ in pairs], [y for _, y in pairs]).tolist() == \
            [g.encode(x, y).tolist() for x, y in pairs]
    with pytest.raises(InvalidInputError, match="grid=True"):
        get_gadget(INDEX(3)).sequences([(0, 0, 1)], [0, 1])


@pytest.mark.parametrize("spec, label, bits, fixed", [
    (1, "fixed1", 1, True), ("7", "fixed7", 7, True), (" 31 ", "fixed31", 31, True), ("fixed4", "fixed4", 4, True),
    (32, "fp32", 32, False), ("32", "fp32", 32, False), (np.int64(32), "fp32", 32, False),
    ("fp32", "fp32", 32, False), ("float16", "fp16", 16, False), ("BF16", "bf16", 16, False),
    ("e4m3", "fp8e4m3", 8, False), ("fp8e5m2", "fp8e5m2", 8, False),
])
def test_one_meaning_for_every_precision(spec, label, bits, fixed) -> None:
    pr = parse_precision(spec)
    assert (pr.label, pr.bits, pr.fixed) == (label, bits, fixed)
    from ccbounds.budgets import budget
    from ccbounds.quantize import get_scheme

    cal = np.linspace(-1.0, 1.0, 9)
    assert get_scheme(spec, calibration=cal).bits_per_scalar == bits  # 32 is fp32 here too
    assert (get_scheme(spec, calibration=cal).name == "fp32") == (label == "fp32")
    assert budget("gru", width=3, precision=spec, problem="index", n=8).bits_per_scalar == bits


@pytest.mark.parametrize("bad", [0, 33, "fixed32", "fixed0", True, "int4", 8.5, None])
def test_bad_precisions_are_refused_with_the_valid_ones(bad) -> None:
    from ccbounds.errors import CCBoundsError

    with pytest.raises(CCBoundsError, match="1..32"):
        parse_precision(bad)


def test_reduce_cost_and_check_read_precisions_the_same_way() -> None:
    torch.manual_seed(3)
    p = reduce(WrappedLSTM(4, 2), INDEX(4))
    for spec in (8, "8", "fixed8", "fp16", 32, "fp32"):
        b = parse_precision(spec).bits
        assert p.cost_bits(spec) == 4 * b == p.check(spec).message_bits
    assert p.at_precision(32).precision.name == "fp32"
    assert p.at_precision(4, calibration=p.messages(INDEX(4).alice_inputs()).numpy()).cost_bits(4) == 16
