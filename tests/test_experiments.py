"""Tests of ccbounds.experiments: the separation experiment in small (theory §4, §5)."""

from __future__ import annotations

import argparse
import json

import pytest

torch = pytest.importorskip("torch")

from ccbounds.budgets import budget  # noqa: E402
from ccbounds.cli.configs import add_options, cmd_separations, config_from_args  # noqa: E402
from ccbounds.errors import CCBoundsError, InvalidInputError, UnknownNameError  # noqa: E402
from ccbounds.experiments import (  # noqa: E402
    SeparationConfig,
    SeparationResults,
    experiment_options,
    load_separations,
    parse_command_line,
    run_separations,
)
from ccbounds.training import parse_command_line as parse_train_command  # noqa: E402

TINY = SeparationConfig(ns=(2, 3), steps=30, batch_size=16, eval_size=64, audit_samples=16,
                        widths={"tf1": 4, "lstm": 3, "gru": 2})


pytestmark = pytest.mark.slow  # trains and audits models


def _closed_form_scalars(task: str, arch: str, width: int, heads: int | None, n: int,
                         lemma_t_on_index: bool = False) -> int | None:
    """S written out from theory §4 independently of the library (None: the cut grows with n, so no bound: Lemma R
    on Dyck's interleaved positions; index lookup through one attention layer, where Lemma T's n H (d_v + 1)
    grows and the compiled cut is Alice's embeddings)."""
    if arch == "lstm":
        return None if task == "dyck" else 2 * width
    if arch in ("gru", "rnn"):
        return None if task == "dyck" else width
    per_query = heads * (width // heads + 1)
    if task == "index-lookup":  # lemma_t_on_index: the built-in Lemma T reading the shipped file was made with
        return n * per_query if lemma_t_on_index else None
    return per_query


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny config run end to end through the command-line function (stdout table, JSON file)."""
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("sep") / "tiny.json"
    args = add_options(argparse.ArgumentParser(), experiment_options(), False).parse_args(
        TINY.command_line(str(path)).split()[3:])
    assert config_from_args(args, SeparationConfig) == TINY
    assert cmd_separations(args) == 0
    return path, SeparationResults.load(path)


def test_tiny_run_end_to_end(tiny, capsys):
    path, res = tiny
    assert res.config == TINY and res.command == TINY.command_line(str(path))
    assert [(r.task, r.n, r.arch) for r in res.runs] == TINY.runs()
    assert res.versions["torch"] == torch.__version__
    for r in res.runs:
        assert 0.0 <= r.accuracy <= 1.0 and 0.0 <= r.mu_accuracy <= 1.0 and r.eval_size == 64 and r.seed == 0
        assert r.problem == ("INDEX" if r.task == "index-lookup" else "DISJ") + f"_{r.n}"
        assert r.seq_len == (r.n + 1 if r.task == "index-lookup" else 4 * r.n + 1)
        assert r.lower_bound.value == r.n and r.lower_bound.is_lower
        assert r.scalars == _closed_form_scalars(r.task, r.arch, r.width, r.heads, r.n)
        if r.scalars is None:
            assert "grows with n" in r.refused and r.message_bits is None and r.below_bound(8) is None
            continue
        assert r.refused is None and r.lemma.startswith("the cut theorem")  # reduce()'s one path (theory §4.3)
        for b in TINY.precisions:
            assert r.message_bits[b] == r.scalars * b == r.budget_bits[b]
            assert r.below_bound(b) == (r.scalars * b < r.n)
            assert 0.0 <= r.protocol_accuracy[b] <= 1.0
        # the fp32 protocol reproduces the model, so it is exactly as accurate on mu as the model itself
        assert r.protocol_accuracy[32] == r.mu_accuracy
        frame_row = res.to_frame().set_index(["task", "n", "arch"]).loc[(r.task, r.n, r.arch)]
        assert frame_row["bits_b8"] == r.message_bits[8]


def test_scalars_equal_reduce_on_the_retrained_model(tiny):
    from ccbounds import reduce
    from ccbounds.auditing import problem_for_task
    from ccbounds.training import train

    _, res = tiny
    for task, arch in (("index-lookup", "lstm"), ("dyck", "tf1"), ("index-lookup", "tf1")):
        run = res.run(task, 3, arch)
        tc, _ = parse_train_command(run.train_command)
        assert tc == TINY.train_config(task, 3, arch)
        result = train(tc)  # deterministic: the same weights as in the experiment
        assert result.accuracy == run.accuracy
        problem, gadget = problem_for_task(result.task)
        p = reduce(result.model, problem, gadget=gadget)
        if run.scalars is None:  # the cut grows with n: the run records no S
            assert p.message_grows_with_n and run.message_bits is None
            continue
        assert p.scalars == run.scalars and p.cost_bits(8) == run.message_bits[8]


def test_json_round_trip(tiny, tmp_path):
    path, res = tiny
    again = SeparationResults.load(res.save(tmp_path / "again.json"))
    assert again == res and again.to_dict() == res.to_dict()
    on_disk = json.loads(path.read_text())
    assert on_disk["command"].startswith("ccbounds experiment separations ") and on_disk["wall_time_s"] >= 0
    assert "S*b@8" in str(res) and "no reduction" in str(res)


def test_same_seed_same_json():
    cfg = SeparationConfig(tasks=("index-lookup",), ns=(3,), archs=("gru", "tf1"), widths={"tf1": 4, "gru": 3},
                           steps=20, eval_size=40, audit_samples=16)
    a, b = run_separations(cfg), run_separations(cfg)
    assert a.to_json() == b.to_json()
    other = run_separations(SeparationConfig(**{**cfg.to_dict(), "seed": 1}))
    assert other.to_dict()["runs"] != a.to_dict()["runs"]


def test_config_and_command_line():
    cfg = SeparationConfig()
    assert parse_command_line(cfg.command_line("x.json")) == (cfg, "x.json")
    assert cfg.command_line().endswith("--seed 0 --dyck-negatives near-miss -o separations.json")
    assert parse_command_line(SeparationConfig(dyck_negatives="uniform").command_line())[0].dyck_negatives == "uniform"
    assert SeparationConfig(**cfg.to_dict()) == cfg
    assert SeparationConfig(widths={"gru": 5}, archs=("gru",)).widths == (("gru", 5),)
    with pytest.raises(UnknownNameError, match="valid ones"):
        SeparationConfig(tasks=("eq",))
    with pytest.raises(InvalidInputError, match="twice"):
        SeparationConfig(ns=(4, 4))
    with pytest.raises(InvalidInputError):
        SeparationConfig(precisions=(64,))
    with pytest.raises(InvalidInputError, match="ccbounds experiment separations"):
        parse_command_line("ccbounds train --n 3")
    with pytest.raises(InvalidInputError, match="cannot parse"):
        parse_command_line("ccbounds experiment separations --widths lstm")
    with pytest.raises(CCBoundsError):
        run_separations("not a config")


def test_load_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"experiment": "other"}))
    with pytest.raises(InvalidInputError, match="ccbounds experiment separations"):
        load_separations(bad)
    with pytest.raises(InvalidInputError):
        load_separations(tmp_path / "missing.json")


def test_shipped_results_file():
    res = load_separations()
    cfg, output = parse_command_line(res.command)
    assert cfg == res.config and output.endswith("separations.json")
    assert [(r.task, r.n, r.arch) for r in res.runs] == cfg.runs()
    assert res.versions["torch"] and res.wall_time_s > 0
    fields = set(res.runs[0].to_dict())
    for r in res.runs:
        assert set(r.to_dict()) == fields and r.seed == cfg.seed
        tc, _ = parse_train_command(r.train_command)
        assert tc == cfg.train_config(r.task, r.n, r.arch) and r.width == cfg.width(r.arch)
        # the shipped file predates reduce()'s one path: its one-layer Transformer rows on index lookup hold Lemma
        # T's n H (d_v + 1) (the compiled cut grows with n there, so a new run records no S)
        assert r.scalars == _closed_form_scalars(r.task, r.arch, r.width, r.heads, r.n, lemma_t_on_index=True)
        assert r.lower_bound.value == r.n
        if r.scalars is None:
            assert r.task == "dyck" and r.arch != "tf1" and r.refused
            continue
        for b in cfg.precisions:
            rep = budget(r.arch, width=r.width, heads=r.heads or 1, precision=b,
                         problem="index" if r.task == "index-lookup" else "disj", n=r.n)
            assert r.message_bits[b] == r.budget_bits[b] == rep.message_bits
            assert r.largest_n[b] == rep.largest_n
            assert r.below_bound(b) == (rep.verdict == "below bound")
        assert r.protocol_accuracy[32] == r.mu_accuracy
