"""Issue 9's silently-wrong audits: each ends correct through --model, or refused with the missing spec keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from ccbounds.auditing import audit_checkpoint
from ccbounds.checkpoint import load_checkpoint
from ccbounds.errors import CheckpointError, InvalidInputError, ReductionNotApplicable

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]

MODELS = textwrap.dedent('''
    import math
    import torch
    from torch import nn


    class MeanPoolGRU(nn.Module):
        def __init__(self, V=6):
            super().__init__()
            self.emb, self.gru, self.fc = nn.Embedding(V, 4), nn.GRU(4, 4, batch_first=True), nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(self.gru(self.emb(x))[0].mean(dim=1))


    class ReluRNN(nn.Module):
        def __init__(self, V=6, width=5):
            super().__init__()
            self.emb = nn.Embedding(V, 4)
            self.rnn = nn.RNN(4, width, nonlinearity="relu", batch_first=True)
            self.fc = nn.Linear(width, 2)

        def forward(self, x):
            return self.fc(self.rnn(self.emb(x))[0][:, -1])


    class TF(nn.Module):
        def __init__(self, V=6, d=8, heads=2, norm_first=False, sinus_scaled=False, read=-1):
            super().__init__()
            self.d, self.scaled, self.read = d, sinus_scaled, read
            self.emb = nn.Embedding(V, d)
            self.pos = nn.Embedding(8, d)
            layer = nn.TransformerEncoderLayer(d, heads, 16, dropout=0.0, batch_first=True, norm_first=norm_first)
            self.enc = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
            self.head = nn.Linear(d, 2)

        def forward(self, x):
            T = x.shape[1]
            scale = math.sqrt(self.d) if self.scaled else 1.0
            return self.head(self.enc(self.emb(x) * scale + self.pos(torch.arange(T)))[:, self.read])


    class BOSLSTM(nn.Module):
        """Trained with a BOS token (id 6) at position 0."""

        def __init__(self):
            super().__init__()
            self.emb, self.lstm, self.fc = nn.Embedding(7, 4), nn.LSTM(4, 3, batch_first=True), nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(self.lstm(self.emb(x))[0][:, -1])


    def four_heads():
        return TF(heads=4)
''')

SPEC = {"task": "index-lookup", "n": 4, "q": 2}

CASES = {  # name: (constructor in MODELS, kwargs, missing keys without code, scalars through --model or refusal)
    "mean-pool-gru": ("MeanPoolGRU", {}, ["tokens", "readout_position"], 4 + 4),  # compiled: state + partial mean
    # INDEX_4 through one attention layer (d = 8): Lemma T's partial sums for Bob's Q = 4 index values, 4 (d + H),
    # exceed her 4 embeddings, 4 d: the compiled cut is the copy, and both grow with n
    "sqrt-d-scaled": ("TF", {"sinus_scaled": True}, ["heads", "norm_first", "positions", "embedding_scale"], 4 * 8),
    "cls-readout": ("TF", {"read": 0}, ["readout_position"], 4 * 8),  # compiled: her 4 embeddings (grows with n)
    "pre-norm": ("TF", {"norm_first": True}, ["norm_first"], 4 * 8),  # the copy: 4 * 8 < Lemma T's 4 * 2 * 5
    "four-heads": ("four_heads", {}, ["heads"], 4 * 8),  # the copy: 4 * 8 < Lemma T's 4 * 4 * 3
    "relu-rnn": ("ReluRNN", {}, ["nonlinearity"], 5),
    "bos-at-0": ("BOSLSTM", {}, ["tokens", "readout_position"], 2 * 3),
}
EXTRA = {"bos-at-0": {"bos": 6}}  # what the with-code spec adds: the task's layout


pytestmark = pytest.mark.slow  # audits through the CLI, in subprocesses


@pytest.fixture()
def models(tmp_path, monkeypatch):
    (tmp_path / "usermodels_ck.py").write_text(MODELS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("usermodels_ck", None)
    import usermodels_ck

    yield tmp_path, usermodels_ck
    sys.modules.pop("usermodels_ck", None)


def _save(folder, mod, name, ctor, kw):
    torch.manual_seed(0)
    model = getattr(mod, ctor)(**kw).eval()
    path = folder / f"{name}.pt"
    torch.save(model.state_dict(), path)
    return model, path


@pytest.mark.parametrize("name", sorted(CASES))
def test_without_code_refused_listing_missing_keys(models, name):
    folder, mod = models
    ctor, kw, missing, _ = CASES[name]
    _, path = _save(folder, mod, name, ctor, kw)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path, spec={**SPEC, "heads": 2} if "heads" not in missing else SPEC)
    msg = str(err.value)
    assert "spec lacks" in msg and "--model MODULE:CALLABLE" in msg
    for key in missing:
        assert f"'{key}'" in msg, (key, msg)


@pytest.mark.parametrize("name", sorted(CASES))
def test_with_code_correct_or_refused_with_reason(models, name):
    folder, mod = models
    ctor, kw, _, expected = CASES[name]
    model, path = _save(folder, mod, name, ctor, kw)
    ref = f"usermodels_ck:{ctor}"
    kwargs = json.dumps(kw) if kw else None
    spec = {**SPEC, **EXTRA.get(name, {})}
    if isinstance(expected, str):
        with pytest.raises(ReductionNotApplicable, match=expected):
            audit_checkpoint(path, spec=spec, model=ref, model_kwargs=kwargs, samples=32, precisions=(32,))
        return
    report, ck = audit_checkpoint(path, spec=spec, model=ref, model_kwargs=kwargs, samples=64, precisions=(32,))
    assert ("BOS=6" in report.gadget) == ("bos" in spec)
    assert ck.model_source == f"your code: {ref}" and report.model_source == ck.model_source
    assert report.protocol_mismatches == 0 and report.scalars == expected
    assert "REBUILT" not in str(report) and json.loads(report.to_json())["model_source"] == ck.model_source
    x = torch.randint(0, 6, (5, 5))
    assert torch.equal(ck.model(x), model(x))


def test_seven_cases():
    assert len(CASES) == 7  # the user's module with the user's weights


def test_rebuilt_model_is_labelled_never_reproduces(models):
    folder, mod = models
    _, path = _save(folder, mod, "relu", "ReluRNN", {})
    spec = {**SPEC, "tokens": {}, "readout_position": "last", "nonlinearity": "relu"}
    report, ck = audit_checkpoint(path, spec=spec, samples=32, precisions=(32,))
    assert ck.model_source == "rebuilt from tensor names" == json.loads(report.to_json())["model_source"]
    text = str(report)
    assert "model_source: rebuilt from tensor names" in text and "reproduces the model" not in text
    with pytest.raises(CheckpointError, match="readout_position 'mean'"):
        load_checkpoint(path, spec={**spec, "readout_position": "mean"})


def test_bad_model_references(models):
    folder, mod = models
    _, path = _save(folder, mod, "relu", "ReluRNN", {})
    for ref, needle in (("nomodule:X", "run ccbounds from the directory that has nomodule.py"),
                        ("usermodels_ck:Nope", "has no attribute 'Nope'"), ("justaname", "MODULE:CALLABLE")):
        with pytest.raises(InvalidInputError, match=needle):
            load_checkpoint(path, spec=SPEC, model=ref)
    with pytest.raises(CheckpointError, match="has shape.*--model-kwargs"):
        load_checkpoint(path, spec=SPEC, model="usermodels_ck:ReluRNN", model_kwargs='{"width": 7}')


def _console(cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    """Run the CLI the way the console script does: the script's folder, not the cwd, is on sys.path."""
    launcher = cwd / "bin"
    launcher.mkdir(exist_ok=True)
    (launcher / "ccbounds_launcher.py").write_text("import sys\nfrom ccbounds.cli import main\nsys.exit(main())\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0"}
    return subprocess.run([sys.executable, str(launcher / "ccbounds_launcher.py"), *argv], check=False, cwd=cwd,
                          env=env,
                          capture_output=True, text=True, timeout=300)


def test_console_script_model_and_trust_pickle(models, tmp_path):
    folder, mod = models
    _, path = _save(folder, mod, "relu", "ReluRNN", {})
    (folder / "spec.json").write_text(json.dumps(SPEC))
    args = ("--spec", "spec.json", "--samples", "32", "--precisions", "32")
    r = _console(folder, "audit", path.name, "--model", "usermodels_ck:ReluRNN", *args, "--json", "r.json")
    assert r.returncode == 0, r.stderr
    assert json.loads((folder / "r.json").read_text())["model_source"] == "your code: usermodels_ck:ReluRNN"
    torch.manual_seed(0)
    torch.save(mod.ReluRNN().eval(), folder / "whole.pt")
    r = _console(folder, "audit", "whole.pt", "--trust-pickle", *args)
    assert r.returncode == 0, r.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = _console(elsewhere, "audit", str(folder / "whole.pt"), "--trust-pickle", "--spec", str(folder / "spec.json"))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "run ccbounds from the directory that has usermodels_ck.py" in r.stderr and "--model" in r.stderr
