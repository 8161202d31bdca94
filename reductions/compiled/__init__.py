"""Compiled reductions: the user's own forward, traced and cut into Alice's and Bob's programs (theory §4.3).

:func:`compile_reduction` traces the model (:mod:`.trace`), tracks which input positions every value depends
on (:mod:`.positions`), splits the ops that mix positions at the cut (:mod:`.rules`), takes the cheapest
checked cut as the message (:mod:`.cut`) and runs the two halves (:mod:`.program`) as a
:class:`CompiledProtocol` (:mod:`.protocol`).
"""

from reductions.compiled.protocol import CompiledProtocol, compile_reduction
from reductions.compiled.rules import Split, SplitRule, register_split_rule, split_rules

__all__ = ["CompiledProtocol", "compile_reduction", "Split", "SplitRule", "register_split_rule", "split_rules"]
