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
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccbounds.cli import main
from ccbounds.errors import CCBoundsError

torch = pytest.importorskip("torch")

#: seconds and bytes of address space (above what the process maps when the case starts) a case may use
TIME_CAP_S = 30
MEMORY_CAP = 3 * 2**30
#: the longest error line the CLI prints
MAX_LINE = 600

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
    from tests.tiny_models import TinyRecurrent

    torch.manual_seed(0)  # keys embed.*, rnn.*, head.*
    return dict(TinyRecurrent("lstm", vocab, embed=width, width=width, classes=classes).state_dict())


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
add("valid", "bounds-eq-n10-exact", ["bounds", "eq", "--n", "10", "--exact", "--time-limit", "1"], code=0)


@case("valid", "bounds-identity-1000", code=0)
def _(tmp: Path) -> list[str]:
    return ["bounds", "--matrix", write(tmp / "eye.csv", "\n".join(",".join("1" if i == j else "0" for j in
                                                                            range(1000)) for i in range(1000)))]


@case("valid", "api-audit-answer-tokens", code=0)
def _(tmp: Path) -> Callable:
    import transformers as tf

    from ccbounds import EQ, audit

    torch.manual_seed(0)
    lm = tf.MambaForCausalLM(tf.MambaConfig(vocab_size=8, hidden_size=8, state_size=2, conv_kernel=2,
                                            num_hidden_layers=1)).eval()

    def run() -> None:  # as reduce() takes it: the causal LM read at its last position at these ids
        report = audit(lm, EQ(2), answer_tokens=[6, 7], samples=8, precisions=[32])
        from ccbounds.auditing import VERDICTS

        assert report.rows and report.rows[-1].verdict in VERDICTS and report.rows[-1].message_bits > 0
    return run


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
            for _ in range(80):  # 80 MiB of zeros, about 80 KB compressed
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


# == class: tracebacks (now one line) ==============================================================
@case("traceback", "matrix-latin1", says="UTF-8")
def _(tmp: Path) -> list[str]:
    return ["bounds", "--matrix", write(tmp / "m.csv", b"0,1\n1,0\n# caf\xe9\n")]


@case("traceback", "matrix-utf16", says="UTF-8")
def _(tmp: Path) -> list[str]:
    return ["bounds", "--matrix", write(tmp / "m.csv", "0,1\n1,0\n".encode("utf-16"))]


@case("traceback", "matrix-binary", says="UTF-8")
def _(tmp: Path) -> list[str]:
    return ["bounds", "--matrix", write(tmp / "m.csv", bytes(range(256)))]


@case("traceback", "matrix-is-dir", says="is a directory, not a matrix file")
def _(tmp: Path) -> list[str]:
    (tmp / "d.csv").mkdir()
    return ["bounds", "--matrix", str(tmp / "d.csv")]


@case("misleading", "matrix-dev-null", says="is not a regular file")
def _(tmp: Path) -> list[str]:
    return ["bounds", "--matrix", os.devnull]


@case("traceback", "matrix-fifo", says="is not a regular file")
def _(tmp: Path) -> list[str]:
    os.mkfifo(tmp / "f.csv")
    return ["bounds", "--matrix", str(tmp / "f.csv")]


for _name, _text, _says in (("empty", "", "no rows"), ("comments-only", "# x\n\n", "no rows"),
                            ("ragged", "0,1\n1\n", "different lengths"), ("letters", "a,b\n", "not an integer"),
                            ("nan", "nan,1\n", "not an integer"), ("inf", "inf,0\n", "not an integer"),
                            ("half", "0.5,1\n", "not an integer"), ("huge-int", "1e300,0\n", "row 1, column 1"),
                            ("huge-1e23", "0,1\n1,1e23\n", "row 2, column 2"),
                            ("three-valued", "0,2\n", ""), ("negative", "-1,0\n0,1\n", "map -1 to 0"),
                            ("sign-matrix", "1,-1\n-1,1\n", "row 1, column 2"),
                            ("too-many-rows", "\n".join(["0,1"] * 5000), "at most 4096"),
                            ("long-line", ",".join(["0"] * 200_000) + "\n", "at most 4096")):
    CASES.append(Case("traceback", f"matrix-{_name}", lambda tmp, t=_text: ["bounds", "--matrix",
                                                                              write(tmp / "m.csv", t)],
                      0 if _name == "three-valued" else 1, _says))


