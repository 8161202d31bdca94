"""``ccbounds audit``: a checkpoint (or a bundled example) against the lower bound of its problem."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ccbounds.cli._common import progress_bar, write_text

__all__ = ["add_command", "parse_precisions"]


def parse_precisions(text: str) -> list[Any]:
    """``"1,2,fp16"`` -> the :class:`~ccbounds.quantize.Precision` list of :func:`ccbounds.quantize.parse_precisions`
    (ints 1..31 fixed point, 32 = fp32, names float formats: one meaning everywhere)."""
    from ccbounds.errors import InvalidInputError
    from ccbounds.quantize import parse_precisions as parse

    if not text.replace(",", "").strip():
        raise InvalidInputError("--precisions needs a comma-separated list such as 1,2,4,8,16,32 or fp16,bf16")
    return parse(text)


def cmd_audit(args: argparse.Namespace) -> int:
    from ccbounds.auditing import audit_checkpoint
    from ccbounds.errors import InvalidInputError

    if args.checkpoint and args.example:
        raise InvalidInputError("give a CHECKPOINT or --example NAME, not both")
    from ccbounds.auditing.runner import MAX_SAMPLES

    if not 1 <= args.samples <= MAX_SAMPLES:
        raise InvalidInputError(f"--samples must be in 1..{MAX_SAMPLES} (MAX_SAMPLES), got {args.samples}")
    if args.seed < 0 or args.seed >= 2**63:
        raise InvalidInputError(f"--seed must be an integer in 0..2^63-1, got {args.seed}")
    if args.witnesses < 0:
        raise InvalidInputError(f"--witnesses must be 0 or more, got {args.witnesses}")
    for option, target in (("--json", args.json), ("--plot", args.plot)):
        if target and not Path(target).resolve().parent.is_dir():
            raise InvalidInputError(f"{option} {target!r}: its folder does not exist; pass a path in an existing "
                                    f"folder")
        if target and Path(target).is_dir():
            raise InvalidInputError(f"{option} {target!r} is a folder; pass a file path in it, e.g. "
                                    f"{str(Path(target) / ('audit.json' if option == '--json' else 'audit.png'))!r}")
    if args.plot and Path(args.plot).suffix.lower() not in (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".eps"):
        raise InvalidInputError(f"--plot {args.plot!r} has no image suffix, so matplotlib would write "
                                f"{args.plot + '.png'!r} instead; pass a path ending .png, .pdf or .svg")
    if (args.model or args.model_kwargs) and not args.checkpoint:
        raise InvalidInputError("--model MODULE:CALLABLE loads a CHECKPOINT into your code; pass the checkpoint too")
    if args.model_kwargs and not args.model:
        raise InvalidInputError("--model-kwargs needs --model MODULE:CALLABLE")
    precisions = parse_precisions(args.precisions)
    from ccbounds.devices import resolve_device

    resolve_device(args.device)
    example = None
    if not args.checkpoint:
        from ccbounds.examples import DEFAULT_EXAMPLE, example_path

        example = args.example or DEFAULT_EXAMPLE
        example_path(example)  # an unknown name fails here, before anything is printed
        print(f"auditing the bundled example {example!r} (see `ccbounds examples`)", file=sys.stderr)
    report, loaded = audit_checkpoint(args.checkpoint, example=example, spec=args.spec,
                                      trust_pickle=args.trust_pickle, device=args.device,
                                      model=args.model, model_kwargs=args.model_kwargs,
                                      precisions=precisions, samples=args.samples,
                                      seed=args.seed, witnesses=args.witnesses, progress=progress_bar("auditing"))
    print(loaded.describe())
    print()
    print(report.text(wide=args.wide))
    if args.json:
        write_text(args.json, report.to_json() + "\n")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from ccbounds.plotting import add_caption

        fig = report.plot(label=example or Path(args.checkpoint).name)
        add_caption(fig, fig.caption)
        try:
            fig.savefig(args.plot, dpi=120, bbox_inches="tight")
        except (OSError, ValueError) as e:
            raise InvalidInputError(f"cannot write the plot to {args.plot!r} ({e}); use a .png/.pdf/.svg path") from e
        print(f"wrote {args.plot}", file=sys.stderr)
    status = report.exit_status
    print(f"exit status {status}" + (" (a violation: see the rows above)" if status else " (no violation)"))
    return status


def add_command(sub: Any) -> None:
    """Register ``audit`` on the subparsers ``sub``."""
    p = sub.add_parser("audit", help="audit a checkpoint: message bits, accuracy, certified information, witnesses",
                       description="Reduce a trained model to its one-way protocol, quantize the message at each "
                       "precision, and compare with the lower bound (theory §6). Exit 0: consistent; 3: violation; "
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
    p.add_argument("--model", metavar="MODULE:CALLABLE",
                   help="build the model with your code (importable from the working directory) and load the "
                   "state_dict into it: the audit runs your real forward")
    p.add_argument("--model-kwargs", metavar="JSON", help="keyword arguments of --model, as a JSON object")
    p.add_argument("--wide", action="store_true",
                   help="every column of the table, even where it is wider than the terminal")
    p.add_argument("--json", metavar="PATH", help="write the full report as JSON")
    p.add_argument("--plot", metavar="PATH", help="save accuracy and bits against precision as an image")
    p.set_defaults(func=cmd_audit)
