"""Repository-wide pytest settings: the library doctests that take seconds are marked ``slow``.

Tests mark themselves (``@pytest.mark.slow``); a doctest cannot, so the slow ones are named here by their
node id and marked at collection, before ``-m "not slow"`` (the fast loop, README "Development") deselects.
"""

from __future__ import annotations

import pytest

#: doctests that take more than about 0.3 s: they compile, train or audit a model, save a checkpoint, compile the
#: numba proof checker, solve an SDP or run a search (tests/test_markers.py checks that each still exists)
SLOW_DOCTESTS = frozenset({
    "ccbounds/auditing/runner.py::ccbounds.auditing.runner",
    "ccbounds/bounds/_drup_fast.py::ccbounds.bounds._drup_fast.check_arrays",
    "ccbounds/bounds/_drup_fast.py::ccbounds.bounds._drup_fast.proof_arrays",
    "ccbounds/bounds/_lookahead.py::ccbounds.bounds._lookahead",
    "ccbounds/bounds/_lookahead_tree.py::ccbounds.bounds._lookahead_tree",
    "ccbounds/bounds/gamma2.py::ccbounds.bounds.gamma2",
    "ccbounds/bounds/gamma2.py::ccbounds.bounds.gamma2.check_gamma2",
    "ccbounds/bounds/gamma2.py::ccbounds.bounds.gamma2.gamma2_alpha",
    "ccbounds/bounds/randomized.py::ccbounds.bounds.randomized",
    "ccbounds/bounds/report.py::ccbounds.bounds.report",
    "ccbounds/checkpoint/__init__.py::ccbounds.checkpoint",
    "ccbounds/examples/__init__.py::ccbounds.examples.examples_frame",
    "ccbounds/examples/__init__.py::ccbounds.examples.load_example",
    "ccbounds/experiments/separations.py::ccbounds.experiments.separations",
    "ccbounds/experiments/separations.py::ccbounds.experiments.separations.run_separations",
    "ccbounds/models/build.py::ccbounds.models.build.build_model",
    "ccbounds/plotting/randomized.py::ccbounds.plotting.randomized.plot_error_vs_bound",
    "ccbounds/protocols/induced.py::ccbounds.protocols.induced",
    "ccbounds/protocols/verify.py::ccbounds.protocols.verify.verify",
    "ccbounds/reduction.py::ccbounds.reduction",
    "ccbounds/sweeps/executors.py::ccbounds.sweeps.executors",
    "ccbounds/sweeps/store.py::ccbounds.sweeps.store",
    "ccbounds/training/loop.py::ccbounds.training.loop.train",
    "reductions/compiled/cut.py::reductions.compiled.cut",
    "reductions/compiled/protocol.py::reductions.compiled.protocol",
    "reductions/compiled/trace.py::reductions.compiled.trace",
    "reductions/intercept.py::reductions.intercept",
})


@pytest.hookimpl(tryfirst=True)  # before the -m deselection
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid in SLOW_DOCTESTS:
            item.add_marker(pytest.mark.slow)
