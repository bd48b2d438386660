"""The document queue: files translated one after another in a worker thread on the app's engine, each with
its progress, its own cancel and its segment pairs for review (docs/gui.md, "Documents")."""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from desktop import documents  # documents.DocumentJob: the DocumentJob below is this queue's entry
from desktop.documents import SUPPORTED_EXTENSIONS, JobOptions
from desktop.documents.tmx_out import TmxCollector
from desktop.engine import TranslationCancelled, Translator
from desktop.gui.worker import ModelSpec, load_engine
from desktop.terminology import Terms
from desktop.terminology.missing import MissingTermReporter


class JobState(enum.Enum):
    QUEUED = "Queued"
    RUNNING = "Translating"
    DONE = "Done"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass
class DocumentJob:
    job_id: int
    path: Path
    src: str
    tgt: str
    state: JobState = JobState.QUEUED
    done: int = 0
    total: int = 0
    eta_seconds: float | None = None
    output: Path | None = None
    error: str = ""
    tmx: Path | None = None  # add the job's segment pairs to this TMX (one memory per file and direction)
    overwrite: bool = False  # XLIFF: replace existing targets too
    terms: Terms | None = None  # the glossaries on for src -> tgt, or None
    # Sentences whose terms were not all placed: (sentence number from 1, source, TermEntry list).
    missing_terms: list = field(default_factory=list)
    # The job's (source, translation) segment pairs (inline tags removed), set only once it succeeded:
    # a failed or cancelled job has nothing to review. model: the file name of the model that made them.
    pairs: list[tuple[str, str]] | None = None
    model: str | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)


def supported_extensions() -> tuple[str, ...]:
    return tuple(sorted(SUPPORTED_EXTENSIONS))


def format_note(path: Path) -> str:
    """What a translation of this file does not keep (a PDF comes back as .docx without its layout), or ""."""
    try:
        return documents.format_for(path).note
    except documents.DocumentError:
        return ""


def check_document(path: Path) -> str | None:
    """Why path cannot be queued (missing, a folder, an unknown type), or None when it can."""
    extensions = supported_extensions()
    if not path.exists():
        return f"{path}: no such file"
    if not path.is_file():
        return f"{path}: not a file"
    if path.suffix.lower() not in extensions:
        return f"{path}: unsupported file type {path.suffix or '(none)'!r} (supported: {', '.join(extensions)})"
    return None


class _DocumentWorker(QObject):
    """Runs one job at a time in the worker thread; loads (and keeps) an engine per model spec."""

    progress = Signal(int, int, int, float)  # job id, done, total, eta seconds (-1: unknown yet)
    finished = Signal(int, str)  # job id, output path
    termsMissing = Signal(int, object)  # job id, [(sentence number, source, entries)] (before finished)
    pairsReady = Signal(int, object, str)  # job id, [(source, translation)], model file name (before finished)
    failed = Signal(int, str)
    cancelled = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self._engine: Translator | None = None
        self._spec: ModelSpec | None = None
        self._memories: dict[tuple[Path, str, str], object] = {}  # TMX collectors, kept for the session

    @Slot(object, object)
    def run(self, job: DocumentJob, source: object) -> None:
        """Translate job on source: the shared engine itself, or a ModelSpec to load (and keep)."""
        if job.cancel_event.is_set():
            self.cancelled.emit(job.job_id)
            return
        try:
            if not isinstance(source, ModelSpec):
                engine = source  # the app's engine: not kept here, so a model switch frees the old one
            else:
                if self._engine is None or source != self._spec:
                    self._engine, self._spec = None, None  # free the old model before loading the next
                    self._engine, self._spec = load_engine(source), source
                engine = self._engine
            model_name = Path(engine.model_path).name
            # Collected for every job (the review table shows them), handed on only once it succeeded.
            pairs: list[tuple[str, str]] = []
            memory = None
            if job.tmx is not None:
                # One memory per file and direction, growing with every job of the session; a job's
                # pairs are added only once it succeeded, so a cancelled file leaves nothing behind.
                key = (job.tmx, job.src, job.tgt)
                memory = self._memories.get(key) or TmxCollector(job.src, job.tgt, model_name)
            reporter = MissingTermReporter()
            output = documents.DocumentJob(job.path, JobOptions(
                job.src, job.tgt, overwrite=job.overwrite, terms=job.terms,
                pairs=lambda source, translation: pairs.append((source, translation)),
                progress=lambda done, total, eta: self.progress.emit(
                    job.job_id, done, total, -1.0 if eta is None else float(eta)),
                cancel=job.cancel_event, missing_terms=reporter,
            )).run(engine)
            # (sentence number, source, entries) each, as the Documents view lists them.
            missing = [(found.number, found.source, list(found.entries)) for found in reporter.found]
            if memory is not None:
                for source, translation in pairs:
                    memory.add(source, translation)
                memory.write(job.tmx)  # atomic: the previous memory stays whole if this fails
                self._memories[key] = memory
        except TranslationCancelled:
            self.cancelled.emit(job.job_id)
        except Exception as exc:  # a bad document fails its own job only
            self.failed.emit(job.job_id, str(exc) or type(exc).__name__)
        else:
            if missing:
                self.termsMissing.emit(job.job_id, missing)
            self.pairsReady.emit(job.job_id, pairs, model_name)  # queued before finished: same order there
            self.finished.emit(job.job_id, str(output))


