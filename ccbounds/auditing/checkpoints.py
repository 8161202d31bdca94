"""Auditing a checkpoint file: from its task metadata to the problem and gadget, then :func:`audit`.

A ccbounds checkpoint (or a foreign state_dict with a spec) names the task it was trained on and its
token ids; :func:`problem_for_task` asks the task which communication problem it embeds
(:meth:`~ccbounds.tasks.Task.problem`, theory §5) and builds the gadget with the model's own token ids.

For example index-lookup gives INDEX_n, eq EQ_n and disj DISJ_n (x SEP y END), dyck of depth 2 DISJ_n
(interleaved blocks; one-layer Transformers only); :func:`reductions.gadgets.list_gadgets` lists them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ccbounds.errors import InvalidInputError

__all__ = ["problem_for_task", "audit_checkpoint"]


def problem_for_task(task: Any) -> tuple[Any, Any]:
    """(problem, gadget) for a task object, with the task's own token ids.

    Examples
    --------
    >>> from ccbounds.tasks import get_task
    >>> p, g = problem_for_task(get_task("index-lookup", 4, tokens={"D0": 7, "D1": 8, "I0": 0, "I1": 1, "I2": 2, "I3": 3}, vocab_size=9))
    >>> p.name, g.encode((1, 0, 1, 1), 2).tolist()
    ('INDEX_4', [8, 7, 8, 8, 2])
    """  # noqa: E501 (doctest output)
    from reductions.gadgets import get_gadget

    problem = task.problem()  # InvalidInputError when the task embeds no problem
    d = task.to_dict()
    kw = {k: d[k] for k in ("tokens", "vocab_size") if k in d}
    prefix, suffix = d.get("prefix") or [None], d.get("suffix") or [None]
    return problem, get_gadget(problem, d["task"], bos=prefix[0], eos=suffix[0], **kw)


def audit_checkpoint(path: str | Path | None = None, *, example: str | None = None, spec: Any = None,
                     trust_pickle: bool = False, device: str = "cpu", model: str | None = None,
                     model_kwargs: Any = None, **audit_kw: Any) -> Any:
    """Load a checkpoint (or a bundled example) safely and audit it.

    Parameters
    ----------
    path : str or Path, optional
        A ``.pt`` / ``.safetensors`` checkpoint. Give either this or ``example``.
    example : str, optional
        A bundled example (``ccbounds.examples.list_examples()``).
    spec : dict or path, optional
        For foreign state_dicts: the task, n and token ids (see :mod:`ccbounds.checkpoint`).
    trust_pickle : bool
        Allow unpickling Python objects from the file (only for files you trust).
    model, model_kwargs : str, dict, optional
        ``"MODULE:CALLABLE"`` and its keyword arguments: the user's own model code, into which the
        state_dict is loaded (safely); the audit then runs that model's real forward.
    **audit_kw
        Passed to :func:`ccbounds.auditing.audit` (precisions, samples, seed, progress, ...).

    Returns
    -------
    (AuditReport, LoadedCheckpoint)
    """
    from ccbounds.auditing.runner import audit
    from ccbounds.checkpoint import load_checkpoint
    from ccbounds.examples import example_path

    if (path is None) == (example is None):
        raise InvalidInputError("give a checkpoint path or an example name (not both)")
    file = example_path(example) if example is not None else Path(path)
    loaded = load_checkpoint(file, spec=spec, trust_pickle=trust_pickle, device=device, model=model,
                             model_kwargs=model_kwargs)
    if loaded.task is None:
        raise InvalidInputError(f"{file} does not say which task it was trained on; pass --spec FILE naming the task "
                                f"and n")
    problem, gadget = problem_for_task(loaded.task)
    import dataclasses

    report = audit(loaded.model, problem, gadget=gadget, device=device, **audit_kw)
    notes = report.notes
    left_out = loaded.metadata.get("ignored_modules") or []
    if left_out:
        notes += (f"the rebuilt model leaves out the checkpoint's module(s) {', '.join(left_out)} (the spec pinned "
                  "their role to another module); if your forward uses them, this audit is not of your model: "
                  "pass --model MODULE:CALLABLE",)
    return dataclasses.replace(report, model_source=loaded.model_source, notes=notes), loaded
