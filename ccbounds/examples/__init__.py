"""Bundled example checkpoints: small trained models to audit without training anything.

Each file is a ccbounds checkpoint written by :func:`ccbounds.training.train_to_checkpoint`; its
metadata holds the exact ``ccbounds train ...`` command that reproduces it (all of them are listed
in ``scripts/make_examples.sh``). They illustrate the three verdicts of an audit (theory §4, §6):

* ``lstm-index`` solves index lookup; its state (``S = 2·width`` scalars, h and c) is far wider than
  the ``n`` bits Lemma R asks for, so it is "not ruled out";
* ``lstm-index-narrow`` has ``S = 2`` state scalars, so at ``b`` bits per scalar the one-way protocol
  of Lemma R sends ``S·b < n`` bits for ``b < n/2``: it cannot solve INDEX_n there, and does not;
* ``gru-index`` is a second recurrent family on the same task (stored as ``.safetensors``);
* ``tf1-disj`` is a one-layer Transformer (Lemma T applies); it gets about 97% of balanced
  disjointness right, not 100%;
* ``tf2-eq`` has two layers, which the reduction must refuse.

This module does not import torch; :func:`load_example` does (through
:func:`ccbounds.checkpoint.load_checkpoint`).

Examples
--------
>>> [e.name for e in list_examples()]
['gru-index', 'lstm-index', 'lstm-index-narrow', 'tf1-disj', 'tf2-eq']
>>> EXAMPLES[DEFAULT_EXAMPLE].arch, EXAMPLES[DEFAULT_EXAMPLE].state_scalars
('lstm', 128)
>>> example_path("tf2-eq").name
'tf2-eq.pt'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ccbounds.architectures import get_architecture
from ccbounds.errors import CheckpointError, UnknownNameError

__all__ = ["ExampleInfo", "EXAMPLES", "DEFAULT_EXAMPLE", "list_examples", "example_path", "load_example",
           "examples_frame"]


@dataclass(frozen=True)
class ExampleInfo:
    """What a bundled checkpoint is, readable without loading it.

    Attributes
    ----------
    name : str
        Registry name (``ccbounds audit --example NAME``).
    filename : str
        File in the ``ccbounds/examples`` package directory.
    arch : str
        ``"lstm"``, ``"gru"``, ``"tf1"``, ``"tf2"``.
    task : str
        Task registry name (:func:`ccbounds.tasks.get_task`).
    n : int
        Task size.
    problem : str
        The communication problem the task embeds (:func:`ccbounds.problems.get_problem` name).
    width : int
        Hidden size / ``d_model``.
    state_scalars : int or None
        Scalars a recurrent model carries across a cut (Lemma R); ``None`` for Transformers.
    accuracy : float
        Held-out accuracy recorded at training (``metadata["train"]["final_accuracy"]``).
    description : str
        One line: what the model is.
    expected : str
        One line: what an audit should find.
    """

    name: str
    filename: str
    arch: str
    task: str
    n: int
    problem: str
    width: int
    state_scalars: int | None
    accuracy: float
    description: str
    expected: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.name:<18} {self.description}; expected: {self.expected}"


def _info(name: str, ext: str, arch: str, task: str, n: int, problem: str, width: int, accuracy: float,
          description: str, expected: str) -> ExampleInfo:
    family = get_architecture(arch)
    state = family.message_scalars(width) if family.recurrent else None
    return ExampleInfo(name, f"{name}.{ext}", arch, task, n, problem, width, state, accuracy, description, expected)


#: name -> :class:`ExampleInfo` of every bundled checkpoint
EXAMPLES: dict[str, ExampleInfo] = {
    e.name: e
    for e in (
        _info(
            "lstm-index", "pt", "lstm", "index-lookup", 16, "index", 64, 1.0,
            "LSTM, width 64 (S = 128 state scalars), trained on index lookup with n = 16",
            "solves index lookup (accuracy 1.0); S·b >= 16 at every b >= 1, so not ruled out",
        ),
        _info(
            "lstm-index-narrow", "pt", "lstm", "index-lookup", 16, "index", 1, 0.584,
            "LSTM, width 1 (S = 2 state scalars: h and c), trained on index lookup with n = 16",
            "too narrow: S·b = 2b < 16 = n at b <= 7 bits, so it cannot solve INDEX_16 there; accuracy well below 1",
        ),
        _info(
            "gru-index", "safetensors", "gru", "index-lookup", 16, "index", 64, 1.0,
            "GRU, width 64 (S = 64 state scalars), trained on index lookup with n = 16 (safetensors file)",
            "solves index lookup; S·b >= 16 at every b >= 1, so not ruled out",
        ),
        _info(
            "tf1-disj", "pt", "tf1", "disj", 8, "disj", 64, 0.9675,
            "one-layer Transformer, d_model 64, 4 heads, trained on disjointness (x SEP y END) with n = 8",
            "Lemma T reduces it (H·(d_v+1) = 68 scalars per message); accuracy about 0.97, not a solver",
        ),
        _info(
            "tf2-eq", "pt", "tf2", "eq", 8, "eq", 32, 0.998,
            "two-layer Transformer, d_model 32, 2 heads, trained on equality (x SEP y END) with n = 8",
            "the audit refuses it: with two attention layers no size bound of theory §4 applies",
        ),
    )
}

#: the example ``ccbounds audit --example`` uses when none is named: the solving LSTM
DEFAULT_EXAMPLE = "lstm-index"


def list_examples() -> list[ExampleInfo]:
    """The bundled examples, sorted by name.

    Examples
    --------
    >>> print(list_examples()[1])  # doctest: +ELLIPSIS
    lstm-index         LSTM, width 64 (S = 128 state scalars), trained on index lookup with n = 16; expected: ...
    """
    return [EXAMPLES[k] for k in sorted(EXAMPLES)]


def examples_frame() -> Any:
    """:func:`list_examples` as a pandas DataFrame, one row per example (pandas imported here).

    Examples
    --------
    >>> examples_frame().loc["tf2-eq", "arch"]
    'tf2'
    """
    import pandas as pd

    return pd.DataFrame([e.to_dict() for e in list_examples()]).set_index("name")


def _info_or_raise(name: str) -> ExampleInfo:
    if name not in EXAMPLES:
        raise UnknownNameError(f"unknown example {name!r}; valid names are {sorted(EXAMPLES)} (see "
                               "'ccbounds examples')")
    return EXAMPLES[name]


def example_path(name: str) -> Path:
    """The file of a bundled example (inside the installed package).

    Parameters
    ----------
    name : str
        A key of :data:`EXAMPLES`.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    UnknownNameError
        An unknown name; the message lists the valid ones.
    CheckpointError
        The file is missing from the installation (reinstall ccbounds, or run scripts/make_examples.sh).

    Examples
    --------
    >>> example_path("gru-index").suffix
    '.safetensors'
    >>> example_path("lstm")
    Traceback (most recent call last):
    ...
    ccbounds.errors.UnknownNameError: unknown example 'lstm'; valid names are ['gru-index', 'lstm-index', 'lstm-index-narrow', 'tf1-disj', 'tf2-eq'] (see 'ccbounds examples')
    """  # noqa: E501 (doctest output)
    info = _info_or_raise(name)
    path = Path(str(resources.files(__name__).joinpath(info.filename)))
    if not path.is_file():
        raise CheckpointError(
            f"example file {str(path)!r} is missing from this installation; reinstall ccbounds or regenerate it "
            "with scripts/make_examples.sh"
        )
    return path


def load_example(name: str = DEFAULT_EXAMPLE) -> Any:
    """Load a bundled example with :func:`ccbounds.checkpoint.load_checkpoint`.

    Parameters
    ----------
    name : str
        A key of :data:`EXAMPLES` (default :data:`DEFAULT_EXAMPLE`).

    Returns
    -------
    LoadedCheckpoint
        Model in eval mode, its config, task and metadata (``metadata["train"]["command"]``).

    Raises
    ------
    UnknownNameError, CheckpointError
        As :func:`example_path`.

    Examples
    --------
    >>> ck = load_example("tf2-eq")
    >>> ck.config.arch, str(ck.task), ck.metadata["train"]["command"].split()[:4]
    ('tf2', 'eq(n=8)', ['ccbounds', 'train', '--arch', 'tf2'])
    """
    from ccbounds.checkpoint import load_checkpoint

    return load_checkpoint(example_path(name))