class DocumentQueue(QObject):
    """Jobs in order; starts the next queued job whenever the worker is free."""

    jobAdded = Signal(object)  # DocumentJob
    jobChanged = Signal(object)
    jobFailed = Signal(object)  # a job that ended in an error (the view shows a dialog)
    jobRemoved = Signal(int)
    idleChanged = Signal(bool)

    _run = Signal(object, object)

    def __init__(self, spec: ModelSpec | None = None, parent: QObject | None = None, translator=None) -> None:
        """translator: the app's Translator, whose engine the jobs use (jobs wait until a model is
        loaded); None: the queue loads its own engine from spec."""
        super().__init__(parent)
        self.jobs: dict[int, DocumentJob] = {}
        self.spec = spec or ModelSpec()
        self.translator = translator
        self._next_id = 1
        self._running: DocumentJob | None = None
        self._thread = QThread(self)
        self._thread.setObjectName("document-queue")
        self._worker = _DocumentWorker()
        self._worker.moveToThread(self._thread)
        self._run.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.termsMissing.connect(self._on_terms_missing)
        self._worker.pairsReady.connect(self._on_pairs_ready)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)
        if translator is not None:
            # Jobs added before the model is loaded start once it is.
            translator.modelLoaded.connect(self._on_model_loaded)
        self._thread.start()

    @property
    def engine(self) -> Translator | None:
        """The engine the next job runs on: the Translator's, or the one this queue loaded (or None)."""
        return self.translator.engine if self.translator is not None else self._worker._engine

    @property
    def running(self) -> DocumentJob | None:
        return self._running

    def set_model(self, spec: ModelSpec) -> None:
        """Jobs started from now on use spec's model (the running one finishes on its own)."""
        self.spec = spec

    def add(self, path: Path, src: str, tgt: str, tmx: Path | None = None, overwrite: bool = False,
            terms: Terms | None = None) -> DocumentJob:
        """Queue path; a file that cannot be translated is listed as failed at once.

        tmx: also add the job's segment pairs to this TMX file; overwrite: XLIFF targets replaced too;
        terms: the Terms of the glossaries to apply (as they were when the file was added)."""
        path = Path(path)
        job = DocumentJob(self._next_id, path, src, tgt, tmx=Path(tmx) if tmx else None, overwrite=overwrite,
                          terms=terms)
        self._next_id += 1
        self.jobs[job.job_id] = job
        problem = check_document(path)
        if problem:
            job.state, job.error = JobState.FAILED, problem
        self.jobAdded.emit(job)
        if problem:
            self.jobFailed.emit(job)
        self._start_next()
        return job

    def rerun(self, job_id: int) -> DocumentJob | None:
        """Queue a finished job again, as it was added (same file, languages, options, so the same
        output path, replaced once the new translation is complete); None when there is no such
        finished job. Its pairs and results are cleared until the new run succeeds."""
        job = self.jobs.get(job_id)
        if job is None or not job.state.finished:
            return None
        job.state, job.done, job.total, job.eta_seconds = JobState.QUEUED, 0, 0, None
        job.output, job.error, job.missing_terms, job.pairs, job.model = None, "", [], None, None
        job.cancel_event = threading.Event()  # a cancel of the earlier run must not stop this one
        self.jobChanged.emit(job)
        self._start_next()
        return job

    def cancel(self, job_id: int) -> None:
        job = self.jobs.get(job_id)
        if job is None or job.state.finished:
            return
        job.cancel_event.set()
        if job.state is JobState.QUEUED:
            job.state = JobState.CANCELLED
            self.jobChanged.emit(job)
        # a running job reports back through the worker's cancelled signal

    def cancel_all(self) -> None:
        for job_id in list(self.jobs):
            self.cancel(job_id)

    def remove(self, job_id: int) -> None:
        """Forget a finished job (its output file stays on disk)."""
        job = self.jobs.get(job_id)
        if job is not None and job.state.finished:
            del self.jobs[job_id]
            self.jobRemoved.emit(job_id)

    def shutdown(self) -> None:
        self.cancel_all()
        self._thread.quit()
        self._thread.wait()

    def _start_next(self) -> None:
        if self._running is not None:
            return
        job = next((j for j in self.jobs.values() if j.state is JobState.QUEUED), None)
        if job is None:
            self.idleChanged.emit(True)
            return
        source: object = self.spec
        if self.translator is not None:
            source = self.translator.engine
            if source is None:
                return  # no model loaded yet: modelLoaded starts the job
        job.state = JobState.RUNNING
        self._running = job
        self.jobChanged.emit(job)
        self.idleChanged.emit(False)
        self._run.emit(job, source)

    def _finish(self, job_id: int, state: JobState, **changes) -> None:
        job = self.jobs.get(job_id)
        if self._running is not None and self._running.job_id == job_id:
            self._running = None
        if job is not None:
            job.state = state
            job.eta_seconds = None
            for name, value in changes.items():
                setattr(job, name, value)
            self.jobChanged.emit(job)
            if state is JobState.FAILED:
                self.jobFailed.emit(job)
        self._start_next()

    @Slot(object)
    def _on_model_loaded(self, _status: object) -> None:
        self._start_next()

    @Slot(int, int, int, float)
    def _on_progress(self, job_id: int, done: int, total: int, eta: float) -> None:
        job = self.jobs.get(job_id)
        if job is None or job.state is not JobState.RUNNING:
            return
        job.done, job.total = done, total
        job.eta_seconds = None if eta < 0 else eta
        self.jobChanged.emit(job)

    @Slot(int, object)
    def _on_terms_missing(self, job_id: int, missing: list) -> None:
        job = self.jobs.get(job_id)
        if job is not None:
            job.missing_terms = list(missing)

    @Slot(int, object, str)
    def _on_pairs_ready(self, job_id: int, pairs: list, model: str) -> None:
        job = self.jobs.get(job_id)
        if job is not None:
            job.pairs, job.model = list(pairs), model

    @Slot(int, str)
    def _on_finished(self, job_id: int, output: str) -> None:
        job = self.jobs.get(job_id)
        done = job.total if job else 0
        self._finish(job_id, JobState.DONE, output=Path(output), done=done)

    @Slot(int, str)
    def _on_failed(self, job_id: int, message: str) -> None:
        self._finish(job_id, JobState.FAILED, error=message)

    @Slot(int)
    def _on_cancelled(self, job_id: int) -> None:
        self._finish(job_id, JobState.CANCELLED)
