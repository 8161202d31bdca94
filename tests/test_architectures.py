"""The architecture registry (ccbounds.architectures): every family's adapter, on models built from the
registry, has a measured message size equal to the registry's one formula, for several sizes (the built-in
reading, builtin_reduction); reduce()'s compiled cut equals it, or is the cheaper copy of Alice's input where
both grow with n."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ccbounds
from ccbounds.architectures import ARCHITECTURES, get_architecture
from ccbounds.errors import UnknownNameError
from ccbounds.problems import EQ, INDEX
from reductions.gadgets import get_gadget
from reductions.registry import builtin_reduction

RECURRENT = [a for a in ARCHITECTURES.values() if a.recurrent and a.gates]  # torch RNNs (HF Mamba: test_hf.py)
ATTENTION = [a for a in ARCHITECTURES.values() if not a.recurrent and a.scalars is not None]


pytestmark = pytest.mark.slow  # compiles one model per family and size


def _build(arch, problem, width: int, heads: int = 1, layers: int = 1, seed: int = 0):
    task = get_gadget(problem).task
    torch.manual_seed(seed)
    config = arch.make_config(task.vocab_size, task.num_classes, task.seq_len, width, heads=heads, layers=layers)
    assert isinstance(config, arch.config) and config.arch == arch.name
    return arch.build(config).eval()


def _alice_width(p, problem) -> int:
    xs = problem.alice_inputs()[:3]
    with torch.no_grad():
        return int(p.alice_messages(xs).shape[1])


@pytest.mark.parametrize("arch", RECURRENT, ids=lambda a: a.name)
@pytest.mark.parametrize("width,layers", [(1, 1), (3, 2), (8, 1), (5, 3)])
def test_recurrent_state_size_equals_the_registry_formula(arch, width: int, layers: int) -> None:
    problem = INDEX(3)
    model = _build(arch, problem, width, layers=layers)
    adapter = arch.adapter_for(model)
    state = adapter.state_tensors(adapter.initial_state(1))
    measured = sum(int(np.prod(t.shape[1:])) for t in state.values())
    count = width * layers * (2 if arch.name == "lstm" else 1)  # h of every layer, and c for an LSTM
    assert measured == count == adapter.state_size == arch.message_scalars(width, layers=layers)
    p = ccbounds.reduce(model, problem)
    assert p.scalars == _alice_width(p, problem) == count
    assert model.config.state_scalars == count


@pytest.mark.parametrize("arch", ATTENTION, ids=lambda a: a.name)
@pytest.mark.parametrize("width,heads", [(4, 1), (8, 2), (12, 3)])
@pytest.mark.parametrize("problem", [EQ(3), INDEX(3)], ids=lambda p: p.name)
def test_attention_message_size_equals_the_registry_formula(arch, width: int, heads: int, problem) -> None:
    model = _build(arch, problem, width, heads=heads)
    oracle = builtin_reduction(model, problem)  # Lemma T's reading, the formula's
    Q = len(oracle.query_values)  # the query token's values Alice prepares sums for
    count = Q * heads * (width // heads + 1)  # per head: d_v averaged values + 1 log-mass
    assert Q == problem.query_token_values
    assert _alice_width(oracle, problem) == oracle.scalars == count
    assert arch.message_scalars(width, heads=heads, query_values=Q) == count
    assert arch.adapter_for(model).heads == heads
    # reduce()'s compiled cut: Lemma T's partial sums where Q is constant (EQ's END token); for INDEX, Q = n and
    # Lemma T's (width + heads) * n exceed the copy of Alice's n embeddings, width * n: both grow with n
    p = ccbounds.reduce(model, problem)
    expect = count if Q == 1 else problem.n * width
    assert _alice_width(p, problem) == p.scalars == expect and p.message_grows_with_n == (Q > 1)


def test_families_without_a_lemma_are_compiled_with_a_message_that_grows() -> None:
    """No formula gives their S; the compiled reduction (theory §4.3) cuts them at a copy of Alice's input."""
    for arch in ARCHITECTURES.values():
        if arch.scalars is None:
            assert arch.message_scalars(8, heads=2) is None and arch.lemma is None
            p = ccbounds.reduce(_build(arch, EQ(2), 8, heads=2), EQ(2))
            assert type(p).__name__ == "CompiledProtocol" and p.message_grows_with_n and p.largest_n(8) is None
            with pytest.raises(UnknownNameError):
                arch.adapter_for(None)


def test_every_reader_uses_the_registry() -> None:
    from ccbounds.budgets import ARCHS
    from ccbounds.checkpoint._foreign import _GATES
    from ccbounds.examples import EXAMPLES
    from ccbounds.experiments import EXPERIMENT_ARCHS
    from ccbounds.training import ARCHS as TRAIN_ARCHS

    assert list(ARCHS) == list(TRAIN_ARCHS) == list(ARCHITECTURES)
    assert set(EXPERIMENT_ARCHS) == {a.name for a in ARCHITECTURES.values() if a.lemma}
    assert sorted(_GATES.items()) == [(1, "rnn"), (3, "gru"), (4, "lstm")]
    lstm = EXAMPLES["lstm-index"]
    assert lstm.state_scalars == get_architecture("lstm").message_scalars(lstm.width) == 128
    with pytest.raises(UnknownNameError, match="valid: rnn, gru, lstm, tf1, tf2, mamba"):
        get_architecture("mamba9")
