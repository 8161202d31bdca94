"""torch is imported lazily: the communication-complexity core and the CLI's help never load it."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "ccbounds", "ccbounds.errors", "ccbounds.bound_record", "ccbounds.problems", "ccbounds.protocols",
    "ccbounds.bounds",
    "ccbounds.information", "ccbounds.quantize", "ccbounds._required_bits", "ccbounds.budgets", "ccbounds.tasks",
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


def test_no_submodule_shadows_a_public_name() -> None:
    """Importing a submodule sets it as an attribute of the package: a public name that is also a submodule
    name would turn from the function into the module once anything imports that submodule."""
    import pkgutil

    import ccbounds

    submodules = {m.name for m in pkgutil.iter_modules(ccbounds.__path__)}
    assert not submodules & set(ccbounds.__all__), sorted(submodules & set(ccbounds.__all__))
    code = ("import ccbounds.budgets, ccbounds.protocols.induced\nfrom ccbounds import audit, required_bits, EQ\n"
            "import inspect\nassert inspect.isfunction(required_bits), required_bits\n"
            "assert required_bits(EQ(3)).value == 3\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
