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
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccbounds.errors import CheckpointError

__all__ = ["RawCheckpoint", "read_container", "sha256_file", "sniff", "check_file"]

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
    if not p.is_file():
        raise CheckpointError(f"{str(p)!r} is not a regular file; pass a .pt or .safetensors checkpoint file")
    if p.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {str(p)!r} is empty (0 bytes); the save was interrupted, re-save it")
    return p


def sha256_file(path: str | Path) -> str:
    """The SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_safetensors(p: Path) -> RawCheckpoint:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(p), framework="pt", device="cpu") as fh:
            meta = fh.metadata() or {}
            tensors = {name: fh.get_tensor(name) for name in fh.keys()}  # noqa: SIM118 (a safetensors handle)
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(
            f"checkpoint {str(p)!r} is a truncated or corrupted safetensors file ({e}); re-download or re-save it"
        ) from e
    return RawCheckpoint("safetensors", tensors, meta.get("ccbounds_metadata"), None)


def _pickle_refusal(p: Path, err: Exception) -> CheckpointError:
    found = re.search(r"GLOBAL ([\w.]+)", str(err))
    what = f" (it references {found.group(1)})" if found else ""
    return CheckpointError(
        f"checkpoint {str(p)!r} contains pickled Python objects (a whole module){what}; ccbounds does not "
        f"unpickle code from untrusted files. {_RESAVE}, or pass --trust-pickle if you trust its author."
    )


def _torch_load(p: Path, kind: str, trust_pickle: bool) -> Any:
    import pickle

    import torch

    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols it then refuses anyway
            warnings.simplefilter("ignore", UserWarning)
            # untrusted input: only tensors and plain containers may be unpickled, no code runs
            return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if not trust_pickle:
            if kind == "unknown" and "GLOBAL" not in str(e):
                raise CheckpointError(
                    f"{str(p)!r} is not a checkpoint: neither a torch archive (.pt) nor a safetensors file; "
                    "pass a file written by torch.save or safetensors"
                ) from e
            raise _pickle_refusal(p, e) from e
        refusal = e
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError, TypeError) as e:
        raise CheckpointError(
            f"checkpoint {str(p)!r} is truncated or corrupted ({type(e).__name__}: {str(e).splitlines()[0][:120]}); "
            "re-download or re-save it"
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
        return RawCheckpoint("pt", dict(obj), metadata, None)
    for key in _NESTED_KEYS:
        if _tensor_dict(obj.get(key)):
            return RawCheckpoint("pt", dict(obj[key]), metadata, None)
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)][:5]
    raise CheckpointError(
        f"checkpoint {str(p)!r} is a dict but not a state_dict (non-tensor entries {bad}, and no "
        f"{'/'.join(_NESTED_KEYS)} entry holding one); {_RESAVE}"
    )
