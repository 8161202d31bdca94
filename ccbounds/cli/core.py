"""``ccbounds problems``, ``bounds``, ``budget`` and ``examples``: the commands that need no model."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from ccbounds.cli._common import EXIT_OK, emit, note, write_json

__all__ = ["add_commands", "load_matrix_csv", "EXIT_UNDECIDED", "MAX_MATRIX_FILE_BYTES"]

#: the largest matrix file read
MAX_MATRIX_FILE_BYTES = 2**26

#: ``ccbounds bounds --exact``: exact D not decided within ``--time-limit`` (the report shows the
#: certified interval lower <= D <= upper)
EXIT_UNDECIDED = 4


def cmd_problems(args: argparse.Namespace) -> int:
    from ccbounds._text import render_table
    from ccbounds.problems import PROBLEMS

    emit(render_table(["name", "problem"], [[name, desc] for name, (_cls, desc) in PROBLEMS.items()], no_wrap=(0,)))
    return EXIT_OK


def load_matrix_csv(path: str) -> Any:
    """The matrix in a CSV file: one row per line, entries separated by commas or semicolons, ``#`` comments
    and blank lines skipped.

    Errors name the place 1-based: "row 3, column 2" (the third row of entries, its second entry), plus the
    file's line where comments or blank lines make it differ.
    """
    import math

    import numpy as np

    from ccbounds.bounds._matrix import MAX_VALUE
    from ccbounds.errors import InvalidInputError

    p = Path(path)
    if p.is_dir():
        raise InvalidInputError(f"{path!r} is a directory, not a matrix file; pass a CSV file of 0/1 entries, one "
                                "row per line")
    if p.exists() and not p.is_file():
        raise InvalidInputError(f"{path!r} is not a regular file (a device, pipe or socket); pass a CSV file of 0/1 "
                                "entries, one row per line")
    if not p.is_file():
        raise InvalidInputError(f"matrix file {path!r} not found; pass a CSV file of 0/1 entries, one row per line")
    how = "write one row per line, entries 0/1 separated by commas"
    rows: list[list[float]] = []
    if p.stat().st_size > MAX_MATRIX_FILE_BYTES:
        raise InvalidInputError(f"matrix file {path!r} has {p.stat().st_size} bytes, over the limit of "
                                f"{MAX_MATRIX_FILE_BYTES} (64 MiB); pass a smaller matrix")
    try:
        text = p.read_bytes().decode("utf-8-sig")  # a byte-order mark, as spreadsheet programs write, is dropped
    except UnicodeDecodeError as e:
        raise InvalidInputError(f"matrix file {path!r} is not UTF-8 text (byte {e.start} is {e.object[e.start]:#04x}); "
                                f"save it as UTF-8 CSV and {how}") from None
    for line_no, line in enumerate(text.splitlines(), start=1):
        body = line.split("#", 1)[0].replace(";", ",").strip()
        if not body:
            continue
        row = len(rows) + 1
        on_line = "" if line_no == row else f" (line {line_no})"
        values = []
        for col, field in enumerate((f.strip() for f in body.split(",")), start=1):
            try:
                v = float(field)
            except ValueError:
                v = math.nan
            if not math.isfinite(v) or v != round(v):
                raise InvalidInputError(f"{path!r}: row {row}, column {col}{on_line} holds {field!r}, not an "
                                        f"integer; {how}")
            if not 0 <= v <= MAX_VALUE:
                hint = ("; a +-1 sign matrix: map -1 to 0 (or relabel its two values)" if v == -1 else "")
                raise InvalidInputError(f"{path!r}: row {row}, column {col}{on_line} holds {field!r}; entries must be "
                                        f"integers in 0..{MAX_VALUE} (function outputs){hint}")
            values.append(v)
        if rows and len(values) != len(rows[0]):
            raise InvalidInputError(f"{path!r} has rows of different lengths: row {row}{on_line} has {len(values)} "
                                    f"entr{'y' if len(values) == 1 else 'ies'}, row 1 has {len(rows[0])}; every row "
                                    "needs the same number of entries")
        rows.append(values)
    if not rows:
        raise InvalidInputError(f"{path!r} holds no rows; {how}")
    return np.array(rows, dtype=np.float64)


def parse_eps(text: str) -> float:
    """An error probability from the command line: a decimal or a fraction such as ``1/3``, in [0, 1/2).

    >>> parse_eps("1/3") == 1 / 3, parse_eps("0.1")
    (True, 0.1)
    """
    from fractions import Fraction

    from ccbounds.errors import InvalidInputError

    try:
        value = float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        raise InvalidInputError(f"--eps must be a number or a fraction such as 1/3, got {text!r}") from None
    if not 0 <= value < 0.5:
        raise InvalidInputError(f"--eps must be in [0, 1/2), got {text}")
    return value


def cmd_bounds(args: argparse.Namespace) -> int:
    from ccbounds.bounds import bounds_report
    from ccbounds.errors import InvalidInputError
    from ccbounds.problems import Problem, get_problem

    if args.time_limit is not None and not (args.time_limit > 0 and math.isfinite(args.time_limit)):
        raise InvalidInputError(f"--time-limit must be a positive, finite number of seconds, got {args.time_limit}")
    if args.matrix is not None:
        if args.problem is not None:
            raise InvalidInputError("give either a PROBLEM name or --matrix FILE.csv, not both")
        target = Problem.from_matrix(load_matrix_csv(args.matrix), name=Path(args.matrix).stem)
    else:
        if args.problem is None:
            raise InvalidInputError("name a problem (see `ccbounds problems`) with --n N, or pass --matrix FILE.csv")
        looks_like_file = (args.problem.lower().endswith((".csv", ".txt", ".tsv")) or "/" in args.problem
                           or "\\" in args.problem or Path(args.problem).is_file())
        if looks_like_file:
            raise InvalidInputError(f"{args.problem!r} is a file, not a problem name; use --matrix FILE for a matrix "
                                    f"file: ccbounds bounds --matrix {args.problem}")
        if args.n is None:
            raise InvalidInputError(f"`ccbounds bounds {args.problem}` needs --n N (the input length)")
        kw = {"q": args.q} if args.q is not None else {}
        target = get_problem(args.problem, args.n, **kw)
    if args.exact:
        from ccbounds.errors import TooLargeError
        from ccbounds.problems import MAX_MATRIX_ENTRIES

        log2_entries = target.log2_num_alice_inputs + target.log2_num_bob_inputs
        if log2_entries > math.log2(MAX_MATRIX_ENTRIES) + 1e-9:
            raise TooLargeError(f"--exact needs the matrix of {target.name}, 2^{log2_entries:.4g} entries, over the "
                                f"limit MAX_MATRIX_ENTRIES = {MAX_MATRIX_ENTRIES}; use a smaller n or drop --exact")
    note(f"computing bounds for {target.name}{' (exact search)' if args.exact else ''} ...")
    kw = {} if args.time_limit is None else {"time_limit": args.time_limit}
    if args.eps is not None:
        kw["randomized"] = parse_eps(args.eps)
    report = bounds_report(target, exact=args.exact, **kw)
    print(report.table(wide=args.wide))
    write_json(args.json, report.to_dict())
    return EXIT_OK if report.interval is None else EXIT_UNDECIDED


def cmd_budget(args: argparse.Namespace) -> int:
    import warnings

    from ccbounds.budgets import budget

    with warnings.catch_warnings():  # an assumed head count is stated in the report's text instead
        warnings.simplefilter("ignore", UserWarning)
        report = budget(args.arch, width=args.width, heads=args.heads, layers=args.layers,
                        precision=args.precision, problem=args.problem, n=args.n, eps=parse_eps(args.eps))
    print(report.text())
    write_json(args.json, report.to_dict())
    return EXIT_OK


def cmd_examples(args: argparse.Namespace) -> int:
    from ccbounds._text import render_table
    from ccbounds.examples import DEFAULT_EXAMPLE, list_examples

    rows = [[("* " if info.name == DEFAULT_EXAMPLE else "  ") + info.name, f"{info.description}; expected: "
             f"{info.expected}"] for info in list_examples()]
    emit(render_table(["name", "what it is; what the audit should find"], rows, no_wrap=(0,)))
    emit("(* = audited by `ccbounds audit` with no argument; audit another with --example NAME)")
    return EXIT_OK


def cmd_catalogue(args: argparse.Namespace) -> int:
    import json as _json

    from ccbounds.catalogue import CATALOGUE_PATH, generate, load_catalogue, table_text
    from ccbounds.errors import InvalidInputError

    if args.time_limit is not None and not args.time_limit > 0:
        raise InvalidInputError(f"--time-limit must be a positive number of seconds, got {args.time_limit}")
    ids = args.id or None
    if args.regenerate:
        out = Path(args.out) if args.out else CATALOGUE_PATH
        table = generate(out, time_limit=args.time_limit or 3.0, ids=ids,
                         progress=lambda i: print(f"computing {i} ...", file=sys.stderr))
        print(f"wrote {len(table['rows'])} rows to {out}", file=sys.stderr)
    else:
        table = load_catalogue(args.out or CATALOGUE_PATH)
        if ids is not None:
            known = {r["id"] for r in table["rows"]}
            missing = sorted(set(ids) - known)
            if missing:
                raise InvalidInputError(f"unknown catalogue id(s) {', '.join(missing)}; run `ccbounds catalogue` "
                                        "for the list")
            table = dict(table, rows=[r for r in table["rows"] if r["id"] in set(ids)])
    emit(table_text(table))
    emit("bits; a..b: certified interval (time limit per measure "
         f"{table['time_limit_per_measure']} s); !: a certificate failed its check; details: --json PATH")
    if args.json:
        write_json(args.json, table)
    elif ids is not None and len(table["rows"]) == 1:
        print(_json.dumps(table["rows"][0], indent=1))
    return EXIT_OK


def add_commands(sub: Any) -> None:
    """Register problems, bounds, budget, examples and catalogue on the subparsers ``sub``."""
    p = sub.add_parser("problems", help="list the communication problems")
    p.set_defaults(func=cmd_problems)

    p = sub.add_parser("bounds", help="every lower/upper bound for a problem or a 0/1 matrix",
                       description="Bounds on D(f) and its relatives, each with direction, model, method and "
                       "source (witnesses with --wide or --json). Example: ccbounds bounds eq --n 3 --exact")
    p.add_argument("problem", nargs="?", help="problem name: index, eq, disj, gt, ip")
    p.add_argument("--n", type=int, help="input length n")
    p.add_argument("--q", type=int, help="alphabet size (index only)")
    p.add_argument("--matrix", metavar="FILE.csv", help="a 0/1 matrix instead of a named problem")
    p.add_argument("--exact", action="store_true", help="also compute partition/cover numbers and exact D by SAT")
    p.add_argument("--time-limit", type=float, metavar="S",
                   help="seconds for each exact computation (default 10); exact D past it prints the certified "
                   "interval lower <= D <= upper and exits 4")
    p.add_argument("--eps", metavar="EPS", help="also the randomized lower bounds at error EPS (e.g. 1/3): "
                   "discrepancy, corruption, partition LP, gamma2, one-way D^mu_eps, VC; certificates in --json")
    p.add_argument("--wide", action="store_true", help="sources and witnesses in columns (lines over 100 wide)")
    p.add_argument("--json", metavar="PATH", help="write the full report as JSON")
    p.set_defaults(func=cmd_bounds)

    p = sub.add_parser("budget", help="bit budget of an architecture: message bits vs the lower bound, largest n",
                       description="Lemma R / Lemma T without weights: S*b message bits against D^{A->B}(f). "
                       "Example: ccbounds budget lstm --width 64 --precision 8 --problem index --n 1024")
    p.add_argument("arch", help="rnn, gru, lstm, tf1 or tf2")
    p.add_argument("--width", type=int, required=True, help="hidden size / d_model")
    p.add_argument("--heads", type=int, default=None,
                   help="attention heads (tf1; default: 1, stated as assumed in the output)")
    p.add_argument("--layers", type=int, default=1, help="recurrent layers")
    p.add_argument("--precision", default="32", help="bits per scalar b: 1..32 (32 = fp32) or fp16, bf16, ... "
                   "(default 32)")
    p.add_argument("--problem", default="index", help="index, eq or disj (default index)")
    p.add_argument("--n", type=int, required=True, help="input length n")
    p.add_argument("--eps", default="0", help="allowed average error in [0, 1/2), e.g. 0.1 or 1/3 (INDEX/DISJ); "
                   "default 0 = exact")
    p.add_argument("--json", metavar="PATH", help="write the report as JSON")
    p.set_defaults(func=cmd_budget)

    p = sub.add_parser("examples", help="list the bundled example checkpoints")
    p.set_defaults(func=cmd_examples)

    p = sub.add_parser("catalogue", help="exact D, one-way, N0/N1, C^D, binary rank, ranks and fooling sets of "
                       "named functions (n <= 6)",
                       description="The shipped table ccbounds/data/catalogue.json: one row per named function "
                       "(stable ids), every measure with its certificate check and seconds. Example: ccbounds "
                       "catalogue --id eq-n3; rebuild: ccbounds catalogue --regenerate")
    p.add_argument("--id", action="append", metavar="ID", help="show only this row (repeatable; one row also "
                   "prints its JSON)")
    p.add_argument("--regenerate", action="store_true", help="recompute the rows (all, or --id ones) and write them")
    p.add_argument("--time-limit", type=float, metavar="S", help="seconds per measure when regenerating (default 3)")
    p.add_argument("--out", metavar="PATH", help="the table file to read or write (default: the shipped one)")
    p.add_argument("--json", metavar="PATH", help="write the table as JSON")
    p.set_defaults(func=cmd_catalogue)
