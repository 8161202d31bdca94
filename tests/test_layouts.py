"""Token layouts as users have them: BOS / [CLS] / end tokens, id blocks moved by an offset, vocabulary notes."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from ccbounds.auditing import audit
from ccbounds.errors import ReductionNotApplicable
from ccbounds.problems import EQ, INDEX
from ccbounds.reduction import reduce
from ccbounds.testing import check_reduction
from reductions.gadgets import check_gadget, get_gadget
from reductions.registry import builtin_reduction
from tests.tiny_models import TinyRecurrent

torch.set_num_threads(1)


pytestmark = pytest.mark.slow  # compiles and audits models per token layout


def LSTMModel(V):  # Embedding(V, 4) -> LSTM(4, 4) -> Linear(4, 2), read last
    return TinyRecurrent("lstm", V, embed=4, width=4, classes=2)


class CLSModel(nn.Module):
    """Reads the attention output at position 0, where a public [CLS] token sits."""

    def __init__(self, V, d=8, heads=2):
        super().__init__()
        self.emb, self.pos = nn.Embedding(V, d), nn.Embedding(16, d)
        self.layer = nn.TransformerEncoderLayer(d, heads, 16, dropout=0.0, batch_first=True)
        self.fc = nn.Linear(d, 2)

    def forward(self, x):
        return self.fc(self.layer(self.emb(x) + self.pos(torch.arange(x.shape[1])))[:, 0])


def made(cls, *a, **kw):
    torch.manual_seed(0)
    return cls(*a, **kw).eval()


@pytest.mark.parametrize("kw", [{"bos": 6}, {"data_offset": 5, "index_offset": 10}, {"bos": 0, "data_offset": 1,
                                                                                        "index_offset": 3}])
def test_index_gadget_layouts_are_brute_force_checked(kw):
    g = get_gadget(INDEX(3), **kw)
    assert check_gadget(g, exhaustive=True).ok


def test_bos_before_alice_block_lemma_r():
    g = get_gadget(INDEX(4), bos=6)  # BOS at 0, data 0/1 at 1..4, index tokens 2..5 at 5
    assert g.owners[0] == "public" and g.encode((1, 0, 1, 1), 2).tolist() == [6, 1, 0, 1, 1, 4]
    model = made(LSTMModel, 7)
    check_reduction(model, INDEX(4), gadget=g).raise_if_failed()
    assert reduce(model, INDEX(4), gadget=g).scalars == 2 * 4  # h and c of one LSTM layer of width 4


def test_cls_public_at_0_lemma_t_and_end_token():
    g = get_gadget(EQ(3), bos=4, eos=5)  # [CLS] x SEP y END [EOS]
    model = made(CLSModel, 6)
    check_reduction(model, EQ(3), gadget=g).raise_if_failed()
    oracle = builtin_reduction(model, EQ(3), gadget=g)  # Lemma T's reading: the public [CLS] row
    assert oracle.query_position == 0 and oracle.query_values == (4,) and oracle.scalars == 2 * (4 + 1)
    p = reduce(model, EQ(3), gadget=g)  # the compiled cut: the same partial sums
    assert p.scalars == 2 * (4 + 1) and not p.message_grows_with_n and "partial-softmax" in p.describe_message()
    # without the public [CLS], position 0 is Alice's: no Lemma T reading; the compiled reduction (theory §4.3)
    # finds no cut of constant size (the read-out row's query is hers), so nothing is ruled out
    q = reduce(model, EQ(3))
    assert type(q).__name__ == "CompiledProtocol" and q.message_grows_with_n and q.largest_n(32) is None


def test_offset_blocks_data_5_6_index_from_10():
    g = get_gadget(INDEX(4), data_offset=5, index_offset=10)
    assert g.encode((1, 0, 0, 1), 3).tolist() == [6, 5, 5, 6, 13] and g.task.vocab_size == 14
    model = made(LSTMModel, 14)
    check_reduction(model, INDEX(4), gadget=g).raise_if_failed()


def test_audit_says_when_the_vocabularies_differ():
    big = made(LSTMModel, 20)
    report = audit(big, INDEX(4), samples=32, precisions=(32,))
    note = [n for n in report.notes if "vocabulary" in n]
    assert note and "20 ids" in note[0] and "data_offset=" in note[0] and "index_offset=" in note[0]
    assert any("larger than the gadget's" in n for n in json.loads(report.to_json())["notes"])
    assert not [n for n in audit(made(LSTMModel, 6), INDEX(4), samples=32, precisions=(32,)).notes if "vocabulary" in n]
    with pytest.raises(ReductionNotApplicable, match="reads 6 token ids but the gadget .* uses 14.*data_offset="):
        audit(made(LSTMModel, 6), INDEX(4), gadget=get_gadget(INDEX(4), data_offset=5, index_offset=10), samples=8)


def test_spec_layout_keys(tmp_path):
    from ccbounds.auditing import audit_checkpoint
    from ccbounds.checkpoint import parse_spec

    spec = {"task": "index-lookup", "n": 4, "q": 2, "bos": 6}
    t = parse_spec(spec).build_task()
    assert t.seq_len == 6 and t.vocab_size == 7
    model = made(LSTMModel, 7)
    torch.save(model.state_dict(), tmp_path / "bos.pt")
    report, loaded = audit_checkpoint(tmp_path / "bos.pt", spec={**spec, "tokens": {}, "readout_position": "last"},
                                  samples=32, precisions=(32,))
    assert "BOS=6" in report.gadget and report.protocol_mismatches == 0
    assert loaded.model_source == "rebuilt from tensor names" == report.model_source
    moved = parse_spec({"task": "index-lookup", "n": 2, "data_offset": 5, "index_offset": 10}).build_task()
    assert moved.layout() == {"D0": 5, "D1": 6, "I0": 10, "I1": 11}
