"""Token layouts as users have them (theory §5): blocks of ids moved by an offset, and public frame tokens.

* :func:`offset_tokens` — the ``tokens=`` overrides that move a whole block of ids: ``data_offset=5`` puts
  the data symbols (index lookup) or the bits 0/1 (x SEP y END) at 5, 6, ...; ``index_offset=10`` puts the
  index tokens I0, I1, ... at 10, 11, ...
* :func:`framed` — a gadget with public tokens before and after it (a BOS before Alice's block, an end
  token after Bob's). Public positions are fixed by neither input, so Lemma R (Alice runs everything
  before the cut, BOS included) and Lemma T (public keys are Bob's to add) still apply.
* :func:`vocabulary_note` — what to say when a model's vocabulary differs from the gadget's, naming the
  gadget parameters that set the ids.

Both are gadget parameters: ``get_gadget(INDEX(8), data_offset=5, index_offset=10, bos=0)``.

Examples
--------
>>> from ccbounds.problems import INDEX
>>> from reductions.gadgets import get_gadget
>>> g = get_gadget(INDEX(3), data_offset=5, index_offset=10, bos=1)
>>> g.encode((1, 0, 1), 2).tolist(), g.owners
([1, 6, 5, 6, 12], ('public', 'Alice', 'Alice', 'Alice', 'Bob'))
>>> g.answer((1, 0, 1), 2), g.task.vocab_size
(1, 13)
"""

from __future__ import annotations

import numpy as np

from ccbounds.errors import InvalidInputError
from ccbounds.tasks.framed import FramedTask, offset_tokens
from reductions.gadgets.base import Gadget

__all__ = ["LAYOUT_PARAMETERS", "FramedTask", "framed", "offset_tokens", "vocabulary_note"]

#: the gadget parameters that set token ids (quoted in vocabulary messages)
LAYOUT_PARAMETERS = "tokens={name: id}, data_offset=, index_offset=, bos=, eos=, vocab_size="


def framed(gadget: Gadget, *, bos: int | None = None, eos: int | None = None) -> Gadget:
    """``gadget`` with a public ``bos`` token before its sequence and/or a public ``eos`` after it.

    Raises
    ------
    InvalidInputError
        A negative token id.
    """
    prefix = () if bos is None else (int(bos),)
    suffix = () if eos is None else (int(eos),)
    if any(t < 0 for t in prefix + suffix):
        raise InvalidInputError(f"bos/eos must be token ids >= 0, got {bos!r}, {eos!r}")
    if not prefix and not suffix:
        return gadget
    task = FramedTask(gadget.task, prefix, suffix)
    pub = np.concatenate([np.asarray(prefix, dtype=np.int64), np.asarray(gadget.public_tokens, dtype=np.int64),
                          np.asarray(suffix, dtype=np.int64)])
    frame = [f"BOS={bos}"] * bool(prefix) + [f"EOS={eos}"] * bool(suffix)
    return Gadget(
        name=gadget.name + "".join(f" +{f}" for f in frame), problem=gadget.problem, task=task,
        owners=("public",) * len(prefix) + gadget.owners + ("public",) * len(suffix),
        encode_fn=lambda x, y: np.concatenate([prefix, gadget.encode_fn(x, y), suffix]).astype(np.int64),
        alice_fn=gadget.alice_fn, bob_fn=gadget.bob_fn, public_tokens=pub, answer_fn=gadget.answer_fn,
        description=f"{gadget.description}; public {', '.join(frame)}", source=gadget.source,
        final_token_values=() if suffix else gadget.final_token_values,
    )


def vocabulary_note(model_vocab: int, gadget: Gadget) -> tuple[bool, str]:
    """(refuse, text) when the model's vocabulary differs from the gadget's; ``(False, "")`` when equal.

    Examples
    --------
    >>> from ccbounds.problems import EQ
    >>> from reductions.gadgets import get_gadget
    >>> vocabulary_note(10, get_gadget(EQ(3)))[0], vocabulary_note(3, get_gadget(EQ(3)))[0]
    (False, True)
    """
    need = gadget.task.vocab_size
    if not model_vocab or model_vocab == need:
        return False, ""
    ids = ", ".join(f"{k}={v}" for k, v in list(gadget.task.layout().items())[:6])
    more = ", ..." if len(gadget.task.layout()) > 6 else ""
    if model_vocab < need:
        return True, (f"the model reads {model_vocab} token ids but the gadget {gadget.name} uses {need} "
                      f"({ids}{more}); pass a gadget with the model's token ids: "
                      f"get_gadget(problem, task, {LAYOUT_PARAMETERS})")
    return False, (f"the model's vocabulary ({model_vocab} ids) is larger than the gadget's ({need}: {ids}{more}); "
                   f"the audit assumes the model was trained with these ids; if not, set them with get_gadget(problem, "
                   f"task, {LAYOUT_PARAMETERS})")
