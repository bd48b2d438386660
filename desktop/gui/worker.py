"""The translation engine behind signals: a QObject in its own QThread, only the newest text request kept,
answers tagged with its id, the engine used through the Translator protocol (docs/gui.md, "How it is built")."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from alma_core.gguf_file import ModelLoadError
from alma_core.models import DefaultModelMissingError, default_gguf_path
from desktop.engine import (
    SentenceReport,
    TranslationCancelled,
    TranslationEngine,
    TranslationReport,
    split_segments,
)
from desktop.engine import Translator as Engine
from desktop.gui.settings import ModelOptions
from desktop.terminology import Terms
from desktop.terminology.missing import MissingTermReporter


@dataclass(frozen=True)
class ModelSpec:
    """Which model to load and how: None is the default model."""

    path: Path | None = None
    options: ModelOptions = field(default_factory=ModelOptions)


@dataclass(frozen=True)
class TranslationRequest:
    request_id: int
    text: str
    src: str
    tgt: str
    terms: Terms | None = None  # the glossaries on for src -> tgt, or None


@dataclass(frozen=True)
class MissingTerms:
    """A sentence of the translation whose glossary or do-not-translate terms were not placed:
    text[start:end] is its translation; terms are the TermEntry objects missing from it."""

    start: int
    end: int
    source: str
    terms: tuple


@dataclass(frozen=True)
class TranslationResult:
    request_id: int
    text: str
    seconds: float
    tokens: int  # tokens the model generated (0 when every sentence came from the cache)
    missing: tuple[MissingTerms, ...] = ()  # sentences with terms not placed (only with terms)
    # The engine's SentenceReports (spans in text and in the request's source, confidence, origin);
    # empty when the engine gives no report.
    sentences: tuple = ()
    src: str = ""  # the request's pair and text (the view's may have changed since)
    tgt: str = ""
    source_text: str = ""

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class AlternativesRequest:
    request_id: int
    sentence: str
    src: str
    tgt: str
    n: int


@dataclass(frozen=True)
class AlternativesResult:
    """The n-best translations of one sentence (best first, distinct), or the error that stopped them."""

    request_id: int
    sentence: str
    alternatives: tuple[str, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class ModelStatus:
    """A loaded model: the spec it came from, its file, metadata (engine.info), device and load time."""

    spec: ModelSpec
    path: Path
    info: dict
    device: str
    seconds: float


def gpu_layers_argument(n_gpu_layers: int) -> int | str:
    """The engine's n_gpu_layers for a stored option: -1 is "auto" (all layers on a GPU build)."""
    return "auto" if n_gpu_layers < 0 else n_gpu_layers


def describe_device(n_gpu_layers: int) -> str:
    """CPU, or the GPU back end llama.cpp was built with (CUDA, Metal, Vulkan) when layers go there."""
    import llama_cpp

    if n_gpu_layers == 0 or not llama_cpp.llama_supports_gpu_offload():
        return "CPU"
    system = llama_cpp.llama_print_system_info().decode(errors="replace")
    for backend in ("CUDA", "Metal", "Vulkan", "SYCL", "HIP"):
        if backend.upper() in system.upper():
            return backend
    return "GPU"


def locate_missing(report: TranslationReport) -> tuple[MissingTerms, ...]:
    """The sentences of an engine TranslationReport with missing terms, located in report.text."""
    reporter = MissingTermReporter()
    reporter.sentences_of(report.sentences, report.text)
    return tuple(MissingTerms(found.start, found.end, found.source, found.entries)
                 for found in reporter.found if found.start >= 0)


def locate_sentences(report: TranslationReport, source_text: str) -> tuple[SentenceReport, ...]:
    """report.sentences with their spans checked: text[source_start:source_end] is the sentence's source
    and report.text[target_start:target_end] its translation. Spans that do not hold (not filled, or
    wrong) are found from the segments: the translation is the source's segments with each sentence
    replaced by its translation, so walking both gives the exact map."""
    sentences = list(report.sentences)
    if all(_spans_hold(sentence, source_text, report.text) for sentence in sentences):
        return tuple(sentences)
    source_at = target_at = 0
    queue = iter(sentences)
    for segment in split_segments(source_text):
        if not segment.translatable:
            source_at += len(segment.text)
            target_at += len(segment.text)
            continue
        sentence = next(queue, None)
        if sentence is None:
            break
        sentence.source_start, sentence.source_end = source_at, source_at + len(segment.text)
        sentence.target_start, sentence.target_end = target_at, target_at + len(sentence.translation)
        source_at, target_at = sentence.source_end, sentence.target_end
    return tuple(sentences)


