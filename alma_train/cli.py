"""alma-train: the command line of the training side.

Subcommands are registered by the modules that implement them; each gets its own parser so that
`alma-train SUB --help` documents it. Heavy imports happen inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: printed as one clear line, exit code 2, nothing written."""


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from alma_train.demo_data import build_demo_data

    summary = build_demo_data(Path(args.output), monolingual=not args.no_monolingual,
                              max_documents=args.max_documents)
    print(json.dumps(summary, indent=2))
    return 0


def _cmd_export_default(args: argparse.Namespace) -> int:
    from alma_train.default_model import export_default_hf

    path = export_default_hf(Path(args.output) if args.output else None, force=args.force)
    print(path)
    return 0


def _not_yet(name: str, issue: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        print(f"alma-train {name}: not implemented yet (tracked in {issue})", file=sys.stderr)
        return EXIT_USAGE

    return handler


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alma-train",
        description="ALMA fine-tuning: stage 1 (monolingual), stage 2 (parallel), merge, evaluate.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo-data", help="build the demo corpora (Django catalogs, Debian man pages)")
    demo.add_argument("--output", required=True, help="folder to write parallel/ and monolingual/ into")
    demo.add_argument("--no-monolingual", action="store_true", help="only the parallel corpus")
    demo.add_argument("--max-documents", type=int, default=150, help="man pages per language")
    demo.set_defaults(handler=_cmd_demo_data)

    export = sub.add_parser("export-default", help="export the default GGUF model to an HF directory")
    export.add_argument("--output", help="target folder (default: the user cache)")
    export.add_argument("--force", action="store_true", help="export again even if present")
    export.set_defaults(handler=_cmd_export_default)

    for name, issue, text in (
        ("stage1", "issue 3", "stage 1: monolingual causal-LM fine-tuning"),
        ("stage2", "issue 3", "stage 2: fine-tuning on human-written translations"),
        ("merge", "issue 3", "merge a LoRA adapter into its base model"),
        ("evaluate", "issue 7", "beam-search decoding and BLEU/chrF/COMET"),
    ):
        stub = sub.add_parser(name, help=f"{text} (not yet)")
        stub.set_defaults(handler=_not_yet(name, issue))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (UsageError, FileNotFoundError, ValueError) as exc:
        print(f"alma-train {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
