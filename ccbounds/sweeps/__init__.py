"""Sweeps: grids of train + audit runs from a TOML file, resumable results, and the report figures.

* :mod:`~ccbounds.sweeps.config` -- :func:`load_sweep_config`: TOML -> :class:`SweepConfig` of :class:`RunSpec`
  (each keyed by the hash of its canonical config);
* :mod:`~ccbounds.sweeps.store` -- :class:`ResultsStore`: one atomically written file per finished run;
* :mod:`~ccbounds.sweeps.worker` -- :func:`run_one`: train, audit, return the row (what a worker runs);
* :mod:`~ccbounds.sweeps.executors` -- :func:`run_sweep` on a process pool or dask.distributed;
* :mod:`~ccbounds.sweeps.report` -- :func:`sweep_report`: accuracy against length, against message
  bits, and the accuracy ceiling of theory §6 (matplotlib, imported lazily).

Nothing here imports torch until a run executes (the workers do).
"""

from __future__ import annotations

from ccbounds.sweeps.config import (
           RunSpec,
           SweepConfig,
           load_sweep_config,
           parse_sweep_config,
           run_key,
)
from ccbounds.sweeps.executors import EXECUTORS, SweepSummary, run_sweep
from ccbounds.sweeps.store import FORMATS, SHIPPED, ResultsStore, row_schema, shipped_results

__all__ = [
           "EXECUTORS",
           "FORMATS",
           "SHIPPED",
           "ResultsStore",
           "row_schema",
           "RunSpec",
           "SweepConfig",
           "SweepSummary",
           "load_sweep_config",
           "parse_sweep_config",
           "run_key",
           "run_sweep",
           "shipped_results",
]