def _spans_hold(sentence: SentenceReport, source_text: str, target_text: str) -> bool:
    return (source_text[sentence.source_start:sentence.source_end] == sentence.source
            and target_text[sentence.target_start:sentence.target_end] == sentence.translation
            and sentence.source_end > sentence.source_start)


def load_engine(spec: ModelSpec) -> TranslationEngine:
    """Build a TranslationEngine for spec, the default model (alma_core.models) decided here when spec
    names none; ModelLoadError for a bad file or when there is no model at all."""
    try:
        path = spec.path if spec.path is not None else default_gguf_path()
    except DefaultModelMissingError as exc:
        raise ModelLoadError(str(exc)) from None
    return TranslationEngine(
        model_path=path, n_threads=spec.options.n_threads or None,
        n_gpu_layers=gpu_layers_argument(spec.options.n_gpu_layers),
    )


class _PendingRequest:
    """A one-slot mailbox: putting a request replaces whatever was waiting."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._request: TranslationRequest | None = None

    def put(self, request: TranslationRequest | None) -> None:
        with self._lock:
            self._request = request

    def take(self) -> TranslationRequest | None:
        with self._lock:
            request, self._request = self._request, None
            return request


class _EngineWorker(QObject):
    """Lives in the worker thread and owns the engine; every slot here runs off the GUI thread."""

    modelLoaded = Signal(object)  # ModelStatus
    modelError = Signal(str)
    partial = Signal(int, str)
    translationReady = Signal(object)  # TranslationResult
    cancelled = Signal(int)
    error = Signal(int, str)
    notice = Signal(int, str)  # e.g. the model was not trained for this direction
    idle = Signal(int)  # id of the last request taken

    alternativesReady = Signal(object)  # AlternativesResult

    def __init__(self, pending: _PendingRequest) -> None:
        super().__init__()
        self._pending = pending
        self._engine: Engine | None = None
        self.memory = None  # the app's TranslationMemory, handed to every engine loaded here
        self._running = threading.Event()
        # The running request's own cancel event: engine.cancel() would also stop a document the
        # Documents queue is translating on this same engine (helper D, issue 15 item 7).
        self._cancel_event = threading.Event()
        self._last_taken = 0

    @property
    def engine(self) -> Engine | None:
        """The loaded TranslationEngine (None until one is), shared with the Documents queue."""
        return self._engine

    def cancel_running(self) -> None:
        """Thread-safe: stop the translation now running, if any (only this worker's request)."""
        if self._running.is_set():
            self._cancel_event.set()

    @Slot(object)
    def load(self, spec: ModelSpec) -> None:
        started = time.perf_counter()
        try:
            engine = load_engine(spec)
        except Exception as exc:  # any load failure is shown in a dialog; the old model stays usable
            self.modelError.emit(_describe_load_error(spec, exc))
            return
        engine.memory = self.memory  # exact matches of the user's confirmed corrections come first
        self._engine = engine
        self.modelLoaded.emit(ModelStatus(
            spec=spec, path=Path(engine.model_path), info=dict(engine.info),
            device=describe_device(engine.n_gpu_layers), seconds=time.perf_counter() - started,
        ))

    def set_memory(self, memory) -> None:
        """Thread-safe (one attribute store): the memory the engine looks sentences up in first."""
        self.memory = memory
        if self._engine is not None:
            self._engine.memory = memory

    @Slot(object)
    def alternatives(self, request: AlternativesRequest) -> None:
        """The n-best of one sentence; queued on this thread, so it runs between translations."""
        engine = self._engine
        if engine is None:
            self.alternativesReady.emit(AlternativesResult(request.request_id, request.sentence,
                                                           error="no model is loaded"))
            return
        # Not marked running: typing in the source does not cancel it (one sentence is quick), and
        # the translation it asks for runs right after.
        try:
            found = engine.alternatives(request.sentence, request.src, request.tgt, n=request.n)
        except Exception as exc:  # reported to the window; the worker thread keeps serving
            self.alternativesReady.emit(AlternativesResult(request.request_id, request.sentence,
                                                           error=str(exc) or type(exc).__name__))
            return
        self.alternativesReady.emit(AlternativesResult(request.request_id, request.sentence, tuple(found)))

    @Slot()
    def work(self) -> None:
        while (request := self._pending.take()) is not None:
            self._last_taken = request.request_id
            self._translate(request)
        self.idle.emit(self._last_taken)

    def _translate(self, request: TranslationRequest) -> None:
        if self._engine is None:
            self.error.emit(request.request_id, "no model is loaded: pick one in the Models view")
            return
        started = time.perf_counter()
        tokens_before = self._engine.generated_tokens
        pieces: list[str] = []
        missing: tuple[MissingTerms, ...] = ()
        sentences: tuple = ()
        engine = self._engine
        terms = request.terms
        cancel = threading.Event()  # this request's: a cancel meant for it never reaches a document
        self._cancel_event = cancel
        self._running.set()
        try:
            warning = engine.direction_warning(request.src, request.tgt)
            if warning:
                self.notice.emit(request.request_id, warning)
            if engine.cache is not None:
                for piece in engine.iter_translate(request.text, request.src, request.tgt, cancel=cancel,
                                                   terms=terms):
                    pieces.append(piece)
                    self.partial.emit(request.request_id, "".join(pieces))
            # The sentences (spans, confidence, origin, terms not placed). With a cache, the sentences
            # just streamed come back from it, confidence included: no model call. Without one, the
            # report is the translation (no streaming rather than translating twice).
            report = engine.translate_report(request.text, request.src, request.tgt, cancel=cancel, terms=terms)
            pieces = [report.text]
            missing = locate_missing(report) if terms is not None else ()
            sentences = locate_sentences(report, request.text)
        except TranslationCancelled:
            self.cancelled.emit(request.request_id)
            return
        except Exception as exc:  # reported to the window; the worker thread keeps serving
            self.error.emit(request.request_id, str(exc) or type(exc).__name__)
            return
        finally:
            self._running.clear()
        self.translationReady.emit(TranslationResult(
            request.request_id, "".join(pieces), time.perf_counter() - started,
            engine.generated_tokens - tokens_before, missing, sentences,
            request.src, request.tgt, request.text))


def _describe_load_error(spec: ModelSpec, exc: Exception) -> str:
    message = str(exc) or type(exc).__name__
    name = str(spec.path) if spec.path else "the default model"
    return message if name in message else f"{name}: {message}"


class Translator(QObject):
    """The GUI thread's handle on the engine: methods return at once, answers come as signals.

    Signals carry only the newest request's output: answers to superseded requests are dropped here,
    so views never see stale text.
    """

    translationReady = Signal(object)  # TranslationResult
    partial = Signal(str)
    error = Signal(str)
    notice = Signal(str)
    pendingChanged = Signal(bool)  # True while a request is waiting or running
    cancelled = Signal()
    modelLoaded = Signal(object)  # ModelStatus
    modelError = Signal(str)
    alternativesReady = Signal(object)  # AlternativesResult of the newest alternatives() request

    _wake = Signal()
    _load = Signal(object)
    _alternatives = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending = _PendingRequest()
        self._last_id = 0  # newest id handed out (stop() takes one too, so late answers are dropped)
        self._requested_id: int | None = None  # newest real request, None after stop()
        self._busy = False
        self.model: ModelStatus | None = None
        self._thread = QThread(self)
        self._thread.setObjectName("translation-engine")
        self._worker = _EngineWorker(self._pending)
        self._worker.moveToThread(self._thread)
        self._wake.connect(self._worker.work)
        self._load.connect(self._worker.load)
        self._worker.partial.connect(self._on_partial)
        self._worker.translationReady.connect(self._on_ready)
        self._worker.error.connect(self._on_error)
        self._worker.notice.connect(self._on_notice)
        self._worker.cancelled.connect(self._on_cancelled)
        self._worker.idle.connect(self._on_idle)
        self._worker.modelLoaded.connect(self._on_model_loaded)
        self._worker.modelError.connect(self._on_model_error)
        self._alternatives.connect(self._worker.alternatives)
        self._worker.alternativesReady.connect(self._on_alternatives)
        self._alternatives_id = 0
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def engine(self) -> Engine | None:
        """The app's one TranslationEngine (None until a model is loaded): the Documents queue
        translates on it too, with its own cancel events (engine.cancel() would stop both)."""
        return self._worker.engine

    def load_model(self, spec: ModelSpec) -> None:
        """Load spec's model in the worker; the current model keeps serving if the new one fails."""
        self._load.emit(spec)

    def translate(self, text: str, src: str, tgt: str, terms: Terms | None = None) -> int:
        """Queue text for translation, replacing any request still waiting; returns its id.

        terms: the terms the translation must use (glossaries, do-not-translate lists)."""
        # Cancel first, then post: whatever runs now is stale, and the new request cannot be hit by
        # this cancel because it is not in the mailbox yet.
        self._worker.cancel_running()
        self._last_id += 1
        self._requested_id = self._last_id
        self._pending.put(TranslationRequest(self._last_id, text, src, tgt, terms))
        self._set_busy(True)
        self._wake.emit()
        return self._last_id

    def set_memory(self, memory) -> None:
        """The translation memory (desktop.memory.store.TranslationMemory, or None) the engine serves exact
        matches from before the model: the one loaded now and every one loaded later."""
        self._worker.set_memory(memory)

    @property
    def memory(self):
        return self._worker.memory

    def alternatives(self, sentence: str, src: str, tgt: str, n: int = 4) -> int:
        """Ask for the n-best translations of one sentence; the answer comes as alternativesReady
        (run on the engine thread after the translation now running, if any). Returns the request id."""
        self._alternatives_id += 1
        self._alternatives.emit(AlternativesRequest(self._alternatives_id, sentence, src, tgt, n))
        return self._alternatives_id

    def stop(self) -> None:
        """Drop the waiting request and cancel the running one."""
        self._last_id += 1  # answers still in flight belong to no current request
        self._requested_id = None
        self._pending.put(None)
        self._worker.cancel_running()
        self._set_busy(False)
        self.cancelled.emit()

    def shutdown(self) -> None:
        self._pending.put(None)
        self._worker.cancel_running()
        self._thread.quit()
        self._thread.wait()

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.pendingChanged.emit(busy)

    @Slot(int, str)
    def _on_partial(self, request_id: int, text: str) -> None:
        if request_id == self._last_id:
            self.partial.emit(text)

    @Slot(object)
    def _on_ready(self, result: TranslationResult) -> None:
        if result.request_id == self._last_id:
            self.translationReady.emit(result)

    @Slot(int, str)
    def _on_error(self, request_id: int, message: str) -> None:
        if request_id == self._last_id:
            self.error.emit(message)

    @Slot(int, str)
    def _on_notice(self, request_id: int, message: str) -> None:
        if request_id == self._last_id:
            self.notice.emit(message)

    @Slot(int)
    def _on_cancelled(self, request_id: int) -> None:
        pass  # either superseded (a newer request follows) or stopped (stop() already said so)

    @Slot(int)
    def _on_idle(self, last_taken: int) -> None:
        # An idle notice can be overtaken by a newer request: only the newest one's end counts.
        if self._requested_id is None or last_taken == self._requested_id:
            self._set_busy(False)

    @Slot(object)
    def _on_alternatives(self, result: AlternativesResult) -> None:
        if result.request_id == self._alternatives_id:  # an older request's answer is stale
            self.alternativesReady.emit(result)

    @Slot(object)
    def _on_model_loaded(self, status: ModelStatus) -> None:
        self.model = status
        self.modelLoaded.emit(status)

    @Slot(str)
    def _on_model_error(self, message: str) -> None:
        self.modelError.emit(message)
