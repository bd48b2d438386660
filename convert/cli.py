"""alma-convert: merged HF model -> GGUF (direct or llama.cpp-quantized), peft LoRA -> GGUF adapter, verify,
import-gguf and trim-vocab; bad input is one line naming the file and exit 2 (docs/convert.md)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from alma_core.interrupts import run_interruptible
from alma_core.languages import UnknownLanguageError, parse_pair
from convert.errors import ConversionError, check_output_free
from convert.hf_to_gguf import DIRECT_TYPES, ConversionMetadata, convert_hf_to_gguf
from convert.import_gguf import import_gguf
from convert.lora_adapter import ADAPTER_TYPES, convert_lora
from convert.quantize import QUANTIZED_TYPES, quantize_gguf
from convert.trim_vocab import DEFAULT_KEEP_TOP, data_texts, open_gguf, trim_languages, trim_model
from convert.verify import verify_gguf

EXIT_USAGE = 2
EXIT_VERIFY_FAILED = 1
ALL_TYPES = [*DIRECT_TYPES, *QUANTIZED_TYPES]
SUBCOMMANDS = ("verify", "import-gguf", "trim-vocab", "lora")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alma-convert",
        description="Convert a merged HF model (LlamaForCausalLM, Gemma3ForCausalLM) to GGUF. Other commands: "
        "`alma-convert verify MODEL_DIR OUT.gguf`, `alma-convert import-gguf IN.gguf --output DIR`, "
        "`alma-convert lora ADAPTER_DIR --base BASE.gguf --output X.lora.gguf`.",
    )
    parser.add_argument(
        "model_dir", type=Path, help="HF model directory (config.json, safetensors, tokenizer)"
    )
    parser.add_argument("--output", "-o", type=Path, required=True, help="output .gguf file")
    parser.add_argument(
        "--type",
        default="f16",
        choices=ALL_TYPES,
        help="f32 f16 bf16 q8_0 are written directly; the others go through f16 and llama.cpp's quantizer",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    parser.add_argument("--name", help="general.name (default: the model directory's name)")
    parser.add_argument(
        "--language-pairs",
        default="",
        help="comma-separated directions the model was trained for, e.g. de-en,en-de (alma.language_pairs)",
    )
    parser.add_argument("--threads", type=int, default=None, help="quantizer threads (default: all cores)")
    parser.add_argument("--verbose", action="store_true", help="show llama.cpp's per-tensor quantization log")
    return parser


def build_verify_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alma-convert verify",
        description="Compare a GGUF with its HF model: token ids, then logits (max |diff|, top-1, mean KL).",
    )
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("gguf", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lora", type=Path, metavar="X.lora.gguf",
                        help="a GGUF LoRA adapter that llama.cpp applies to GGUF (needs --lora-source)")
    parser.add_argument("--lora-source", type=Path, metavar="ADAPTER_DIR",
                        help="the peft adapter folder --lora came from: merged into MODEL_DIR on the HF side")
    return parser


def build_lora_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alma-convert lora",
        description="Write a peft LoRA adapter folder (adapter_config.json + adapter_model.safetensors) as a "
        "llama.cpp GGUF LoRA adapter for the model BASE.gguf; every adapted tensor is checked against it. "
        "docs/convert.md",
    )
    parser.add_argument("adapter_dir", type=Path, help="peft adapter folder")
    parser.add_argument("--base", type=Path, required=True, metavar="BASE.gguf",
                        help="the GGUF the adapter will run on (its architecture and tensor shapes)")
    parser.add_argument("--output", "-o", type=Path, required=True, help="output .gguf file (e.g. de.lora.gguf)")
    parser.add_argument("--type", default="f16", choices=list(ADAPTER_TYPES),
                        help="type of the A and B matrices (default f16; q8_0 keeps f16 where a row is not "
                             "whole 32-value blocks)")
    parser.add_argument("--name", help="general.name (default: the adapter folder's name)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    return parser


def build_import_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alma-convert import-gguf",
        description="Write a dequantized HF model directory (fp32 safetensors + tokenizer) of a llama or gemma3 GGUF.",
    )
    parser.add_argument("gguf", type=Path)
    parser.add_argument("--output", "-o", type=Path, required=True, help="output HF model directory")
    parser.add_argument("--force", action="store_true", help="replace an existing output directory")
    return parser


def build_trim_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alma-convert trim-vocab",
        description="Write a GGUF that keeps only the tokens its languages use (a smaller, faster output "
        "layer); byte-fallback and special tokens stay, so any text still tokenizes. docs/translate.md",
    )
    parser.add_argument("gguf", type=Path)
    parser.add_argument("--data", type=Path, action="append", required=True, metavar="PATH",
                        help="jsonl file or folder of them (training/monolingual data) to measure token use "
                             "on (repeatable)")
    parser.add_argument("--output", "-o", type=Path, required=True, help="output .gguf file")
    parser.add_argument("--languages", default="",
                        help="language codes whose prompts must stay tokens (default: those of the "
                             "model's alma.language_pairs, else those of the data's parallel/ folders)")
    parser.add_argument("--keep-top", type=int, default=DEFAULT_KEEP_TOP,
                        help=f"also keep the N most frequent ordinary tokens (default {DEFAULT_KEEP_TOP})")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    return parser


def _language_pairs(text: str) -> list[str]:
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            src, tgt = parse_pair(item)
        except (UnknownLanguageError, ValueError) as error:
            raise ConversionError(f"--language-pairs: {item!r}: {error}") from error
        pairs.append(f"{src}-{tgt}")
    return pairs


def convert_model(args: argparse.Namespace) -> int:
    if args.model_dir.is_file() and args.model_dir.suffix == ".gguf":
        raise ConversionError(
            f"{args.model_dir} is already a GGUF; convert the HF model, or `alma-convert import-gguf` it first"
        )
    check_output_free(args.output, args.force)
    metadata = ConversionMetadata(name=args.name, language_pairs=_language_pairs(args.language_pairs))
    start = time.perf_counter()
    if args.type in DIRECT_TYPES:
        convert_hf_to_gguf(args.model_dir, args.output, args.type, metadata, force=args.force)
    else:
        # The f16 intermediate sits beside the output (same disk) and is removed in any case.
        f16 = args.output.with_name(f".{args.output.name}.{os.getpid()}.f16.gguf")
        try:
            convert_hf_to_gguf(args.model_dir, f16, "f16", metadata, force=True)
            quantize_gguf(
                f16, args.output, args.type, force=args.force, threads=args.threads, verbose=args.verbose
            )
        finally:
            f16.unlink(missing_ok=True)
    size_mb = args.output.stat().st_size / 1e6
    print(f"{args.output}: {args.type}, {size_mb:.1f} MB, {time.perf_counter() - start:.1f} s")
    return 0


def verify_command(args: argparse.Namespace) -> int:
    report = verify_gguf(args.model_dir, args.gguf, threads=args.threads, lora=args.lora,
                         lora_source=args.lora_source)
    print(report.summary())
    return 0 if report.passed else EXIT_VERIFY_FAILED


def lora_command(args: argparse.Namespace) -> int:
    result = convert_lora(args.adapter_dir, args.base, args.output, args.type, name=args.name, force=args.force)
    print(result.summary())
    return 0


def import_command(args: argparse.Namespace) -> int:
    out = import_gguf(args.gguf, args.output, force=args.force)
    print(out)
    return 0


def trim_command(args: argparse.Namespace) -> int:
    if args.keep_top < 0:
        raise ConversionError(f"--keep-top {args.keep_top}: must be 0 or more")
    if not args.gguf.is_file():
        raise ConversionError(f"{args.gguf}: no such model file")
    check_output_free(args.output, args.force)
    if args.languages:
        reader = None  # trim_model reads the model (slow) only once the data has been read
    else:
        # The model's alma.language_pairs say which prompts to keep, so it is read now: a bad data file
        # or line is named first all the same.
        for _ in data_texts(args.data):
            pass
        reader = open_gguf(args.gguf)
    languages = trim_languages(args.gguf, args.data, args.languages, reader=reader)
    result = trim_model(args.gguf, args.output, args.data, languages, keep_top=args.keep_top, force=args.force,
                        reader=reader)
    print(result.summary())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "verify":
        args, handler = build_verify_parser().parse_args(argv[1:]), verify_command
    elif argv and argv[0] == "import-gguf":
        args, handler = build_import_parser().parse_args(argv[1:]), import_command
    elif argv and argv[0] == "trim-vocab":
        args, handler = build_trim_parser().parse_args(argv[1:]), trim_command
    elif argv and argv[0] == "lora":
        args, handler = build_lora_parser().parse_args(argv[1:]), lora_command
    else:
        args, handler = build_parser().parse_args(argv), convert_model
    # SIGTERM/SIGHUP/SIGINT raise through alma_core.atomic, so no .tmp file or staging folder
    # is left and an existing output stays as it was; the quantizer child is killed (convert.quantize).
    return run_interruptible("alma-convert", lambda: _run(handler, args, argv))


def _run(handler, args: argparse.Namespace, argv: list[str]) -> int:
    try:
        return handler(args)
    except ModuleNotFoundError as error:
        if error.name not in ("torch", "transformers"):
            raise
        print(
            f"alma-convert: error: {argv[0] if argv else 'this command'} needs {error.name}: "
            "pip install 'alma-local[train]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except ConversionError as error:
        print(f"alma-convert: error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
