"""Where models run: one check of a requested device, shared by loading, reducing and auditing."""

from __future__ import annotations

from typing import Any

from ccbounds.errors import InvalidInputError

__all__ = ["resolve_device"]


def resolve_device(device: Any) -> Any:
    """``torch.device(device)``, refusing unknown names and CUDA where no GPU is usable.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> try:
    ...     resolve_device("tpu9")
    ... except InvalidInputError as e:
    ...     print(e)
    unknown device 'tpu9'; use 'cpu' or 'cuda'
    """
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidInputError(f"unknown device {device!r}; use 'cpu' or 'cuda'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInputError("CUDA is not available here (no GPU, or torch built without CUDA); use --device cpu")
    return dev
