"""Nearly orthogonal codes (theory §7), importable here as before.

They live in :mod:`ccbounds.codes`, beside the tasks and models that both use them (the nearest-neighbour
task's public codes, the INDEX lookup construction), so that a task does not import the models package.

Examples
--------
>>> from ccbounds.models.codes import code_dimension
>>> code_dimension(8, gamma=0.5, delta=0.1)
58
"""

from __future__ import annotations

from ccbounds.codes import NearlyOrthogonalCode, code_dimension, max_coherence, nearly_orthogonal_codes

__all__ = ["code_dimension", "nearly_orthogonal_codes", "NearlyOrthogonalCode", "max_coherence"]