@case("misleading", "matrix-bom", code=0)
def _(tmp: Path) -> list[str]:
    return ["bounds", "--matrix", write(tmp / "m.csv", "\ufeff0,1\n1,0\n".encode("utf-8"))]


@case("traceback", "sweep-config-latin1", says="UTF-8")
def _(tmp: Path) -> list[str]:
    return ["sweep", write(tmp / "s.toml", b'[sweep]\nname = "caf\xe9"\n')]


@case("traceback", "sweep-config-binary", says="UTF-8")
def _(tmp: Path) -> list[str]:
    return ["sweep", write(tmp / "s.toml", bytes(range(256)))]


for _dtype in ("int8", "uint8", "int32", "int64", "bool", "float8_e4m3fn", "float8_e5m2", "complex64", "float16",
               "bfloat16", "float64"):
    CASES.append(Case("traceback", f"weights-{_dtype}", lambda tmp, d=_dtype: audit(tmp, saved(tmp, {
        k: v.to(getattr(torch, d)) for k, v in lstm_state().items()})), 0 if _dtype in ("float16", "bfloat16",
                                                                                         "float64") else 1, ""))


@case("traceback", "weights-sparse")
def _(tmp: Path) -> list[str]:
    return audit(tmp, saved(tmp, {k: (v.to_sparse() if v.dim() == 2 else v) for k, v in lstm_state().items()}))


@case("traceback", "weights-quantized")
def _(tmp: Path) -> list[str]:
    import warnings

    warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*deprecated", category=UserWarning)
    return audit(tmp, saved(tmp, {k: (torch.quantize_per_tensor(v, 0.1, 0, torch.qint8) if v.dim() == 2 else v)
                                  for k, v in lstm_state().items()}))


@case("traceback", "api-load-checkpoint-none", says="")
def _(tmp: Path) -> Callable:
    from ccbounds.checkpoint import load_checkpoint

    return lambda: load_checkpoint(None)


@case("traceback", "api-reduce-meta-model", says="meta device")
def _(tmp: Path) -> Callable:
    from ccbounds import INDEX, reduce
    from ccbounds.models import RecurrentConfig, build_model

    with torch.device("meta"):
        model = build_model(RecurrentConfig("lstm", 6, 2, width=4))
    return lambda: reduce(model, INDEX(4))


@case("traceback", "api-audit-meta-model", says="meta device")
def _(tmp: Path) -> Callable:
    from ccbounds import INDEX, audit
    from ccbounds.models import RecurrentConfig, build_model

    with torch.device("meta"):
        model = build_model(RecurrentConfig("lstm", 6, 2, width=4))
    return lambda: audit(model, INDEX(4), samples=8, precisions=[32])


def _ref_model() -> Any:
    from ccbounds.models import RecurrentConfig, build_model

    torch.manual_seed(0)
    return build_model(RecurrentConfig("lstm", 6, 2, width=4)).eval()


for _kw, _says in (({"confidence": "x"}, "confidence"), ({"confidence": 2}, "confidence"),
                   ({"confidence": float("nan")}, "confidence"), ({"samples": 0}, "samples"),
                   ({"samples": "8"}, "samples"), ({"samples": 10**12}, "MAX_SAMPLES"), ({"seed": -1}, "seed"),
                   ({"seed": 1.5}, "seed"), ({"seed": 2**70}, "seed"), ({"witnesses": -1}, "witnesses"),
                   ({"precisions": []}, "precisions"), ({"precisions": ["fp7"]}, "fp7"),
                   ({"precisions": 8}, "precisions"), ({"calibration_samples": 0}, "calibration_samples"),
                   ({"batch": 0}, "batch"), ({"device": "tpu9"}, "tpu9")):
    def _audit_case(tmp: Path, kw: dict = _kw) -> Callable:
        from ccbounds import INDEX, audit

        model = _ref_model()
        return lambda: audit(model, INDEX(4), **{"samples": 8, "precisions": [32], **kw})
    CASES.append(Case("traceback", "api-audit-" + "-".join(f"{k}={v!r}"[:20] for k, v in _kw.items()), _audit_case,
                      1, _says))


@case("traceback", "state-dict-int-keys")
def _(tmp: Path) -> list[str]:
    return audit(tmp, saved(tmp, {i: v for i, v in enumerate(lstm_state().values())}))


