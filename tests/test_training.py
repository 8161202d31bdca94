"""Tests of ccbounds.training: determinism, the command line, refusals, schedules, checkpoints."""

from __future__ import annotations

import argparse
import math

import numpy as np
import pytest
import torch

from ccbounds.cli.configs import add_options, config_from_args
from ccbounds.errors import CCBoundsError, InvalidInputError, UnknownNameError
from ccbounds.training import (
    ARCHS,
    TrainConfig,
    evaluate,
    lr_factor,
    parse_command_line,
    train,
    train_options,
    train_to_checkpoint,
)

torch.set_num_threads(1)

TINY = TrainConfig("lstm", "index-lookup", n=3, width=4, steps=12, batch_size=16, eval_size=64)


def _same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.slow
def test_same_seed_same_weights(arch: str) -> None:
    cfg = TrainConfig(arch, "eq", n=2, width=4, steps=8, batch_size=8, eval_size=32)
    r1, r2 = train(cfg), train(cfg)
    assert _same_state(r1.model, r2.model)
    assert r1.to_dict() == r2.to_dict()
    assert r1 == r2  # equality: config, task, accuracy, losses (not the module object, not wall time)
    r3 = train(TrainConfig(arch, "eq", n=2, width=4, steps=8, batch_size=8, eval_size=32, seed=1))
    assert not _same_state(r1.model, r3.model)


def test_train_leaves_global_state_alone() -> None:
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    train(TINY)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == (threads, det)


def test_result_fields_and_progress() -> None:
    calls: list[tuple[int, int, float]] = []
    r = train(TINY, progress=lambda s, n, loss: calls.append((s, n, loss)))
    assert not r.model.training
    assert r.model.config.arch == "lstm" and r.model.config.width == 4 and r.model.config.vocab_size == 5
    assert [c[0] for c in calls] == list(range(1, 13)) and all(c[1] == 12 for c in calls)
    assert len(r.loss_curve) == 10 and r.final_loss == r.loss_curve[-1]
    assert all(math.isfinite(v) and v > 0 for v in r.loss_curve)
    assert 0.0 <= r.accuracy <= 1.0 and r.accuracy * 64 == round(r.accuracy * 64)
    assert "wall" not in str(r.to_dict()) and " s\n" in str(r)
    # the reported accuracy is the model's accuracy on the documented held-out sample
    from ccbounds.training.loop import _derived_seed

    assert evaluate(r.model, r.task, 64, _derived_seed(TINY.seed, 2)) == r.accuracy


@pytest.mark.slow
def test_training_learns() -> None:
    # equality of 2-bit strings: a GRU of width 8 gets it right after 100 steps (chance is 0.5)
    r = train(TrainConfig("gru", "eq", n=2, width=8, steps=100, batch_size=32, lr=0.02, eval_size=400))
    assert r.accuracy >= 0.95
    assert r.loss_curve[-1] < 0.5 * r.loss_curve[0]


def test_model_configs() -> None:
    cfg = TrainConfig("tf2", "disj", n=5, width=12, steps=1)
    mc = cfg.model_config()
    assert (mc.layers, mc.d_model, mc.heads, mc.max_len, mc.vocab_size, mc.num_classes) == (2, 12, 2, 12, 4, 2)
    assert TrainConfig("tf1", "dyck", n=2, width=9, steps=1).heads == 1
    rc = TrainConfig("rnn", "index-lookup", n=4, width=6, layers=2, q=3, steps=1).model_config()
    assert (rc.cell, rc.vocab_size, rc.num_classes, rc.layers, rc.width) == ("rnn", 7, 3, 2, 6)


def test_nn_refused_with_clear_message() -> None:
    with pytest.raises(InvalidInputError, match="nearest-neighbour inputs are real vectors and the reference models "
                                                "read token ids"):
        TrainConfig("lstm", "nn", n=4, width=8)
    with pytest.raises(CCBoundsError, match="nearest-neighbour"):
        parse_command_line("ccbounds train --arch tf1 --task nn --n 4 --width 8 -o m.pt")


@pytest.mark.parametrize(
    "kw, err, msg",
    [
        ({"arch": "s4"}, UnknownNameError, r"valid ones are \['rnn', 'gru', 'lstm', 'tf1', 'tf2', 'mamba'\]"),
        ({"task": "dyck2"}, UnknownNameError, "valid ones"),
        ({"schedule": "step"}, UnknownNameError, "cosine"),
        ({"heads": 2}, InvalidInputError, "Transformers"),
        ({"arch": "tf1", "layers": 2}, InvalidInputError, "tf1 / tf2"),
        ({"arch": "tf1", "width": 6, "heads": 4}, InvalidInputError, "divisible"),
        ({"task": "eq", "q": 3}, InvalidInputError, "index-lookup"),
        ({"width": 0}, InvalidInputError, "--width"),
        ({"steps": 2.5}, InvalidInputError, "steps"),
        ({"lr": -1.0}, InvalidInputError, "lr"),
        ({"seed": -1}, InvalidInputError, "seed"),
    ],
)
def test_bad_configs(kw: dict, err: type, msg: str) -> None:
    base = {"arch": "lstm", "task": "index-lookup", "n": 4, "width": 8}
    with pytest.raises(err, match=msg):
        TrainConfig(**{**base, **kw})


