"""One run of a sweep, as executed on a worker: train, audit, and return the row and its log (no files written).

:func:`run_one` is what every executor calls (a process of a local pool, or a dask worker anywhere):
it takes plain data and returns plain data, so a worker needs nothing but the ccbounds package. Any
exception inside the run becomes a row with ``status = "error"`` and the traceback in the log; it
never escapes, so one failing run does not stop a sweep.

What a row holds (flat columns; ``record`` is the same as JSON, with everything per precision):

* the run: ``key``, ``sweep``, ``command``, and every TrainConfig field (``task``, ``n``, ``arch``, ``width``, ...);
* accuracies: ``accuracy_task`` (held-out balanced sample of the task distribution) and ``accuracy_mu``
  (the model itself on the audit's distribution mu: x uniform, Bob asks every index; theory §6);
* the reduction: ``problem``, ``lower_bound_bits`` (D^{A->B}, theory §2), ``reduction``, ``lemma``,
  ``scalars`` (S), or ``refused`` (why no reduction with a size bound applies, theory §4);
* per precision label P (``fixed4``, ``fp32``, ...): ``bits_P`` (S·b), ``accuracy_P`` (the b-bit protocol
  on mu), ``L_cert_P`` (the certified information, theory §6) and ``verdict_P``;
* ``verdict`` ("violation" if some precision is one, else "consistent"; "refused"; "error"),
  ``train_time_s``, ``audit_time_s``, ``device``, ``host`` and ``versions`` (JSON).
"""

from __future__ import annotations

import contextlib
import json
import platform
import socket
import time
import traceback
from typing import Any

__all__ = ["ROW_KIND", "run_one", "versions"]

#: the ``kind`` of a row's ``record`` (bumped when the record's layout changes)
ROW_KIND = "ccbounds-sweep-run/1"