@case("traceback", "state-dict-mixed-keys")
def _(tmp: Path) -> list[str]:
    return audit(tmp, saved(tmp, {**lstm_state(), 7: torch.zeros(2)}))


@case("traceback", "state-dict-scalar-tensors")
def _(tmp: Path) -> list[str]:
    return audit(tmp, saved(tmp, {k: v.flatten()[0] for k, v in lstm_state().items()}))


@case("traceback", "state-dict-one-scalar")
def _(tmp: Path) -> list[str]:
    return audit(tmp, saved(tmp, {**lstm_state(), "rnn.weight_hh_l0": torch.tensor(1.0)}))


@case("traceback", "state-dict-empty-tensors")
def _(tmp: Path) -> list[str]:
    return audit(tmp, saved(tmp, {k: v[:0] for k, v in lstm_state().items()}))


@case("traceback", "state-dict-empty")
def _(tmp: Path) -> list[str]:
    return audit(tmp, saved(tmp, {}))


@case("traceback", "state-dict-nested-list")
def _(tmp: Path) -> list[str]:
    return audit(tmp, saved(tmp, [lstm_state()]))


def _st(tmp: Path, data: bytes) -> list[str]:
    return audit(tmp, write(tmp / "m.safetensors", data))


_ST_OK = {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
for _name, _data in (
        ("truncated", safetensors_bytes(_ST_OK, bytes(8))),
        ("header-not-json", safetensors_bytes(b"{nope" + b" " * 20)),
        ("header-lies-length", safetensors_bytes(_ST_OK, bytes(16), length=10_000)),
        ("offsets-past-end", safetensors_bytes({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 10**12]}},
                                               bytes(16))),
        ("shape-mismatch", safetensors_bytes({"w": {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [0, 16]}},
                                             bytes(16))),
        ("bad-dtype", safetensors_bytes({"w": {"dtype": "Q99", "shape": [2], "data_offsets": [0, 8]}}, bytes(8))),
        ("header-list", safetensors_bytes(b"[1, 2, 3]       ")),
        ("overlapping", safetensors_bytes({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                           "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12))),
        ("metadata-not-str", safetensors_bytes({"__metadata__": {"ccbounds_metadata": 5}, **_ST_OK}, bytes(16))),
        ("header-only", safetensors_bytes(_ST_OK)),
        ("eight-bytes", struct.pack("<Q", 2) + b"{"),
):
    CASES.append(Case("traceback", f"safetensors-{_name}", lambda tmp, d=_data: _st(tmp, d)))

for _name, _bytes in (("text", b"hello world\n" * 10), ("zeros", bytes(100)), ("pickle-int", b"\x80\x04K\x05."),
                      ("truncated-zip", b"PK\x03\x04" + bytes(30)), ("pickle-list", b"\x80\x02]q\x00.")):
    CASES.append(Case("traceback", f"pt-{_name}", lambda tmp, b=_bytes: audit(tmp, write(tmp / "m.pt", b))))


@case("traceback", "pt-truncated-real")
def _(tmp: Path) -> list[str]:
    path = Path(saved(tmp, lstm_state()))
    path.write_bytes(path.read_bytes()[:300])
    return audit(tmp, str(path))


for _name, _spec, _says in (
        ("tokens-str", {**TASK_SPEC, "tokens": "abc"}, "tokens"),
        ("tokens-list", {**TASK_SPEC, "tokens": [1, 2]}, "tokens"),
        ("tokens-bad-id", {**TASK_SPEC, "tokens": {"D0": "x"}}, "D0"),
        ("tokens-negative", {**TASK_SPEC, "tokens": {"D0": -3}}, ""),
        ("tokens-unknown-name", {**TASK_SPEC, "tokens": {"ZZ": 1}}, "ZZ"),
        ("n-str", {**TASK_SPEC, "n": "4"}, "'n'"),
        ("n-float", {**TASK_SPEC, "n": 4.5}, "'n'"),
        ("n-bool", {**TASK_SPEC, "n": True}, "'n'"),
        ("n-zero", {**TASK_SPEC, "n": 0}, "'n'"),
        ("q-str", {**TASK_SPEC, "q": "two"}, "q"),
        ("q-huge", {**TASK_SPEC, "q": 10**9}, ""),
        ("task-int", {**TASK_SPEC, "task": 3}, "'task'"),
        ("task-unknown", {**TASK_SPEC, "task": "sorting"}, "sorting"),
        ("no-task", {"n": 4}, "task"),
        ("list", [1, 2], "object"),
        ("heads-zero", {**TASK_SPEC, "heads": 0}, "heads"),
        ("answer-tokens-str", {**TASK_SPEC, "answer_tokens": "ab"}, "answer_tokens"),
        ("unknown-key", {**TASK_SPEC, "colour": "red"}, "colour"),
        ("readout-position-list", {**TASK_SPEC, "readout_position": [1]}, "readout_position"),
        ("bos-negative", {**TASK_SPEC, "bos": -1}, "bos"),
        ("vocab-size-str", {**TASK_SPEC, "vocab_size": "x"}, ""),
        ("embedding-scale-nan", {**TASK_SPEC, "embedding_scale": "nan"}, "embedding_scale"),
):
    CASES.append(Case("traceback", f"spec-{_name}", lambda tmp, sp=_spec: audit(tmp, saved(tmp, lstm_state()),
                                                                               spec=sp), 1, _says))
for _name, _text in (("deep-100000", "[" * 100_000 + "]" * 100_000), ("deep-object", '{"a":' * 50_000 + "1" +
                                                                      "}" * 50_000),
                     ("latin1", b'{"task": "eq", "n": 4, "x": "caf\xe9"}'), ("not-json", "{task: eq}"),
                     ("toml-bad", None), ("empty", "")):
    if _text is None:
        CASES.append(Case("traceback", "spec-toml-bad", lambda tmp: audit(tmp, saved(tmp, lstm_state()), spec=None)
                          + ["--spec", write(tmp / "s.toml", "task = = 1")]))
    else:
        CASES.append(Case("traceback", f"spec-{_name}", lambda tmp, t=_text: audit(tmp, saved(tmp, lstm_state()),
                                                                                  spec=t)))
add("traceback", "bounds-time-limit-inf", ["bounds", "eq", "--n", "2", "--exact", "--time-limit", "inf"],
    says="finite")
add("traceback", "bounds-time-limit-nan", ["bounds", "eq", "--n", "2", "--exact", "--time-limit", "nan"],
    says="finite")
add("traceback", "bounds-time-limit-neg", ["bounds", "eq", "--n", "2", "--exact", "--time-limit", "-1"])
add("traceback", "audit-seed-negative", ["audit", "--seed", "-1", "--samples", "8", "--precisions", "32"],
    says="seed")
add("traceback", "audit-seed-float", ["audit", "--seed", "1.5"], says="seed")
add("traceback", "audit-seed-huge", ["audit", "--seed", str(2**80), "--samples", "8", "--precisions", "32"],
    says="seed")
add("traceback", "audit-samples-zero", ["audit", "--samples", "0"], says="samples")
add("traceback", "audit-samples-huge", ["audit", "--samples", str(10**12), "--precisions", "32"], says="samples")
add("traceback", "audit-witnesses-negative", ["audit", "--witnesses", "-3", "--samples", "8", "--precisions", "32"],
    says="witnesses")
add("traceback", "audit-device-bogus", ["audit", "--device", "tpu9", "--samples", "8"], says="tpu9")
add("traceback", "audit-model-kwargs-not-json", ["audit", "x.pt", "--model", "m:f", "--model-kwargs", "{"])
for _p in ("", ",", "0", "33", "-1", "fp7", "x" * 5000, "1e3", "nan", "1,2,fp99"):
    add("traceback", f"audit-precisions-{_p[:10] or 'empty'}", ["audit", "--precisions", _p, "--samples", "8"])

_USER_MODEL = """
import torch
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(6, 4)
        self.rnn = torch.nn.LSTM(4, 4, batch_first=True)
        self.head = torch.nn.Linear(4, 2)
    def forward(self, x):
        out = self.head(self.rnn(self.embed(x))[0][:, -1])
        return {OUT}
"""
for _name, _out, _says in (("one-row", "out[:1]", "one row per sequence"), ("class-ids", "out.argmax(-1)", "logits"),
                           ("int-logits", "out.round().long()", "logits"), ("three-d", "out[:, None, :]", ""),
                           ("scalar", "out.sum()", ""), ("tuple", "(out, out)", ""), ("none", "None", ""),
                           ("nan", "out * float('nan')", "NaN"), ("wrong-classes", "out[:, :1]", "")):
    def _build(tmp: Path, name: str = _name, out: str = _out) -> list[str]:
        mod = f"usermodel_{name.replace('-', '_')}"
        write(tmp / f"{mod}.py", _USER_MODEL.replace("{OUT}", out))
        return ["audit", saved(tmp, lstm_state()), "--model", f"{mod}:Net", "--spec",
                spec_file(tmp, {"task": "index-lookup", "n": 4, "q": 2}), "--samples", "8", "--precisions", "32"]
    CASES.append(Case("traceback", f"user-model-{_name}", _build, 1, _says))


def _results(tmp: Path, damage: str) -> list[str]:
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    from ccbounds.sweeps import shipped_results

    folder = tmp / "res"
    folder.mkdir()
    audited = [p for p in sorted(shipped_results("small-cpu").glob("*.parquet"))
               if pq.read_table(p, columns=["refused"]).column(0)[0].as_py() is None]
    for p in audited[:5]:  # a few real rows with an audited protocol: a quick report
        shutil.copy(p, folder / p.name)
    part = sorted(folder.glob("*.parquet"))[0]
    if damage == "truncated":
        part.write_bytes(part.read_bytes()[:200])
    elif damage == "empty":
        part.write_bytes(b"")
    elif damage == "no-status":
        pq.write_table(pa.table({"key": [part.stem], "arch": ["lstm"]}), part)
    elif damage == "stray-csv":
        write(folder / "notes.csv", "my,own\n1,2\n")
    elif damage == "all-empty":
        for p in folder.glob("*.parquet"):
            p.write_bytes(b"")
    return ["sweep", "--report", str(folder), "-o", str(tmp / "report")]


for _damage in ("truncated", "empty", "no-status", "stray-csv", "all-empty"):
    CASES.append(Case("traceback", f"results-{_damage}", lambda tmp, d=_damage: _results(tmp, d),
                      1 if _damage == "all-empty" else 0, "no finished run"))


# == class: accepted and wrong (now refused before anything runs) ===================================
@case("accepted", "audit-plot-dir", says="is a folder")
def _(tmp: Path) -> list[str]:
    (tmp / "figs").mkdir()
    return ["audit", "--samples", "8", "--precisions", "32", "--plot", str(tmp / "figs")]


add("accepted", "audit-plot-no-suffix", ["audit", "--samples", "8", "--precisions", "32", "--plot", "out"],
    says=".png")
add("accepted", "audit-json-missing-folder", ["audit", "--json", "/nonexistent/a.json"], says="folder")
for _arch in ("lstm", "gru", "rnn"):
    add("accepted", f"budget-{_arch}-heads-4", ["budget", _arch, "--width", "8", "--n", "8", "--heads", "4"],
        says="heads")
add("accepted", "budget-tf1-layers-3", ["budget", "tf1", "--width", "8", "--n", "8", "--layers", "3"],
    says="layers")
add("accepted", "train-lstm-heads", ["train", "--arch", "lstm", "--task", "eq", "--n", "3", "--width", "4", "--heads",
                                     "4", "-o", "/nonexistent/x.pt"], says="heads")

_SWEEP = """
[sweep]
name = "bad"
tasks = ["index-lookup"]
lengths = [3]
[train]
steps = 2
[audit]
{AUDIT}
[[models]]
arch = "lstm"
width = 2
"""
for _name, _audit, _says in (("precisions-garbage", 'precisions = ["x7"]', "x7"),
                             ("precisions-zero", "precisions = [0]", "precision"),
                             ("precisions-empty", "precisions = []", "precisions"),
                             ("samples-zero", "samples = 0", "samples"), ("samples-str", 'samples = "8"', "samples"),
                             ("samples-huge", "samples = 100000000000", "MAX_SAMPLES"),
                             ("seed-negative", "seed = -1", "seed"), ("seed-float", "seed = 1.5", "seed"),
                             ("confidence-2", "confidence = 2", "confidence"),
                             ("confidence-str", 'confidence = "high"', "confidence"),
                             ("calibration-zero", "calibration_samples = 0", "calibration_samples"),
                             ("unknown-key", "colour = 1", "colour")):
    CASES.append(Case("accepted", f"sweep-audit-{_name}", lambda tmp, a=_audit: [
        "sweep", write(tmp / "s.toml", _SWEEP.replace("{AUDIT}", a)), "--results", str(tmp / "res")], 1, _says))

for _name, _old, _new, _says in (("width-negative", "width = 2", "width = -2", "set width in [[models]] #1 of "),
                                 ("lengths-zero", "lengths = [3]", "lengths = [0]", "set lengths in [sweep] of ")):
    CASES.append(Case("misleading", f"sweep-config-{_name}", lambda tmp, o=_old, n=_new: [
        "sweep", write(tmp / "s.toml", _SWEEP.replace("{AUDIT}", "").replace(o, n)), "--results", str(tmp / "res")],
        1, _says))


@case("misleading", "sweep-report-empty-dir", says="holds no results")
def _(tmp: Path) -> list[str]:
    (tmp / "empty").mkdir()
    return ["sweep", "--report", str(tmp / "empty"), "-o", str(tmp / "report")]


@case("misleading", "bounds-csv-as-problem", says="use --matrix FILE")
def _(tmp: Path) -> list[str]:
    return ["bounds", write(tmp / "m3.csv", "0,1\n1,0\n"), "--eps", "0.6"]


def _api_reduce(out: Callable[[Any], Any]) -> Callable[[Path], Callable]:
    def build(tmp: Path) -> Callable:
        from ccbounds import INDEX, reduce

        model = _ref_model()

        class Wrapped(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = model

            def forward(self, x: Any) -> Any:
                return out(self.inner(x))

        return lambda: reduce(Wrapped().eval(), INDEX(4))
    return build


for _name, _out, _says in (
        ("one-row", lambda y: y[:1], "one row per sequence"), ("extra-row", lambda y: torch.cat([y, y[:1]]), "batch"),
        ("class-ids", lambda y: y.argmax(-1), "logits"), ("int-logits", lambda y: y.long(), "logits"),
        ("bool", lambda y: y > 0, "logits"), ("nan", lambda y: y * float("nan"), "NaN"),
        ("inf-row", lambda y: torch.cat([y[:1] * float("inf"), y[1:]]), "NaN or inf"),
        ("three-classes", lambda y: torch.cat([y, y[:, :1]], 1), "classes")):
    CASES.append(Case("accepted", f"api-reduce-{_name}", _api_reduce(_out), 1, _says))


# == class: exit codes (usage errors: one line, exit 1, as the README says) =========================
for _argv in (["bogus"], ["bounds", "--n", "x"], ["bounds", "eq", "--n"], ["budget", "lstm"], ["budget"],
              ["audit", "--samples", "many"], ["audit", "--unknown-flag"], ["train", "--arch", "lstm"],
              ["train", "--arch", "cnn", "--task", "eq", "--n", "3", "--width", "4", "-o", "x.pt"],
              ["sweep", "--workers", "two"], ["sweep", "--executor", "slurm", "c.toml"], ["experiment"],
              ["experiment", "nothing"], ["bounds", "eq", "--n", "3", "extra"], ["--no-such-option"],
              ["bounds", "eq", "--n", "3", "--time-limit", "soon"]):
    add("exit-code", "usage-" + "-".join(a.strip("-") for a in _argv)[:40], list(_argv), says="--help")


# == class: misleading messages =====================================================================
@case("misleading", "bare-lstm-called-lstm", says="lstm model")
def _(tmp: Path) -> list[str]:
    return audit(tmp, saved(tmp, {f"rnn.{k}": v for k, v in torch.nn.LSTM(4, 4, batch_first=True).state_dict().items()}
                               | {"embed.weight": torch.zeros(6, 4), "head.weight": torch.zeros(2, 4)}),
                 spec={"task": "index-lookup", "n": 4, "q": 2})


@case("misleading", "hf-bitsandbytes", says="quantization_config")
def _(tmp: Path) -> list[str]:
    folder = hf_folder(tmp, quantization_config={"quant_method": "bitsandbytes", "load_in_8bit": True})
    return ["audit", str(folder), "--samples", "8", "--precisions", "32"]


@case("misleading", "long-error-line", says="")
def _(tmp: Path) -> list[str]:
    return audit(tmp, saved(tmp, lstm_state()), spec={**TASK_SPEC, "tokens": {f"T{i}" * 50: i for i in range(200)}})


@case("misleading", "report-output-is-a-file", says="pass -o DIR")
def _(tmp: Path) -> list[str]:
    from ccbounds.sweeps import shipped_results

    write(tmp / "afile", "x")
    return ["sweep", "--report", str(shipped_results("ceiling")), "-o", str(tmp / "afile" / "sub")]


@case("misleading", "matrix-bom-semicolons", code=0)
def _(tmp: Path) -> list[str]:
    return ["bounds", "--matrix", write(tmp / "m.csv", "\ufeff1;0\r\n0;1\r\n".encode("utf-8"))]


# == class: pickle payloads (refused, and never run: the marker file stays absent) ==================
class _Marker:
    def __init__(self, path: str, call: str) -> None:
        self.path, self.call = path, call

    def __reduce__(self) -> tuple:
        return (open, (self.path, "w")) if self.call == "open" else (os.system, (f"touch {self.path}",))


def _pickle_case(how: str, call: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        import pickle

        evil = _Marker(str(tmp / "PWNED"), call)
        if how == "torch.save":
            path = saved(tmp, {"state_dict": lstm_state(), "x": evil})
        elif how == "hf-bin":
            folder = hf_folder(tmp)
            for f in folder.glob("*.safetensors"):
                f.unlink()
            torch.save({"x": evil}, folder / "pytorch_model.bin")
            return ["audit", str(folder), "--samples", "8", "--precisions", "32"]
        else:
            path = write(tmp / "evil.pt", pickle.dumps(evil, protocol=int(how[-1])))
        return audit(tmp, path)
    return build


for _how in ("torch.save", "pickle2", "pickle4", "hf-bin"):
    for _call in ("open", "system"):
        CASES.append(Case("pickle", f"{_how}-{_call}", _pickle_case(_how, _call), 1, "--trust-pickle"))


# == the runner ===================================================================================
#: cases that take seconds (an audit or an exact search that succeeds, a sweep folder read for a report, audits
#: of weights re-typed to a float, a zip bomb, any Hugging Face folder: transformers takes seconds to import): left
#: out of the fast loop (-m "not slow")
SLOW_CASES = ("valid:", "traceback:results-", "traceback:weights-float16", "traceback:weights-bfloat16",
              "traceback:weights-float64", "hang:pt-zip-bomb")


def _param(c: Case) -> Any:
    name = f"{c.cls}:{c.id}"
    slow = name.startswith(SLOW_CASES) or c.id.startswith("hf-")
    return pytest.param(c, id=name, marks=[pytest.mark.slow] if slow else [])


@pytest.mark.parametrize("c", [_param(c) for c in CASES])
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
    if c.cls == "pickle":
        assert not (tmp_path / "PWNED").exists(), "the payload ran"
    assert "Traceback" not in out + err
    assert code == c.code, (code, err[-2000:])
    if code == 0:
        return
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("warning: ")]  # one-line warnings
    assert len(lines) == 1 and lines[0].startswith("error: "), err[-3000:]
    assert len(lines[0]) <= MAX_LINE, lines[0]
    assert c.says in lines[0], lines[0]


def test_campaign_size() -> None:
    from collections import Counter

    by_class = Counter(c.cls for c in CASES)
    print(dict(by_class))
    assert len(CASES) >= 150, by_class
    assert len({(c.cls, c.id) for c in CASES}) == len(CASES)


# == property-based: generated matrices, specs and sweep configs =====================================
_CSV_PIECES = st.sampled_from(["0", "1", "2", ",", ";", "\n", "\r\n", " ", "#", "x", "-1", "0.5", "1e3", "nan",
                               "\ufeff", "\t", ",,", "\n\n"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(_CSV_PIECES, max_size=40), junk=st.binary(max_size=4))
@pytest.mark.slow
def test_generated_matrix_files(pieces: list[str], junk: bytes, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes("".join(pieces).encode("utf-8") + junk)
    capsys.readouterr()
    with caps():
        code, out, err = run_cli(capsys, ["bounds", "--matrix", str(path)])
    assert "Traceback" not in out + err and code in (0, 1), (code, err)
    if code == 1:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and len(lines[0]) <= MAX_LINE, err


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 2**40) | st.floats(allow_nan=True) |
                     st.text(max_size=6), lambda inner: st.lists(inner, max_size=3) |
                     st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)
_SPEC_KEYS = st.sampled_from(["task", "n", "q", "tokens", "vocab_size", "arch", "heads", "norm_first", "positions",
                              "max_len", "nonlinearity", "answer_tokens", "readout_position", "embedding_scale",
                              "bos", "eos", "data_offset", "index_offset", "depth", "types", "length", "negatives"])
_TASKS = st.sampled_from(["index-lookup", "eq", "disj", "dyck", "gt", "ip", "nn", "sorting"])


@settings(max_examples=60, deadline=None)
@given(task=_TASKS, n=st.integers(-2, 10**7) | _JSON, extra=st.dictionaries(_SPEC_KEYS, _JSON, max_size=4))
@pytest.mark.slow
def test_generated_specs(task: str, n: Any, extra: dict[str, Any]) -> None:
    from ccbounds.checkpoint import parse_spec

    with caps():
        try:
            parse_spec({"task": task, "n": n, **extra}).build_task()
        except CCBoundsError as e:
            assert str(e) and "\n" not in str(e)


_TOML_VALUES = st.sampled_from(['1', '0', '-1', '2.5', '"x"', '"lstm"', '[1, 2]', '[]', '["fp16"]', 'true',
                                '100000000000', '"index-lookup"', '[0, 32]', '{a = 1}'])
_TOML_KEYS = st.sampled_from(["name", "tasks", "lengths", "seeds", "steps", "width", "arch", "precisions",
                              "samples", "seed", "confidence", "calibration_samples", "layers", "heads", "lr",
                              "batch_size", "colour"])


@settings(max_examples=60, deadline=None)
@given(sections=st.lists(st.tuples(st.sampled_from(["sweep", "train", "audit", "[models]", "extra"]),
                                   st.dictionaries(_TOML_KEYS, _TOML_VALUES, max_size=4)), max_size=5))
@pytest.mark.slow
def test_generated_sweep_configs(sections: list[tuple[str, dict[str, str]]]) -> None:
    from ccbounds.sweeps import parse_sweep_config

    text = "".join(f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in body.items()) for name, body in sections)
    base = '[sweep]\ntasks = ["index-lookup"]\nlengths = [3]\n[[models]]\narch = "lstm"\nwidth = 2\n'
    for candidate in (text, base + text.replace("[sweep]", "[sweepx]")):
        with caps():
            try:
                parse_sweep_config(candidate)
            except CCBoundsError as e:
                assert str(e) and "\n" not in str(e), str(e)


# == in a fresh process: the real entry point, under a hard memory limit =============================
def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))


