"""translate_document: a document in, its translation written beside it (or where asked), atomically.

Two passes (count, then write to a temporary file that replaces the target when complete); docs/translate.md.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Protocol

from desktop.documents.base import DocumentError, DocumentFormat
from desktop.documents.docx_format import DocxFormat
from desktop.documents.html_format import HtmlFormat
from desktop.documents.inline_markup import TaggedText, strip_tags, translate_tagged
from desktop.documents.markdown_format import MarkdownFormat
from desktop.documents.odt_format import OdtFormat
from desktop.documents.po_format import PoFormat
from desktop.documents.pptx_format import PptxFormat
from desktop.documents.subtitle_format import SubtitleFormat
from desktop.documents.text_format import PlainTextFormat
from desktop.documents.xliff_format import XliffFormat
from desktop.documents.xlsx_format import XlsxFormat
from desktop.engine.batch_decode import DEFAULT_SEQUENCES as DEFAULT_BATCH
from desktop.engine.translator import TranslationCancelled, Translator
from desktop.terminology import TermEntry, Terms

FORMATS: tuple[DocumentFormat, ...] = (
    PlainTextFormat(), MarkdownFormat(), DocxFormat(), SubtitleFormat(), HtmlFormat(), PoFormat(), XliffFormat(),
    PptxFormat(), XlsxFormat(), OdtFormat(),
)
_BY_EXTENSION = {ext: fmt for fmt in FORMATS for ext in fmt.extensions}
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(sorted(_BY_EXTENSION))

Progress = Callable[[int, int, float | None], None]
# Receives every (source, translation) segment pair of a job, e.g. for a TMX (desktop.documents.tmx_out).
PairSink = Callable[[str, str], None]
CancelCheck = threading.Event | Callable[[], bool] | None
# Told about each sentence whose glossary terms were not all placed: (sentence number from 1, source, entries).
MissingTerms = Callable[[int, str, list[TermEntry]], None]
# Progress callbacks at most this often (and always for the last segment): a 100k-segment
# document must not flood a GUI's event queue.
_PROGRESS_INTERVAL_S = 0.05


class SupportsTranslate(Protocol):
    def translate(self, text: str, src: str, tgt: str, cancel: CancelCheck = None) -> str: ...


def format_for(path: Path) -> DocumentFormat:
    """The format reading `path`, by its extension; DocumentError for an unsupported one."""
    fmt = _BY_EXTENSION.get(path.suffix.lower())
    if fmt is None:
        raise DocumentError(
            f"{path}: unsupported file type {path.suffix or '(no extension)'!r} "
            f"(supported: {', '.join(SUPPORTED_EXTENSIONS)})"
        )
    return fmt


def output_path_for(source: Path, src: str, tgt: str) -> Path:
    """name.<tgt>.ext beside the source; a source named name.<src>.ext becomes name.<tgt>.ext."""
    stem = source.stem
    if stem.lower().endswith(f".{src.lower()}"):
        stem = stem[: -len(src) - 1]
    return source.with_name(f"{stem}.{tgt}{source.suffix}")


def _cancelled(cancel: CancelCheck) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if isinstance(cancel, threading.Event) else bool(cancel())


def translate_document(path: Path | str, engine: SupportsTranslate, src: str, tgt: str,
                       output: Path | str | None = None, progress: Progress | None = None,
                       cancel: CancelCheck = None, overwrite: bool = False,
                       pairs: PairSink | None = None, terms: Terms | None = None,
                       missing_terms: MissingTerms | None = None,
                       batch: int = DEFAULT_BATCH) -> Path:
    """Translate a document from src to tgt keeping its structure; returns the written file's path.

    output defaults to name.<tgt>.ext beside the source, and is never the source itself.
    progress(done, total, eta_seconds) follows the segments; cancel (an Event or a callable) stops
    the work with TranslationCancelled and leaves no output file. Bad input raises DocumentError.
    overwrite: bilingual formats (XLIFF) replace existing targets too. pairs(source, translation) is
    called for every translated segment (inline tags removed), e.g. to write a TMX.
    terms: glossary and do-not-translate terms and their strategy (desktop.terminology.Terms);
    missing_terms(sentence number from 1, source, entries) is called for
    every sentence whose terms were not all placed (a segment with inline markup, or one served whole
from the translation memory, counts as one sentence).
An engine with a translation memory (`engine.memory`, desktop.memory.store.TranslationMemory) serves a plain
segment found there whole before splitting it into sentences, so a corrected multi-sentence segment
(the Documents view's review table) comes out as corrected.
    batch: sentences decoded together before writing (the engine's prefetch); 1 or less: one at a
    time as the document is written (an engine with translate() only is always one at a time).
    """
    source = Path(path)
    fmt = format_for(source)
    if hasattr(fmt, "configured"):  # bilingual formats check languages, mark MT, keep or replace targets
        model_path = getattr(engine, "model_path", None)
        fmt = fmt.configured(src, tgt, overwrite=overwrite, model_name=Path(model_path).name if model_path else None)
    if not source.is_file():
        raise DocumentError(f"{source}: no such file")
    target = Path(output) if output is not None else output_path_for(source, src, tgt)
    if target.resolve() == source.resolve():
        raise DocumentError(f"{source}: the output would overwrite the source; choose another output")
    if not target.parent.is_dir():
        raise DocumentError(f"{target}: the output folder does not exist")

    total = total_chars = 0
    plain: list[str] = []  # the segments without inline markup: what a batch can decode ahead
    for text in fmt.segments(source):
        total += 1
        total_chars += len(text)
        if not isinstance(text, TaggedText) and _segment_from_memory(engine, text, src, tgt) is None:
            plain.append(text)  # (a segment the memory holds whole is not decoded ahead)
        if total % 4096 == 0 and _cancelled(cancel):
            raise TranslationCancelled("translation cancelled")
    if total == 0:
        raise DocumentError(f"{source}: nothing to translate (the document is empty or has no text)")

    term_options: dict = {} if terms is None else {"terms": terms}
    sentence_number = 0

    def note_missing(source: str, missing: list[TermEntry]) -> None:
        nonlocal sentence_number
        sentence_number += 1
        if missing and missing_terms is not None:
            missing_terms(sentence_number, source, missing)

    done = done_chars = 0
    started = last_report = time.monotonic()
    if progress:
        progress(0, total, None)
    batched = batch > 1 and isinstance(engine, Translator)
    ready = 0  # segments whose sentences the batch pass has translated: progress counts them as done

    def on_ready(_: int) -> None:
        nonlocal ready, last_report
        ready += 1
        now = time.monotonic()
        if progress and now - last_report >= _PROGRESS_INTERVAL_S:
            last_report = now
            progress(min(ready, total), total, (now - started) / ready * (total - ready))


    def translate_segment(text: str) -> str:
        nonlocal done, done_chars, last_report
        if _cancelled(cancel):
            raise TranslationCancelled("translation cancelled")
        # The user's correction of the whole segment first: the engine looks up sentence by sentence,
        # so a multi-sentence segment corrected in the review table would never match there.
        remembered = _segment_from_memory(engine, text, src, tgt) if not isinstance(text, TaggedText) else None
        if remembered is not None:
            translation = remembered
            if terms is not None:
                note_missing(text.strip(), terms.missing(text.strip(), translation.strip()))
        elif isinstance(text, TaggedText):  # a sentence with inline markup: translated whole, tags put back
            translation = translate_tagged(text, lambda t: engine.translate(t, src, tgt, cancel=cancel,
                                                                            **term_options),
                                           names=text.names).text
            if terms is not None:
                note_missing(strip_tags(text), terms.missing(strip_tags(text), strip_tags(translation)))
        elif terms is not None:
            report = engine.translate_report(text, src, tgt, cancel=cancel, **term_options)
            translation = report.text
            for sentence in report.sentences:
                note_missing(sentence.source, sentence.missing)
        else:
            translation = engine.translate(text, src, tgt, cancel=cancel)
        if pairs is not None:
            tagged = isinstance(text, TaggedText)
            pairs(strip_tags(text) if tagged else text, strip_tags(translation) if tagged else translation)
        done += 1
        done_chars += len(text)
        now = time.monotonic()
        if progress and (done == total or now - last_report >= _PROGRESS_INTERVAL_S) and done >= ready:
            last_report = now
            # Time per character so far predicts the rest better than time per segment.
            eta = (now - started) / done_chars * (total_chars - done_chars) if done_chars else None
            progress(done, total, eta)
        return translation

    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:  # a read-only or full folder: say which output, not the temporary name
        raise DocumentError(_write_error(source, target, exc)) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        # Every sentence the model must translate, decoded together before the writing pass.
        ahead = (engine.prefetch(plain, src, tgt, cancel=(lambda: _cancelled(cancel)), on_text=on_ready,
                                 terms=terms, max_sequences=batch) if batched else nullcontext())
        with ahead:
            fmt.write(source, tmp, translate_segment)
        shutil.copymode(source, tmp)  # mkstemp made it private; the output is as readable as its source
        os.replace(tmp, target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not _is_about(exc, source):
            raise DocumentError(_write_error(source, target, exc)) from exc
        raise
    return target


def _segment_from_memory(engine: SupportsTranslate, text: str, src: str, tgt: str) -> str | None:
    """The memory's translation of the whole segment, with the segment's leading and trailing whitespace
    kept (the memory stores stripped text), or None: no memory, no match, or a memory that cannot be
    read (like the engine's own lookup, a broken memory must not stop the document)."""
    memory = getattr(engine, "memory", None)
    stripped = text.strip()
    if memory is None or not stripped:
        return None
    try:
        found = memory.lookup(src, tgt, stripped)
    except (OSError, sqlite3.Error) as exc:
        warnings.warn(f"translation memory skipped: {exc}", RuntimeWarning, stacklevel=2)
        return None
    if found is None:
        return None
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()):]
    return f"{lead}{found}{trail}"


def _is_about(exc: OSError, path: Path) -> bool:
    return exc.filename is not None and Path(exc.filename) == path


def _write_error(source: Path, target: Path, exc: OSError) -> str:
    """Disk full, file too large, read-only folder: one line naming the output and what is safe."""
    reason = exc.strerror or str(exc)
    kept = f" and the earlier {target.name}" if target.exists() else ""
    return f"{target}: cannot write the translation ({reason}); {source.name}{kept} left unchanged"
