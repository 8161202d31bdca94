"""Executable communication protocols: trees, one-way, randomized; verification."""

from ccbounds.protocols.base import ALICE, BOB, Message, Protocol, Transcript
from ccbounds.protocols.tree import ProtocolTree, Rectangle

__all__ = ["ALICE", "BOB", "Message", "Protocol", "Transcript", "ProtocolTree", "Rectangle"]