@pytest.mark.parametrize("argv", [["bounds", "--n", "x"],
                                  ["budget", "lstm", "--width", "4", "--n", "8", "--heads", "4"],
                                  ["train", "--arch", "lstm", "--task", "index-lookup", "--n", str(10**9), "--width",
                                   "4", "-o", "x.pt"]], ids=["usage", "heads", "n-1e9"])
@pytest.mark.slow
def test_entry_point_one_line_exit_1_under_4_gib(argv: list[str], tmp_path: Path) -> None:
    import subprocess

    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-m", "ccbounds", *argv], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(root)}, preexec_fn=_limit_memory)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: "), r.stderr


@pytest.mark.parametrize("config", [("lstm", 5, 3, 7, 3, 4), ("rnn", 5, 3, 7, 1, None), ("gru", 9, 2, 3, 2, 5),
                                    ("tf", 6, 3, 9, 8, 2, 2, 5, False, "learned"),
                                    ("tf", 6, 3, 9, 8, 2, 1, None, True, "sinusoidal"),
                                    ("tf", 4, 2, 5, 4, 1, 3, 7, True, "learned")])
def test_size_limit_counts_the_parameters_torch_builds(config: tuple) -> None:
    """The count MAX_PARAMETERS is checked against, before anything is built, equals what torch builds."""
    from ccbounds.models import RecurrentConfig, TransformerConfig, build_model

    if config[0] == "tf":
        _, v, c, max_len, d, h, layers, ff, final, pos = config
        cfg = TransformerConfig(v, c, max_len=max_len, d_model=d, heads=h, layers=layers, d_ff=ff, final_norm=final,
                                positions=pos)
    else:
        cell, v, c, w, layers, emb = config
        cfg = RecurrentConfig(cell, v, c, width=w, layers=layers, embed_dim=emb)
    assert cfg.num_parameters == sum(p.numel() for p in build_model(cfg).parameters() if p.requires_grad)
