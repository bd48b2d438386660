"""DocumentJob: one document translated in steps (count, prefetch, segments, write) into its output file,
atomically, or into a stream (docs/translate.md, "Documents")."""

from __future__ import annotations

import io
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from alma_core.atomic import atomic_path
from desktop.documents.base import DocumentError, DocumentFormat, TextSource
from desktop.documents.formats import format_for, output_path_for
from desktop.documents.inline_markup import TaggedText, first_input, strip_tags, translate_tagged
from desktop.engine.batch_decode import DEFAULT_SEQUENCES as DEFAULT_BATCH
from desktop.engine.translator import CancelCheck, TranslationCancelled, TranslationReport, Translator
from desktop.terminology.missing import MissingTermReporter
from desktop.terminology.terms import Terms

# progress(done, total, eta_seconds): segments done of the document's total.
Progress = Callable[[int, int, float | None], None]
# Receives every (source, translation) segment pair of a job, e.g. for a TMX (desktop.documents.tmx_out).
PairSink = Callable[[str, str], None]
# cut(segment, sentence): a sentence of the document's segment number `segment` (from 1, in document order)
# whose translation stopped at its token limit (its end may be missing); inline tags removed.
CutSink = Callable[[int, str], None]
# Progress callbacks at most this often (and always for the last segment): a 100k-segment
# document must not flood a GUI's event queue.
_PROGRESS_INTERVAL_S = 0.05
# The counting pass checks for a cancel every this many segments.
_CANCEL_EVERY = 4096


@dataclass(frozen=True)
class JobOptions:
    """How a document is translated.

    output: the file to write, or an existing folder for the default name in it; None: name.<tgt>.ext
    beside the source (never the source itself). overwrite: bilingual formats (XLIFF, .po) translate
    units that have a translation already too. terms: the direction's glossary and do-not-translate terms with their strategy.
    batch: sentences decoded together before writing (1: one at a time, as the document is written).
    pairs(source, translation): every translated segment, inline tags removed (for a TMX).
    progress(done, total, eta_seconds), cancel (an Event or a callable: TranslationCancelled, no output
    left), missing_terms: told about each sentence whose terms were not all placed; cut(segment, sentence):
    told about each sentence whose translation stopped at its token limit, with its segment's number.
    """

    src: str
    tgt: str
    output: Path | None = None
    overwrite: bool = False
    terms: Terms | None = None
    batch: int = DEFAULT_BATCH
    pairs: PairSink | None = None
    progress: Progress | None = None
    cancel: CancelCheck = None
    missing_terms: MissingTermReporter | None = None
    cut: CutSink | None = None


def _cancelled(cancel: CancelCheck) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if isinstance(cancel, threading.Event) else bool(cancel())


@dataclass(frozen=True)
class _Count:
    """The counting pass: how many segments and characters, the segments without inline markup (what the
    memory is asked about and a batch can decode ahead), and what the tagged ones show the model first (decoded
    ahead too), in document order."""

    total: int
    chars: int
    plain: list[str]
    shown: list[str]


