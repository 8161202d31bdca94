"""The ``ccbounds`` command line: a thin layer over the public API.

Tables go to stdout, progress to stderr, ``--json PATH`` writes the full report. Errors a user can
cause print one line (``error: ...``) and exit 1; ``ccbounds audit`` exits 3 on a violation;
``ccbounds bounds --exact`` exits 4 when exact D was not decided within ``--time-limit`` (the report,
printed as usual, then shows the certified interval lower <= D <= upper).
Heavy modules (torch, the SAT solvers) are imported inside the command that needs them, so
``ccbounds --help`` stays light.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_ERROR, EXIT_VIOLATION, EXIT_UNDECIDED = 0, 1, 3, 4


def _write_text(path: str, text: str) -> None:
    from ccbounds.errors import InvalidInputError

    try:
        Path(path).write_text(text)
    except OSError as e:
        raise InvalidInputError(f"cannot write the JSON report to {path!r} ({e.strerror}); pass a writable path") from e
    print(f"wrote {path}", file=sys.stderr)


def _write_json(path: str | None, payload: dict[str, Any]) -> None:
    if path:
        _write_text(path, json.dumps(payload, indent=2, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return repr(obj)


# -- commands --------------------------------------------------------------------------------------
def cmd_problems(args: argparse.Namespace) -> int:
    from ccbounds.problems import PROBLEMS

    width = max(len(k) for k in PROBLEMS)
    for name, (_cls, description) in PROBLEMS.items():
        print(f"{name:<{width}}  {description}")
    return EXIT_OK


def _load_matrix_csv(path: str) -> Any:
    import numpy as np

    from ccbounds.errors import InvalidInputError

    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"matrix file {path!r} not found; pass a CSV file of 0/1 entries, one row per line")
    try:
        rows = [line.strip() for line in p.read_text().splitlines() if line.strip() and not line.startswith("#")]
        data = [[float(v) for v in row.replace(";", ",").split(",")] for row in rows]
    except ValueError as e:
        raise InvalidInputError(f"{path!r} is not a CSV of numbers ({e}); write one row per line, entries 0/1 separated by commas") from e
    if not data:
        raise InvalidInputError(f"{path!r} holds no rows; write one row per line, entries 0/1 separated by commas")
    if len({len(r) for r in data}) != 1:
        raise InvalidInputError(f"{path!r} has rows of different lengths; every row needs the same number of entries")
    return np.array(data)


def cmd_bounds(args: argparse.Namespace) -> int:
    from ccbounds.bounds import bounds_report
    from ccbounds.errors import InvalidInputError
    from ccbounds.problems import Problem, get_problem

    if args.matrix is not None:
        if args.problem is not None:
            raise InvalidInputError("give either a PROBLEM name or --matrix FILE.csv, not both")
        target = Problem.from_matrix(_load_matrix_csv(args.matrix), name=Path(args.matrix).stem)
    else:
        if args.problem is None:
            raise InvalidInputError("name a problem (see `ccbounds problems`) with --n N, or pass --matrix FILE.csv")
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
    print(f"computing bounds for {target.name}{' (exact, SAT)' if args.exact else ''} ...", file=sys.stderr)
    if args.time_limit is not None and not args.time_limit > 0:
        raise InvalidInputError(f"--time-limit must be a positive number of seconds, got {args.time_limit}")
    kw = {} if args.time_limit is None else {"time_limit": args.time_limit}
    report = bounds_report(target, exact=args.exact, **kw)
    print(report)
    _write_json(args.json, report.to_dict())
    return EXIT_OK if report.interval is None else EXIT_UNDECIDED


def cmd_budget(args: argparse.Namespace) -> int:
    from ccbounds.budgets import budget

    report = budget(args.arch, width=args.width, heads=args.heads, layers=args.layers, precision=args.precision,
                    problem=args.problem, n=args.n, eps=args.eps)
    print(report)
    _write_json(args.json, report.to_dict())
    return EXIT_OK


class _ProgressBar:
    """A one-line progress bar on stderr (silent when stderr is not a terminal, except at the end)."""

    def __init__(self, label: str, width: int = 30) -> None:
        self.label, self.width, self.tty = label, width, sys.stderr.isatty()
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        frac = done / total if total else 1.0
        pct = int(100 * frac)
        if pct == self.last or (not self.tty and done < total):
            return
        self.last = pct
        fill = int(self.width * frac)
        end = "\n" if done >= total else ""
        print(f"\r{self.label} [{'#' * fill}{'.' * (self.width - fill)}] {pct:3d}% ({done}/{total})", end=end,
              file=sys.stderr, flush=True)


def _parse_precisions(text: str) -> list[Any]:
    from ccbounds.errors import InvalidInputError

    out: list[Any] = []
    for tok in text.split(","):
        tok = tok.strip()
        if not tok:
            continue
        out.append(int(tok) if tok.isdigit() else tok)
    if not out:
        raise InvalidInputError("--precisions needs a comma-separated list such as 1,2,4,8,16,32 or fp16,bf16")
    return out


def cmd_audit(args: argparse.Namespace) -> int:
    from ccbounds.auditing import audit_checkpoint
    from ccbounds.errors import InvalidInputError

    if args.checkpoint and args.example:
        raise InvalidInputError("give a CHECKPOINT or --example NAME, not both")
    example = None
    if not args.checkpoint:
        from ccbounds.examples import DEFAULT_EXAMPLE

        from ccbounds.examples import example_path

        example = args.example or DEFAULT_EXAMPLE
        example_path(example)  # an unknown name fails here, before anything is printed
        print(f"auditing the bundled example {example!r} (see `ccbounds examples`)", file=sys.stderr)
    if args.samples < 1:
        raise InvalidInputError(f"--samples must be at least 1, got {args.samples}")
    for option, target in (("--json", args.json), ("--plot", args.plot)):
        if target and not Path(target).resolve().parent.is_dir():
            raise InvalidInputError(f"{option} {target!r}: its folder does not exist; pass a path in an existing folder")
    report, loaded = audit_checkpoint(args.checkpoint, example=example, spec=args.spec,
                                      trust_pickle=args.trust_pickle, device=args.device,
                                      precisions=_parse_precisions(args.precisions), samples=args.samples,
                                      seed=args.seed, witnesses=args.witnesses, progress=_ProgressBar("auditing"))
    print(loaded.describe())
    print()
    print(report)
    if args.json:
        _write_text(args.json, report.to_json() + "\n")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        fig = report.plot().figure
        try:
            fig.savefig(args.plot, dpi=120, bbox_inches="tight")
        except (OSError, ValueError) as e:
            raise InvalidInputError(f"cannot write the plot to {args.plot!r} ({e}); use a .png/.pdf/.svg path") from e
        print(f"wrote {args.plot}", file=sys.stderr)
    return report.exit_status


def cmd_train(args: argparse.Namespace) -> int:
    from ccbounds.training import config_from_args, train_to_checkpoint

    config = config_from_args(args)
    bar = _ProgressBar(f"training {config.arch} on {config.task} (n={config.n})")
    result = train_to_checkpoint(config, args.output, progress=lambda step, total, loss: bar(step, total))
    print(result)
    print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_examples(args: argparse.Namespace) -> int:
    from ccbounds.examples import DEFAULT_EXAMPLE, list_examples

    for info in list_examples():
        mark = "*" if info.name == DEFAULT_EXAMPLE else " "
        print(f"{mark} {info}")
    print("(* = audited by `ccbounds audit` with no argument; audit another with --example NAME)")
    return EXIT_OK


# -- parser ----------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ccbounds",
        description="Communication-complexity lower bounds for sequence models: problems, exact bounds, "
        "reductions of RNNs and one-layer Transformers to one-way protocols, and audits of checkpoints. "
        "All numbers are in bits.",
    )
    from ccbounds import __version__

    parser.add_argument("--version", action="version", version=f"ccbounds {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("problems", help="list the communication problems")
    p.set_defaults(func=cmd_problems)

    p = sub.add_parser("bounds", help="every lower/upper bound for a problem or a 0/1 matrix",
                       description="Bounds on D(f) and its relatives, each with direction, model, method, "
                       "witness and source. Example: ccbounds bounds eq --n 3 --exact")
    p.add_argument("problem", nargs="?", help="problem name: index, eq, disj, gt, ip")
    p.add_argument("--n", type=int, help="input length n")
    p.add_argument("--q", type=int, help="alphabet size (index only)")
    p.add_argument("--matrix", metavar="FILE.csv", help="a 0/1 matrix instead of a named problem")
    p.add_argument("--exact", action="store_true", help="also compute partition/cover numbers and exact D by SAT")
    p.add_argument("--time-limit", type=float, metavar="S",
                   help="seconds for each exact computation (default 10); exact D past it prints the certified "
                   "interval lower <= D <= upper and exits 4")
    p.add_argument("--json", metavar="PATH", help="write the full report as JSON")
    p.set_defaults(func=cmd_bounds)

    p = sub.add_parser("budget", help="bit budget of an architecture: message bits vs the lower bound, largest n",
                       description="Lemma R / Lemma T without weights: S*b message bits against D^{A->B}(f). "
                       "Example: ccbounds budget lstm --width 64 --precision 8 --problem index --n 1024")
    p.add_argument("arch", help="rnn, gru, lstm, tf1 or tf2")
    p.add_argument("--width", type=int, required=True, help="hidden size / d_model")
    p.add_argument("--heads", type=int, default=1, help="attention heads (tf1)")
    p.add_argument("--layers", type=int, default=1, help="recurrent layers")
    p.add_argument("--precision", type=int, default=32, help="bits per scalar b (default 32)")
    p.add_argument("--problem", default="index", help="index, eq or disj (default index)")
    p.add_argument("--n", type=int, required=True, help="input length n")
    p.add_argument("--eps", type=float, default=0.0, help="allowed average error (INDEX/DISJ); default 0 = exact")
    p.add_argument("--json", metavar="PATH", help="write the report as JSON")
    p.set_defaults(func=cmd_budget)

    p = sub.add_parser("audit", help="audit a checkpoint: message bits, accuracy, certified information, witnesses",
                       description="Reduce a trained model to its one-way protocol, quantize the message at each "
                       "precision, and compare with the lower bound (SPEC §6). Exit 0: consistent; 3: violation; "
                       "1: error. With no CHECKPOINT, audits a bundled example.")
    p.add_argument("checkpoint", nargs="?", help="a .pt or .safetensors checkpoint (default: a bundled example)")
    p.add_argument("--example", metavar="NAME", help="audit a bundled example (see `ccbounds examples`)")
    p.add_argument("--spec", metavar="FILE", help="JSON/TOML spec for a foreign state_dict: task, n, token ids")
    p.add_argument("--precisions", default="1,2,4,8,16,32",
                   help="bits per scalar (32 = the model's float32) and/or fp16,bf16,fp8e4m3,fp8e5m2")
    p.add_argument("--samples", type=int, default=4096, help="Alice inputs K (default 4096)")
    p.add_argument("--seed", type=int, default=0, help="seed of the audited inputs (same seed, same report)")
    p.add_argument("--witnesses", type=int, default=5, help="collision witnesses to list")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow unpickling Python objects from the file (ONLY for files you trust)")
    p.add_argument("--json", metavar="PATH", help="write the full report as JSON")
    p.add_argument("--plot", metavar="PATH", help="save accuracy and bits against precision as an image")
    p.set_defaults(func=cmd_audit)

    from ccbounds.training.config import add_train_arguments

    p = sub.add_parser("train", help="train a reference model on a task (CPU) and write a ccbounds checkpoint",
                       description="Deterministic training of a reference classifier; the exact command is stored "
                       "in the checkpoint's metadata. Example: ccbounds train --arch lstm --task index-lookup "
                       "--n 8 --width 32 --steps 500 -o lstm.pt")
    add_train_arguments(p)
    p.set_defaults(func=cmd_train)

    from ccbounds.experiments import add_experiment_arguments, main_experiment

    p = sub.add_parser("experiment", help="reproducible experiments (the [BHBK] separations in small)")
    esub = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    q = esub.add_parser("separations",
                        help="train tf1/LSTM/GRU on index lookup and Dyck-(2,2); accuracy vs S*b vs the CC bound",
                        description="Example: ccbounds experiment separations --ns 4,8,16,32 --seed 0 -o separations.json")
    add_experiment_arguments(q)
    q.set_defaults(func=main_experiment)

    p = sub.add_parser("examples", help="list the bundled example checkpoints")
    p.set_defaults(func=cmd_examples)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ccbounds`` command; returns the exit code."""
    from ccbounds.errors import CCBoundsError

    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_OK
    try:
        return func(args)
    except CCBoundsError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
