"""The tests' small recurrent model, Embedding -> nn.RNN / nn.GRU / nn.LSTM -> Linear, declared once.

Tests that need a user's model of this layout (a foreign checkpoint, a model the adapters or the reduction
must read) build it here instead of re-declaring the three modules. The conformance models
(tests/test_conformance_models.py) and the compiled reduction's models (tests/compiled_models.py) are written
out on purpose and do not use it.
"""

from __future__ import annotations

import torch
from torch import nn

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class TinyRecurrent(nn.Module):
    """Embedding(vocab, embed) -> CELL(embed, width, batch_first) -> Linear(out, classes), read at ``read``.

    The three modules are created in this order, so one ``torch.manual_seed`` gives the weights a hand-written
    model of the same layout would get. ``names`` are their attribute names (a state dict's keys follow them;
    foreign layouts name them otherwise); ``bias`` goes to the cell and the readout; ``**cell_kw`` to the
    cell (``nonlinearity``, ``proj_size``, ``bidirectional``, ...). The readout reads what the cell outputs:
    ``proj_size`` or ``width`` scalars per position, twice that when bidirectional.

    >>> m = TinyRecurrent("gru", vocab=6, names=("emb", "gru", "fc"))
    >>> sorted(m.state_dict())[:3], tuple(m(torch.zeros(2, 5, dtype=torch.long)).shape)
    (['emb.weight', 'fc.bias', 'fc.weight'], (2, 2))
    """

    def __init__(self, cell: str = "lstm", vocab: int = 6, embed: int = 4, width: int = 4, classes: int = 2, *,
                 layers: int = 1, read: int = -1, bias: bool = True,
                 names: tuple[str, str, str] = ("embed", "rnn", "head"), **cell_kw: object) -> None:
        super().__init__()
        self.names, self.read = names, read
        out = (cell_kw.get("proj_size") or width) * (2 if cell_kw.get("bidirectional") else 1)
        setattr(self, names[0], nn.Embedding(vocab, embed))
        setattr(self, names[1], CELLS[cell](embed, width, num_layers=layers, batch_first=True, bias=bias, **cell_kw))
        setattr(self, names[2], nn.Linear(out, classes, bias=bias))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        emb, rnn, head = (getattr(self, n) for n in self.names)
        out, _ = rnn(emb(tokens))
        return head(out[:, self.read])
