"""Bob's program on the suffixes his output reads (reductions/compiled/compact.py).

The compacted program is checked against Bob's full program at run time (and dropped on any difference), so a
wrong rule would only cost speed there. These tests run it with that check switched off and compare it with
the full program themselves, so a wrong rule fails here; they also check that it is used where it should be.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ccbounds.problems import EQ, INDEX
from ccbounds.reduction import reduce
from reductions.compiled.compact import Rep, _narrow, _restore
from tests.compiled_models import CASES, case, gadget_sequences

pytestmark = pytest.mark.slow


def _suffix_zeroed(x: torch.Tensor, r: Rep) -> torch.Tensor:
    """``x`` with the first ``r.d`` indices of the virtual axis zeroed, by index arithmetic on a copy."""
    y = x.clone()
    for j in range(x.shape[r.axis]):
        if (j // r.i) % r.T < r.d:
            y.select(r.axis, j).zero_()
    return y


@pytest.mark.parametrize("o,T,i,d", [(1, 5, 1, 2), (3, 4, 1, 1), (1, 4, 2, 3), (2, 3, 2, 1)])
def test_narrow_and_restore_keep_the_suffix_of_the_virtual_axis(o: int, T: int, i: int, d: int) -> None:
    x = torch.arange(2 * o * T * i * 3, dtype=torch.float32).reshape(2, o * T * i, 3)
    r = Rep(1, T, d, o, i)
    held = _narrow(x, r._replace(d=0), d)
    assert held.shape == (2, r.size, 3)
    assert torch.equal(_restore(held, r), _suffix_zeroed(x, r))


class _Seen(dict):
    """A compactor's held values, remembered after they are freed."""

    log: dict = {}

    def __setitem__(self, k, v):
        _Seen.log[k] = v
        super().__setitem__(k, v)


def _bob_both(p, pairs):
    """Bob's logits from his full program and from his program on suffixes (the run-time check off); the Rep of
    every value held as a suffix is in ``comp.seen``."""
    pr = p.programs
    xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
    msgs, toks = p.messages(xs), p.bob_tokens(ys)
    pr._compactors.clear()
    comp = pr._compactor(pr._small)
    pr._compactors[id(pr._small[3])] = None
    full = pr._bob(msgs, toks, pr._small)
    if comp is None:
        return full, None, None
    comp.checked = True
    pr._compactors[id(pr._small[3])] = comp
    reset = comp.reset

    def recording_reset(device=None):
        reset(device)
        comp.reps = _Seen()

    comp.reset, _Seen.log = recording_reset, {}
    got = pr._bob(msgs, toks, pr._small)
    comp.seen = dict(_Seen.log)
    return full, got, comp


FAST = ["grucell-loop", "elman-rnn", "mingru-parallel-log-scan", "minlstm-sequential", "diagonal-ssm-real-loop",
        "lru", "mamba-selective-scan", "mamba-conv-selective-scan", "gru-mean-over-all-positions",
        "linear-attention-cumsum", "retnet-parallel", "nanogpt-attention", "attention-mean-over-last-two"]


#: the same models on EQ, where Bob has several positions (a scan's Bob part reads all of them)
ON_EQ = ["mingru-parallel-log-scan", "minlstm-parallel-log-scan", "linear-attention-cumsum",
         "mamba-conv-selective-scan", "lru"]


@pytest.mark.parametrize("name,family", [(n, None) for n in FAST] + [(n, EQ) for n in ON_EQ])
def test_bob_on_suffixes_gives_his_full_programs_logits(name: str, family) -> None:
    c = case(name)
    problem = (family or c.problem)(6)
    model = c.factory()
    p = reduce(model, problem)
    pairs = list(problem.sample(200, seed=1))
    full, got, _ = _bob_both(p, pairs)
    if got is not None:
        assert torch.allclose(got, full, atol=1e-5, rtol=1e-4)
    ref = model(gadget_sequences(type(problem).__name__, pairs)).float()
    assert torch.allclose(full, ref, atol=1e-4, rtol=1e-4)


