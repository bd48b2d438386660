"""A request's work on the model: the jobs /translate and /translate_file put on the queue, and run_job,
which queues one and waits for it (docs/api.md, "How it is built")."""

from __future__ import annotations

import asyncio
import io
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request

from alma_core.languages import LANGUAGES
from desktop.api.errors import ApiError
from desktop.api.jobs import ModelQueue, QueueFull, ShuttingDown
from desktop.api.language_id import detect_language
from desktop.documents import (
    DocumentError,
    DocumentJob,
    JobOptions,
    TextSource,
    TranslationCancelled,
    output_path_for,
)
from desktop.terminology import TermEntry, Terms
from desktop.terminology.missing import MissingTermReporter
from desktop.terminology.sources import EntryList, direction_terms

# How much of a document's text decides its language for source "auto".
_DETECT_CHARS = 2000
# How often a request waiting on the model checks that its client is still connected.
_DISCONNECT_POLL_S = 0.5
# One text's terms_missing items (MissingTermReporter.as_json).
MissingJson = list[dict[str, Any]]


async def run_job(request: Request, models: ModelQueue, job: Callable[[Any, Callable[[], bool]], Any],
                  scrub: tuple[str, str] | None = None) -> Any:
    """Queue job on the model and wait for it; its failures as LibreTranslate's answers.

    A client that hangs up (a timeout, a closed tab) takes its job with it: dropped while it
    waits, stopped at the next token while it runs, so the model is not kept busy for nobody.
    """
    gone = threading.Event()
    try:
        future: Future = models.submit(job, cancel=gone)
    except QueueFull as exc:
        raise ApiError(429, f"Slowdown: {exc}; try again shortly") from None
    except ShuttingDown as exc:
        raise ApiError(503, str(exc)) from None
    waiting = asyncio.wrap_future(future)
    try:
        while not (await asyncio.wait({waiting}, timeout=_DISCONNECT_POLL_S))[0]:
            if await request.is_disconnected():
                gone.set()
                future.cancel()
        return await waiting
    except asyncio.CancelledError:
        if not gone.is_set():  # the server task itself was cancelled: let it end
            raise
        raise ApiError(503, "the request was cancelled: the client went away") from None
    except (ShuttingDown, TranslationCancelled):
        # The server stops, or the client left (then nobody reads this answer).
        raise ApiError(503, "the server is shutting down" if models.stopping.is_set()
                       else "the request was cancelled: the client went away") from None
    except DocumentError as exc:
        message = str(exc)
        if scrub:  # the client knows its file by its own name, not by the server's temporary path
            message = message.replace(*scrub)
        raise ApiError(400, message) from None
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 (any failure of the engine is a 500 with its reason)
        raise ApiError(500, f"Cannot translate text: {exc}") from None


def term_base(server_terms: Any, request_terms: list[TermEntry], src: str, tgt: str) -> Terms | None:
    """The server's terms for src->tgt, then the request's (which win), as Terms (the default
    strategy); None if none."""
    terms = direction_terms([server_terms, EntryList(request_terms)], src, tgt)
    return Terms(terms) if len(terms) else None


def translate_text(engine: Any, text: str, src: str, tgt: str, text_format: str,
                   should_stop: Callable[[], bool], terms: Terms | None = None,
                   missing: MissingTermReporter | None = None, alternatives: list[str] | None = None,
                   wanted: int = 0, cut: list[str] | None = None) -> str:
    """One q item: plain text through the engine, or HTML through the documents' HTML format.

    terms: a desktop.terminology.Terms; each sentence goes to `missing` (numbered from 1). wanted > 0:
    up to that many other translations of plain text go to `alternatives` (none for HTML, as in
    LibreTranslate). Each sentence whose translation stopped at its token limit goes to `cut`.
    """
    if text_format == "text":
        report = engine.translate_report(text, src, tgt, cancel=should_stop, terms=terms, alternatives=wanted)
        if missing is not None and terms is not None:
            missing.sentences_of(report.sentences)
        if alternatives is not None:
            alternatives.extend(text_alternatives(report, wanted))
        if cut is not None:
            cut.extend(sentence.source for sentence in report.truncated)
        return report.text
    # The HTML format of desktop.documents (tags, attributes, scripts and entities kept) on the
    # fragment, read and written in memory, so /translate and /translate_file treat markup the same way.
    job = DocumentJob(TextSource(text, "q", ".html"), JobOptions(
        src, tgt, terms=terms, cancel=should_stop, missing_terms=missing if terms is not None else None,
        cut=None if cut is None else lambda _segment, sentence: cut.append(sentence)))
    if job.count() == 0:
        return text  # markup only: nothing for the model
    out = io.BytesIO()
    job.run(engine, out)
    return out.getvalue().decode("utf-8")


