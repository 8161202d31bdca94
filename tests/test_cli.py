"""The command line: tables on stdout, one error line and exit 1 on bad input (--help loads no torch:
tests/test_imports.py)."""

from __future__ import annotations

import json
import sys

import pytest

from ccbounds.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


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
    (("budget", "s4", "--width", "3", "--n", "3"), "unknown architecture"),
    (("budget", "lstm", "--width", "3", "--n", "0"), "n must be a positive integer"),
    (("bounds", "nosuch", "--n", "3"), "unknown problem"),
    (("bounds", "eq"), "needs --n"),
    (("bounds", "eq", "--n", "0"), "n"),
    (("bounds", "eq", "--n", "40", "--exact"), "limit"),
    (("bounds",), "name a problem"),
])
def test_bad_input_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...],
                                          needle: str) -> None:
    code, out, err = run(capsys, *argv)
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert code == 1 and len(lines) == 1 and needle in lines[0].lower(), err
    assert "Traceback" not in err


@pytest.mark.parametrize("content,needle", [  # rows and columns counted from 1, both
    ("0,1\n1,0.5\n", "row 2, column 2 holds '0.5', not an integer"),
    ("0,1\n1\n", "different lengths: row 2 has 1 entry, row 1 has 2"),
    ("a,b\n", "row 1, column 1 holds 'a', not an integer"),
    ("1,0\n0,1\n1,x\n", "row 3, column 2 holds 'x'"),
    ("# a comment\n1,0\n\n0,1;1\n", "row 2 (line 4) has 3 entries"),
    ("# a comment\n1,0\n0,nan\n", "row 2, column 2 (line 3) holds 'nan'"),
    ("1,0,\n", "row 1, column 3 holds ''"),
    ("", "no rows"),
])
def test_bad_matrix_files(capsys: pytest.CaptureFixture[str], tmp_path, content: str, needle: str) -> None:
    f = tmp_path / "m.csv"
    f.write_text(content)
    code, _, err = run(capsys, "bounds", "--matrix", str(f))
    assert code == 1 and needle in err and "Traceback" not in err and len(err.splitlines()) == 1, err


