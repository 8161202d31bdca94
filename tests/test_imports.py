"""torch is imported lazily: the communication-complexity core and the CLI's help never load it.

Every "does not import torch" check of the suite is one case of ``NO_HEAVY_IMPORTS`` below: the code a user
runs and the packages it must not load. The cases run in one fresh interpreter, one after another, each
checked for what it loaded itself; a case that finds a forbidden package already loaded (by a case before it)
is run again alone in a fresh interpreter, so each verdict is that of the case run by itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = [
    "ccbounds", "ccbounds.errors", "ccbounds.bound_record", "ccbounds.problems", "ccbounds.protocols",
    "ccbounds.bounds",
    "ccbounds.information", "ccbounds.quantize", "ccbounds._required_bits", "ccbounds.budgets", "ccbounds.tasks",
    "ccbounds.cli", "ccbounds.examples", "ccbounds.checkpoint", "ccbounds.adapters", "ccbounds.models",
    "ccbounds.models.constructions", "reductions", "reductions.gadgets",
]
TORCH = ("torch",)

# case name -> (code run in a fresh interpreter, top-level packages it must not load)
NO_HEAVY_IMPORTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "bounds load no solver": (
        "import ccbounds, ccbounds.bounds, ccbounds.problems\n",  # scipy: networkx may load it
        ("cvxpy", "clarabel", "torch")),
    "core modules, a bounds report, a budget": (
        "".join(f"import {m}\n" for m in CORE)
        + "from ccbounds import EQ, bounds_report, budget\n"
          "bounds_report(EQ(2), exact=True); budget('lstm', width=4, n=8, problem='eq')\n"
          "from ccbounds.models.constructions import construction_width; construction_width('index_lookup', 64)\n",
        TORCH),
    "cli --help, problems, budget": (
        "import contextlib, io\nfrom ccbounds.cli import main\nhelp_text = io.StringIO()\n"
        "with contextlib.redirect_stdout(help_text):\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
        "assert 'usage: ccbounds' in help_text.getvalue(), help_text.getvalue()\n"
        "main(['problems']); main(['budget', 'lstm', '--width', '4', '--n', '8'])\n",
        TORCH),
    "quantize, information": ("import ccbounds.quantize, ccbounds.information\n", TORCH),
    "models.config, models.codes, models": ("import ccbounds.models.config, ccbounds.models.codes, ccbounds.models\n",
                                            TORCH),
    "examples, training": ("import ccbounds.examples, ccbounds.training\n", TORCH),
    "checkpoint": ("import ccbounds.checkpoint\n", TORCH),
    "tasks, reductions.gadgets": ("import ccbounds.tasks, reductions.gadgets\n", TORCH),
    "adapters and their registry": ("import ccbounds.adapters as a\na.ADAPTERS\n", TORCH),
    "communication-complexity plots": (textwrap.dedent("""
        import matplotlib
        matplotlib.use("Agg")
        from ccbounds import plotting
        from ccbounds.bounds import exact_D, largest_fooling_set
        from ccbounds.problems import EQ
        t = exact_D(EQ(2)).tree
        plotting.plot_matrix(EQ(2)); plotting.plot_protocol_tree(t, problem=EQ(2))
        plotting.plot_rectangles(t, EQ(2)); plotting.plot_fooling_set(EQ(2), largest_fooling_set(EQ(2)))
        plotting.plot_message([[1.0, 2.0]]); plotting.plot_error_vs_bound(n=3, ks=[1], samples=4, coin_samples=5)
        """), TORCH),
    "sweep config and report modules": (
        "import ccbounds.sweeps, ccbounds.sweeps.report, ccbounds.sweeps.ceiling\n"
        f"ccbounds.sweeps.load_sweep_config({str(ROOT / 'configs' / 'small-cpu.toml')!r})\n", TORCH),
}

# Runs the cases named on stdin in order; writes {case: {"error", "loaded", "before"}} to argv[1].
_DRIVER = textwrap.dedent("""
    import json, sys, traceback

    def heavy(names):
        return sorted(m for m in sys.modules if any(m == n or m.startswith(n + ".") for n in names))

    report = {}
    for name, code, names in json.loads(sys.stdin.read()):
        before = heavy(names)
        try:
            exec(compile(code, name, "exec"), {"__name__": "__case__"})
            error = None
        except Exception:
            error = traceback.format_exc()
        report[name] = {"error": error, "loaded": [m for m in heavy(names) if m not in before], "before": before}
    with open(sys.argv[1], "w") as f:
        json.dump(report, f)
""")


def run_cases(names: list[str], out: Path) -> dict[str, Any]:
    """Run the named cases of NO_HEAVY_IMPORTS in one fresh interpreter, in order."""
    cases = [(n, NO_HEAVY_IMPORTS[n][0], list(NO_HEAVY_IMPORTS[n][1])) for n in names]
    r = subprocess.run([sys.executable, "-c", _DRIVER, str(out)], input=json.dumps(cases), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def all_cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_cases(list(NO_HEAVY_IMPORTS), tmp_path_factory.mktemp("no_heavy") / "all.json")


@pytest.mark.parametrize("case", list(NO_HEAVY_IMPORTS))
def test_does_not_import_torch(case: str, all_cases: dict[str, Any], tmp_path: Path) -> None:
    got = all_cases[case]
    if got["before"]:  # an earlier case loaded a package this one forbids: judge this case alone
        got = run_cases([case], tmp_path / "one.json")[case]
        assert not got["before"], got["before"]
    assert got["error"] is None, got["error"]
    assert not got["loaded"], f"{case} loaded {got['loaded'][:5]}"


def test_the_check_sees_an_import_of_torch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness is not vacuous: a case that loads a forbidden package (here email, standing in
    for torch) is reported, and so is one that raises."""
    monkeypatch.setitem(NO_HEAVY_IMPORTS, "loads", ("import email.mime.text\n", ("email",)))
    monkeypatch.setitem(NO_HEAVY_IMPORTS, "raises", ("raise ValueError('boom')\n", ("email",)))
    got = run_cases(["loads", "raises"], tmp_path / "r.json")
    assert "email.mime.text" in got["loads"]["loaded"] and got["loads"]["error"] is None
    assert got["raises"]["before"] and "boom" in got["raises"]["error"]


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
