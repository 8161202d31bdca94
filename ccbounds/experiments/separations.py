"""The experiment of [BHBK] in small: accuracy against n next to message bits and the CC lower bound.

For every (task, n, arch) of a :class:`~ccbounds.experiments.config.SeparationConfig`,
:func:`run_separations` trains a reference model with :func:`ccbounds.training.train` (CPU,
deterministic) and keeps its accuracy on a held-out balanced sample; it turns the trained model
into its one-way protocol with :func:`ccbounds.reduce` (theory §4) and records the exact message size
S·b at each precision b (``protocol.cost_bits(b)``, never recomputed by hand), the same number from
:func:`ccbounds.budgets.budget` for comparison, and the one-way lower bound of the embedded problem
(theory §2, §5):

============  ========  ============  =====================================================
task          embeds    length        reductions that apply
============  ========  ============  =====================================================
index-lookup  INDEX_n   n + 1         Lemma R (Alice's data is a prefix): S = state size;
                                      Lemma T: S = n·H·(d_v+1) (Bob's index takes n values)
dyck          DISJ_n    4n + 1        Lemma T: S = H·(d_v+1) (END is public); Lemma R does
                                      not apply: the gadget interleaves Alice's and Bob's
                                      positions, so the compiled cut (theory §4.3) grows
                                      with n and is recorded as refused (constant-size RNNs
                                      recognise Dyck-(2,2))
============  ========  ============  =====================================================

In both cases D^{A->B} of the embedded problem is n bits, so a model exact on every input needs
S·b >= n. A small experiment shows what the models learned in a fixed training budget; it does not
show the asymptotic separation itself (the bound limits S·b, not what gradient descent finds).

Examples
--------
>>> cfg = SeparationConfig(tasks=("dyck",), ns=(2,), archs=("tf1", "gru"), steps=5, eval_size=50, precisions=(8, 32))
>>> r = run_separations(cfg)
>>> [(x.arch, x.problem, x.scalars, x.message_bits, x.lower_bound.value) for x in r.runs]
[('tf1', 'DISJ_2', 18, {8: 144, 32: 576}, 2), ('gru', 'DISJ_2', None, None, 2)]
>>> r.runs[1].refused.split(":")[0]
'no cut of constant size'

References
----------
S. Bhattamishra, M. Hahn, P. Blunsom, V. Kanade, Separations in the Representational Capabilities of
Transformers and Recurrent Architectures, NeurIPS 2024 (arXiv 2406.09347).
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ccbounds.bound_record import Bound
from ccbounds.errors import InvalidInputError
from ccbounds.experiments.config import SeparationConfig

__all__ = ["SeparationRun", "SeparationResults", "run_separations", "load_separations", "DEFAULT_RESULTS"]

_BY_PRECISION = ("message_bits", "budget_bits", "largest_n", "protocol_accuracy", "L_certified")

#: the results file shipped with ccbounds (``ccbounds/data/separations.json``)
DEFAULT_RESULTS = "separations.json"


@dataclass(frozen=True)
class SeparationRun:
    """One trained model: its accuracy, its exact message size and the bound it is held to.

    Attributes
    ----------
    task, n, arch, width, heads, seq_len
        What was trained (``heads``: None for recurrent models; ``seq_len`` counts END).
    problem : str
        The embedded communication problem, ``"INDEX_n"`` or ``"DISJ_n"``.
    lower_bound : Bound
        D^{A->B}(problem) = n bits (theory §2): a model exact on every input needs S·b >= n.
    accuracy, eval_size, final_loss
        Held-out accuracy on a balanced sample of ``eval_size``; training loss (nats) at the end.
    reduction, lemma : str or None
        The induced protocol's name and the lemma it implements (None where refused).
    scalars : int or None
        S, from ``ccbounds.reduce(model, problem).scalars``.
    message_bits, budget_bits : dict of int -> int, or None
        S·b at each precision b from the protocol, and from :func:`ccbounds.budgets.budget`.
    largest_n : dict of int -> int or None, or None
        The budget's largest n the message size allows (None inside: unbounded by this argument).
    mu_accuracy : float
        Accuracy of the model itself (full sequences ``gadget.encode(x, y)``) on the audit's query
        distribution mu: the inputs of the embedded problem, measured for every architecture.
    protocol_accuracy : dict of int -> float, or None
        Accuracy of the induced protocol with b-bit messages on the audit's query distribution mu
        (x uniform; Bob asks every index i, or y = {i} for DISJ), from :func:`ccbounds.audit`.
    L_certified : dict of int -> float or None, or None
        The audit's certified lower bound on I(M; X) in bits at 95 % confidence (theory §6).
    refused : str or None
        Why no reduction applies (the message of :class:`~ccbounds.errors.ReductionNotApplicable`).
    train_command : str
        The ``ccbounds train ...`` command that retrains exactly this model.
    seed : int
    """

    task: str
    n: int
    arch: str
    width: int
    heads: int | None
    seq_len: int
    problem: str
    lower_bound: Bound
    accuracy: float
    eval_size: int
    final_loss: float
    mu_accuracy: float
    reduction: str | None
    lemma: str | None
    scalars: int | None
    message_bits: dict[int, int] | None
    budget_bits: dict[int, int | None] | None
    largest_n: dict[int, int | None] | None
    protocol_accuracy: dict[int, float] | None
    L_certified: dict[int, float | None] | None
    refused: str | None
    train_command: str
    seed: int

    def below_bound(self, b: int) -> bool | None:
        """True when S·b < the lower bound at b bits per scalar (None where no reduction applies)."""
        if self.message_bits is None:
            return None
        return self.message_bits[b] < self.lower_bound.value

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (precision keys as strings)."""
        d = asdict(self)
        d["lower_bound"] = self.lower_bound.to_dict()
        for k in _BY_PRECISION:
            if d[k] is not None:
                d[k] = {str(b): v for b, v in d[k].items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SeparationRun:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        lb = d["lower_bound"]
        d["lower_bound"] = Bound(value=lb["value_bits"], direction=lb["direction"], model=lb["model"],
                                 problem=lb["problem"], eps=lb["eps"], method=lb["method"], source=lb["source"],
                                 expression=lb["expression"], note=lb["note"], witness=lb["witness"])
        for k in _BY_PRECISION:
            if d[k] is not None:
                d[k] = {int(b): v for b, v in d[k].items()}
        return cls(**d)


def _versions() -> dict[str, str]:
    import numpy
    import torch

    from ccbounds import __version__

    return {"ccbounds": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}


@dataclass(frozen=True)
class SeparationResults:
    """All runs of one :class:`SeparationConfig`, the command that produced them, and the versions used.

    ``to_dict`` (and so equality) leaves out the wall time, so the same config gives the same data;
    :meth:`save` writes the wall time beside it.
    """

    config: SeparationConfig
    runs: tuple[SeparationRun, ...]
    command: str
    versions: dict[str, str]
    wall_time_s: float = field(default=0.0, compare=False)

    def run(self, task: str, n: int, arch: str) -> SeparationRun:
        """The run of (task, n, arch).

        Raises
        ------
        InvalidInputError
            No such run; the message lists what the config covers.
        """
        for r in self.runs:
            if (r.task, r.n, r.arch) == (task, n, arch):
                return r
        raise InvalidInputError(f"no run ({task!r}, {n}, {arch!r}); the config covers tasks {list(self.config.tasks)}, "
                                f"n in {list(self.config.ns)}, archs {list(self.config.archs)}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (no wall time)."""
        return {"experiment": "separations", "command": self.command, "seed": self.config.seed,
                "config": self.config.to_dict(), "versions": dict(self.versions),
                "runs": [r.to_dict() for r in self.runs]}

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON text (deterministic)."""
        return json.dumps(self.to_dict(), indent=1)

    def to_frame(self) -> Any:
        """One row per run: accuracy, S, S·b per precision (``bits_b8`` ...), the bound, refusals."""
        import pandas as pd

        rows = []
        for r in self.runs:
            row = {"task": r.task, "n": r.n, "seq_len": r.seq_len, "arch": r.arch, "width": r.width,
                   "heads": r.heads, "problem": r.problem, "lower_bound_bits": r.lower_bound.value,
                   "accuracy": r.accuracy, "scalars": r.scalars}
            for b in self.config.precisions:
                row[f"bits_b{b}"] = None if r.message_bits is None else r.message_bits[b]
            row["mu_accuracy"] = r.mu_accuracy
            for b in self.config.precisions:
                row[f"protocol_accuracy_b{b}"] = None if r.protocol_accuracy is None else r.protocol_accuracy[b]
                row[f"below_bound_b{b}"] = r.below_bound(b)
            row["refused"] = r.refused
            rows.append(row)
        return pd.DataFrame(rows)

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` plus ``wall_time_s`` as JSON to ``path``; returns the path."""
        p = Path(path)
        payload = {**self.to_dict(), "wall_time_s": round(self.wall_time_s, 1)}
        try:
            p.write_text(json.dumps(payload, indent=1) + "\n")
        except OSError as e:
            raise InvalidInputError(f"cannot write {str(p)!r} ({e.strerror}); pass a writable -o PATH") from e
        return p

    @classmethod
    def load(cls, path: str | Path) -> SeparationResults:
        """Read a file written by :meth:`save`.

        Raises
        ------
        InvalidInputError
            Missing file, or not a separations results file.
        """
        p = Path(path)
        try:
            d = json.loads(p.read_text())
            if d.get("experiment") != "separations":
                raise KeyError("experiment")
            return cls(SeparationConfig(**d["config"]), tuple(SeparationRun.from_dict(r) for r in d["runs"]),
                       d["command"], d["versions"], float(d.get("wall_time_s", 0.0)))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise InvalidInputError(f"{str(p)!r} is not a separations results file ({e!r}); write one with "
                                    "'ccbounds experiment separations -o PATH'") from None

    def __str__(self) -> str:
        bs = self.config.precisions
        head = (f"{'task':<13}{'n':>4} {'arch':<5}{'width':>6}{'acc':>7}{'acc mu':>7}{'S':>6}"
                + "".join(f"{f'S*b@{b}':>10}" for b in bs) + f"{'bound':>7}  note")
        lines = [str(self.config), f"command: {self.command}", head]
        for r in self.runs:
            bits = "".join(f"{'-' if r.message_bits is None else r.message_bits[b]:>10}" for b in bs)
            note = "no reduction (gadget not a prefix cut)" if r.refused else \
                ", ".join(f"below bound at b={b}" for b in bs if r.below_bound(b)) or "not ruled out"
            lines.append(f"{r.task:<13}{r.n:>4} {r.arch:<5}{r.width:>6}{r.accuracy:>7.3f}{r.mu_accuracy:>7.3f}"
                         f"{'-' if r.scalars is None else r.scalars:>6}{bits}{r.lower_bound.value:>7g}  {note}")
        lines.append("bound = D^{A->B} of INDEX_n / DISJ_n in bits; S*b in bits; acc: held-out balanced sample; "
                     "acc mu: the embedded problem's inputs (x uniform, every index i)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{self.config}\ncommand: {self.command}</pre>" + self.to_frame().to_html(index=False)


def _one_run(config: SeparationConfig, task: str, n: int, arch: str) -> SeparationRun:
    """Train, reduce and budget one (task, n, arch)."""
    from ccbounds._required_bits import required_bits
    from ccbounds.auditing import audit, problem_for_task
    from ccbounds.auditing.sampling import model_accuracy_on_mu
    from ccbounds.budgets import budget
    from ccbounds.errors import ReductionNotApplicable
    from ccbounds.reduction import reduce
    from ccbounds.training import train

    tc = config.train_config(task, n, arch)
    result = train(tc)
    problem, gadget = problem_for_task(result.task)
    heads = tc.heads if arch.startswith("tf") else None
    fields: dict[str, Any] = {"reduction": None, "lemma": None, "scalars": None, "message_bits": None,
                              "budget_bits": None, "largest_n": None, "protocol_accuracy": None,
                              "L_certified": None, "refused": None}
    try:
        protocol = reduce(result.model, problem, gadget=gadget)  # the only reduction of this model
        if type(protocol).__name__ == "CompiledProtocol" and protocol.message_grows_with_n:
            # the compiled cut (theory §4.3) grows with n: a protocol, but no bound for the experiment's table
            raise ReductionNotApplicable(f"no cut of constant size: the compiled cut grows with n "
                                         f"({protocol.growth_note}), so no reduction bounds this model")
    except ReductionNotApplicable as e:
        fields["refused"] = str(e)
        fields["mu_accuracy"] = model_accuracy_on_mu(result.model, problem, gadget, config.audit_samples, config.seed)
    else:
        reports = {b: budget(arch, width=tc.width, heads=heads or 1, precision=b, problem=problem, n=n)
                   for b in config.precisions}
        fields.update(reduction=protocol.name, lemma=protocol.lemma, scalars=int(protocol.scalars),
                      message_bits={b: int(protocol.cost_bits(b)) for b in config.precisions},
                      budget_bits={b: reports[b].message_bits for b in config.precisions},
                      largest_n={b: reports[b].largest_n for b in config.precisions})
        rep = audit(protocol, precisions=config.precisions, samples=config.audit_samples, seed=config.seed,
                    calibration_samples=config.audit_samples, witnesses=0)
        rows = {row.bits_per_scalar: row for row in rep.rows}
        fields.update(mu_accuracy=rep.model_accuracy,  # the real model on mu, measured by the audit
                      protocol_accuracy={b: float(rows[b].accuracy) for b in config.precisions},
                      L_certified={b: rows[b].L_certified for b in config.precisions})
    return SeparationRun(task=task, n=n, arch=arch, width=tc.width, heads=heads, seq_len=result.task.seq_len,
                         problem=problem.name, lower_bound=required_bits(problem), accuracy=float(result.accuracy),
                         eval_size=tc.eval_size, final_loss=float(result.final_loss),
                         train_command=tc.command_line(f"{arch}-{task}-n{n}.pt"), seed=tc.seed, **fields)


def run_separations(config: SeparationConfig, progress: Callable[[int, int, SeparationRun], None] | None = None,
                    output: str | Path = "separations.json") -> SeparationResults:
    """Train every (task, n, arch) of ``config``, reduce each model, and record bits and bounds (theory §4, §5).

    Parameters
    ----------
    config : SeparationConfig
    progress : callable, optional
        Called as ``progress(done, total, run)`` after each trained model.
    output : str or Path
        The results path written into the recorded command (``-o``); nothing is written here.

    Returns
    -------
    SeparationResults
        Same config, same machine and torch build: the same :meth:`~SeparationResults.to_dict`.

    Raises
    ------
    InvalidInputError
        Not a :class:`SeparationConfig`.

    Examples
    --------
    >>> cfg = SeparationConfig(tasks=("index-lookup",), ns=(3,), archs=("lstm",), steps=5, eval_size=40, precisions=(8, 32))
    >>> r = run_separations(cfg)
    >>> x = r.runs[0]
    >>> x.problem, x.scalars, x.message_bits, x.budget_bits == x.message_bits, x.below_bound(8)
    ('INDEX_3', 16, {8: 128, 32: 512}, True, False)
    """  # noqa: E501 (doctest output)
    if not isinstance(config, SeparationConfig):
        raise InvalidInputError(f"run_separations needs a SeparationConfig, got {type(config).__name__}")
    start = time.perf_counter()
    runs = []
    todo = config.runs()
    for k, (task, n, arch) in enumerate(todo):
        runs.append(_one_run(config, task, n, arch))
        if progress is not None:
            progress(k + 1, len(todo), runs[-1])
    return SeparationResults(config, tuple(runs), config.command_line(str(output)), _versions(),
                             time.perf_counter() - start)


def load_separations(path: str | Path | None = None) -> SeparationResults:
    """The shipped results (``ccbounds/data/separations.json``), or a file written by ``save``.

    Examples
    --------
    >>> from ccbounds.experiments import parse_command_line
    >>> r = load_separations()
    >>> parse_command_line(r.command)[0] == r.config, r.command.split()[:3]
    (True, ['ccbounds', 'experiment', 'separations'])
    """
    if path is None:
        from importlib import resources

        path = Path(str(resources.files("ccbounds").joinpath("data", DEFAULT_RESULTS)))
    return SeparationResults.load(path)
