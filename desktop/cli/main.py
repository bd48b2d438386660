"""alma-translate: translate text or documents locally with a GGUF model, stdin to stdout or each FILE beside
itself as name.<tgt>.ext (docs/translate.md, "Command line")."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from alma_core.interrupts import run_interruptible
from alma_core.languages import LANGUAGES, UnknownLanguageError, language_name
from alma_core.models import (
    DefaultModelMissingError,
    default_gguf_path,
    is_model_path,
    resolve_translation_model,
)
from desktop.api.cli import main as serve_main
from desktop.memory.cli import main as memory_main
from desktop.memory.store import TranslationMemory
from desktop.terminology import GlossaryError, Terms
from desktop.terminology.missing import MissingTermReporter, warn_each
from desktop.terminology.sources import load_terms
from desktop.terminology.store import read_app_glossaries
from desktop.terminology.terms import DEFAULT_STRATEGY, STRATEGIES

EXIT_USAGE = 2
DEFAULT_BATCH = 16  # desktop.engine.batch_decode.DEFAULT_SEQUENCES (not imported: --help stays light)
MAX_BATCH = 64
# --alternatives N: at most this many (each takes a beam; beams share one extra KV cache).
MAX_ALTERNATIVES = 16
EXIT_INTERRUPTED = 130  # SIGINT; SIGTERM gives 143, SIGHUP 129 (alma_core.interrupts)


class UsageError(Exception):
    """Bad arguments or input: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    from desktop.documents import SUPPORTED_EXTENSIONS

    parser = argparse.ArgumentParser(
        prog="alma-translate", description=__doc__.split("\n\n")[0],
        epilog=f"document types: {' '.join(SUPPORTED_EXTENSIONS)}. "
               "alma-translate serve: the local LibreTranslate-compatible API (serve --help). "
               "alma-translate memory: the translation memory (memory --help)",
    )
    parser.add_argument("files", nargs="*", type=Path, help="documents to translate (default: stdin)")
    parser.add_argument("-m", "--model", type=Path,
                        help="GGUF model (default: $ALMA_LOCAL_DEFAULT_MODEL, else the translator `make model` "
                             "built, else the best installed base, zero-shot; see --print-model) or a bundle folder")
    parser.add_argument("--print-model", action="store_true",
                        help="print the path of the GGUF that would be used (with -m: that one) and exit")
    parser.add_argument("--from", dest="src", help="source language code, e.g. de")
    parser.add_argument("--to", dest="tgt", help="target language code, e.g. en")
    parser.add_argument("-o", "--output", help="output file, - for stdout, or a folder for several files")
    parser.add_argument("--list-languages", action="store_true", help="print the language codes and exit")
    parser.add_argument("--threads", type=int, help="CPU threads for llama.cpp (default: up to 8)")
    parser.add_argument("--gpu-layers", default="auto",
                        help="layers to offload to the GPU: a number, or auto (all when llama.cpp has GPU support)")
    parser.add_argument("--max-new-tokens", type=int, default=256, help="token limit per sentence (default 256)")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, metavar="N",
                        help=f"documents: sentences decoded together (default {DEFAULT_BATCH}; 1: one at a time)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the translation cache")
    parser.add_argument("--overwrite", action="store_true",
                        help="XLIFF and .po: translate the units that have a translation already too "
                             "(default: only untranslated ones are filled)")
    parser.add_argument("--tmx", type=Path, metavar="FILE",
                        help="also write every translated segment pair of the run to this TMX file")
    parser.add_argument("--glossary", action="append", type=Path, default=[], metavar="FILE",
                        help="terms to translate a fixed way: TSV, CSV or TBX (repeatable; later files win)")
    parser.add_argument("--do-not-translate", action="append", type=Path, default=[], metavar="FILE",
                        help="terms to keep as they are, one a line, case-sensitive (repeatable)")
    parser.add_argument("--app-glossaries", action="store_true",
                        help="also use the app's glossaries switched on for --from/--to (its Glossaries tab); "
                             "--glossary and --do-not-translate files come after them and win")
    parser.add_argument("--term-strategy", choices=STRATEGIES, default=DEFAULT_STRATEGY,
                        help=f"how glossary terms are put into the translation (default {DEFAULT_STRATEGY}; "
                             "see docs/terminology.md)")
    parser.add_argument("--details", action="store_true",
                        help="stdin only: print one JSON object per sentence (JSON Lines): source, "
                             "translation, confidence (0..1), alternatives, origin (model, cache or memory), "
                             "truncated (the translation stopped at its token limit)")
    parser.add_argument("--alternatives", type=int, metavar="N",
                        help=f"stdin only: also up to N other translations per sentence (beam search n-best, "
                             f"best first, 1..{MAX_ALTERNATIVES}); implies --details")
    parser.add_argument("--no-memory", action="store_true",
                        help="do not serve sentences from the translation memory (alma-translate memory)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no file summary")
    return parser


