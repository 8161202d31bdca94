"""Information-theoretic certificates for audits of trained models (theory §6). All values in bits.

* :mod:`~ccbounds.information.binary` -- :func:`H2`, :func:`H2_inv` (branch [0, 1/2]),
  :func:`entropy_q_fano` (H2(eps) + eps log2(q-1)), :func:`fano_term`, and :func:`max_index_length`, the
  largest INDEX length a state of S*b bits can serve at error eps;
* :mod:`~ccbounds.information.fano` -- :func:`clopper_pearson_upper`, :func:`hoeffding_upper` and
  :func:`fano_certificate`, the certified lower bound L on I(M; X) from per-coordinate error counts;
* :mod:`~ccbounds.information.entropy` -- :func:`plugin_entropy`, :func:`miller_madow_entropy` and
  :func:`message_entropy`, estimates of H(M) always shown beside their cap log2 K;
* :mod:`~ccbounds.information.protocol_information` -- :func:`information_cost` (internal and external
  information cost of a protocol tree under μ, exactly), :func:`buzzer_protocol` (protocols for AND whose cost
  approaches IC(AND, 0) ≈ 1.4923 bits) and :func:`and_information_bounds` (typed ``known`` bounds, theory §11).

Only ``math`` and ``numpy`` are needed (no scipy, no torch).

Examples
--------
>>> from ccbounds.information import H2, max_index_length
>>> H2(0.5), max_index_length(64, 0.0)
(1.0, 64)
"""

from __future__ import annotations

from ccbounds.information.binary import H2, H2_inv, entropy_q_fano, fano_term, max_index_length
from ccbounds.information.entropy import (
    EntropyEstimate,
    message_entropy,
    miller_madow_entropy,
    plugin_entropy,
)
from ccbounds.information.fano import (
    FanoCertificate,
    clopper_pearson_upper,
    fano_certificate,
    hoeffding_upper,
)
from ccbounds.information.protocol_information import (
    AND_HARD_DISTRIBUTION,
    InformationCost,
    and_information_bounds,
    buzzer_protocol,
    information_cost,
)

__all__ = [
    "H2",
    "H2_inv",
    "entropy_q_fano",
    "fano_term",
    "max_index_length",
    "clopper_pearson_upper",
    "hoeffding_upper",
    "FanoCertificate",
    "fano_certificate",
    "EntropyEstimate",
    "plugin_entropy",
    "miller_madow_entropy",
    "message_entropy",
    "InformationCost",
    "AND_HARD_DISTRIBUTION",
    "information_cost",
    "buzzer_protocol",
    "and_information_bounds",
]