class DocumentJob:
    """A document and how to translate it: the format is looked up and the output decided here, once;
    DocumentError for an unsupported, missing or unwritable one.

    run(engine) does the steps in order: count() reads the segments; output() opens where the
    translation goes (first, so an unwritable output fails before any decoding); prefetch(engine) asks
    the translation memory about each plain segment once and decodes the others ahead, yielding the
    Segments that translate them one by one; write() walks the document again through them.
    """

    def __init__(self, source: Path | str | TextSource, options: JobOptions) -> None:
        self.source: Path | TextSource = source if isinstance(source, TextSource) else Path(source)
        self.options = options
        self.format: DocumentFormat = format_for(self.source)
        self.output_path: Path | None = self._decide_output()
        self._count: _Count | None = None

    def _decide_output(self) -> Path | None:
        source, output = self.source, self.options.output
        if isinstance(source, TextSource):
            return output  # text has no file beside it: written to a stream unless output names one
        if not source.is_file():
            raise DocumentError(f"{source}: no such file")
        default = output_path_for(source, self.options.src, self.options.tgt)
        if output is None:
            target = default
        elif output.is_dir():
            target = output / default.name
        else:
            target = output
        if target.resolve() == source.resolve():
            raise DocumentError(f"{source}: the output would overwrite the source; choose another output")
        if not target.parent.is_dir():
            raise DocumentError(f"{target}: the output folder does not exist")
        return target

    def configured_format(self, model_name: str | None = None) -> DocumentFormat:
        """The format as this job reads and writes it (XLIFF: languages checked, targets kept or replaced,
        the model named in its notes)."""
        options = self.options
        return self.format.configured(options.src, options.tgt, overwrite=options.overwrite, model_name=model_name)

    # -- step 1: count ---------------------------------------------------------------------------

    def count(self) -> int:
        """The segments to translate (0: nothing in the document to translate, the format's why_empty
        says why); read once, then kept. Decoding errors surface here, before anything is written."""
        if self._count is None:
            total = chars = 0
            plain: list[str] = []
            shown: list[str] = []
            for text in self.configured_format().segments(self.source):
                total += 1
                chars += len(text)
                if not isinstance(text, TaggedText):
                    plain.append(text)
                elif (first := first_input(text, text.names, literals=text.literals)) is not None:
                    shown.append(first)
                if total % _CANCEL_EVERY == 0 and _cancelled(self.options.cancel):
                    raise TranslationCancelled("translation cancelled")
            self._count = _Count(total, chars, plain, shown)
        return self._count.total

    def _counted(self) -> _Count:
        if self.count() == 0:
            raise DocumentError(f"{self.source}: {self.configured_format().why_empty(self.source)}")
        assert self._count is not None
        return self._count

    # -- step 2: prefetch ------------------------------------------------------------------------

    @contextmanager
    def prefetch(self, engine: Translator) -> Iterator[Segments]:
        """The translation memory asked about each plain segment once (a match serves the segment whole,
        so a corrected multi-sentence segment comes out as corrected); the other plain segments decoded
        ahead in batches (batch > 1, the engine's prefetch). Yields the job's Segments, for write()."""
        counted = self._counted()
        options = self.options
        remembered = _remembered(engine, counted.plain, options.src, options.tgt)
        segments = Segments(self, engine, remembered)
        ahead = [text for text in counted.plain if text not in remembered]
        plain_ahead = len(ahead)
        ahead += counted.shown  # a tagged segment's first model input; progress counts it when it is written

        def ready(index: int) -> None:
            if index < plain_ahead:
                segments.ready(index)

        decoding: AbstractContextManager[int] = nullcontext(0)
        if options.batch > 1 and ahead:
            decoding = engine.prefetch(ahead, options.src, options.tgt, cancel=lambda: _cancelled(options.cancel),
                                       on_text=ready, terms=options.terms, max_sequences=options.batch)
        with decoding:
            yield segments

    # -- step 4: write ---------------------------------------------------------------------------

    @contextmanager
    def output(self, out: BinaryIO | None = None) -> Iterator[BinaryIO]:
        """Where write() writes: a hidden sibling of the output file that replaces it only when the block
        succeeds (as readable as the source), or, given `out`, a buffer that goes to that stream whole
        once the block succeeds. A failure to write (disk full, read-only folder) is a DocumentError
        naming the output; an error reading the source is left as it is, for the caller to name."""
        if out is not None:
            buffer = io.BytesIO()
            yield buffer
            out.write(buffer.getvalue())
            return
        target = self.output_path
        if target is None:
            raise ValueError(f"{self.source}: no output file; give JobOptions.output or a stream")
        source_file = self.source if isinstance(self.source, Path) else None
        try:
            with atomic_path(target, mode_from=source_file) as staging, staging.open("wb") as handle:
                yield handle
        except OSError as exc:
            if source_file is not None and exc.filename is not None and Path(exc.filename) == source_file:
                raise
            raise DocumentError(_write_error(self.source, target, exc)) from exc

    def write(self, segments: Segments, out: BinaryIO) -> None:
        """Walk the document again, each segment through `segments`, writing the translation to `out`."""
        self.configured_format(segments.model_name).write(self.source, out, segments)

    def run(self, engine: Translator, out: BinaryIO | None = None) -> Path | None:
        """count, output, prefetch, write: the translated file's path (None when written to `out`)."""
        self._counted()
        with self.output(out) as handle, self.prefetch(engine) as segments:
            self.write(segments, handle)
        return self.output_path if out is None else None