def _check_arguments(args: argparse.Namespace) -> None:
    if not args.src or not args.tgt:
        raise UsageError("both --from and --to are required (see --list-languages)")
    try:
        language_name(args.src)
        language_name(args.tgt)
    except UnknownLanguageError as exc:
        raise UsageError(str(exc)) from None
    if args.src == args.tgt:
        raise UsageError(f"--from and --to are both {args.src!r}")
    if args.gpu_layers != "auto" and not args.gpu_layers.lstrip("-").isdigit():
        raise UsageError(f"--gpu-layers {args.gpu_layers!r}: a number or auto")
    if args.max_new_tokens is not None and args.max_new_tokens < 1:
        raise UsageError("--max-new-tokens must be at least 1")
    if not 1 <= args.batch <= MAX_BATCH:
        raise UsageError(f"--batch {args.batch}: must be 1 to {MAX_BATCH}")
    if args.alternatives is not None:
        if not 1 <= args.alternatives <= MAX_ALTERNATIVES:
            raise UsageError(f"--alternatives {args.alternatives}: give a number from 1 to {MAX_ALTERNATIVES}")
        args.details = True
    if args.details and args.files:
        raise UsageError("--details and --alternatives work on text from stdin, not on documents "
                         f"(given: {args.files[0]})")
    if args.model is not None and not is_model_path(args.model):
        raise UsageError(f"{args.model}: no such model file or bundle folder")
    if len(args.files) > 1 and args.output is not None and not Path(args.output).is_dir():
        raise UsageError(f"-o {args.output}: with several files, -o must be an existing folder")
    if args.tmx is not None:
        if not args.files:
            raise UsageError("--tmx needs documents to translate (stdin is not collected)")
        if args.tmx.is_dir():
            raise UsageError(f"--tmx {args.tmx}: is a folder; give a file name, e.g. {args.tmx}/run.tmx")
        if not args.tmx.absolute().parent.is_dir():
            raise UsageError(f"--tmx {args.tmx}: the folder {args.tmx.absolute().parent} does not exist")
        if any(args.tmx.resolve() == path.resolve() for path in args.files):
            raise UsageError(f"--tmx {args.tmx}: is one of the documents to translate")


def _load_terms(args: argparse.Namespace):
    """The Terms of --app-glossaries, --glossary and --do-not-translate with --term-strategy, or None;
    a bad file is a UsageError, an unreadable app glossary a warning."""
    before = [read_app_glossaries(_warn)] if args.app_glossaries else []
    try:
        base = load_terms(args.glossary, args.do_not_translate, args.src, args.tgt, before=before)
    except GlossaryError as exc:
        raise UsageError(str(exc)) from None
    return Terms.of(base, args.term_strategy)


def _warn(message: str) -> None:
    print(f"alma-translate: warning: {message}", file=sys.stderr)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


