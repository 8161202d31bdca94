"""A causal language model as a classifier: the logits at the last position, at the answer tokens.

``AnswerLogits(lm, answer_tokens)`` wraps a Hugging Face ``*ForCausalLM`` (or any module whose output
has ``.logits``, or is a tensor, of shape ``(B, T, V)``); its forward returns ``(B, C)``: the logits
at the last position restricted to the vocabulary ids the user names as the answers, in the
problem's answer order (``answer_tokens[c]`` means answer class ``c``). The LM runs as written.

Examples
--------
>>> import torch
>>> class Toy(torch.nn.Module):
...     def forward(self, input_ids):
...         return torch.arange(5.0).expand(*input_ids.shape, 5)
>>> AnswerLogits(Toy(), [3, 1])(torch.zeros(2, 4, dtype=torch.long)).tolist()
[[3.0, 1.0], [3.0, 1.0]]
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ccbounds.errors import InvalidInputError

__all__ = ["AnswerLogits", "check_answer_tokens"]


def check_answer_tokens(answer_tokens: Any, vocab: int | None = None) -> tuple[int, ...]:
    """The answer ids as a tuple of ints, checked: two or more, distinct, inside the vocabulary.

    >>> check_answer_tokens([5, 6], vocab=8)
    (5, 6)
    """
    try:
        ids = tuple(int(t) for t in answer_tokens)
    except (TypeError, ValueError):
        raise InvalidInputError(f"answer_tokens must be a list of vocabulary ids, got {answer_tokens!r}") from None
    top = "V-1" if vocab is None else str(vocab - 1)
    if len(ids) < 2 or len(set(ids)) != len(ids) or min(ids) < 0 or (vocab is not None and max(ids) >= vocab):
        raise InvalidInputError(f"answer_tokens must be two or more distinct vocabulary ids in 0..{top} (one per "
                                f"answer, in answer order), got {list(ids)}")
    return ids


class AnswerLogits(nn.Module):
    """Logits ``(B, C)`` of a causal LM at its last position and the given answer ids.

    Parameters
    ----------
    lm : torch.nn.Module
        Called as ``lm(input_ids=tokens)``.
    answer_tokens : sequence of int
        The vocabulary id of each answer, in answer order.
    config : object, optional
        A ccbounds config to carry (training records it).

    Raises
    ------
    InvalidInputError
        Fewer than two, repeated, negative or out-of-vocabulary ids.
    """

    def __init__(self, lm: nn.Module, answer_tokens: Any, config: Any = None) -> None:
        super().__init__()
        self.lm = lm
        vocab = getattr(getattr(lm, "config", None), "vocab_size", None)
        self.answer_tokens = check_answer_tokens(answer_tokens, vocab)
        self.config = config
        self.train(lm.training)  # the wrapper is in the LM's mode

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out = self.lm(input_ids=tokens)
        logits = out if isinstance(out, torch.Tensor) else (out.logits if hasattr(out, "logits") else out[0])
        return logits[:, -1, list(self.answer_tokens)]  # (B, C)

    def extra_repr(self) -> str:
        return f"answer_tokens={list(self.answer_tokens)}"
