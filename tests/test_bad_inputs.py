"""The bad-input campaign as a table: every hostile or malformed input ends in one clean line.

Each case is a row of :data:`CASES`: its class (hang/blow-up, traceback, accepted-and-wrong, exit code,
misleading message, pickle payload, valid input), an id, and a builder that writes what the case needs under
``tmp_path`` and returns either CLI arguments (run in-process through ``ccbounds.cli.main``) or a callable
(the Python API). A CLI case must exit with the documented code (1 for every error a user can cause,
2 for a usage error of the argument parser: one line too) and print exactly one line on stderr, without
"Traceback"; an API case must raise a :class:`~ccbounds.errors.CCBoundsError` whose message is one line.
Every case runs under a time cap (SIGALRM) and a memory cap (the soft RLIMIT_AS lowered to what the process
maps plus a margin, restored afterwards), so a former hang or blow-up fails the test instead of the machine.
Hypothesis generates further matrices, specs and sweep configs.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ccbounds.cli import main
from ccbounds.errors import CCBoundsError

torch = pytest.importorskip("torch")

#: seconds and bytes of address space (above what the process maps when the case starts) a case may use
TIME_CAP_S = 30
MEMORY_CAP = 3 * 2**30
#: the longest error line the CLI prints
MAX_LINE = 400

TASK_SPEC = {"task": "index-lookup", "n": 4, "q": 2, "tokens": {}, "readout_position": "last"}


class _TimeUp(Exception):
    pass


def _mapped_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * resource.getpagesize()


class caps:  # noqa: N801 - used as a context manager
    """Time cap by SIGALRM, memory cap by a lowered soft RLIMIT_AS (both restored on exit)."""

    def __enter__(self) -> caps:
        self.old_handler = signal.signal(signal.SIGALRM, self._alarm)
        signal.alarm(TIME_CAP_S)
        self.old_limit = resource.getrlimit(resource.RLIMIT_AS)
        cap = _mapped_bytes() + MEMORY_CAP
        hard = self.old_limit[1]
        resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
        return self

    @staticmethod
    def _alarm(signum: int, frame: Any) -> None:
        raise _TimeUp(f"over the time cap of {TIME_CAP_S} s")

    def __exit__(self, *exc: Any) -> None:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.old_handler)
        resource.setrlimit(resource.RLIMIT_AS, self.old_limit)


@dataclass(frozen=True)
class Case:
    cls: str
    id: str
    build: Callable[[Path], Any]  # tmp_path -> list[str] (CLI argv) or a zero-argument callable (API)
    code: int = 1
    says: str = ""  # a substring of the error line (what to do / the limit)


CASES: list[Case] = []


def case(cls: str, id: str, code: int = 1, says: str = "") -> Callable:
    def deco(fn: Callable[[Path], Any]) -> Callable:
        CASES.append(Case(cls, id, fn, code, says))
        return fn
    return deco


def add(cls: str, id: str, argv: list[str], code: int = 1, says: str = "") -> None:
    CASES.append(Case(cls, id, lambda _p, a=argv: list(a), code, says))


def run_cli(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as e:  # argparse
        code = e.code if isinstance(e.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


# -- helpers that write hostile files -------------------------------------------------------------
def write(p: Path, data: str | bytes) -> str:
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data)
    return str(p)


def spec_file(tmp: Path, spec: Any, name: str = "spec.json") -> str:
    return write(tmp / name, spec if isinstance(spec, (str, bytes)) else json.dumps(spec))


def lstm_state(width: int = 4, vocab: int = 6, classes: int = 2) -> dict[str, Any]:
    torch.manual_seed(0)
    emb, rnn, head = torch.nn.Embedding(vocab, width), torch.nn.LSTM(width, width, batch_first=True), \
        torch.nn.Linear(width, classes)
    return {**{f"embed.{k}": v for k, v in emb.state_dict().items()},
            **{f"rnn.{k}": v for k, v in rnn.state_dict().items()},
            **{f"head.{k}": v for k, v in head.state_dict().items()}}


def saved(tmp: Path, state: Any, name: str = "m.pt") -> str:
    p = tmp / name
    torch.save(state, p)
    return str(p)


def ccbounds_checkpoint(tmp: Path, name: str = "c.pt", **meta_model: Any) -> str:
    from ccbounds.checkpoint import save_checkpoint
    from ccbounds.models import RecurrentConfig, build_model
    from ccbounds.tasks import get_task

    torch.manual_seed(0)
    model = build_model(RecurrentConfig("gru", 6, 2, width=4))
    path = tmp / name
    save_checkpoint(model, path, task=get_task("index-lookup", 4, q=2))
    if meta_model:
        obj = torch.load(path, weights_only=True)
        meta = json.loads(obj["ccbounds_metadata"])
        meta["model"].update(meta_model)
        obj["ccbounds_metadata"] = json.dumps(meta)
        torch.save(obj, path)
    return str(path)


def audit(tmp: Path, ckpt: str, *extra: str, spec: Any = TASK_SPEC) -> list[str]:
    argv = ["audit", ckpt, "--samples", "8", "--precisions", "32"]
    if spec is not None:
        argv += ["--spec", spec_file(tmp, spec)]
    return argv + list(extra)


def safetensors_bytes(header: dict[str, Any] | bytes, data: bytes = b"", length: int | None = None) -> bytes:
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(h) if length is None else length) + h + data


# == class: valid inputs that crashed ===============================================================
add("valid", "bounds-eq-n10", ["bounds", "eq", "--n", "10"], code=0)
add("valid", "bounds-eq-n10-exact", ["bounds", "eq", "--n", "10", "--exact", "--time-limit", "2"], code=0)


@case("valid", "bounds-identity-1000", code=0)
def _(tmp: Path) -> list[str]:
    return ["bounds", "--matrix", write(tmp / "eye.csv", "\n".join(",".join("1" if i == j else "0" for j in
                                                                            range(1000)) for i in range(1000)))]


# == class: hangs and memory blow-ups ==============================================================
def hf_folder(tmp: Path, **config_over: Any) -> Path:
    import transformers as tf

    folder = tmp / "hf"
    torch.manual_seed(0)
    lm = tf.MambaForCausalLM(tf.MambaConfig(vocab_size=8, hidden_size=8, state_size=2, conv_kernel=2,
                                            num_hidden_layers=1))
    lm.save_pretrained(folder)
    spec_file(folder, {"task": "eq", "n": 2, "answer_tokens": [6, 7]}, "ccbounds-spec.json")
    if config_over:
        cfg = json.loads((folder / "config.json").read_text())
        cfg.update(config_over)
        (folder / "config.json").write_text(json.dumps(cfg))
    return folder


@case("hang", "hf-fifo-bin", says="not a regular file")
def _(tmp: Path) -> list[str]:
    folder = hf_folder(tmp)
    os.mkfifo(folder / "pytorch_model.bin")
    return ["audit", str(folder), "--samples", "8", "--precisions", "32"]


@case("hang", "hf-dev-zero-bin", says="not a regular file")
def _(tmp: Path) -> list[str]:
    folder = hf_folder(tmp)
    os.symlink("/dev/zero", folder / "extra.bin")
    return ["audit", str(folder), "--samples", "8", "--precisions", "32"]


@case("hang", "hf-dev-zero-safetensors", says="not a regular file")
def _(tmp: Path) -> list[str]:
    folder = hf_folder(tmp)
    os.symlink("/dev/zero", folder / "zz.safetensors")
    return ["audit", str(folder), "--samples", "8", "--precisions", "32"]


@case("hang", "hf-fifo-config", says="not a regular file")
def _(tmp: Path) -> list[str]:
    folder = hf_folder(tmp)
    (folder / "config.json").unlink()
    os.mkfifo(folder / "config.json")
    return ["audit", str(folder), "--samples", "8", "--precisions", "32"]


@case("hang", "fifo-checkpoint", says="not a regular file")
def _(tmp: Path) -> list[str]:
    os.mkfifo(tmp / "m.pt")
    return audit(tmp, str(tmp / "m.pt"))


@case("hang", "dev-zero-checkpoint", says="not a regular file")
def _(tmp: Path) -> list[str]:
    os.symlink("/dev/zero", tmp / "m.pt")
    return audit(tmp, str(tmp / "m.pt"))


@case("hang", "pt-zip-bomb", says="zip bomb")
def _(tmp: Path) -> list[str]:
    path = tmp / "bomb.pt"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        with zf.open("archive/data/0", "w", force_zip64=True) as fh:
            block = bytes(1 << 20)
            for _ in range(300):  # 300 MiB of zeros, about 300 KB compressed
                fh.write(block)
    return audit(tmp, str(path))


@case("hang", "pt-zip-headers-over-limit", says="MAX_UNPACKED_BYTES")
def _(tmp: Path) -> list[str]:
    path = tmp / "big.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        zf.writestr("archive/data/0", b"\x00" * 16)
    raw = bytearray(path.read_bytes())
    at = raw.find(b"PK\x01\x02")
    while at >= 0:  # each central directory entry: compressed and uncompressed sizes at offsets 20 and 24
        raw[at + 20:at + 28] = struct.pack("<II", 0xFFFFFFF0, 0xFFFFFFF0)
        at = raw.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(raw))
    return audit(tmp, str(path))


for _layers in (200_000, 10**9):
    add("hang", f"metadata-layers-{_layers}", [], says="MAX_LAYERS")
    CASES[-1] = Case("hang", f"metadata-layers-{_layers}",
                     lambda tmp, n=_layers: ["audit", ccbounds_checkpoint(tmp, layers=n)], 1, "MAX_LAYERS")
CASES.append(Case("hang", "metadata-width-1e6", lambda tmp: ["audit", ccbounds_checkpoint(tmp, width=10**6)], 1,
                  "MAX_PARAMETERS"))
CASES.append(Case("hang", "metadata-vocab-1e12", lambda tmp: ["audit", ccbounds_checkpoint(tmp, vocab_size=10**12)],
                  1, "MAX_PARAMETERS"))


@case("hang", "hf-num-hidden-layers-100000", says="MAX_LAYERS")
def _(tmp: Path) -> list[str]:
    return ["audit", str(hf_folder(tmp, num_hidden_layers=100_000)), "--samples", "8", "--precisions", "32"]


@case("hang", "hf-hidden-size-1e6", says="MAX_PARAMETERS")
def _(tmp: Path) -> list[str]:
    return ["audit", str(hf_folder(tmp, hidden_size=10**6)), "--samples", "8", "--precisions", "32"]


@case("hang", "hf-config-2mb", says="1 MiB")
def _(tmp: Path) -> list[str]:
    folder = hf_folder(tmp)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["padding"] = "x" * (2 << 20)
    (folder / "config.json").write_text(json.dumps(cfg))
    return ["audit", str(folder), "--samples", "8", "--precisions", "32"]


for _n in (10**9, 10**6, 2**17):
    add("hang", f"train-n-{_n}", ["train", "--arch", "lstm", "--task", "index-lookup", "--n", str(_n), "--width", "4",
                                  "--steps", "1", "-o", "/nonexistent/x.pt"], says="MAX_TASK_N")
    CASES.append(Case("hang", f"spec-n-{_n}", lambda tmp, n=_n: audit(tmp, saved(tmp, lstm_state()),
                                                                     spec={**TASK_SPEC, "n": n}), 1, "MAX_TASK_N"))
for _arch, _w in (("lstm", 200_000), ("gru", 100_000), ("rnn", 10**6), ("tf1", 100_000), ("tf2", 50_000),
                  ("mamba", 200_000)):
    add("hang", f"train-{_arch}-width-{_w}", ["train", "--arch", _arch, "--task", "eq", "--n", "4", "--width",
                                              str(_w), "--steps", "1", "-o",
                                              "/nonexistent/x" + (_arch != "mamba") * ".pt"],
        says="MAX_PARAMETERS")
for _arch in ("lstm", "gru", "mamba"):
    add("hang", f"train-{_arch}-layers-1e5", ["train", "--arch", _arch, "--task", "eq", "--n", "4", "--width", "4",
                                              "--layers", "100000", "--steps", "1", "-o",
                                              "/nonexistent/x" + (_arch != "mamba") * ".pt"],
        says="MAX_LAYERS")
add("hang", "dyck-length-overflow", ["train", "--arch", "lstm", "--task", "dyck", "--n", "60000", "--width", "4",
                                     "--steps", "1", "-o", "/nonexistent/x.pt"], says="MAX_TASK_N")
add("hang", "budget-n-1e9-index", ["budget", "lstm", "--width", "4", "--n", str(10**9)], code=0)
add("hang", "bounds-eq-n-1e9", ["bounds", "eq", "--n", str(10**9)], code=0)


# == the runner ===================================================================================
@pytest.mark.parametrize("c", CASES, ids=[f"{c.cls}:{c.id}" for c in CASES])
def test_bad_input(c: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    built = c.build(tmp_path)
    capsys.readouterr()
    with caps():
        if callable(built):
            try:
                built()
            except CCBoundsError as e:
                msg = str(e)
                assert msg and "\n" not in msg and len(msg) <= MAX_LINE, msg
                assert c.says in msg, msg
                return
            assert c.code == 0, "accepted"
            return
        code, out, err = run_cli(capsys, built)
    assert "Traceback" not in out + err
    assert code == c.code, (code, err[-2000:])
    if code == 0:
        return
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err[-3000:]
    assert len(lines[0]) <= MAX_LINE, lines[0]
    assert c.says in lines[0], lines[0]


def test_campaign_size() -> None:
    from collections import Counter

    by_class = Counter(c.cls for c in CASES)
    print(dict(by_class))
    assert len(CASES) >= 150, by_class
    assert len({(c.cls, c.id) for c in CASES}) == len(CASES)