class _CutWarnings:
    """A warning line for each sentence whose translation stopped at its token limit (its end may be
    missing), naming where it is: stdin and its line (as the engine's on_truncated), or a document and
    its segment's number (as the document job's `cut`, which counts the segments)."""

    EXCERPT = 60  # characters of the sentence quoted

    def __init__(self, max_new_tokens: int) -> None:
        self.max_new_tokens = max_new_tokens
        self.name = "stdin"
        self.line = 0  # stdin's line being translated (0: a document, whose job tells its own)

    def __call__(self, source: str, _translation: str) -> None:
        if self.line:
            self.warn(f"{self.name}: line {self.line}", source)

    def document(self, name: str) -> Callable[[int, str], None]:
        """A DocumentJob's `cut`: the document's name and the segment's number."""
        return lambda segment, source: self.warn(f"{name}: segment {segment}", source)

    def warn(self, where: str, source: str) -> None:
        excerpt = source
        if len(source) > self.EXCERPT:  # cut at a blank, so no word is quoted half
            head = source[:self.EXCERPT + 1]
            excerpt = (head.rsplit(None, 1)[0] if " " in head.strip() else head[:self.EXCERPT]) + "…"
        _stderr(f"{where}: translation stopped at its token limit and may be cut "
                f"(--max-new-tokens {self.max_new_tokens}): {excerpt!r}")


class _ProgressBar:
    """A document's progress bar on stderr (tqdm), opened at its first report and closed after it."""

    def __init__(self, name: str, quiet: bool) -> None:
        self.name = name
        self.quiet = quiet
        self.bar = None

    def __call__(self, done: int, total: int, eta: float | None) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(desc=self.name, unit="seg", file=sys.stderr, disable=True if self.quiet else None,
                            leave=False)
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class FileFailed(Exception):
    """One FILE that cannot be translated: reported as one line naming it; the other files go on."""


def _document_job(path: Path, args: argparse.Namespace, terms, tmx, cut: _CutWarnings):
    """The DocumentJob of one FILE: its format and output decided here (a bad one is FileFailed)."""
    from desktop.documents import DocumentError, DocumentJob, JobOptions

    if path.is_dir():
        raise FileFailed(f"{path}: is a folder; give the documents in it (e.g. {path}/*.docx)")
    if not path.is_file():
        raise FileFailed(f"{path}: no such file")
    output = None if args.output in (None, "-") else Path(args.output)
    options = JobOptions(args.src, args.tgt, output=output, overwrite=args.overwrite, terms=terms,
                         batch=args.batch, pairs=tmx, progress=_ProgressBar(path.name, args.quiet),
                         missing_terms=warn_each(str(path), _stderr) if terms else None,
                         cut=cut.document(str(path)))
    try:
        return DocumentJob(path, options)
    except DocumentError as exc:
        raise FileFailed(str(exc)) from None


