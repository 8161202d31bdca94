"""The command line: tables on stdout, one error line and exit 1 on bad input, no torch for --help."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ccbounds.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_does_not_import_torch() -> None:
    code = ("import sys\nfrom ccbounds.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "main(['problems']); main(['budget', 'lstm', '--width', '4', '--n', '8'])\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "usage: ccbounds" in r.stdout


def test_problems_lists_all(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "problems")
    assert code == 0
    for name in ("index", "eq", "disj", "gt", "ip"):
        assert name in out


def test_budget_table_and_json(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    path = tmp_path / "b.json"
    code, out, _ = run(capsys, "budget", "gru", "--width", "4", "--precision", "2", "--problem", "eq", "--n", "9",
                       "--json", str(path))
    assert code == 0 and "below bound" in out and "S*b = 4 scalars x 2 = 8 bits" in out
    data = json.loads(path.read_text())
    assert data["message_bits"] == 8 and data["required"]["value_bits"] == 9 and data["largest_n"] == 8


@pytest.mark.parametrize("argv,needle", [
    (("budget", "mamba", "--width", "3", "--n", "3"), "unknown architecture"),
    (("budget", "lstm", "--width", "3", "--n", "0"), "n must be a positive integer"),
    (("bounds", "nosuch", "--n", "3"), "unknown problem"),
    (("bounds", "eq"), "needs --n"),
    (("bounds", "eq", "--n", "0"), "n"),
    (("bounds", "eq", "--n", "40", "--exact"), "limit"),
    (("bounds",), "name a problem"),
])
def test_bad_input_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], needle: str) -> None:
    code, out, err = run(capsys, *argv)
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert code == 1 and len(lines) == 1 and needle in lines[0].lower(), err
    assert "Traceback" not in err


@pytest.mark.parametrize("content,needle", [
    ("0,1\n1,2\n", "0 or 1"),
    ("0,1\n1\n", "different lengths"),
    ("a,b\n", "not a csv of numbers"),
    ("", "no rows"),
])
def test_bad_matrix_files(capsys: pytest.CaptureFixture[str], tmp_path, content: str, needle: str) -> None:
    f = tmp_path / "m.csv"
    f.write_text(content)
    code, _, err = run(capsys, "bounds", "--matrix", str(f))
    assert code == 1 and needle in err.lower() and "Traceback" not in err


def test_bounds_of_a_matrix_file(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    f = tmp_path / "and.csv"
    f.write_text("0,0\n0,1\n")
    code, out, _ = run(capsys, "bounds", "--matrix", str(f), "--exact")
    assert code == 0 and "lower" in out and "D(" in out


def test_bounds_eq3_exact(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    path = tmp_path / "eq.json"
    code, out, _ = run(capsys, "bounds", "eq", "--n", "3", "--exact", "--json", str(path))
    assert code == 0 and "EQ_3" in out
    data = json.loads(path.read_text())
    assert any(b["model"] == "D" and b["direction"] in ("exact", "lower") and b["value_bits"] == 4
               and b["method"] != "known" for b in data["bounds"])
