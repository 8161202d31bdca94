"""Executable communication protocols: trees, one-way, randomized; a library of standard ones; verification.

The induced protocol of a model (:class:`InducedProtocol`, theory §4) is the engine of the reductions;
it imports torch only when it runs.
"""

from ccbounds.protocols.base import ALICE, BOB, Message, Protocol, Transcript
from ccbounds.protocols.induced import InducedProtocol, ReductionCheck
from ccbounds.protocols.library import (
    disj_trivial,
    eq_fingerprint_protocol,
    eq_hash_protocol,
    index_protocol,
    max_distinct_prime_factors,
    primes_up_to,
    trivial_protocol,
)
from ccbounds.protocols.oneway import OneWayProtocol, int_to_bits
from ccbounds.protocols.randomized import PrivateCoinProtocol, PublicCoinProtocol, RandomizedProtocol
from ccbounds.protocols.tree import ProtocolTree, Rectangle
from ccbounds.protocols.verify import (
    Verification,
    is_monochromatic_partition,
    partition_defects,
    rectangle_partition,
    verify,
)

__all__ = [
    "ALICE", "BOB", "Message", "Protocol", "Transcript", "ProtocolTree", "Rectangle",
    "OneWayProtocol", "int_to_bits", "RandomizedProtocol", "PublicCoinProtocol", "PrivateCoinProtocol",
    "trivial_protocol", "index_protocol", "eq_hash_protocol", "eq_fingerprint_protocol", "disj_trivial",
    "primes_up_to", "max_distinct_prime_factors",
    "Verification", "verify", "rectangle_partition", "is_monochromatic_partition", "partition_defects",
    "InducedProtocol", "ReductionCheck",
]
