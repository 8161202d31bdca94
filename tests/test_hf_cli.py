"""``ccbounds train --arch mamba`` and ``ccbounds audit DIR`` on a Hugging Face save_pretrained directory."""

from __future__ import annotations

import json

import pytest
import torch
import transformers as tf

from ccbounds.auditing import audit_checkpoint
from ccbounds.checkpoint import load_checkpoint
from ccbounds.cli import main
from ccbounds.training import TrainConfig, train_to_checkpoint

pytestmark = pytest.mark.slow  # Hugging Face models trained, saved and audited


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _saved_lm(folder, vocab: int = 8, seed: int = 0, safe: bool = True):
    torch.manual_seed(seed)
    lm = tf.MambaForCausalLM(tf.MambaConfig(vocab_size=vocab, hidden_size=16, state_size=4, conv_kernel=4,
                                            num_hidden_layers=2))
    if safe:
        lm.save_pretrained(folder)
    else:  # pickled weights, as old code wrote them
        lm.config.save_pretrained(folder)
        torch.save(lm.state_dict(), folder / "pytorch_model.bin")
    return lm


@pytest.mark.slow
def test_train_arch_mamba_writes_a_directory_that_audits_without_a_spec(tmp_path) -> None:
    out = tmp_path / "mamba"
    result = train_to_checkpoint(TrainConfig("mamba", "index-lookup", n=3, width=8, layers=2, steps=40,
                                             eval_size=200), out)
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
    assert json.loads((out / "ccbounds-spec.json").read_text())["answer_tokens"] == [5, 6]
    assert result.model.config.arch == "mamba" and not result.model.training
    loaded = load_checkpoint(out)
    assert loaded.format == "hf-pretrained" and loaded.metadata["model_class"] == "MambaForCausalLM"
    assert "ccbounds train --arch mamba" in loaded.metadata["train"]["command"]
    report, _ = audit_checkpoint(out, samples=32, precisions=(8, 32))
    assert report.rows[-1].verdict != "violation"
    # the loaded model is the trained one
    tokens = torch.randint(0, 5, (4, 4))
    with torch.no_grad():
        assert torch.allclose(loaded.model(tokens), result.model(tokens), atol=1e-6)


def test_audit_a_save_pretrained_directory_with_a_spec(capsys, tmp_path) -> None:
    folder = tmp_path / "lm"
    _saved_lm(folder)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"task": "eq", "n": 2, "answer_tokens": [6, 7]}))
    code, out, err = run(capsys, "audit", str(folder), "--spec", str(spec), "--samples", "16", "--precisions", "32")
    assert code == 0, err
    # the compiled cut: EQ_2's n = 2 <= K - 1 = 3, so every cut through the conv window is a copy of Alice's input;
    # the cheapest is her 2 embeddings of width 16 (the cache reading, 2*(32*3 + 32*4) = 448: tests/test_hf.py)
    assert "hf-pretrained" in out and "via the compiled cut" in out and "S = 32" in out


@pytest.mark.parametrize("spec,needle", [
    ({"task": "eq", "n": 2}, "lacks 'answer_tokens'"),
    ({"task": "eq", "n": 2, "answer_tokens": [6, 9]}, "answer_tokens must be two or more distinct"),
    ({"task": "eq", "n": 2, "answer_tokens": [5, 6, 7]}, "3 answer tokens but"),
    ({"task": "index-lookup", "n": 8, "answer_tokens": [0, 1]}, "reads 8 token ids"),
])
def test_bad_specs_are_one_line_and_exit_1(capsys, tmp_path, spec, needle: str) -> None:
    folder = tmp_path / "lm"
    _saved_lm(folder)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    code, _, err = run(capsys, "audit", str(folder), "--spec", str(tmp_path / "spec.json"), "--samples", "4")
    assert code == 1 and needle in err and "Traceback" not in err


def test_pickled_bin_weights_are_refused_unless_trusted(capsys, tmp_path) -> None:
    folder = tmp_path / "lm"
    _saved_lm(folder, safe=False)
    (tmp_path / "spec.json").write_text(json.dumps({"task": "eq", "n": 2, "answer_tokens": [6, 7]}))
    argv = ("audit", str(folder), "--spec", str(tmp_path / "spec.json"), "--samples", "8", "--precisions", "32")
    code, _, err = run(capsys, *argv)
    assert code == 1 and "pickled .bin weights" in err and "--trust-pickle" in err
    code, _, err = run(capsys, *argv, "--trust-pickle")
    assert code == 0, err
