"""Checkpoints are untrusted input: round trips, refusals with one-line messages, foreign layouts.

Foreign modules below are written as code unaware of ccbounds would write them (other attribute
names, bias=False, TransformerEncoder wrappers, a bare MultiheadAttention block); after loading,
the rebuilt reference model must give the same logits as the foreign module.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import zipfile

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from ccbounds.auditing import audit_checkpoint  # noqa: E402
from ccbounds.checkpoint import load_checkpoint, parse_spec, save_checkpoint  # noqa: E402
from ccbounds.errors import CCBoundsError, CheckpointError, InvalidInputError  # noqa: E402
from ccbounds.models import RecurrentConfig, TransformerConfig, build_model  # noqa: E402
from ccbounds.tasks import get_task  # noqa: E402
from tests.tiny_models import TinyRecurrent  # noqa: E402

torch.set_num_threads(1)
TASK = get_task("index-lookup", 4, q=2)  # vocab 6, classes 2, length 5
SPEC = {"task": "index-lookup", "n": 4, "q": 2, "tokens": {}, "readout_position": "last"}
TF = {"norm_first": False, "positions": "learned", "embedding_scale": 1}  # what a Transformer's weights cannot tell


def _tokens(seed: int = 0, k: int = 7, T: int = 5) -> torch.Tensor:
    return torch.randint(0, TASK.vocab_size, (k, T), generator=torch.Generator().manual_seed(seed))


def _model(config, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(config).eval()


CONFIGS = [
    RecurrentConfig("gru", 6, 2, width=8),
    RecurrentConfig("rnn", 6, 2, width=5, layers=2, embed_dim=3, nonlinearity="relu"),
    TransformerConfig(6, 2, max_len=5, d_model=8, heads=2),
    TransformerConfig(6, 2, max_len=7, d_model=8, heads=4, d_ff=6, norm_first=True, positions="sinusoidal",
                      final_norm=True),
]


def _one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg and msg
    return msg


# -- ccbounds checkpoints -------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
@pytest.mark.parametrize("config", CONFIGS, ids=["gru", "rnn2", "tf1", "tf1-sin"])
def test_round_trip(tmp_path, config, suffix):
    model = _model(config)
    path = tmp_path / f"m{suffix}"
    info = {"command": "ccbounds train --task index-lookup --n 4", "seed": 3, "steps": 10, "final_accuracy": 0.5}
    save_checkpoint(model, path, task=TASK, train_info=info)
    rng = torch.get_rng_state()
    ck = load_checkpoint(path)
    assert torch.equal(torch.get_rng_state(), rng)  # loading consumes no global randomness
    assert ck.format == "ccbounds" and ck.config == config and ck.task.to_dict() == TASK.to_dict()
    assert ck.container == suffix[1:] and not ck.model.training
    assert ck.metadata["train"] == info and ck.metadata["version"] == 1 and ck.metadata["model"]["arch"] == config.arch
    assert ck.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    x = _tokens()
    assert torch.equal(ck.model(x), model(x))
    assert "command     ccbounds train" in ck.describe() and config.arch in str(ck)
    json.dumps(ck.to_dict())
    # a spec that agrees is accepted; one that disagrees is refused
    assert load_checkpoint(path, spec=SPEC).format == "ccbounds"
    with pytest.raises(CheckpointError, match="trained on index-lookup"):
        load_checkpoint(path, spec={**SPEC, "n": 5})


def test_pt_container_loads_with_weights_only(tmp_path):
    save_checkpoint(_model(CONFIGS[0]), tmp_path / "m.pt", task=TASK)
    obj = torch.load(tmp_path / "m.pt", map_location="cpu", weights_only=True)
    assert set(obj) == {"state_dict", "ccbounds_metadata"}
    assert json.loads(obj["ccbounds_metadata"])["format"] == "ccbounds-checkpoint"


def test_save_refuses_bad_input(tmp_path):
    model = _model(CONFIGS[0])
    with pytest.raises(InvalidInputError, match=".pt or .safetensors"):
        save_checkpoint(model, tmp_path / "m.bin", task=TASK)
    with pytest.raises(InvalidInputError, match="reference models"):
        save_checkpoint(nn.Linear(2, 2), tmp_path / "m.pt", task=TASK)
    with pytest.raises(InvalidInputError, match="JSON"):
        save_checkpoint(model, tmp_path / "m.pt", task=TASK, train_info={"x": object()})
    with pytest.raises(CheckpointError, match="needs 7 token ids"):
        save_checkpoint(model, tmp_path / "m.pt", task=get_task("index-lookup", 5, q=2))
    with torch.no_grad():
        model.head.bias[0] = float("nan")
    with pytest.raises(CheckpointError, match="non-finite"):
        save_checkpoint(model, tmp_path / "m.pt", task=TASK)
    assert not any(tmp_path.iterdir())  # nothing half-written


# -- malicious and broken files -------------------------------------------------------------------
class _Marker:
    """Unpickling this creates a file: open(path, "w"), or os.system("touch path")."""

    def __init__(self, path, call):
        self.path, self.call = path, call

    def __reduce__(self):
        return (open, (self.path, "w")) if self.call == "open" else (os.system, (f"touch {self.path}",))


@pytest.mark.parametrize("call", ["open", "system"])
@pytest.mark.parametrize("how", ["torch.save", "pickle2", "pickle4"])
def test_malicious_pickle_is_not_executed(tmp_path, call, how):
    marker = tmp_path / "PWNED"
    evil = _Marker(str(marker), call)
    path = tmp_path / "evil.pt"
    if how == "torch.save":
        torch.save({"state_dict": {"w": torch.zeros(1)}, "x": evil}, path)
    else:
        path.write_bytes(pickle.dumps(evil, protocol=int(how[-1])))
    assert not marker.exists()
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path, spec=SPEC)
    assert "does not unpickle code" in _one_line(err) and "--trust-pickle" in str(err.value)
    assert not marker.exists()
    pickle.loads(pickle.dumps(evil))  # the payload is live: a plain unpickle does create the file
    assert marker.exists()


def test_pickled_module_refused_then_trusted(tmp_path):
    model = _model(CONFIGS[0])
    torch.save(model, tmp_path / "whole.pt")
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path / "whole.pt", spec=SPEC)
    msg = _one_line(err)
    assert "contains pickled Python objects (a whole module)" in msg and "RecurrentClassifier" in msg
    assert "torch.save(model.state_dict(), path)" in msg
    ck = load_checkpoint(tmp_path / "whole.pt", spec=SPEC, trust_pickle=True)
    assert ck.format == "pickled-module" and ck.config == CONFIGS[0] and not ck.model.training
    assert torch.equal(ck.model(_tokens()), model(_tokens()))
    with pytest.raises(CheckpointError, match="spec"):
        load_checkpoint(tmp_path / "whole.pt", trust_pickle=True)


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_truncated(tmp_path, suffix):
    good = tmp_path / f"good{suffix}"
    save_checkpoint(_model(CONFIGS[2]), good, task=TASK)
    data = good.read_bytes()
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(bad)
    assert "truncated or corrupted" in _one_line(err)


def test_unreadable_files(tmp_path):
    cases = {}
    (tmp_path / "random.pt").write_bytes(bytes(range(7, 256)) * 8)
    cases["random.pt"] = "is not a checkpoint"
    (tmp_path / "empty.pt").write_bytes(b"")
    cases["empty.pt"] = "empty"
    (tmp_path / "adir").mkdir()
    cases["adir"] = "is a directory"
    cases["missing.pt"] = "does not exist"
    torch.save([torch.zeros(2)], tmp_path / "list.pt")
    cases["list.pt"] = "not a state_dict"
    torch.save({"epoch": 3, "lr": 0.1}, tmp_path / "nodict.pt")
    cases["nodict.pt"] = "not a state_dict"
    (tmp_path / "notes.txt").write_text("hello world\nthis is text, not a checkpoint\n")
    cases["notes.txt"] = "is not a checkpoint"
    torch.save({"w": torch.ones(2)}, tmp_path / "good.pt")
    with zipfile.ZipFile(tmp_path / "good.pt") as zin:
        entries = {n: zin.read(n) for n in zin.namelist()}
    for out, change in (("garbled.pt", lambda n, d: b"\x80\x02\xfe\x13garbage" if n.endswith("data.pkl") else d),
                        ("noversion.pt", lambda n, d: None if n.endswith("/version") else d)):
        with zipfile.ZipFile(tmp_path / out, "w") as z:
            for n, d in entries.items():
                if change(n, d) is not None:
                    z.writestr(n, change(n, d))
    cases["garbled.pt"] = "is corrupted: its pickle stream is not valid"
    cases["noversion.pt"] = "incomplete or corrupted torch archive: it lacks the entry 'version'"
    for name, needle in cases.items():
        with pytest.raises(CheckpointError) as err:
            load_checkpoint(tmp_path / name, spec=SPEC)
        assert needle in _one_line(err), name
        assert "Could this error message" not in _one_line(err) and "--trust-pickle" not in _one_line(err), name


def _write(path, state, meta):
    torch.save({"state_dict": state, "ccbounds_metadata": meta if isinstance(meta, str) else json.dumps(meta)}, path)


def _meta(config, task=TASK):
    return {"format": "ccbounds-checkpoint", "version": 1, "model": config.to_dict(), "task": task.to_dict(),
            "train": {}}


def test_inconsistent_contents(tmp_path):
    config = CONFIGS[0]
    state = _model(config).state_dict()
    p = tmp_path / "x.pt"
    cases = [
        ({**state, "head.weight": torch.zeros(2, 9)}, _meta(config), "has shape (2, 9)"),
        ({**state, "rnn.weight_hh_l0": state["rnn.weight_hh_l0"] * float("inf")}, _meta(config), "non-finite"),
        ({**state, "head.bias": torch.tensor([float("nan"), 0.0])}, _meta(config), "NaN or inf"),
        (state, "{not json", "not valid JSON"),
        (state, {**_meta(config), "format": "other"}, "format is 'other'"),
        (state, {**_meta(config), "version": 2}, "version 2 is not supported"),
        (state, {k: v for k, v in _meta(config).items() if k != "model"}, "no 'model' object"),
        (state, {**_meta(config), "model": {"arch": "mamba"}}, "valid model/task"),
        ({k: v for k, v in state.items() if k != "head.bias"}, _meta(config), "missing keys ['head.bias']"),
        ({**state, "extra.weight": torch.zeros(1)}, _meta(config), "unexpected keys ['extra.weight']"),
        (state, _meta(config, get_task("index-lookup", 5, q=2)),
         "the checkpoint's embedding has 6 rows but the task index-lookup with n=5 needs 7 token ids; "
         "pass the right --n/--task or a spec file with the model's token ids"),
    ]
    for st, meta, needle in cases:
        _write(p, st, meta)
        with pytest.raises(CheckpointError) as err:
            load_checkpoint(p)
        assert needle in _one_line(err), needle


# -- foreign recurrent checkpoints ----------------------------------------------------------------
def ForeignLSTM(cell="lstm", emb=4, hidden=6, layers=2, bias=True, **kw):
    """Embedding(6, emb) -> cell(emb, hidden, layers) -> Linear(hidden, 2), named emb / lstm / fc (not ours)."""
    return TinyRecurrent(cell, 6, emb, hidden, 2, layers=layers, bias=bias, names=("emb", "lstm", "fc"), **kw)


@pytest.mark.parametrize(
    "kw, spec_extra",
    [
        ({}, {}),
        ({"cell": "gru", "emb": 6, "layers": 1}, {"arch": "gru"}),
        ({"cell": "rnn", "bias": False, "nonlinearity": "relu"}, {"nonlinearity": "relu"}),
    ],
)
def test_foreign_recurrent_same_logits(tmp_path, kw, spec_extra):
    torch.manual_seed(1)
    foreign = ForeignLSTM(**kw).eval()
    path = tmp_path / "f.pt"
    torch.save(foreign.state_dict(), path)
    ck = load_checkpoint(path, spec={**SPEC, **spec_extra})
    assert ck.format == "foreign-state-dict" and ck.mapping["head.weight"] == "fc.weight"
    x = _tokens(seed=2)
    torch.testing.assert_close(ck.model(x), foreign(x), rtol=0, atol=1e-6)
    if kw.get("bias") is False:
        assert ck.mapping["rnn.bias_ih_l0"].startswith("zeros")


def test_foreign_safetensors_and_nested_dict(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(2)
    foreign = ForeignLSTM(layers=1).eval()
    save_file(foreign.state_dict(), str(tmp_path / "f.safetensors"))
    torch.save({"model_state_dict": foreign.state_dict(), "epoch": 4}, tmp_path / "train.pt")
    for name in ("f.safetensors", "train.pt"):
        ck = load_checkpoint(tmp_path / name, spec=SPEC)
        assert torch.equal(ck.model(_tokens()), foreign(_tokens()))
    with pytest.raises(CheckpointError, match="no ccbounds metadata; pass a spec"):
        load_checkpoint(tmp_path / "f.safetensors")


@pytest.mark.slow
def test_foreign_recurrent_refusals(tmp_path):
    p = tmp_path / "f.pt"
    torch.save(ForeignLSTM(bidirectional=True).state_dict(), p)
    with pytest.raises(CheckpointError, match="bidirectional.*one-way protocol"):
        load_checkpoint(p, spec=SPEC)
    torch.save(ForeignLSTM().state_dict(), p)
    with pytest.raises(CheckpointError, match="spec says arch 'gru' but the weights are a lstm"):
        load_checkpoint(p, spec={**SPEC, "arch": "gru"})
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(p, spec={**SPEC, "n": 5})  # vocabulary mismatch through the spec
    assert "embedding has 6 rows but the task index-lookup with n=5 needs 7 token ids" in _one_line(err)
    # two candidate readouts: ambiguous, resolved by the spec key "readout"
    two = ForeignLSTM()
    two.aux = nn.Linear(6, 2)
    torch.save(two.state_dict(), p)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(p, spec=SPEC)
    assert "readout could be any of ['fc', 'aux']" in _one_line(err) and "'readout'" in str(err.value)
    ck = load_checkpoint(p, spec={**SPEC, "readout": "aux"})
    assert ck.mapping["head.weight"] == "aux.weight" and ck.metadata["ignored_modules"] == ["fc"]
    assert "left out    fc: not in the rebuilt model" in ck.describe(width=200)
    report, _ = audit_checkpoint(p, spec={**SPEC, "readout": "aux"}, samples=64, precisions=(32,), witnesses=0)
    assert any("leaves out the checkpoint's module(s) fc" in n for n in report.notes)
    # an extra module that no part of the reference can hold
    extra = ForeignLSTM()
    extra.norm = nn.LayerNorm(6)
    torch.save(extra.state_dict(), p)
    with pytest.raises(CheckpointError, match=r"fit no part of it: norm.weight \(6,\)"):
        load_checkpoint(p, spec=SPEC)
    torch.save({"w": torch.zeros(3, 3)}, p)
    with pytest.raises(CheckpointError, match="cannot tell the architecture"):
        load_checkpoint(p, spec=SPEC)


# -- foreign Transformers -------------------------------------------------------------------------
class EncoderTF(nn.Module):
    """tok + a (1, T, d) position parameter -> nn.TransformerEncoder(1 layer, final LayerNorm) -> out."""

    def __init__(self, d=8, heads=2, final=True, layers=1):
        super().__init__()
        self.tok = nn.Embedding(6, d)
        self.posemb = nn.Parameter(torch.randn(1, 5, d))
        layer = nn.TransformerEncoderLayer(d, heads, 16, dropout=0.0, batch_first=True)
        norm = nn.LayerNorm(d) if final else None
        self.enc = nn.TransformerEncoder(layer, num_layers=layers, norm=norm, enable_nested_tensor=False)
        self.out = nn.Linear(d, 2)

    def forward(self, x):
        return self.out(self.enc(self.tok(x) + self.posemb[:, : x.shape[1]])[:, -1])


class LayerTF(nn.Module):
    """A bare TransformerEncoderLayer (pre-norm), learned positions, readout without bias."""

    def __init__(self, d=8, heads=4):
        super().__init__()
        self.tok = nn.Embedding(6, d)
        self.pos = nn.Embedding(5, d)
        self.block = nn.TransformerEncoderLayer(d, heads, 8, dropout=0.0, batch_first=True, norm_first=True)
        self.out = nn.Linear(d, 2, bias=False)

    def forward(self, x):
        h = self.tok(x) + self.pos.weight[: x.shape[1]]
        return self.out(self.block(h)[:, -1])


class MHATF(nn.Module):
    """A hand-written post-norm block around a bare nn.MultiheadAttention (d_ff == d)."""

    def __init__(self, d=8, heads=2):
        super().__init__()
        self.wte = nn.Embedding(6, d)
        self.wpe = nn.Embedding(5, d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln1 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))
        self.ln2 = nn.LayerNorm(d)
        self.head = nn.Linear(d, 2)

    def forward(self, x):
        h = self.wte(x) + self.wpe.weight[: x.shape[1]]
        h = self.ln1(h + self.attn(h, h, h, need_weights=False)[0])
        h = self.ln2(h + self.ff(h))
        return self.head(h[:, -1])


@pytest.mark.parametrize(
    "cls, spec_extra, arch_check",
    [
        (EncoderTF, {**TF, "heads": 2}, lambda c: c.final_norm and c.d_ff == 16 and c.max_len == 5),
        (lambda: EncoderTF(final=False, layers=2), {**TF, "heads": 2}, lambda c: c.arch == "tf2" and not c.final_norm),
        (LayerTF, {**TF, "heads": 4, "norm_first": True},
         lambda c: c.norm_first and not c.final_norm and c.arch == "tf1"),
        (MHATF, {**TF, "heads": 2}, lambda c: c.d_ff == 8 and c.positions == "learned" and c.arch == "tf1"),
    ],
)
def test_foreign_transformer_same_logits(tmp_path, cls, spec_extra, arch_check):
    torch.manual_seed(3)
    foreign = cls().eval()
    with torch.no_grad():  # make LayerNorm affine parameters non-trivial, so a swapped mapping would show
        for _name, p in foreign.named_parameters():
            p.add_(0.1 * torch.randn_like(p))
    path = tmp_path / "tf.pt"
    torch.save(foreign.state_dict(), path)
    ck = load_checkpoint(path, spec={**SPEC, **spec_extra})
    assert arch_check(ck.config)
    x = _tokens(seed=4)
    torch.testing.assert_close(ck.model(x), foreign(x), rtol=0, atol=1e-5)


def test_foreign_transformer_refusals(tmp_path):
    path = tmp_path / "tf.pt"
    torch.save(EncoderTF().state_dict(), path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path, spec={**SPEC, **TF})
    assert "the spec lacks ['heads']" in _one_line(err) and "--model MODULE:CALLABLE" in str(err.value)
    sd = {k: v for k, v in EncoderTF().state_dict().items() if k != "posemb"}
    torch.save(sd, path)
    with pytest.raises(CheckpointError, match="position"):
        load_checkpoint(path, spec={**SPEC, **TF, "heads": 2})
    with pytest.raises(CheckpointError, match="not the sin/cos table"):
        torch.save(EncoderTF().state_dict(), path)
        load_checkpoint(path, spec={**SPEC, **TF, "heads": 2, "positions": "sinusoidal"})


def test_reference_state_dict_is_a_foreign_layout_too(tmp_path):
    for config in CONFIGS:
        model = _model(config)
        torch.save(model.state_dict(), tmp_path / "ref.pt")
        spec = {**SPEC, "nonlinearity": config.nonlinearity} if config.arch == "rnn" else dict(SPEC)
        if isinstance(config, TransformerConfig):
            spec.update(heads=config.heads, norm_first=config.norm_first, positions=config.positions, embedding_scale=1)
        ck = load_checkpoint(tmp_path / "ref.pt", spec=spec)
        assert ck.config == config, config
        assert torch.equal(ck.model(_tokens()), model(_tokens()))


# -- spec files -----------------------------------------------------------------------------------
def test_spec_files(tmp_path):
    (tmp_path / "s.toml").write_text('task = "index-lookup"\nn = 4\nq = 2\nheads = 2\n[tokens]\nD0 = 0\n')
    (tmp_path / "s.json").write_text(json.dumps({**SPEC, "heads": 2}))
    a, b = parse_spec(tmp_path / "s.toml"), parse_spec(str(tmp_path / "s.json"))
    assert (a.heads, b.heads, a.task_options) == (2, 2, {"q": 2, "tokens": {"D0": 0}})
    assert a.build_task().to_dict() == TASK.to_dict()
    (tmp_path / "bad.json").write_text("{")
    bad = [
        (tmp_path / "bad.json", "not valid JSON"),
        (tmp_path / "nope.json", "does not exist"),
        ({"task": "eq"}, "missing key 'n'"),
        ({**SPEC, "heads": "two"}, "'heads' must be of type int"),
        ({**SPEC, "positions": "rotary"}, "must be one of ['learned', 'sinusoidal']"),
        ({**SPEC, "n": 0}, "positive integer"),
    ]
    for spec, needle in bad:
        with pytest.raises(InvalidInputError, match=needle.replace("[", r"\[").replace("]", r"\]")):
            parse_spec(spec)
    with pytest.raises(CCBoundsError, match=r"unknown key\(s\) \['hedas'\] \(did you mean 'heads'\?\); valid keys"):
        parse_spec({**SPEC, "hedas": 2})


@pytest.mark.slow
def test_pt_files_are_byte_identical_across_processes(tmp_path):
    """torch.save into a named temp file would embed the temp name (with the pid) in the zip."""
    import subprocess
    import sys

    code = ("import sys, torch\nfrom ccbounds.models import RecurrentConfig, build_model\n"
            "from ccbounds.tasks import get_task\nfrom ccbounds.checkpoint import save_checkpoint\n"
            "torch.manual_seed(0)\nt = get_task('eq', 2)\n"
            "m = build_model(RecurrentConfig('gru', t.vocab_size, 2, width=3))\n"
            "save_checkpoint(m, sys.argv[1], task=t)\n")
    paths = [tmp_path / "a.pt", tmp_path / "b.pt"]
    for p in paths:
        subprocess.run([sys.executable, "-c", code, str(p)], check=True, timeout=120)
    assert paths[0].read_bytes() == paths[1].read_bytes()
