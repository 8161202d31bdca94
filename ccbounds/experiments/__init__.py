"""Reproducible experiments: the separation experiment of [BHBK] in small (theory §4, §5).

* :mod:`~ccbounds.experiments.config` -- :class:`SeparationConfig` and its command line
  (``ccbounds experiment separations ...``);
* :mod:`~ccbounds.experiments.separations` -- :func:`run_separations`, :class:`SeparationResults`,
  :func:`load_separations` (the shipped ``ccbounds/data/separations.json``); the command
  ``ccbounds experiment separations`` is in :mod:`ccbounds.cli.experiment`.

torch is imported only when a run trains models.

Examples
--------
>>> from ccbounds.experiments import SeparationConfig
>>> SeparationConfig().runs()[:2]
[('index-lookup', 4, 'tf1'), ('index-lookup', 4, 'lstm')]
"""

from __future__ import annotations

from ccbounds.experiments.config import (
    EXPERIMENT_ARCHS,
    EXPERIMENT_TASKS,
    SeparationConfig,
    experiment_options,
    parse_command_line,
)
from ccbounds.experiments.separations import (
    DEFAULT_RESULTS,
    SeparationResults,
    SeparationRun,
    load_separations,
    run_separations,
)

__all__ = ["SeparationConfig", "SeparationRun", "SeparationResults", "run_separations", "load_separations",
           "experiment_options", "parse_command_line",
           "EXPERIMENT_TASKS", "EXPERIMENT_ARCHS", "DEFAULT_RESULTS"]
