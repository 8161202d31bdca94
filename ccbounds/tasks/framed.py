"""Token layouts as users have them (theory §5): blocks of ids moved by an offset, public frame tokens.

:func:`offset_tokens` gives the ``tokens=`` overrides that move a whole block of ids; :class:`FramedTask` is a
task with public tokens before and after its sequence (a BOS, an end token), labelled as the inner task.

Examples
--------
>>> from ccbounds.tasks import get_task
>>> t = FramedTask(get_task("eq", 2), prefix=(4,))
>>> t.seq_len, t.vocab_size, t.label([4, 1, 0, 2, 1, 0, 3])
(7, 5, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError

__all__ = ["FramedTask", "offset_tokens"]


def offset_tokens(task_name: str, n: int, q: int = 2, *, data_offset: int | None = None,
                  index_offset: int | None = None) -> dict[str, int]:
    """Token-id overrides that move whole blocks of ids (for the task's ``tokens=``).

    Examples
    --------
    >>> offset_tokens("index-lookup", 2, data_offset=5, index_offset=10)
    {'D0': 5, 'D1': 6, 'I0': 10, 'I1': 11}
    >>> offset_tokens("eq", 4, data_offset=3)
    {'0': 3, '1': 4}
    """
    out: dict[str, int] = {}
    if task_name == "index-lookup":
        if data_offset is not None:
            out |= {f"D{a}": int(data_offset) + a for a in range(q)}
        if index_offset is not None:
            out |= {f"I{i}": int(index_offset) + i for i in range(n)}
    elif task_name in ("eq", "disj"):
        if index_offset is not None:
            raise InvalidInputError(f"the task {task_name} has no index tokens; index_offset is for index-lookup")
        if data_offset is not None:
            out |= {"0": int(data_offset), "1": int(data_offset) + 1}
    elif data_offset is not None or index_offset is not None:
        raise InvalidInputError(f"data_offset/index_offset are for index-lookup, eq and disj, not {task_name}; "
                                "pass tokens={name: id}")
    return out


@dataclass(frozen=True, eq=False)
class FramedTask:
    """A task with public tokens before (``prefix``) and after (``suffix``) its sequence, labelled as the inner one."""

    inner: Any
    prefix: tuple[int, ...] = ()
    suffix: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def n(self) -> int:
        return self.inner.n

    @property
    def seq_len(self) -> int:
        return self.inner.seq_len + len(self.prefix) + len(self.suffix)

    @property
    def vocab_size(self) -> int:
        return max([self.inner.vocab_size, *(t + 1 for t in self.prefix + self.suffix)])

    @property
    def num_classes(self) -> int:
        return self.inner.num_classes

    def problem(self) -> Any:
        """The communication problem the inner task embeds."""
        return self.inner.problem()

    def __getattr__(self, name: str) -> Any:  # q, tokens, ... of the inner task
        if name.startswith("__") or name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def _strip(self, seq: Any) -> np.ndarray:
        arr = np.asarray(seq)
        return arr[..., len(self.prefix): arr.shape[-1] - len(self.suffix)]

    def label(self, tokens: Any) -> int:
        """The inner task's label of the sequence without its frame tokens."""
        return self.inner.label(self._strip(tokens))

    def labels(self, batch: Any) -> np.ndarray:
        return self.inner.labels(self._strip(batch))

    def layout(self) -> dict[str, int]:
        return {**self.inner.layout(), **({"BOS": self.prefix[0]} if self.prefix else {}),
                **({"EOS": self.suffix[0]} if self.suffix else {})}

    def to_dict(self) -> dict[str, Any]:
        return {**self.inner.to_dict(), "prefix": list(self.prefix), "suffix": list(self.suffix),
                "vocab_size": self.vocab_size}

    def __str__(self) -> str:
        return f"{self.inner} with public {list(self.prefix)} before, {list(self.suffix)} after"
