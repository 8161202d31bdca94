"""Tests of the bundled example checkpoints (ccbounds.examples): registry, files, and what they do."""

from __future__ import annotations

import pytest
import torch

from ccbounds.errors import UnknownNameError
from ccbounds.examples import DEFAULT_EXAMPLE, EXAMPLES, example_path, examples_frame, list_examples, load_example
from ccbounds.training import TrainConfig, parse_command_line

torch.set_num_threads(1)

MAX_BYTES = 500 * 1024
FRESH_SEED = 20240611  # not a seed the trainer derives for its batches or its held-out sample


def _accuracy(ck, k: int, seed: int) -> float:
    tokens, labels = ck.task.sample(k, seed=seed, balanced=True)
    with torch.no_grad():
        pred = ck.model(torch.from_numpy(tokens)).argmax(-1).numpy()
    return float((pred == labels).mean())


@pytest.fixture(scope="module")
def loaded() -> dict:
    return {name: load_example(name) for name in EXAMPLES}


def test_registry() -> None:
    assert [e.name for e in list_examples()] == sorted(EXAMPLES)
    assert DEFAULT_EXAMPLE == "lstm-index" and EXAMPLES[DEFAULT_EXAMPLE].accuracy == 1.0
    assert all(EXAMPLES[k].name == k and EXAMPLES[k].filename.startswith(k + ".") for k in EXAMPLES)
    assert list(examples_frame().index) == sorted(EXAMPLES)
    with pytest.raises(UnknownNameError, match=r"valid names are \['gru-index', 'lstm-index'"):
        example_path("nope")
    with pytest.raises(UnknownNameError):
        load_example("nope")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_file(name: str, loaded: dict) -> None:
    info, ck = EXAMPLES[name], loaded[name]
    path = example_path(name)
    assert path.stat().st_size <= MAX_BYTES
    assert ck.format == "ccbounds" and ck.container == path.suffix.lstrip(".")
    assert not ck.model.training
    assert ck.config.arch == info.arch
    assert (ck.task.name, ck.task.n) == (info.task, info.n)
    width = ck.config.d_model if info.arch.startswith("tf") else ck.config.width
    assert width == info.width
    if info.state_scalars is not None:
        assert ck.config.state_scalars == info.state_scalars
    train = ck.metadata["train"]
    config, out = parse_command_line(train["command"])
    assert out == f"ccbounds/examples/{info.filename}"
    assert config == TrainConfig(**train["config"])
    assert config.command_line(out) == train["command"]
    assert (config.arch, config.task, config.n, config.width) == (info.arch, info.task, info.n, info.width)
    assert config.model_config(ck.task) == ck.config
    assert (train["seed"], train["steps"]) == (config.seed, config.steps)
    assert train["final_accuracy"] == info.accuracy


def test_commands_listed_in_make_script(loaded: dict) -> None:
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "make_examples.sh"
    if not script.exists():  # an installed package without the repository's scripts/
        pytest.fail(f"{script} is missing")
    lines = [ln.strip() for ln in script.read_text().splitlines() if ln.strip().startswith("ccbounds train")]
    assert sorted(lines) == sorted(ck.metadata["train"]["command"] for ck in loaded.values())


@pytest.mark.slow
def test_solving_lstm_solves(loaded: dict) -> None:
    ck = loaded["lstm-index"]
    assert ck.task.n == 16 and ck.config.width <= 64
    assert _accuracy(ck, 4000, FRESH_SEED) == 1.0


@pytest.mark.slow
def test_gru_solves(loaded: dict) -> None:
    assert _accuracy(loaded["gru-index"], 2000, FRESH_SEED) == 1.0


def test_narrow_lstm_fails(loaded: dict) -> None:
    ck, info = loaded["lstm-index-narrow"], EXAMPLES["lstm-index-narrow"]
    assert ck.config.state_scalars == 2
    # Lemma R: S·b < n for b <= 7 bits per scalar
    assert max(b for b in range(1, 33) if ck.config.state_scalars * b < ck.task.n) == 7
    acc = _accuracy(ck, 4000, FRESH_SEED)
    assert acc < 0.75
    assert abs(acc - info.accuracy) < 0.05


@pytest.mark.slow
def test_transformers(loaded: dict) -> None:
    tf1, tf2 = loaded["tf1-disj"], loaded["tf2-eq"]
    assert tf1.config.layers == 1 and len(tf1.model.layers) == 1
    assert tf2.config.layers == 2 and len(tf2.model.layers) == 2 and tf2.config.arch == "tf2"
    for name in ("tf1-disj", "tf2-eq"):
        assert abs(_accuracy(loaded[name], 2000, FRESH_SEED) - EXAMPLES[name].accuracy) < 0.03