def versions() -> dict[str, str]:
    """Versions of ccbounds, Python and the installed libraries a run uses (read without importing them)."""
    from importlib import metadata

    from ccbounds import __version__

    out = {"ccbounds": __version__, "python": platform.python_version()}
    for lib in ("torch", "numpy", "transformers"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[lib] = metadata.version(lib)
    return out


def _device(requested: str) -> str:
    """``"cuda"`` becomes one GPU per worker: ``cuda:(worker index mod #GPUs)``; anything else is kept."""
    if requested != "cuda":
        return requested
    import torch

    count = torch.cuda.device_count()
    if count <= 1:
        return requested
    index = 0
    try:
        from distributed import get_worker

        name = get_worker().name
        index = int(name) if str(name).isdigit() else abs(hash(name))
    except (ImportError, ValueError):
        import multiprocessing

        ident = multiprocessing.current_process()._identity
        index = ident[0] - 1 if ident else 0
    return f"cuda:{index % count}"


def _audit_fields(result: Any, problem: Any, gadget: Any, audit_cfg: dict[str, Any], dev: str,
                  log: list[str]) -> dict[str, Any]:
    from ccbounds.auditing import audit
    from ccbounds.auditing.sampling import model_accuracy_on_mu
    from ccbounds.errors import ReductionNotApplicable

    fields: dict[str, Any] = {"reduction": None, "lemma": None, "scalars": None, "refused": None}
    per: list[dict[str, Any]] = []
    try:
        from ccbounds.reduction import reduce

        protocol = reduce(result.model, problem, gadget=gadget, device=dev)
        if type(protocol).__name__ == "CompiledProtocol" and protocol.message_grows_with_n:
            # the compiled cut (theory §4.3) grows with n: a protocol, but no size bound for the sweep's table
            raise ReductionNotApplicable(f"no cut of constant size: the compiled cut grows with n "
                                         f"({protocol.growth_note}), so no reduction bounds this model")
        rep = audit(protocol, precisions=audit_cfg["precisions"], samples=audit_cfg["samples"],
                    seed=audit_cfg["seed"], device=dev, confidence=audit_cfg["confidence"],
                    calibration_samples=audit_cfg["calibration_samples"], witnesses=0)
    except ReductionNotApplicable as e:
        fields["refused"] = str(e)
        fields["accuracy_mu"] = model_accuracy_on_mu(result.model, problem, gadget, audit_cfg["samples"],
                                                     audit_cfg["seed"], dev)
        fields["verdict"] = "refused"
        log.append(f"refused (no size bound applies): {e}")
        return {**fields, "per_precision": per}
    fields.update(reduction=rep.reduction, lemma=rep.lemma, scalars=int(rep.scalars),
                  accuracy_mu=float(rep.model_accuracy), protocol_mismatches=int(rep.protocol_mismatches),
                  verdict="violation" if rep.exit_status else "consistent")
    for r in rep.rows:
        per.append({"precision": r.precision, "bits_per_scalar": r.bits_per_scalar, "message_bits": r.message_bits,
                    "accuracy": r.accuracy, "L_certified": r.L_certified, "L_plugin": r.L_plugin,
                    "entropy_bits": r.entropy_bits, "entropy_cap_bits": r.entropy_cap_bits,
                    "verdict": r.verdict, "reason": r.reason})
    log.append(rep.table())
    return {**fields, "per_precision": per}


def run_one(payload: dict[str, Any]) -> dict[str, Any]:
    """Train and audit one run; return ``{"row": ..., "log": ...}`` (never raises for a failing run).

    Parameters
    ----------
    payload : dict
        ``key``, ``train`` (TrainConfig keywords), ``audit`` (see :class:`~ccbounds.sweeps.config.RunSpec`),
        ``device``, ``sweep`` (name), ``command`` (the sweep command line), ``threads`` (torch threads).
    """
    log: list[str] = [f"run {payload['key']}: {json.dumps(payload['train'], sort_keys=True)}"]
    train_cfg, audit_cfg = payload["train"], payload["audit"]
    row: dict[str, Any] = {"key": payload["key"], "sweep": payload.get("sweep", ""),
                           "command": payload.get("command", ""), **train_cfg,
                           "precisions": json.dumps(audit_cfg["precisions"]), "audit_samples": audit_cfg["samples"],
                           "device": payload.get("device", "cpu"), "host": socket.gethostname(),
                           "versions": json.dumps(versions(), sort_keys=True)}
    t0 = time.perf_counter()
    try:
        import torch

        from ccbounds._required_bits import required_bits
        from ccbounds.auditing import problem_for_task
        from ccbounds.training import TrainConfig, train

        torch.set_num_threads(int(payload.get("threads", 1)))
        dev = _device(payload.get("device", "cpu"))
        row["device"] = dev
        result = train(TrainConfig(**train_cfg), progress=lambda s, total, loss: log.append(
            f"step {s}/{total}: loss {loss:.4f} nats"), device=dev)
        row["train_time_s"] = round(result.wall_time_s, 3)
        row["accuracy_task"] = float(result.accuracy)
        row["final_loss"] = float(result.final_loss)
        log.append(str(result))
        problem, gadget = problem_for_task(result.task)
        row["problem"] = problem.name
        row["lower_bound_bits"] = float(required_bits(problem).value)
        if dev != "cpu":
            result.model.to(dev)
        t1 = time.perf_counter()
        fields = _audit_fields(result, problem, gadget, audit_cfg, dev, log)
        row["audit_time_s"] = round(time.perf_counter() - t1, 3)
        per = fields.pop("per_precision")
        row.update(fields)
        for p in per:
            lab = p["precision"]
            row.update({f"bits_{lab}": p["message_bits"], f"accuracy_{lab}": p["accuracy"],
                        f"L_cert_{lab}": p["L_certified"], f"verdict_{lab}": p["verdict"]})
        row["status"], row["error"] = "ok", None
        row["record"] = json.dumps({"kind": ROW_KIND, "train": train_cfg, "audit": audit_cfg,
                                    "per_precision": per, **{k: row.get(k) for k in (
                                        "problem", "lower_bound_bits", "accuracy_task", "accuracy_mu", "scalars",
                                        "reduction", "lemma", "refused", "verdict")}}, sort_keys=True)
    except Exception as e:  # noqa: BLE001 (a failing run is recorded, never raised: the sweep goes on)
        row.update(status="error", error=f"{type(e).__name__}: {e}", verdict="error",
                   record=json.dumps({"kind": ROW_KIND, "train": train_cfg, "audit": audit_cfg,
                                      "error": f"{type(e).__name__}: {e}"}, sort_keys=True))
        log.append(traceback.format_exc())
    row["wall_time_s"] = round(time.perf_counter() - t0, 3)
    log.append(f"status {row['status']} after {row['wall_time_s']:.1f} s")
    return {"row": row, "log": "\n".join(log) + "\n"}
