"""Lower and upper bounds on the communication complexity of a matrix (theory §3).

Cheap bounds: :func:`log_rank` (over R and GF(2)), :func:`leaf_rank_bound`, :func:`one_way`,
:func:`largest_fooling_set`. Exact ones (small matrices, SAT): :func:`partition_number`,
:func:`cover_number`, :func:`exact_D` (past its time limit: :class:`ExactLimitError` with the
certified :class:`DInterval`). Independent brute-force oracles: :func:`brute_force_D` and
friends. Every witness has a checker: :func:`check_rank_certificate`, :func:`check_row_classes`,
:func:`is_fooling_set`, :func:`check_rectangles`, :func:`check_rup_proof`, and
:func:`ccbounds.protocols.ProtocolTree.output` for trees. :func:`bounds_report` collects them all.

Examples
--------
>>> from ccbounds.bounds import exact_D, log_rank
>>> exact_D([[1, 0], [0, 1]]).value, log_rank([[1, 0], [0, 1]]).value
(2, 1.0)
"""

from ccbounds.bounds.bruteforce import (
    brute_force_cover,
    brute_force_D,
    brute_force_fooling,
    brute_force_partition,
    monochromatic_rectangles,
)
from ccbounds.bounds.drup import UnsatProof, check_rup_proof
from ccbounds.bounds.exact import (
    DInterval,
    ExactLimitError,
    ExactResult,
    exact_D,
    protocol_tree_clauses,
)
from ccbounds.bounds.fooling import FoolingSet, is_fooling_set, largest_fooling_set
from ccbounds.bounds.oneway import RowClasses, check_row_classes, one_way
from ccbounds.bounds.rank import (
    RankCertificate,
    check_rank_certificate,
    leaf_rank_bound,
    log_rank,
    rank_gf2,
    rank_real,
)
from ccbounds.bounds.rectangles import (
    RectangleLimitError,
    RectangleSolution,
    binary_rank,
    check_rectangles,
    cover_number,
    partition_number,
)
from ccbounds.bounds.report import BoundsReport, bounds_report

__all__ = [
    "BoundsReport",
    "DInterval",
    "ExactLimitError",
    "ExactResult",
    "FoolingSet",
    "RankCertificate",
    "RectangleLimitError",
    "RectangleSolution",
    "RowClasses",
    "UnsatProof",
    "binary_rank",
    "bounds_report",
    "brute_force_D",
    "brute_force_cover",
    "brute_force_fooling",
    "brute_force_partition",
    "check_rank_certificate",
    "check_rectangles",
    "check_row_classes",
    "check_rup_proof",
    "cover_number",
    "exact_D",
    "is_fooling_set",
    "largest_fooling_set",
    "leaf_rank_bound",
    "log_rank",
    "monochromatic_rectangles",
    "one_way",
    "partition_number",
    "protocol_tree_clauses",
    "rank_gf2",
    "rank_real",
]
