"""alma-translate: translate text or documents locally with a GGUF model.

stdin to stdout when no file is given; each FILE is written beside itself as name.<tgt>.ext
(never over the source) unless -o names the output ("-" for stdout).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from alma_train.languages import LANGUAGES, UnknownLanguageError, language_name

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alma-translate", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="documents to translate (default: stdin)")
    parser.add_argument("-m", "--model", type=Path, help="GGUF model (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--from", dest="src", help="source language code, e.g. de")
    parser.add_argument("--to", dest="tgt", help="target language code, e.g. en")
    parser.add_argument("-o", "--output", help="output file, or - for stdout (one input file only)")
    parser.add_argument("--list-languages", action="store_true", help="print the language codes and exit")
    return parser


def output_path_for(source: Path, tgt: str) -> Path:
    """name.<tgt>.ext beside the source (a source named name.<src>.ext keeps its stem)."""
    return source.with_name(f"{source.stem}.{tgt}{source.suffix}")


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list_languages:
        for code, name in LANGUAGES.items():
            print(f"{code}\t{name}")
        return 0
    try:
        if not args.src or not args.tgt:
            raise UnknownLanguageError("both --from and --to are required (see --list-languages)")
        language_name(args.src)
        language_name(args.tgt)
        if args.output and len(args.files) > 1:
            raise UnknownLanguageError("-o/--output takes one input file only")
        texts = []
        for path in args.files:
            try:
                texts.append(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise UnknownLanguageError(f"{path}: no such file") from None
            except UnicodeDecodeError as exc:
                raise UnknownLanguageError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        if args.model is not None and not args.model.is_file():
            raise UnknownLanguageError(f"{args.model}: no such model file")
    except UnknownLanguageError as exc:
        print(f"alma-translate: error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    from desktop.engine import TranslationEngine

    engine = TranslationEngine(args.model)
    if not args.files:
        sys.stdout.write(engine.translate(sys.stdin.read(), args.src, args.tgt))
        return 0
    for path, text in zip(args.files, texts, strict=True):
        result = engine.translate(text, args.src, args.tgt)
        if args.output == "-":
            sys.stdout.write(result)
            continue
        target = Path(args.output) if args.output else output_path_for(path, args.tgt)
        if target.resolve() == path.resolve():
            print(f"alma-translate: error: {target}: refusing to overwrite the source", file=sys.stderr)
            return EXIT_USAGE
        _write_atomic(target, result)
        print(f"{path} -> {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
