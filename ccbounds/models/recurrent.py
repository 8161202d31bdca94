"""The reference recurrent classifier: embedding -> RNN / GRU / LSTM -> linear head at the last step.

The module layout (``embed``, ``rnn``, ``head``) is the contract the recurrent adapter reads
(theory §4 Lemma R: the state carried across a cut is the hidden state of every layer, and for an
LSTM the cell state too).

Examples
--------
>>> import torch
>>> from ccbounds.models.config import RecurrentConfig
>>> _ = torch.manual_seed(0)
>>> m = RecurrentClassifier(RecurrentConfig("gru", vocab_size=5, num_classes=3, width=8))
>>> m(torch.zeros(4, 7, dtype=torch.long)).shape
torch.Size([4, 3])
"""

from __future__ import annotations

import torch
from torch import nn

from ccbounds.errors import InvalidInputError
from ccbounds.models._tokens import check_tokens
from ccbounds.models.config import RecurrentConfig

__all__ = ["RecurrentClassifier"]


class RecurrentClassifier(nn.Module):
    """``head(rnn(embed(tokens))[:, -1])`` for a :class:`RecurrentConfig`.

    Parameters
    ----------
    config : RecurrentConfig
        The architecture; kept as ``self.config``.

    Attributes
    ----------
    embed : nn.Embedding
        ``(vocab_size, embed_dim)``.
    rnn : nn.RNN or nn.GRU or nn.LSTM
        ``(embed_dim, width, num_layers=layers, batch_first=True)``; zero initial state.
    head : nn.Linear
        ``(width, num_classes)``, applied to the top layer's output at the last step.

    Raises
    ------
    InvalidInputError
        If ``config`` is not a :class:`RecurrentConfig`, or (in ``forward``) tokens are not a
        (batch, length) tensor of ids in the vocabulary.

    References
    ----------
    theory §4, Lemma R (the reduction these models are audited with).

    Examples
    --------
    >>> from ccbounds.models.config import RecurrentConfig
    >>> m = RecurrentClassifier(RecurrentConfig("lstm", 4, 2, width=3, layers=2))
    >>> type(m.rnn).__name__, m.rnn.num_layers, m.head.in_features
    ('LSTM', 2, 3)
    """

    def __init__(self, config: RecurrentConfig) -> None:
        super().__init__()
        if not isinstance(config, RecurrentConfig):
            raise InvalidInputError(
                f"RecurrentClassifier needs a RecurrentConfig, got {type(config).__name__}; use build_model(config)"
            )
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim)
        args = (config.embed_dim, config.width)
        kw = dict(num_layers=config.layers, batch_first=True)
        if config.cell == "rnn":
            self.rnn = nn.RNN(*args, nonlinearity=config.nonlinearity, **kw)
        elif config.cell == "gru":
            self.rnn = nn.GRU(*args, **kw)
        else:
            self.rnn = nn.LSTM(*args, **kw)
        self.head = nn.Linear(config.width, config.num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)`` read after the last token of ``tokens`` ``(B, T)``."""
        check_tokens(tokens, self.config.vocab_size)
        out, _ = self.rnn(self.embed(tokens))  # (B, T, width)
        return self.head(out[:, -1])  # (B, num_classes)

    def extra_repr(self) -> str:
        return f"arch={self.config.arch!r}"
