"""torch is imported lazily: the communication-complexity core and the CLI's help never load it."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "ccbounds", "ccbounds.errors", "ccbounds.bound_record", "ccbounds.problems", "ccbounds.protocols",
    "ccbounds.bounds",
    "ccbounds.information", "ccbounds.quantize", "ccbounds.required_bits", "ccbounds.budgets", "ccbounds.tasks",
    "ccbounds.cli", "ccbounds.examples", "ccbounds.checkpoint", "ccbounds.adapters", "ccbounds.models",
    "ccbounds.models.constructions", "reductions", "reductions.gadgets",
]


def test_core_modules_do_not_import_torch() -> None:
    code = "import sys\n" + "".join(f"import {m}\n" for m in CORE) + (
        "from ccbounds import EQ, bounds_report, budget\n"
        "bounds_report(EQ(2), exact=True); budget('lstm', width=4, n=8, problem='eq')\n"
        "from ccbounds.models.constructions import construction_width; construction_width('index_lookup', 64)\n"
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]\n"
        "assert not bad, bad[:5]\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