def text_alternatives(report: Any, count: int) -> list[str]:
    """Up to `count` other translations of a whole text from its report (translate_report with
    alternatives=count): the k-th puts each sentence's k-th alternative in that sentence's place (its
    own translation where it has fewer), whitespace and untranslated parts as they are; distinct,
    never report.text. For one sentence these are the engine's n-best, best first."""
    found: list[str] = []
    for k in range(count):
        if not any(len(sentence.alternatives) > k for sentence in report.sentences):
            break
        pieces: list[str] = []
        at = 0
        for sentence in report.sentences:
            pieces.append(report.text[at:sentence.target_start])
            pieces.append(sentence.alternatives[k] if len(sentence.alternatives) > k else sentence.translation)
            at = sentence.target_end
        pieces.append(report.text[at:])
        text = "".join(pieces)
        if text != report.text and text not in found:
            found.append(text)
    return found


@dataclass(frozen=True)
class TextsJob:
    """/translate's job: each text from its source (None: returned as it is), with its missing terms
    and, when asked, up to `alternatives` other translations."""

    texts: list[str]
    sources: list[str | None]
    target: str
    text_format: str
    server_terms: Any
    request_terms: list[TermEntry]
    alternatives: int = 0

    def __call__(self, engine: Any, should_stop: Callable[[], bool],
                 ) -> tuple[list[str], list[MissingJson], list[list[str]], list[bool]]:
        """The translations and, for each text, its terms_missing items, its alternatives and whether a
        sentence of it stopped at its token limit (its end may be missing)."""
        translated: list[str] = []
        missing: list[MissingJson] = []
        others: list[list[str]] = []
        truncated: list[bool] = []
        for text, src in zip(self.texts, self.sources, strict=True):
            reporter = MissingTermReporter()
            alternatives: list[str] = []
            cut: list[str] = []
            if src is None:
                translated.append(text)
            else:
                terms = term_base(self.server_terms, self.request_terms, src, self.target)
                translated.append(translate_text(engine, text, src, self.target, self.text_format,
                                                 should_stop, terms, reporter, alternatives, self.alternatives, cut))
            missing.append(reporter.as_json())
            others.append(alternatives)
            truncated.append(bool(cut))
        return translated, missing, others, truncated


@dataclass(frozen=True)
class DocumentFileJob:
    """/translate_file's job: the uploaded document (in its own `work` folder, removed after) translated
    into the translated files' folder; returns the name it is served under."""

    source_path: Path  # alone in its folder, which the job removes
    name: str  # the client's (safe) file name
    fmt: Any  # its desktop.documents format
    source: str  # a code or "auto"
    target: str
    folder: Path
    file_id: str
    server_terms: Any

    def __call__(self, engine: Any, should_stop: Callable[[], bool]) -> str:
        try:
            src = self.source if self.source != "auto" else self._detected_source()
            out_name = f"{self.file_id}.{output_path_for(Path(self.name), src, self.target).name}"
            options = JobOptions(src, self.target, output=self.folder / out_name, cancel=should_stop,
                                 terms=term_base(self.server_terms, [], src, self.target))
            DocumentJob(self.source_path, options).run(engine)
            return out_name
        finally:
            shutil.rmtree(self.source_path.parent, ignore_errors=True)

    def _detected_source(self) -> str:
        sample = []
        for text in self.fmt.segments(self.source_path):
            sample.append(text)
            if sum(map(len, sample)) > _DETECT_CHARS:
                break
        src = detect_language("\n".join(sample))["language"]
        if src == self.target:
            raise DocumentError(f"{self.name}: the document is in {LANGUAGES[self.target]} already")
        return src
