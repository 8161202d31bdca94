"""The fast loop's bookkeeping: every doctest the repository's conftest.py marks slow still exists.

A renamed module or function would otherwise drop its slow doctest back into ``-m "not slow"`` unnoticed.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _slow_doctests() -> frozenset[str]:
    spec = importlib.util.spec_from_file_location("_root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SLOW_DOCTESTS


@pytest.mark.parametrize("node", sorted(_slow_doctests()))
def test_a_doctest_marked_slow_exists(node: str) -> None:
    path, name = node.split("::")
    assert (ROOT / path).is_file(), f"{path} is gone: update SLOW_DOCTESTS in conftest.py"
    parts = Path(path).with_suffix("").parts
    module_name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    assert name == module_name or name.startswith(module_name + "."), node
    obj = importlib.import_module(module_name)
    for attr in name[len(module_name):].split(".")[1:]:
        assert hasattr(obj, attr), f"{name} is gone: update SLOW_DOCTESTS in conftest.py"
        obj = getattr(obj, attr)
    assert ">>>" in (obj.__doc__ or ""), f"{name} has no doctest any more: update SLOW_DOCTESTS in conftest.py"
