"""Reading checkpoint files safely: the ``.pt`` and ``.safetensors`` containers, untrusted.

The container is recognised from the file's first bytes, not its name: a torch zip archive starts
with ``PK\\x03\\x04``, a safetensors file with an 8-byte little-endian header length followed by ``{``.
``torch.load`` is always called with ``weights_only=True`` (so only tensors and plain containers can
be unpickled; no code runs) unless the caller passes ``trust_pickle=True``.

Examples
--------
>>> sniff(b"PK\\x03\\x04rest"), sniff(b"\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00{}"), sniff(b"\\x80\\x04.")
('torch-zip', 'safetensors', 'pickle')
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccbounds.errors import CheckpointError

__all__ = ["RawCheckpoint", "read_container", "sha256_file", "sniff", "check_file", "check_regular",
           "MAX_CHECKPOINT_BYTES", "MAX_UNPACKED_BYTES"]

#: the largest checkpoint file read (checked on its size before any byte is read)
MAX_CHECKPOINT_BYTES = 2**34
#: the most bytes the entries of a torch zip archive may unpack to (from the archive's headers, before loading)
MAX_UNPACKED_BYTES = 2**32
#: an entry this large must not be compressed more than :data:`_MAX_RATIO` times (torch.save stores, never deflates)
_RATIO_FLOOR = 2**26
_MAX_RATIO = 20

#: top-level keys under which training scripts commonly nest a state_dict
_NESTED_KEYS = ("state_dict", "model_state_dict", "model")

_RESAVE = ("Re-save it with torch.save(model.state_dict(), path) and pass your model's code with "
           "--model MODULE:CALLABLE")


@dataclass(frozen=True)
class RawCheckpoint:
    """What a file holds before any interpretation.

    ``state_dict`` (name -> tensor) or ``module`` (only with ``trust_pickle``) is set; ``metadata`` is
    the raw ``ccbounds_metadata`` JSON string or ``None``; ``container`` is ``"pt"`` or ``"safetensors"``.
    """

    container: str
    state_dict: dict[str, Any] | None
    metadata: str | None
    module: Any = None


def sniff(head: bytes) -> str:
    """Name the container from a file's first bytes: torch-zip, safetensors, pickle or unknown."""
    if head[:4] == b"PK\x03\x04":
        return "torch-zip"
    if len(head) >= 9 and head[8:9] == b"{" and 2 <= int.from_bytes(head[:8], "little") <= 100_000_000:
        return "safetensors"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    return "unknown"


