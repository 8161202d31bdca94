"""Lower and upper bounds on the communication complexity of a matrix (theory §3).

Cheap bounds: :func:`log_rank` (over R and GF(2)), :func:`leaf_rank_bound`, :func:`one_way`,
:func:`largest_fooling_set`. Exact ones (small matrices, SAT): :func:`partition_number`,
:func:`cover_number`, :func:`exact_D` (past its time limit: :class:`ExactLimitError` with the
certified :class:`DInterval`). Independent brute-force oracles: :func:`brute_force_D` and
friends. Randomized lower bounds (theory §10): :func:`discrepancy_bound`, :func:`corruption_bound`,
:func:`partition_bound`, :func:`gamma2_bounds`, :func:`one_way_distributional`, :func:`vc_bound`, all at once
:func:`randomized_bounds`, each certificate checked by :func:`check_randomized_bound`. Every witness has a
checker: :func:`check_rank_certificate`, :func:`check_row_classes`,
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
from ccbounds.bounds.discrepancy import (
    DiscrepancyWitness,
    best_discrepancy_mu,
    check_discrepancy,
    discrepancy,
    discrepancy_bound,
    discrepancy_upper,
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
from ccbounds.bounds.gamma2 import Gamma2Certificate, check_gamma2, gamma2_alpha, gamma2_bounds, gamma2_lower
from ccbounds.bounds.oneway import RowClasses, check_row_classes, one_way
from ccbounds.bounds.oneway_dist import (
    OneWayProtocolWitness,
    VCWitness,
    check_one_way_protocol,
    check_vc,
    one_way_distributional,
    vc_bound,
    vc_dimension,
)
from ccbounds.bounds.partition import (
    CorruptionWitness,
    PartitionCertificate,
    check_corruption,
    check_partition,
    corruption_bound,
    partition_bound,
    partition_value,
)
from ccbounds.bounds.randomized import check_randomized_bound, randomized_bounds
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
    "CorruptionWitness",
    "DInterval",
    "DiscrepancyWitness",
    "ExactLimitError",
    "ExactResult",
    "FoolingSet",
    "Gamma2Certificate",
    "OneWayProtocolWitness",
    "PartitionCertificate",
    "RankCertificate",
    "RectangleLimitError",
    "RectangleSolution",
    "RowClasses",
    "UnsatProof",
    "VCWitness",
    "best_discrepancy_mu",
    "binary_rank",
    "bounds_report",
    "brute_force_D",
    "brute_force_cover",
    "brute_force_fooling",
    "brute_force_partition",
    "check_corruption",
    "check_discrepancy",
    "check_gamma2",
    "check_one_way_protocol",
    "check_partition",
    "check_randomized_bound",
    "check_rank_certificate",
    "check_rectangles",
    "check_row_classes",
    "check_rup_proof",
    "check_vc",
    "corruption_bound",
    "cover_number",
    "discrepancy",
    "discrepancy_bound",
    "discrepancy_upper",
    "exact_D",
    "gamma2_alpha",
    "gamma2_bounds",
    "gamma2_lower",
    "is_fooling_set",
    "largest_fooling_set",
    "leaf_rank_bound",
    "log_rank",
    "monochromatic_rectangles",
    "one_way",
    "one_way_distributional",
    "partition_bound",
    "partition_number",
    "partition_value",
    "protocol_tree_clauses",
    "randomized_bounds",
    "rank_gf2",
    "rank_real",
    "vc_bound",
    "vc_dimension",
]
