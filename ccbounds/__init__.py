"""ccbounds: communication-complexity lower bounds for sequence models.

communication problem --gadget--> sequence task --model--> one-way protocol --cost--> bits >= lower bound
--audit--> verdict. See SPEC.md for the mathematics and README.md for a tour.

The top-level names are loaded lazily, so ``import ccbounds`` (and ``ccbounds --help``) never imports
torch; only the model-facing modules do, when they are used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (loaded on first access)
_LAZY = {
    # errors and records
    "CCBoundsError": "ccbounds.errors",
    "InvalidInputError": "ccbounds.errors",
    "TooLargeError": "ccbounds.errors",
    "UnknownNameError": "ccbounds.errors",
    "SolverLimitError": "ccbounds.errors",
    "ReductionNotApplicable": "ccbounds.errors",
    "CheckpointError": "ccbounds.errors",
    "UnsupportedArchitecture": "ccbounds.errors",
    "Bound": "ccbounds.bound",
    # communication problems
    "Problem": "ccbounds.problems",
    "INDEX": "ccbounds.problems",
    "EQ": "ccbounds.problems",
    "DISJ": "ccbounds.problems",
    "GT": "ccbounds.problems",
    "IP": "ccbounds.problems",
    "get_problem": "ccbounds.problems",
    # protocols
    "Protocol": "ccbounds.protocols",
    "ProtocolTree": "ccbounds.protocols",
    "OneWayProtocol": "ccbounds.protocols",
    "Transcript": "ccbounds.protocols",
    "verify": "ccbounds.protocols",
    # bounds on matrices
    "bounds_report": "ccbounds.bounds",
    # reductions, budgets, audits
    "reduce": "ccbounds.reduction",
    "budget": "ccbounds.budgets",
    "audit": "ccbounds.auditing",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ccbounds' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
