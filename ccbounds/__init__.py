"""ccbounds: communication-complexity lower bounds for sequence models.

communication problem --gadget--> sequence task --model--> one-way protocol --cost--> bits >= lower bound
--audit--> verdict. See docs/theory.md for the mathematics and README.md for a tour.

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
    "Bound": "ccbounds.bound_record",
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
    "MatrixProblem": "ccbounds.problems",
    "FunctionProblem": "ccbounds.problems",
    "PublicCoinProtocol": "ccbounds.protocols",
    "PrivateCoinProtocol": "ccbounds.protocols",
    # bounds on matrices
    "bounds_report": "ccbounds.bounds",
    "BoundsReport": "ccbounds.bounds",
    "exact_D": "ccbounds.bounds",
    "log_rank": "ccbounds.bounds",
    "one_way": "ccbounds.bounds",
    "largest_fooling_set": "ccbounds.bounds",
    "partition_number": "ccbounds.bounds",
    "cover_number": "ccbounds.bounds",
    "binary_rank": "ccbounds.bounds",
    "brute_force_D": "ccbounds.bounds",
    "check_rup_proof": "ccbounds.bounds",
    "required_bits": "ccbounds._required_bits",
    # information and quantization
    "fano_certificate": "ccbounds.information",
    "message_entropy": "ccbounds.information",
    "max_index_length": "ccbounds.information",
    "H2": "ccbounds.information",
    "get_scheme": "ccbounds.quantize",
    "FixedPoint": "ccbounds.quantize",
    "FloatFormat": "ccbounds.quantize",
    "pack_bits": "ccbounds.quantize",
    # tasks
    "Task": "ccbounds.tasks",
    "get_task": "ccbounds.tasks",
    "IndexLookup": "ccbounds.tasks",
    "StringEquality": "ccbounds.tasks",
    "Disjointness": "ccbounds.tasks",
    "BoundedDyck": "ccbounds.tasks",
    "NearestNeighbour": "ccbounds.tasks",
    # models, adapters, checkpoints (torch, loaded on use)
    "RecurrentConfig": "ccbounds.models",
    "TransformerConfig": "ccbounds.models",
    "build_model": "ccbounds.models",
    "index_lookup_transformer": "ccbounds.models",
    "dyck_recognizer": "ccbounds.models",
    "two_layer_set_transformer": "ccbounds.models",
    "get_adapter": "ccbounds.adapters",
    "register_adapter": "ccbounds.adapters",
    "save_checkpoint": "ccbounds.checkpoint",
    "load_checkpoint": "ccbounds.checkpoint",
    "LoadedCheckpoint": "ccbounds.checkpoint",
    # reductions, budgets, audits
    "reduce": "ccbounds.reduction",
    "InducedProtocol": "ccbounds.protocols.induced",
    "budget": "ccbounds.budgets",
    "audit": "ccbounds.auditing",
    "audit_checkpoint": "ccbounds.auditing",
    "AuditReport": "ccbounds.auditing",
    "check_reduction": "ccbounds.testing",
    # training and bundled examples
    "TrainConfig": "ccbounds.training",
    "train": "ccbounds.training",
    "train_to_checkpoint": "ccbounds.training",
    "load_example": "ccbounds.examples",
    "list_examples": "ccbounds.examples",
    "load_separations": "ccbounds.experiments",
    "run_separations": "ccbounds.experiments",
    "SeparationConfig": "ccbounds.experiments",
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
