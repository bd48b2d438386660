"""`alma-train build-translator`: the default translator, as a bundle (`--bundle`, what `make model` runs) or as
one merged GGUF (docs/training.md#the-default-translator-make-model)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alma_core.models import default_translator_bundle_path, default_translator_path
from alma_train.add_language import ADAPTER_PRESET
from alma_train.build_bundle import BundleRequest, build_bundle
from alma_train.build_translator import BuildRequest, build_translator
from alma_train.data.demo_data import PAPER_LANGUAGES, parse_languages


def add_build_parser(sub) -> None:
    """Register `build-translator` on alma-train's subparsers."""
    parser = sub.add_parser(
        "build-translator", help="build the default translator: with --bundle (make model) a base and an adapter "
        "per language; without, one merged GGUF (train, merge, convert, evaluate)",
        description="Build the default translator on this machine and install it in the user model folder. "
        "With --bundle: the data of every language, the base trimmed to their vocabulary, an adapter per language "
        "(alma-train add-language), the bundle's evaluation, installed as a bundle folder. Without: stage 2 of one "
        "shared LoRA, merged, converted, trimmed, evaluated, installed as one GGUF. Resumable: run it again after "
        "an interruption.")
    parser.add_argument("--bundle", action="store_true",
                        help=f"build a bundle (default output: {default_translator_bundle_path()})")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"the GGUF to write (default: {default_translator_path()}), or with --bundle the "
                             "X.bundle folder")
    parser.add_argument("--base", default="default", help="base name (see `alma-train bases`) or HF model folder")
    parser.add_argument("--recipe", help="stage-2 preset or YAML file (default: translator-<base>; with --bundle "
                        f"each adapter's, default {ADAPTER_PRESET})")
    parser.add_argument("--work-dir", type=Path, help="work folder (default: in the user cache)")
    parser.add_argument("--data-dir", type=Path,
                        help="prepared data (as alma-train demo-data writes it; default: built in the work folder)")
    parser.add_argument("--type", dest="quant", default="q8_0", help="GGUF type (default q8_0; with --bundle the "
                        "base's, the adapters are f16)")
    parser.add_argument("--eval-limit", type=int, default=40,
                        help="segments per direction in the build's evaluation (default 40)")
    parser.add_argument("--eval-max-new-tokens", type=int, default=256, help="token limit per segment (256)")
    parser.add_argument("--max-steps", type=int, help="override the recipe's steps (with --bundle: per adapter)")
    parser.add_argument("--no-trim-vocab", dest="trim_vocab", action="store_false",
                        help="keep the base's whole vocabulary (default: keep the tokens the data and prompts "
                             "use, a smaller and faster model; SentencePiece bases only; not with --bundle)")
    parser.add_argument("--languages", metavar="CODES",
                        help="with --bundle: the languages whose training data chooses the base's vocabulary, "
                             "as demo-data's --languages (default all: any of them can be added later)")
    parser.add_argument("--adapter-languages", metavar="CODES",
                        help=f"with --bundle: one adapter each (default paper: {','.join(PAPER_LANGUAGES)})")
    parser.set_defaults(handler=_cmd_build)


def _cmd_build(args: argparse.Namespace) -> int:
    if args.eval_limit < 1 or args.eval_max_new_tokens < 1:
        raise ValueError("--eval-limit and --eval-max-new-tokens must be at least 1")
    from tqdm import tqdm

    # tqdm.write keeps these lines whole while the trainer's progress bar is on screen.
    def write(line: str) -> None:
        tqdm.write(line, file=sys.stderr)

    if not args.bundle and (args.languages or args.adapter_languages):
        raise ValueError("--languages and --adapter-languages choose a bundle's languages: add --bundle")
    if args.bundle:
        if not args.trim_vocab:
            raise ValueError("--no-trim-vocab: a bundle's base is always trimmed (to the vocabulary of --languages)")
        path = build_bundle(BundleRequest(
            output=args.output or default_translator_bundle_path(), base=args.base,
            recipe=args.recipe or ADAPTER_PRESET, work_dir=args.work_dir, data_dir=args.data_dir,
            languages=parse_languages(args.languages or "all"),
            adapter_languages=parse_languages(args.adapter_languages or "paper"),
            quant=args.quant, eval_limit=args.eval_limit, eval_max_new_tokens=args.eval_max_new_tokens,
            max_steps=args.max_steps), write=write)
    else:
        overrides = {"max_steps": args.max_steps} if args.max_steps is not None else {}
        path = build_translator(BuildRequest(
            output=args.output or default_translator_path(), base=args.base, recipe=args.recipe,
            work_dir=args.work_dir, data_dir=args.data_dir, quant=args.quant, eval_limit=args.eval_limit,
            eval_max_new_tokens=args.eval_max_new_tokens, overrides=overrides, trim_vocab=args.trim_vocab),
            write=write)
    print(path)
    return 0