def test_matrix_file_with_comments_semicolons_and_blank_lines(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    f = tmp_path / "m.csv"
    f.write_text("# EQ_1\n1; 0  # x = 0\n\n 0 ,1.0\n")
    from ccbounds.cli.core import load_matrix_csv

    assert load_matrix_csv(str(f)).tolist() == [[1, 0], [0, 1]]


def test_bounds_of_a_matrix_file(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    f = tmp_path / "and.csv"
    f.write_text("0,0\n0,1\n")
    code, out, _ = run(capsys, "bounds", "--matrix", str(f), "--exact")
    assert code == 0 and ">=" in out and "D(" in out and "[KN]" in out
    code, wide, _ = run(capsys, "bounds", "--matrix", str(f), "--exact", "--wide")
    assert code == 0 and "lower: fooling set" in wide  # witnesses only with --wide


def test_bounds_q_ary_index(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "bounds", "index", "--n", "2", "--q", "3", "--exact")
    assert code == 0 and "INDEX_2_q3" in out and "D1way(A->B)" in out and "0/1 matrices" in out


@pytest.mark.slow
def test_bounds_exact_time_limit_prints_the_interval(capsys: pytest.CaptureFixture[str], tmp_path, hard_9x9,
                                                    sat_only: None) -> None:
    f = tmp_path / "hard.csv"
    f.write_text("\n".join(",".join(map(str, row)) for row in hard_9x9.tolist()) + "\n")
    path = tmp_path / "hard.json"
    code, out, err = run(capsys, "bounds", "--matrix", str(f), "--exact", "--time-limit", "0.2", "--json", str(path))
    assert code == 4 and "Traceback" not in err
    assert "exact D not decided: 4 <= D(hard) <= 5 bits" in out  # leaf-rank 4; the one-way tree has depth 5
    iv = json.loads(path.read_text())["interval"]
    assert iv["lower"]["direction"] == "lower" and iv["upper"]["value_bits"] == 5
    assert iv["upper"]["witness"] and iv["lower"]["witness"]
    code, _, err = run(capsys, "bounds", "--matrix", str(f), "--exact", "--time-limit", "0")
    assert code == 1 and "--time-limit" in err


def test_bounds_eq3_exact(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    path = tmp_path / "eq.json"
    code, out, _ = run(capsys, "bounds", "eq", "--n", "3", "--exact", "--json", str(path))
    assert code == 0 and "EQ_3" in out
    data = json.loads(path.read_text())
    assert any(b["model"] == "D" and b["direction"] in ("exact", "lower") and b["value_bits"] == 4
               and b["method"] != "known" for b in data["bounds"])


# -- audit, train, examples (torch) ------------------------------------------------------------------
def _audit(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    pytest.importorskip("torch")
    return run(capsys, "audit", *argv)


@pytest.mark.slow
def test_audit_default_example_is_consistent_and_reproducible(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    code, out, err = _audit(capsys, "--samples", "128", "--precisions", "1,8,32", "--json", str(a))
    assert code == 0 and "lstm-index" in err and "fp32" in out and "consistent" in out
    assert "violation" not in [ln.split()[-1] for ln in out.splitlines() if ln.startswith(("fixed", "fp"))]
    assert out.splitlines()[-1] == "exit status 0 (no violation)" and out.count("exit status") == 1
    code, _, _ = _audit(capsys, "--example", "lstm-index", "--samples", "128", "--precisions", "1,8,32",
                        "--json", str(b))
    assert code == 0 and a.read_bytes() == b.read_bytes()


@pytest.mark.slow
def test_audit_narrow_example_reports_below_bound_and_witnesses(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _audit(capsys, "--example", "lstm-index-narrow", "--samples", "256", "--precisions", "1,4,32")
    rows = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith(("fixed", "fp32"))}
    assert code == 0 and rows["fixed1"].endswith("below bound") and rows["fixed4"].endswith("below bound")
    assert "confirmed" in out and "WRONG" in out


@pytest.mark.slow
def test_audit_of_two_layer_transformer_rules_out_no_length(capsys: pytest.CaptureFixture[str]) -> None:
    """Two attention layers are compiled (theory §4.3): the cheapest cut grows with n, so no n is ruled out."""
    code, out, err = _audit(capsys, "--example", "tf2-eq", "--samples", "64")
    assert code == 0 and "Traceback" not in err and "error:" not in err
    assert "no n is ruled out" in out and "the message grows with n" in out


@pytest.mark.parametrize("content", [b"", b"\x00garbage" * 50, b"PK\x03\x04truncated"])
def test_audit_bad_files_one_line_exit_1(capsys: pytest.CaptureFixture[str], tmp_path, content: bytes) -> None:
    f = tmp_path / "bad.pt"
    f.write_bytes(content)
    code, _, err = _audit(capsys, str(f))
    assert code == 1 and len([ln for ln in err.splitlines() if ln.startswith("error:")]) == 1
    assert "Traceback" not in err


def test_audit_malicious_pickle_never_runs(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    torch = pytest.importorskip("torch")
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    f = tmp_path / "evil.pt"
    torch.save({"state_dict": Evil()}, f)
    code, _, err = _audit(capsys, str(f))
    assert code == 1 and "error:" in err and not marker.exists()
    code, _, err = _audit(capsys, str(tmp_path / "missing.pt"))
    assert code == 1 and "does not exist" in err


@pytest.mark.slow
def test_train_then_audit_then_examples(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    pytest.importorskip("torch")
    ck = tmp_path / "g.safetensors"
    code, out, _ = run(capsys, "train", "--arch", "gru", "--task", "index-lookup", "--n", "4", "--width", "4",
                       "--steps", "20", "--seed", "3", "-o", str(ck))
    assert code == 0 and ck.exists() and "held-out accuracy" in out
    code, out, _ = _audit(capsys, str(ck), "--samples", "64", "--precisions", "2,32")
    assert code == 0 and "INDEX_4" in out and "--seed 3" in out
    code, out, _ = run(capsys, "train", "--arch", "gru", "--task", "nn", "--n", "4", "--width", "4", "-o", str(ck))
    assert code == 1
    code, out, _ = run(capsys, "examples")
    assert code == 0 and all(name in out for name in ("lstm-index", "lstm-index-narrow", "gru-index", "tf1-disj",
                                                      "tf2-eq"))


def test_audit_device_and_output_paths_are_checked_first(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        code, out, err = _audit(capsys, "--device", "cuda", "--samples", "16")
        assert code == 1 and "CUDA is not available" in err and "Traceback" not in err and out == ""
    code, out, err = _audit(capsys, "--device", "tpu9", "--samples", "16")
    assert code == 1 and "unknown device" in err and out == ""
    code, out, err = _audit(capsys, "--plot", str(tmp_path / "no" / "p.png"), "--samples", "16")
    assert code == 1 and "folder does not exist" in err and out == ""


@pytest.mark.parametrize("argv", [
    ("bounds", "eq", "--n", "3", "--exact"),
    ("budget", "lstm", "--width", "64", "--precision", "8", "--problem", "index", "--n", "1024"),
    ("budget", "tf1", "--width", "64", "--heads", "2", "--precision", "8", "--problem", "index", "--n", "1024"),
    ("problems",),
    pytest.param(("audit", "--samples", "256"), marks=pytest.mark.slow),  # the default example, 256 samples
    pytest.param(("audit", "--example", "lstm-index-narrow", "--samples", "256"),  # prints collision witnesses
                 marks=pytest.mark.slow),
    ("examples",),
])
def test_every_table_fits_100_columns(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                      argv: tuple[str, ...]) -> None:
    if argv[0] in ("audit", "examples"):
        pytest.importorskip("torch")
    monkeypatch.setenv("COLUMNS", "100")
    code, out, _ = run(capsys, *argv)
    widest = max(out.splitlines(), key=len)
    assert code == 0 and len(out.splitlines()) > 3 and len(widest) <= 100, widest
    if argv[0] in ("budget", "problems"):
        monkeypatch.setenv("COLUMNS", "60")  # the terminal's width is respected, not a fixed 100
        code, narrow, _ = run(capsys, *argv)
        assert code == 0 and max(len(line) for line in narrow.splitlines()) <= 60


def _table_rows(out: str, rows: list[dict]) -> tuple[str, list[str], str]:
    """The header line, one line per report row and the footnote's first line of the audit table in ``out``."""
    lines = out.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("precision "))
    assert set(lines[at + 1]) == {"-"} and not lines[at - 1].strip()  # a header on one line, then the rule
    return lines[at], lines[at + 2: at + 2 + len(rows)], lines[at + 2 + len(rows)]


def _assert_cells_whole(out: str, data: dict) -> str:
    """Every number of each JSON row appears whole on that row's one line (or, for a column left out
    because it is the same in every row, in the footnote); returns the header line."""
    header, lines, foot = _table_rows(out, data["rows"])
    assert foot.startswith("S*b")  # no row continues on a second line
    for r, line in zip(data["rows"], lines):
        cells = line.split()
        assert cells[0] == r["precision"] and line.endswith(r["verdict"]), line
        want = {"b": str(r["bits_per_scalar"]), "S*b": str(r["message_bits"]), "accuracy": f"{r['accuracy']:.4f}",
                "L_cert": f"{r['L_certified']:.2f}", "L_plug": f"{r['L_plugin']:.2f}",
                "H_MM": f"{r['entropy_bits']:.2f}", "cap": f"{r['entropy_cap_bits']:.2f}",
                "distinct": str(r["distinct_messages"]), "D1way": f"{r['lower_bound_bits']:g}",
                "n (eps)": "-" if r["largest_n"] is None else str(r["largest_n"]),
                "n (0)": "-" if r["largest_n_exact"] is None else str(r["largest_n_exact"])}
        shown = [h for h in want if f" {h} " in f" {header} "]
        assert {"b", "S*b", "accuracy", "L_cert", "H_MM", "n (eps)"} <= set(shown), header
        assert cells[1: 1 + len(shown)] == [want[h] for h in shown], (line, shown)
    key = {"cap": "entropy_cap_bits", "D1way": "lower_bound_bits"}
    fmt = {"cap": "{:.2f}", "D1way": "{:g}"}
    for h, phrase in (("cap", "log2 min(K, |X|, 2^(S*b)) = {} bits"), ("D1way", "D1way = {} bits")):
        if f" {h} " not in f" {header} ":
            values = {fmt[h].format(r[key[h]]) for r in data["rows"]}
            if len(values) == 1:  # the same in every row: stated once in the footnote
                assert phrase.format(values.pop()) in " ".join(out.split()), h
            else:  # differs between rows (the cap min(K, |X|, 2^(S*b)) at small S*b): listed as left out
                assert "left out at width" in out and h in out.split("left out at width")[1], h
    return header


@pytest.mark.slow
def test_audit_table_at_80_columns_keeps_numbers_and_headers_whole(capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    for example in ("lstm-index", "lstm-index-narrow"):
        path = tmp_path / f"{example}.json"
        code, out, _ = _audit(capsys, "--example", example, "--samples", "256", "--precisions", "1,4,16,32",
                              "--json", str(path))
        assert code == 0 and max(len(line) for line in out.splitlines()) <= 80
        header = _assert_cells_whole(out, json.loads(path.read_text()))
        left_out = " ".join(out.split()).split("left out at width 80: ")[1].split(" (--wide")[0]
        assert "L_plug" not in header and "L_plug" in left_out.split(", ")
        code, wide, _ = _audit(capsys, "--example", example, "--samples", "256", "--precisions", "1,4,16,32",
                               "--wide")
        header = _assert_cells_whole(wide, json.loads(path.read_text()))
        assert code == 0 and all(h in header for h in ("L_plug", "cap", "D1way", "n (0)")) and "left out" not in wide


@pytest.mark.slow
def test_audit_table_at_100_columns_shows_every_varying_column(capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    path = tmp_path / "a.json"
    code, out, _ = _audit(capsys, "--samples", "256", "--precisions", "1,4,16,32", "--json", str(path))
    header = _assert_cells_whole(out, json.loads(path.read_text()))
    assert code == 0 and all(h in header for h in ("L_plug", "distinct", "D1way", "n (0)")) and "left out" not in out


class _ClosedPipe:
    """A stdout whose reader has gone away (`ccbounds ... | head -1`)."""

    def write(self, s: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_broken_pipe_exits_quietly(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["bounds", "eq", "--n", "2"]) == 141
    err = capsys.readouterr().err
    assert "Traceback" not in err and "BrokenPipe" not in err