def test_every_case_name_above_is_a_conformance_case() -> None:
    assert set(FAST) <= {c.name for c in CASES}


class ConvScan(nn.Module):
    """A causal depthwise convolution (left padding K - 1, then the first T outputs, as Mamba writes it), then a
    diagonal scan written as a Python loop whose outputs are stacked, then a head at the last position."""

    def __init__(self, d: int = 4, K: int = 3) -> None:
        super().__init__()
        self.emb = nn.Embedding(40, d)
        self.conv = nn.Conv1d(d, d, K, groups=d, padding=K - 1)
        self.a = nn.Parameter(torch.rand(d) * 0.9)
        self.head = nn.Linear(d, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.conv(self.emb(x).transpose(1, 2))[..., :x.shape[1]]
        h = torch.zeros(x.shape[0], u.shape[1])
        outs = []
        for t in range(x.shape[1]):
            h = self.a * h + u[:, :, t]
            outs.append(h)
        y = torch.stack(outs, dim=-1)
        return self.head((y + u).transpose(1, 2)[:, -1])


def test_a_convolution_then_a_stacked_scan_runs_bob_on_his_positions_only() -> None:
    torch.manual_seed(0)
    model = ConvScan().eval()
    n = 12
    p = reduce(model, INDEX(n))
    assert p.scalars == 4 * 2 + 4  # the conv's last K - 1 inputs and the scan's state
    pairs = list(INDEX(n).sample(300, seed=0))
    full, got, comp = _bob_both(p, pairs)
    assert comp is not None, "Bob's program on suffixes does not apply"
    assert torch.allclose(got, full, atol=1e-5, rtol=1e-4)
    # the stacked scan outputs and the convolution's output are held from Bob's first needed position on
    held = {str(n1.target): r for n1, r in comp.seen.items()}
    assert any(k.startswith("aten.stack") and r.d >= n - 1 for k, r in held.items()), held
    assert any(k.startswith("aten.convolution") and r.d >= n - 2 for k, r in held.items()), held
    # and the protocol, with the run-time check on, keeps it and answers as the model does
    p.programs._compactors.clear()
    grid = p.answer_grid(p.messages([x for x, _ in pairs[:20]]), list(range(n)))
    assert p.programs._compactors[id(p.programs._small[3])] is not None
    ref = model(gadget_sequences("INDEX", [(x, y) for x, _ in pairs[:20] for y in range(n)])).argmax(-1)
    assert torch.equal(torch.as_tensor(grid).reshape(-1).long(), ref)


def test_a_convolution_whose_first_tap_is_zero_holds_what_its_output_reads() -> None:
    # the analysis reads the weights: with the first tap zero, the output's first read index is one below the
    # suffix's r.d + p, and the convolution's rule must keep it
    torch.manual_seed(0)
    model = ConvScan().eval()
    with torch.no_grad():
        model.conv.weight[:, :, 0] = 0
    for problem in (INDEX(8), EQ(6)):
        p = reduce(model, problem)
        full, got, comp = _bob_both(p, list(problem.sample(100, seed=1)))
        assert comp is not None
        assert torch.allclose(got, full, atol=1e-5, rtol=1e-4)


class NormPooled(nn.Module):
    """A GRU, then a vector norm over a feature axis of a 4-D value with the time axis last, then a head."""

    def __init__(self) -> None:
        super().__init__()
        self.emb, self.rnn, self.head = nn.Embedding(40, 4), nn.GRU(4, 6, batch_first=True), nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.rnn(self.emb(x))
        z = y.reshape(y.shape[0], y.shape[1], 2, 3).permute(0, 2, 3, 1)  # (B, 2, 3, T)
        return self.head(torch.linalg.vector_norm(z, 2, dim=1)[..., -1])


def test_a_norm_over_a_feature_axis_on_suffixes() -> None:
    torch.manual_seed(0)
    model = NormPooled().eval()
    p = reduce(model, EQ(4))
    full, got, comp = _bob_both(p, list(EQ(4).sample(100, seed=1)))
    if comp is not None:
        assert torch.allclose(got, full, atol=1e-5, rtol=1e-4)
