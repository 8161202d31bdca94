"""Running a sweep: the runs not yet finished go to an executor, each finished row is written as it arrives.

Two executors, both on an existing engine: ``"local"`` (:class:`concurrent.futures.ProcessPoolExecutor`,
spawned processes) and ``"dask"`` (:mod:`dask.distributed`: a ``LocalCluster`` bound to 127.0.0.1, or
an existing cluster by its scheduler address). Workers run :func:`ccbounds.sweeps.worker.run_one` on
plain data and send the row back; only this process writes the results table, so workers need no
shared file system, only the package.

Examples
--------
>>> import tempfile
>>> from ccbounds.sweeps.config import parse_sweep_config
>>> cfg = parse_sweep_config('''
... [sweep]
... tasks = ["index-lookup"]
... lengths = [2]
... [train]
... steps = 2
... eval_size = 8
... [audit]
... precisions = [32]
... samples = 4
... calibration_samples = 4
... [[models]]
... arch = "gru"
... width = 2
... ''')
>>> out = tempfile.mkdtemp()
>>> s = run_sweep(cfg, out, executor="inline")
>>> (s.total, s.done, s.skipped, s.failed), run_sweep(cfg, out, executor="inline").skipped
((1, 1, 0, 0), 1)
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccbounds.errors import InvalidInputError
from ccbounds.sweeps.config import SweepConfig
from ccbounds.sweeps.store import ResultsStore
from ccbounds.sweeps.worker import run_one

__all__ = ["EXECUTORS", "SweepSummary", "run_sweep"]

#: executor names (``"inline"`` runs in this process, for doctests and debugging)
EXECUTORS = ("local", "dask", "inline")


@dataclass(frozen=True)
class SweepSummary:
    """What one call of :func:`run_sweep` did: runs in the grid, run now, skipped (finished before), failed."""

    total: int
    done: int
    skipped: int
    failed: int
    wall_time_s: float
    results: str

    def __str__(self) -> str:
        return (f"{self.total} runs: {self.done} run now ({self.failed} failed), {self.skipped} finished before; "
                f"{self.wall_time_s:.1f} s; results in {self.results}")


def _inline(payloads: list[dict[str, Any]], workers: int, scheduler: str | None) -> Iterator[dict[str, Any]]:
    for p in payloads:
        yield run_one(p)


def _error_result(payload: dict[str, Any], e: BaseException) -> dict[str, Any]:
    """A row for a run whose worker died or whose task was lost (the run itself never raises)."""
    import json

    msg = f"{type(e).__name__}: {e}"
    row = {"key": payload["key"], "sweep": payload.get("sweep", ""), "command": payload.get("command", ""),
           **payload["train"], "status": "error", "error": msg, "verdict": "error",
           "record": json.dumps({"train": payload["train"], "audit": payload["audit"], "error": msg}, sort_keys=True)}
    return {"row": row, "log": f"the worker failed: {msg}\n"}


def _exit_with_parent(parent: int, every: float = 1.0) -> None:
    """Pool-worker initializer: a daemon thread ends this worker once the sweep that started it is gone.

    A killed sweep (SIGKILL, SIGTERM, a closed terminal) runs no clean-up, and spawned pool workers hold
    their own end of the task queue, so without this they would live on and keep training.
    """
    import os
    import threading

    def watch() -> None:
        while True:
            time.sleep(every)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, daemon=True, name="ccbounds-parent-watch").start()


def _local(payloads: list[dict[str, Any]], workers: int, scheduler: str | None) -> Iterator[dict[str, Any]]:
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_exit_with_parent, initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(run_one, p): p for p in payloads}
        for f in as_completed(futures):
            try:
                yield f.result()
            except Exception as e:  # noqa: BLE001 (a worker process died, e.g. out of memory: record it, go on)
                yield _error_result(futures[f], e)


def _dask(payloads: list[dict[str, Any]], workers: int, scheduler: str | None) -> Iterator[dict[str, Any]]:
    import logging

    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout=30)
        except (OSError, TimeoutError) as e:
            raise InvalidInputError(f"cannot reach the dask scheduler {scheduler!r} ({e}); start one with "
                                    "'dask scheduler' (see the README) or drop --scheduler") from None
    try:
        futures = {client.submit(run_one, p, key=f"ccbounds-run-{p['key']}", pure=False): p for p in payloads}
        for f in as_completed(list(futures)):
            try:
                yield f.result()
            except Exception as e:  # noqa: BLE001 (KilledWorker, a lost worker, ...: record it, go on)
                yield _error_result(futures[f], e)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


_RUNNERS: dict[str, Callable[..., Iterator[dict[str, Any]]]] = {"local": _local, "dask": _dask, "inline": _inline}


def _progress(total: int, quiet: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="sweep", unit="run", file=sys.stderr, leave=True,
                disable=quiet or total == 0 or not sys.stderr.isatty())  # silent bar off a terminal


def run_sweep(config: SweepConfig, results: str | Path, *, executor: str = "local", workers: int = 2,
              scheduler: str | None = None, fmt: str | None = None, device: str = "cpu", threads: int = 1,
              command: str | None = None, quiet: bool = True,
              on_row: Callable[[dict[str, Any]], None] | None = None) -> SweepSummary:
    """Run every run of ``config`` that has no "ok" row in ``results`` yet; write each row as it finishes.

    Parameters
    ----------
    config : SweepConfig
    results : str or Path
        The results folder (:class:`~ccbounds.sweeps.store.ResultsStore`).
    executor : {"local", "dask", "inline"}
        Process pool (default), dask.distributed, or this process.
    workers : int
        Processes of the pool, or workers of the LocalCluster (ignored with ``scheduler``).
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a running dask scheduler (``executor="dask"`` only).
    fmt : {"parquet", "csv"}, optional
        Format of the parts (default: what the folder holds, else parquet).
    device : str
        ``"cpu"`` or ``"cuda"`` (one GPU per worker: worker k uses ``cuda:(k mod #GPUs)``).
    threads : int
        torch threads per run.
    command : str, optional
        The command stored in every row (default: ``ccbounds sweep SOURCE --results RESULTS``).
    quiet : bool
        No progress bar.
    on_row : callable, optional
        Called with each row after it is written.

    Returns
    -------
    SweepSummary

    Raises
    ------
    InvalidInputError
        Unknown executor, bad counts, ``scheduler`` without dask, an unreachable scheduler, a bad folder.
    """
    if executor not in EXECUTORS:
        raise InvalidInputError(f"unknown executor {executor!r}; valid ones are {list(EXECUTORS)}")
    if scheduler is not None and executor != "dask":
        raise InvalidInputError("--scheduler joins a dask cluster; pass --executor dask with it")
    for name, v in (("workers", workers), ("threads", threads)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InvalidInputError(f"{name} must be a positive integer, got {v!r}")
    store = ResultsStore(results, fmt=fmt)
    start = time.perf_counter()
    statuses = store.statuses()
    todo = [r for r in config.runs if statuses.get(r.key) != "ok"]
    command = command or shlex.join(["ccbounds", "sweep", config.source, "--results", str(results)])
    payloads = [{"key": r.key, "train": r.train, "audit": r.audit, "device": device, "threads": threads,
                 "sweep": config.name, "command": command} for r in todo]
    failed = 0
    bar = _progress(len(payloads), quiet)
    try:
        for out in _RUNNERS[executor](payloads, workers, scheduler):
            row = out["row"]
            store.write(row, log=out["log"])
            failed += row["status"] != "ok"
            bar.update(1)
            if not quiet:
                note = row.get("error") or f"accuracy {row.get('accuracy_task', float('nan')):.3f}"
                bar.write(f"{row['key']} {row['arch']} w{row['width']} {row['task']} n={row['n']}: {note}",
                          file=sys.stderr)
            if on_row is not None:
                on_row(row)
    finally:
        bar.close()
    return SweepSummary(len(config.runs), len(payloads), len(config.runs) - len(payloads), failed,
                        time.perf_counter() - start, str(store.path))
