"""The README's two set-up commands come first, and CI runs the second one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)


def test_readme_starts_with_the_two_setup_commands() -> None:
    cmds = _commands()
    assert len(cmds) >= 2
    main_job, tests = cmds[0], cmds[1]
    assert main_job.startswith("python3 -m venv .venv") and main_job.endswith("ccbounds audit")
    assert tests.startswith("python3 -m venv .venv") and "pytest" in tests
    text = (ROOT / "README.md").read_text()
    assert text.index(main_job) < text.index(tests) < text.index("##", text.index(tests))


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "grep -m1 -E '^python3 -m venv \\.venv .*pytest' README.md" in ci and 'eval "$cmd"' in ci
    lines = [ln for ln in (ROOT / "README.md").read_text().splitlines()
             if re.match(r"^python3 -m venv \.venv .*pytest", ln)]
    assert lines and lines[0] == _commands()[1]


@pytest.mark.slow
def test_readme_python_examples_run(tmp_path, monkeypatch) -> None:
    """Every ```python block of the README runs as written (the user's guide must not lie)."""
    pytest.importorskip("torch")
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)\n```", (ROOT / "README.md").read_text(), flags=re.S)
    assert len(blocks) >= 4
    for i, code in enumerate(blocks):
        exec(compile(code, f"README.md python block {i + 1}", "exec"), {"__name__": f"readme_{i}"})
