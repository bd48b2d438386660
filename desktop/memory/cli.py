"""alma-translate memory: look at, export, import and edit the translation memory (docs/post_editing.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from alma_core.languages import LANGUAGES
from desktop.memory.store import (
    MEMORY_MIN_PAIRS,
    MemoryFileError,
    MemoryWriteError,
    TranslationMemory,
    default_memory_path,
)

PROG = "alma-translate memory"
# 0 done; 1 `remove` found no such sentence; 2 bad input or a memory that cannot be written.
EXIT_USAGE = 2
EXPORT_SUFFIXES = (".tmx", ".jsonl")


class UsageError(Exception):
    """Bad input: one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print the usage and sys.exit(2)
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--memory", type=Path, metavar="FILE",
                        help=f"the memory's SQLite file (default {default_memory_path()})")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    commands.add_parser("stats", help="units per language pair and where the file is")

    export = commands.add_parser("export", help="write the memory as TMX 1.4 (or, for FILE.jsonl, tuning data)")
    export.add_argument("file", type=Path, metavar="FILE.tmx")
    _language_options(export, required=False)

    imported = commands.add_parser("import", help="add the units of a TMX file (a source already there is replaced)")
    imported.add_argument("file", type=Path, metavar="FILE.tmx")
    _language_options(imported, required=True)

    remove = commands.add_parser("remove", help="forget the stored translation of one source sentence")
    _language_options(remove, required=True)
    remove.add_argument("sentence", metavar="SENTENCE")
    return parser


def _language_options(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--from", dest="src", required=required, metavar="xx", help="source language code")
    parser.add_argument("--to", dest="tgt", required=required, metavar="yy", help="target language code")


def _check_language(option: str, code: str | None) -> str | None:
    if code is None:
        return None
    code = code.strip().lower()
    if code not in LANGUAGES:
        raise UsageError(f"{option} {code!r} is not a known language code (known: {', '.join(sorted(LANGUAGES))})")
    return code


def _stats(memory: TranslationMemory) -> int:
    counts = memory.counts()
    print(f"translation memory: {memory.path}")
    print(f"{sum(counts.values())} units")
    for (src, tgt), n in counts.items():
        tune = "" if n >= MEMORY_MIN_PAIRS else f" (tuning on corrections needs {MEMORY_MIN_PAIRS})"
        print(f"  {src}-{tgt}\t{n}{tune}")
    return 0


def _export(memory: TranslationMemory, path: Path, src: str | None, tgt: str | None) -> int:
    suffix = path.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise UsageError(f"{path}: export writes a .tmx (TMX 1.4) or a .jsonl (tuning data) file")
    written = memory.export_tmx(path, src, tgt) if suffix == ".tmx" else memory.export_jsonl(path, src, tgt)
    which = f" ({src or '*'}-{tgt or '*'})" if src or tgt else ""
    print(f"{written} units{which} -> {path}", file=sys.stderr)
    return 0


def _import(memory: TranslationMemory, path: Path, src: str, tgt: str) -> int:
    if src == tgt:
        raise UsageError(f"--from and --to are both {src!r}")
    stored = memory.import_tmx(path, src, tgt)
    print(f"{stored} units ({src}-{tgt}) from {path} -> {memory.path}", file=sys.stderr)
    return 0


def _remove(memory: TranslationMemory, src: str, tgt: str, sentence: str) -> int:
    if memory.remove(src, tgt, sentence):
        print(f"removed ({src}-{tgt}): {sentence.strip()}", file=sys.stderr)
        return 0
    print(f"{PROG}: no {src}-{tgt} unit with that source sentence in {memory.path}", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        src = _check_language("--from", getattr(args, "src", None))
        tgt = _check_language("--to", getattr(args, "tgt", None))
        if args.memory is not None and args.memory.is_dir():
            raise UsageError(f"--memory {args.memory}: is a folder; give the memory's file name")
        with TranslationMemory(args.memory) as memory:
            if args.command == "stats":
                return _stats(memory)
            if args.command == "export":
                return _export(memory, args.file, src, tgt)
            if args.command == "import":
                return _import(memory, args.file, src, tgt)
            return _remove(memory, src, tgt, args.sentence)
    except (UsageError, MemoryFileError, MemoryWriteError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