def check_file(path: str | Path) -> Path:
    """Raise a CheckpointError unless ``path`` is a readable, non-empty regular file."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"no checkpoint at {str(p)!r}: the file does not exist; check the path")
    if p.is_dir():
        raise CheckpointError(
            f"{str(p)!r} is a directory, not a checkpoint file; pass the .pt or .safetensors file inside it "
            "(a Hugging Face save_pretrained directory needs its config.json)"
        )
    check_regular(p, "checkpoint")
    if p.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {str(p)!r} is empty (0 bytes); the save was interrupted, re-save it")
    return p


def check_regular(p: Path, what: str) -> int:
    """The size of ``p``; a CheckpointError unless it is a regular file (a symlink's target counts) of at most
    :data:`MAX_CHECKPOINT_BYTES` bytes. FIFOs, devices and sockets are refused before anything reads them."""
    try:
        st = os.stat(p)
    except OSError as e:
        raise CheckpointError(f"cannot read the {what} {str(p)!r} ({e.strerror}); check the path") from e
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError(f"the {what} {str(p)!r} is not a regular file (a FIFO, device, socket or a link to "
                              "one); pass real files only")
    if st.st_size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"the {what} {str(p)!r} has {st.st_size} bytes, over the limit MAX_CHECKPOINT_BYTES = "
                              f"2^34 (16 GiB); ccbounds audits small models, pass a smaller checkpoint")
    return int(st.st_size)


def _check_zip(p: Path) -> None:
    """Refuse a torch zip archive whose headers declare more than :data:`MAX_UNPACKED_BYTES`, or a large
    entry compressed like a zip bomb, before torch unpacks anything."""
    import zipfile

    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise CheckpointError(f"checkpoint {str(p)!r} is a truncated or corrupted torch archive ({e}); re-download "
                              "or re-save it") from e
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED_BYTES:
        raise CheckpointError(f"checkpoint {str(p)!r} unpacks to {total} bytes (its zip headers), over the limit "
                              "MAX_UNPACKED_BYTES = 2^32 (4 GiB); pass a smaller checkpoint")
    for i in infos:
        if i.file_size > _RATIO_FLOOR and i.file_size > _MAX_RATIO * max(i.compress_size, 1):
            raise CheckpointError(f"checkpoint {str(p)!r}: entry {i.filename!r} unpacks {i.compress_size} bytes to "
                                  f"{i.file_size} (a zip bomb; torch.save never compresses); re-save it with "
                                  "torch.save")


def sha256_file(path: str | Path) -> str:
    """The SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


#: tensor dtypes a checkpoint may hold: float weights (loaded as float32), integer and bool buffers
_DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64", "bool")


def check_tensors(state: dict[Any, Any], where: str) -> None:
    """Refuse a state_dict that no model can load: non-string keys, sparse, quantized or meta tensors, float8
    or complex dtypes (CheckpointError naming the tensor and what to do)."""
    import torch

    for name, t in state.items():
        if not isinstance(name, str):
            raise CheckpointError(f"{where}: the state_dict has a key {name!r} of type {type(name).__name__}; a "
                                  "state_dict maps parameter names (strings) to tensors, re-save it with "
                                  "torch.save(model.state_dict(), path)")
        if t.layout != torch.strided:
            raise CheckpointError(f"{where}: tensor {name!r} is sparse ({t.layout}); save dense weights "
                                  "(tensor.to_dense()) and load again")
        if t.is_quantized:
            raise CheckpointError(f"{where}: tensor {name!r} is quantized ({t.dtype}); save the float model "
                                  "(tensor.dequantize()): the audit quantizes the message itself")
        if t.device.type == "meta":
            raise CheckpointError(f"{where}: tensor {name!r} is on the meta device (it has no values); save the "
                                  "model after loading or initialising its weights")
        if str(t.dtype).removeprefix("torch.") not in _DTYPES:
            raise CheckpointError(f"{where}: tensor {name!r} has dtype {t.dtype}, which ccbounds does not read; "
                                  "save it as float32 (tensor.float()), or float16/bfloat16")


def _read_safetensors(p: Path) -> RawCheckpoint:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(p), framework="pt", device="cpu") as fh:
            meta = fh.metadata() or {}
            tensors = {name: fh.get_tensor(name) for name in fh.keys()}  # noqa: SIM118 (a safetensors handle)
    except (SafetensorError, OSError, ValueError, TypeError, RuntimeError) as e:
        raise CheckpointError(
            f"checkpoint {str(p)!r} is a truncated or corrupted safetensors file ({str(e)[:160]}); re-download or "
            "re-save it"
        ) from e
    metadata = meta.get("ccbounds_metadata")
    check_tensors(tensors, f"checkpoint {str(p)!r}")
    return RawCheckpoint("safetensors", tensors, metadata, None)


def _pickle_refusal(p: Path, err: Exception) -> CheckpointError:
    found = re.search(r"GLOBAL ([\w.]+)", str(err))
    what = f" (it references {found.group(1)})" if found else ""
    return CheckpointError(
        f"checkpoint {str(p)!r} contains pickled Python objects (a whole module){what}; ccbounds does not "
        f"unpickle code from untrusted files. {_RESAVE}, or pass --trust-pickle if you trust its author."
    )


def _not_a_checkpoint(p: Path) -> CheckpointError:
    return CheckpointError(f"{str(p)!r} is not a checkpoint: neither a torch archive (.pt) nor a safetensors file; "
                           "pass a file written by torch.save or safetensors")


def _invalid_pickle(p: Path, kind: str) -> str | None:
    """Why the file's pickle stream (a torch zip's ``data.pkl``, or the raw file) is not a valid pickle, read
    opcode by opcode with :func:`pickletools.genops` (nothing is unpickled); None when it parses."""
    import pickletools
    import zipfile

    try:
        if kind == "torch-zip":
            with zipfile.ZipFile(p) as zf:
                names = [n for n in zf.namelist() if n.endswith("data.pkl")]
                if not names:
                    return "the archive has no data.pkl"
                data = zf.read(names[0])
        else:
            data = p.read_bytes()
        for _ in pickletools.genops(data):
            pass
    except Exception as e:  # noqa: BLE001 - any failure to parse means the stream is broken
        return f"{type(e).__name__}: {str(e).splitlines()[0][:100] if str(e) else 'unreadable'}"
    return None