def _print_model(args: argparse.Namespace) -> int:
    """--print-model: the GGUF's path on stdout (how it was chosen on stderr, unless -q); exit 0, or 2."""

    if args.model is not None:
        if not is_model_path(args.model):
            print(f"alma-translate: error: {args.model}: no such model file or bundle folder", file=sys.stderr)
            return EXIT_USAGE
        print(args.model.absolute())
        return 0
    try:
        choice = resolve_translation_model()
    except DefaultModelMissingError as exc:
        print(f"alma-translate: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(choice.path)
    if not args.quiet:
        print(f"alma-translate: {choice.description}", file=sys.stderr)
    return 0


def _load_memory(args: argparse.Namespace):
    """The user's translation memory, or None with --no-memory."""
    if args.no_memory:
        return None
    try:
        return TranslationMemory()
    except (OSError, sqlite3.Error) as exc:  # an unusable memory never stops a translation
        print(f"alma-translate: warning: translation memory not used: {exc}", file=sys.stderr)
        return None


def _load_engine(args: argparse.Namespace):
    from desktop.engine import ModelLoadError, TranslationEngine

    gpu_layers = args.gpu_layers if args.gpu_layers == "auto" else int(args.gpu_layers)
    try:
        # The model is decided here, once: -m, else the default (alma_core.models).
        model = Path(args.model) if args.model else default_gguf_path()
    except DefaultModelMissingError as exc:
        raise UsageError(str(exc)) from None
    try:
        return TranslationEngine(model, n_threads=args.threads, n_gpu_layers=gpu_layers,
                                 max_new_tokens=args.max_new_tokens, cache=not args.no_cache,
                                 memory=_load_memory(args))
    except ModelLoadError as exc:
        raise UsageError(str(exc)) from None


def sentence_details(sentence) -> dict:
    """--details' JSON object for one SentenceReport."""
    confidence = None if sentence.confidence is None else round(sentence.confidence, 4)
    return {"source": sentence.source, "translation": sentence.translation, "confidence": confidence,
            "alternatives": list(sentence.alternatives), "origin": sentence.origin,
            "truncated": sentence.truncated}


def _stdin_lines(cut: _CutWarnings):
    """stdin's lines, `cut` told which one is being translated; text that is not in stdin's encoding
    is a usage error naming stdin."""
    try:
        for number, line in enumerate(sys.stdin, 1):
            cut.name, cut.line = "stdin", number
            yield line
    except UnicodeDecodeError as exc:
        raise UsageError(f"stdin: not {sys.stdin.encoding} text ({exc.reason})") from None


def _stdin_reports(engine, src: str, tgt: str, cut: _CutWarnings, terms=None, alternatives: int = 0):
    """Each stdin line's TranslationReport as soon as the line is done (so a pipe sees it at once and
    memory stays flat); glossary terms a sentence misses are warned with the sentence's number."""
    reporter: MissingTermReporter = warn_each("stdin", _stderr)
    for line in _stdin_lines(cut):
        report = engine.translate_report(line, src, tgt, terms=terms, alternatives=alternatives)
        yield report
        reporter.sentences_of(report.sentences)


def _details_stdin(engine, src: str, tgt: str, alternatives: int, cut: _CutWarnings, terms=None) -> None:
    """--details: a JSON object a sentence, a line each, as soon as each input line is done."""
    for report in _stdin_reports(engine, src, tgt, cut, terms, alternatives):
        for sentence in report.sentences:
            sys.stdout.write(json.dumps(sentence_details(sentence), ensure_ascii=False) + "\n")
        sys.stdout.flush()


def _translate_stdin(engine, src: str, tgt: str, cut: _CutWarnings, terms=None) -> None:
    if terms is not None:
        for report in _stdin_reports(engine, src, tgt, cut, terms):
            sys.stdout.write(report.text)
            sys.stdout.flush()
        return
    # Without a glossary the translation streams piece by piece, as the model writes it.
    for line in _stdin_lines(cut):
        for piece in engine.iter_translate(line, src, tgt):
            sys.stdout.write(piece)
        sys.stdout.flush()


def _translate_file(engine, job, args: argparse.Namespace, cut: _CutWarnings) -> None:
    """One FILE: written beside itself (or to -o), or to stdout whole once done (-o -); FileFailed for
    bad input, an output that cannot be written or a source that became unreadable."""
    from desktop.documents import DocumentError

    cut.name, cut.line = str(job.source), 0
    try:
        written = None
        if args.output == "-":
            job.run(engine, out=sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            written = job.run(engine)
    except DocumentError as exc:  # bad input, and also a full disk or read-only output folder
        raise FileFailed(str(exc)) from None
    except BrokenPipeError:
        raise
    except OSError as exc:  # e.g. the source became unreadable half-way: one line, no traceback
        raise FileFailed(f"{exc.filename or job.source}: {exc.strerror or exc}") from None
    finally:
        job.options.progress.close()
    if not args.quiet:
        if written is not None:
            print(f"{job.source} -> {written}", file=sys.stderr)
        if job.format.note:  # e.g. a PDF written as .docx: what the translation does not keep
            print(f"alma-translate: note: {job.source}: {job.format.note}", file=sys.stderr)


def _error(message: str) -> None:
    print(f"alma-translate: error: {message}", file=sys.stderr)


def _make_jobs(args: argparse.Namespace, terms, tmx, cut: _CutWarnings) -> tuple[list, list[Path]]:
    """The jobs of the FILEs that can be made, and the FILEs that cannot (each reported as it is found)."""
    jobs, failed = [], []
    for path in args.files:
        try:
            jobs.append(_document_job(path, args, terms, tmx, cut))
        except FileFailed as exc:
            _error(str(exc))
            failed.append(path)
    return jobs, failed


def _translate_files(engine, jobs: list, args: argparse.Namespace, cut: _CutWarnings) -> list[Path]:
    """Each job in turn; one that fails is reported and the rest go on. The FILEs that failed."""
    failed = []
    for job in jobs:
        try:
            _translate_file(engine, job, args, cut)
        except FileFailed as exc:
            _error(str(exc))
            failed.append(job.source)
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["serve"]:  # the local API (a file named serve: ./serve)
        return serve_main(argv[1:])
    if argv[:1] == ["memory"]:  # the translation memory: stats, export, import, remove
        return memory_main(argv[1:])
    args = build_parser().parse_args(argv)
    # SIGTERM/SIGHUP/SIGINT raise through the document's atomic write, so its .part file is removed.
    return run_interruptible("alma-translate", lambda: _run(args), message="no partial output was kept")


def _run(args: argparse.Namespace) -> int:
    if args.list_languages:
        for code, name in LANGUAGES.items():
            print(f"{code}\t{name}")
        return 0
    if args.print_model:
        return _print_model(args)
    from desktop.documents import DocumentError

    try:
        _check_arguments(args)
        terms = _load_terms(args)
        tmx = None
        if args.tmx is not None:
            from desktop.documents.tmx_out import TmxCollector

            tmx = TmxCollector(args.src, args.tgt)
        # A FILE that is missing, a folder, of an unknown type or with an impossible output is reported
        # here, and the others go on; with none left, no model is loaded.
        # A translation that stops at its token limit is told, never silently shorter than its source.
        cut = _CutWarnings(args.max_new_tokens)
        jobs, failed = _make_jobs(args, terms, tmx, cut)
        if args.files and not jobs:
            return EXIT_USAGE
        engine = _load_engine(args)
        engine.on_truncated = cut
        message = engine.direction_warning(args.src, args.tgt)
        if message:
            print(f"alma-translate: warning: {message}", file=sys.stderr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the direction warning was printed once above
            if not args.files and args.details:
                _details_stdin(engine, args.src, args.tgt, args.alternatives or 0, cut, terms)
            elif not args.files:
                _translate_stdin(engine, args.src, args.tgt, cut, terms)
            if tmx is not None:
                tmx.model_name = Path(engine.model_path).name  # its header names the model
            failed += _translate_files(engine, jobs, args, cut)
            # Once every document is done, atomically; a run where a FILE failed writes none (the
            # memory would hold part of the run; a rerun takes the finished files from the cache).
            if tmx is not None and not failed:
                try:
                    tmx.write(args.tmx)
                except DocumentError as exc:
                    raise UsageError(str(exc)) from None
                if not args.quiet:
                    print(f"{len(tmx)} segment pairs -> {args.tmx}", file=sys.stderr)
        if failed:
            if len(args.files) > 1 and not args.quiet:
                print(f"alma-translate: {len(args.files) - len(failed)} of {len(args.files)} files translated; "
                      f"failed: {', '.join(str(path) for path in failed)}", file=sys.stderr)
            return EXIT_USAGE
    except UsageError as exc:
        print(f"alma-translate: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
