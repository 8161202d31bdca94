"""Checkpoints with their code: build the user's own model from ``MODULE:CALLABLE``, then load its weights safely.

``ccbounds audit ckpt.pt --model mymodels:Net --model-kwargs '{"width": 64}'`` imports ``mymodels`` the way
``python -m`` would (the working directory first on ``sys.path``), calls ``Net(width=64)``, loads the
checkpoint's state_dict into it with ``torch.load(..., weights_only=True)`` and ``strict=True``, and audits
that module's real forward. No tensor-name guessing, no reference re-implementation.

Examples
--------
>>> split_reference("collections:OrderedDict")
('collections', 'OrderedDict')
>>> import_callable("collections:OrderedDict").__name__
'OrderedDict'
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from typing import Any

from ccbounds.errors import CheckpointError, InvalidInputError

__all__ = ["build_user_model", "cwd_importable", "import_callable", "parse_model_kwargs", "split_reference"]


def cwd_importable() -> None:
    """Put the working directory first on ``sys.path``, as ``python -m`` does (console scripts do not)."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)


def split_reference(ref: str) -> tuple[str, str]:
    """``"pkg.module:Factory"`` -> ``("pkg.module", "Factory")``.

    Raises
    ------
    InvalidInputError
        Unless the text is ``MODULE:CALLABLE`` with both parts non-empty.
    """
    module, sep, attr = str(ref).partition(":")
    if not sep or not module or not attr:
        raise InvalidInputError(f"--model takes MODULE:CALLABLE (e.g. mymodels:Net), got {ref!r}")
    return module, attr


def import_callable(ref: str) -> Any:
    """The callable named by ``MODULE:CALLABLE`` (dotted attributes allowed), imported from the working directory.

    Raises
    ------
    InvalidInputError
        The module cannot be imported (the message says to run from the directory that has it), or it has
        no such attribute, or the attribute is not callable.
    """
    module, attr = split_reference(ref)
    cwd_importable()
    try:
        obj: Any = importlib.import_module(module)
    except ModuleNotFoundError as e:
        raise InvalidInputError(
            f"--model {ref}: cannot import {module!r} ({e}); run ccbounds from the directory that has "
            f"{module.split('.')[0]}.py (or add it to PYTHONPATH)") from e
    except Exception as e:
        raise InvalidInputError(f"--model {ref}: importing {module!r} failed ({type(e).__name__}: {e})") from e
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise InvalidInputError(f"--model {ref}: {module!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise InvalidInputError(f"--model {ref}: {attr!r} is not callable; name a class or a function that builds "
                                "the model")
    return obj


def parse_model_kwargs(text: str | dict | None) -> dict[str, Any]:
    """``--model-kwargs`` as a dict (a JSON object, or a dict already)."""
    if text is None:
        return {}
    if isinstance(text, dict):
        return dict(text)
    try:
        kw = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidInputError(f"--model-kwargs must be a JSON object such as '{{\"width\": 64}}' ({e.msg})") from e
    if not isinstance(kw, dict):
        raise InvalidInputError(f"--model-kwargs must be a JSON object, got {type(kw).__name__}")
    return kw


def build_user_model(ref: str, kwargs: Any, state: dict[str, Any], where: str, device: Any) -> Any:
    """``CALLABLE(**kwargs)`` with ``state`` loaded strictly, on ``device``, in eval mode.

    Raises
    ------
    CheckpointError
        The callable failed, did not return an ``nn.Module``, or the weights do not fit it (missing and
        unexpected keys, or shapes, are listed).
    """
    from torch import nn

    factory = import_callable(ref)
    kw = parse_model_kwargs(kwargs)
    try:
        model = factory(**kw)
    except Exception as e:
        raise CheckpointError(f"--model {ref}: calling it with {kw} failed ({type(e).__name__}: {e}); pass the "
                              "constructor arguments the checkpoint was trained with in --model-kwargs") from e
    if not isinstance(model, nn.Module):
        raise CheckpointError(f"--model {ref} returned {type(model).__name__}, not a torch.nn.Module")
    want = model.state_dict()
    missing, unexpected = sorted(set(want) - set(state)), sorted(set(state) - set(want))
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint {where!r} does not fit --model {ref}{' ' + json.dumps(kw) if kw else ''}: missing keys "
            f"{missing[:5]}, unexpected keys {unexpected[:5]}; pass the model (and --model-kwargs) it was saved from")
    for name, t in want.items():
        if tuple(state[name].shape) != tuple(t.shape):
            raise CheckpointError(
                f"checkpoint {where!r}: tensor {name!r} has shape {tuple(state[name].shape)} but --model {ref} has "
                f"{tuple(t.shape)}; pass the --model-kwargs it was trained with")
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()