def test_command_line_exact_string() -> None:
    cfg = TrainConfig("tf1", "disj", n=8, width=32, steps=3000, lr=1e-3, batch_size=128)
    assert cfg.command_line("ccbounds/examples/tf1-disj.pt") == (
        "ccbounds train --arch tf1 --task disj --n 8 --width 32 --steps 3000 --seed 0 --batch-size 128 "
        "--lr 0.001 --clip 1.0 --schedule cosine --eval-size 2000 --layers 1 --heads 2 --q 2 "
        "-o ccbounds/examples/tf1-disj.pt"
    )


@pytest.mark.parametrize(
    "cfg, out",
    [
        (TINY, "m.pt"),
        (TrainConfig("tf2", "eq", n=8, width=30, heads=3, steps=7, seed=5, lr=2.5e-4, clip=0.5), "dir with space/x.pt"),
        (TrainConfig("gru", "dyck", n=2, width=3, layers=3, schedule="linear", eval_size=10), "g.safetensors"),
        (TrainConfig("rnn", "index-lookup", n=7, width=5, q=4, schedule="constant", batch_size=3), "/abs/r.pt"),
    ],
)
def test_command_line_round_trip(cfg: TrainConfig, out: str) -> None:
    line = cfg.command_line(out)
    assert parse_command_line(line) == (cfg, out)
    assert parse_command_line(line.split() if " " not in out else __import__("shlex").split(line)) == (cfg, out)


def test_argparse_defaults_match_config_defaults() -> None:
    ns = add_options(argparse.ArgumentParser(), train_options(), True).parse_args(
        ["--arch", "tf1", "--task", "eq", "--n", "3", "--width", "8", "-o", "x.pt"]
    )
    assert config_from_args(ns, TrainConfig) == TrainConfig("tf1", "eq", n=3, width=8)
    with pytest.raises(InvalidInputError, match="ccbounds train"):
        parse_command_line("ccbounds audit x.pt")
    with pytest.raises(InvalidInputError, match="cannot parse"):
        parse_command_line("ccbounds train --arch lstm --n 3 -o x.pt")


def test_lr_factor_against_closed_form() -> None:
    for steps in (1, 5, 10, 37, 1000, 1234):
        warm = min(100, steps // 10)
        for sched in ("cosine", "linear", "constant"):
            vals = [lr_factor(s, steps, sched) for s in range(steps)]
            assert all(0.0 <= v <= 1.0 for v in vals)
            for s, v in enumerate(vals):
                if s < warm:
                    expect = (s + 1) / warm
                else:
                    t = (s - warm) / (steps - warm - 1) if steps - warm > 1 else 0.0
                    expect = {"constant": 1.0, "linear": 1.0 - t, "cosine": (1 + math.cos(math.pi * t)) / 2}[sched]
                assert v == pytest.approx(expect, abs=1e-15)
            if steps - warm > 1 and sched != "constant":
                assert vals[-1] == pytest.approx(0.0, abs=1e-15)
                assert np.all(np.diff(vals[warm:]) <= 1e-15)


def test_train_to_checkpoint(tmp_path) -> None:
    from ccbounds.checkpoint import load_checkpoint

    for name in ("m.pt", "m.safetensors"):
        path = tmp_path / name
        r = train_to_checkpoint(TINY, path)
        data = path.read_bytes()
        ck = load_checkpoint(path)
        train_rec = ck.metadata["train"]
        assert train_rec["command"] == TINY.command_line(path)
        assert parse_command_line(train_rec["command"]) == (TINY, str(path))
        assert train_rec["config"] == TINY.to_dict()
        assert (train_rec["seed"], train_rec["steps"], train_rec["final_accuracy"]) == (0, 12, r.accuracy)
        assert ck.config == r.model.config and ck.task == r.task
        assert _same_state(ck.model, r.model)
        tokens, _ = r.task.sample(20, seed=9)
        with torch.no_grad():
            assert torch.equal(ck.model(torch.from_numpy(tokens)), r.model(torch.from_numpy(tokens)))
        train_to_checkpoint(TINY, path)  # the same config rewrites the same bytes
        assert path.read_bytes() == data
    with pytest.raises(InvalidInputError, match=r"\.pt or \.safetensors"):
        train_to_checkpoint(TINY, tmp_path / "m.bin")


def test_dyck_negatives_option() -> None:
    cfg = TrainConfig("gru", "dyck", n=2, width=4, negatives="near-miss")
    assert cfg.build_task().negatives == "near-miss" and "--negatives near-miss" in cfg.command_line("m.pt")
    assert parse_command_line(cfg.command_line("m.pt"))[0] == cfg
    with pytest.raises(InvalidInputError, match="task 'dyck' only"):
        TrainConfig("gru", "eq", n=2, width=4, negatives="near-miss")
    with pytest.raises(UnknownNameError, match="valid ones"):
        TrainConfig("gru", "dyck", n=2, width=4, negatives="nearby")