def _torch_load(p: Path, kind: str, trust_pickle: bool) -> Any:
    import pickle

    import torch
    from safetensors import SafetensorError  # recent torch.load reads safetensors files itself

    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols it then refuses anyway
            warnings.simplefilter("ignore", UserWarning)
            # untrusted input: only tensors and plain containers may be unpickled, no code runs
            return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if kind == "unknown" and "GLOBAL" not in str(e):
            raise _not_a_checkpoint(p) from e
        bad = _invalid_pickle(p, kind)
        if bad is not None:  # not a pickle that refers to code: bytes that are no pickle at all
            raise CheckpointError(f"checkpoint {str(p)!r} is corrupted: its pickle stream is not valid ({bad}); "
                                  "re-download or re-save it") from e
        if not trust_pickle:
            raise _pickle_refusal(p, e) from e
        refusal = e
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError, TypeError, SafetensorError) as e:
        if kind == "unknown":
            raise _not_a_checkpoint(p) from e
        text = str(e).split("(Could this error message be improved", 1)[0].strip()  # torch's internal footer
        lacks = re.search(r'hasRecord\("([^"]+)"\)|failed locating file ([\w./]+)', text)
        if lacks:
            raise CheckpointError(
                f"checkpoint {str(p)!r} is an incomplete or corrupted torch archive: it lacks the entry "
                f"{lacks.group(1) or lacks.group(2)!r} that torch.save writes; re-download or re-save it"
            ) from e
        bad = _invalid_pickle(p, kind) if kind in ("torch-zip", "pickle") else None
        if bad is not None:
            raise CheckpointError(f"checkpoint {str(p)!r} is corrupted: its pickle stream is not valid ({bad}); "
                                  "re-download or re-save it") from e
        first = text.splitlines()[0][:120] if text else ""
        raise CheckpointError(
            f"checkpoint {str(p)!r} is truncated or corrupted ({type(e).__name__}: {first}); re-download or re-save it"
        ) from e
    from ccbounds.checkpoint._usercode import cwd_importable

    cwd_importable()  # the pickled classes live in the user's modules, importable as under `python -m`
    try:
        # the user passed trust_pickle=True (--trust-pickle): they vouch for the file's author
        return torch.load(p, map_location="cpu", weights_only=False)
    except ModuleNotFoundError as e:
        raise CheckpointError(
            f"checkpoint {str(p)!r} pickles objects of module {e.name!r}, which is not importable here ({e}); run "
            f"ccbounds from the directory that has {str(e.name).split('.')[0]}.py (or add it to PYTHONPATH), or save "
            "its state_dict and pass --model MODULE:CALLABLE"
        ) from e
    except Exception as e:  # noqa: BLE001 - arbitrary code ran; report whatever it raised
        raise CheckpointError(
            f"checkpoint {str(p)!r} could not be unpickled even with --trust-pickle ({type(e).__name__}: {e}); "
            "re-save it with torch.save(model.state_dict(), path)"
        ) from refusal


def _tensor_dict(obj: Any) -> bool:
    import torch

    return isinstance(obj, dict) and len(obj) > 0 and all(isinstance(v, torch.Tensor) for v in obj.values())


def read_container(path: str | Path, *, trust_pickle: bool = False) -> RawCheckpoint:
    """Read a checkpoint file into tensors (and metadata) without running code from it.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.pt`` (torch.save) or ``.safetensors`` file; the container is recognised by content.
    trust_pickle : bool
        Allow ``torch.load(..., weights_only=False)`` if the safe load fails (runs the file's code).

    Returns
    -------
    RawCheckpoint

    Raises
    ------
    CheckpointError
        Missing, empty, truncated, corrupted or non-checkpoint files; pickled code without
        ``trust_pickle``; a file holding no name -> tensor mapping.
    """
    import torch

    p = check_file(path)
    with open(p, "rb") as fh:
        head = fh.read(16)
    kind = sniff(head)
    if kind == "safetensors":
        return _read_safetensors(p)
    if kind == "torch-zip":
        _check_zip(p)
    obj = _torch_load(p, kind, trust_pickle)
    if isinstance(obj, torch.nn.Module):
        return RawCheckpoint("pt", None, None, obj)
    if not isinstance(obj, dict):
        raise CheckpointError(
            f"checkpoint {str(p)!r} holds a {type(obj).__name__}, not a state_dict; {_RESAVE}"
        )
    metadata = obj.get("ccbounds_metadata")
    if metadata is not None and not isinstance(metadata, str):
        raise CheckpointError(
            f"checkpoint {str(p)!r}: 'ccbounds_metadata' must be a JSON string, got {type(metadata).__name__}; "
            "re-save it with ccbounds.checkpoint.save_checkpoint"
        )
    if _tensor_dict(obj):
        check_tensors(obj, f"checkpoint {str(p)!r}")
        return RawCheckpoint("pt", dict(obj), metadata, None)
    for key in _NESTED_KEYS:
        if _tensor_dict(obj.get(key)):
            check_tensors(obj[key], f"checkpoint {str(p)!r}")
            return RawCheckpoint("pt", dict(obj[key]), metadata, None)
    if not obj:
        raise CheckpointError(f"checkpoint {str(p)!r} holds an empty dict, no tensors; {_RESAVE}")
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)][:5]
    raise CheckpointError(
        f"checkpoint {str(p)!r} is a dict but not a state_dict (non-tensor entries {bad}, and no "
        f"{'/'.join(_NESTED_KEYS)} entry holding one); {_RESAVE}"
    )