class Segments:
    """Step 3: the job's segments translated one by one as the format's writer asks for them: a memory
    match whole, a segment with inline markup through translate_tagged, the rest through the engine;
    progress, pairs and missing terms told as they go."""

    def __init__(self, job: DocumentJob, engine: Translator, remembered: dict[str, str]) -> None:
        counted = job._count
        assert counted is not None
        self.options = job.options
        self.engine = engine
        self.model_name = Path(engine.model_path).name
        self.remembered = remembered
        self.total, self.total_chars = counted.total, counted.chars
        self.done = self.done_chars = 0
        self.ready_count = 0  # segments whose sentences the batch has decoded: progress counts them as done
        self.started = self.last_report = time.monotonic()
        if self.options.progress:
            self.options.progress(0, self.total, None)

    def ready(self, _: int) -> None:
        """The engine's prefetch decoded every sentence of one more segment."""
        self.ready_count += 1
        now = time.monotonic()
        progress = self.options.progress
        if progress and now - self.last_report >= _PROGRESS_INTERVAL_S:
            self.last_report = now
            done = self.ready_count
            progress(min(done, self.total), self.total, (now - self.started) / done * (self.total - done))

    def __call__(self, text: str) -> str:
        options, engine = self.options, self.engine
        src, tgt, terms, cancel = options.src, options.tgt, options.terms, options.cancel
        reporter = options.missing_terms if terms is not None else None
        if _cancelled(cancel):
            raise TranslationCancelled("translation cancelled")
        tagged = isinstance(text, TaggedText)
        remembered = None if tagged else self.remembered.get(text)
        if remembered is not None:
            translation = remembered
            if reporter is not None:
                reporter.sentence(text.strip(), terms.missing(text.strip(), translation.strip()))
        elif tagged:  # a sentence with inline markup: translated whole, tags put back
            translation = translate_tagged(text, self._reported, names=text.names, literals=text.literals).text
            if reporter is not None:
                reporter.sentence(strip_tags(text), terms.missing(strip_tags(text), strip_tags(translation)))
        elif terms is not None or options.cut is not None:  # the report says what was cut and placed
            report = engine.translate_report(text, src, tgt, cancel=cancel, terms=terms)
            translation = report.text
            self._tell_cut(report)
            if reporter is not None:
                reporter.sentences_of(report.sentences)
        else:
            translation = engine.translate(text, src, tgt, cancel=cancel)
        if options.pairs is not None:
            options.pairs(strip_tags(text) if tagged else text, strip_tags(translation) if tagged else translation)
        self._advance(len(text))
        return translation

    def _reported(self, sentence: str) -> str:
        """One text through the engine's report (what translate_tagged sends: the tagged text as HTML)."""
        options = self.options
        if options.cut is None:
            return self.engine.translate(sentence, options.src, options.tgt, cancel=options.cancel,
                                         terms=options.terms)
        report = self.engine.translate_report(sentence, options.src, options.tgt, cancel=options.cancel,
                                              terms=options.terms)
        self._tell_cut(report, tagged=True)
        return report.text

    def _tell_cut(self, report: TranslationReport, tagged: bool = False) -> None:
        if self.options.cut is not None:
            for sentence in report.truncated:  # the segment being translated is the next one done
                self.options.cut(self.done + 1, strip_tags(sentence.source) if tagged else sentence.source)

    def _advance(self, chars: int) -> None:
        self.done += 1
        self.done_chars += chars
        now = time.monotonic()
        progress = self.options.progress
        if progress and (self.done == self.total or now - self.last_report >= _PROGRESS_INTERVAL_S) \
                and self.done >= self.ready_count:
            self.last_report = now
            # Time per character so far predicts the rest better than time per segment.
            eta = ((now - self.started) / self.done_chars * (self.total_chars - self.done_chars)
                   if self.done_chars else None)
            progress(self.done, self.total, eta)


def _remembered(engine: Translator, plain: list[str], src: str, tgt: str) -> dict[str, str]:
    """The memory's translations of whole segments, asked once per distinct segment: segment -> its
    translation with the segment's own leading and trailing whitespace (the memory stores stripped
    text). A memory that cannot be read is skipped, as the engine's own lookup does."""
    memory = engine.memory
    found: dict[str, str] = {}
    if memory is None:
        return found
    for text in dict.fromkeys(plain):
        stripped = text.strip()
        if not stripped:
            continue
        try:
            translation = memory.lookup(src, tgt, stripped)
        except (OSError, sqlite3.Error) as exc:
            warnings.warn(f"translation memory skipped: {exc}", RuntimeWarning, stacklevel=2)
            continue
        if translation is not None:
            lead = text[: len(text) - len(text.lstrip())]
            trail = text[len(text.rstrip()):]
            found[text] = f"{lead}{translation}{trail}"
    return found


def _write_error(source: Path | TextSource, target: Path, exc: OSError) -> str:
    """Disk full, file too large, read-only folder: one line naming the output and what is safe."""
    reason = exc.strerror or str(exc)
    kept = f" and the earlier {target.name}" if target.exists() else ""
    name = source.name if isinstance(source, Path) else str(source)
    return f"{target}: cannot write the translation ({reason}); {name}{kept} left unchanged"
