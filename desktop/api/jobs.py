"""ModelQueue: one loaded model, one worker thread, a bounded queue of jobs; every translation the server
makes goes through it, one at a time (docs/api.md, "How it is built")."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from typing import Any, TypeVar

T = TypeVar("T")
# A job gets the engine and a check that turns true when it should stop (the server shuts down, or
# its client went away): pass it on as the engine's and the DocumentJob's cancel=.
Job = Callable[[Any, Callable[[], bool]], T]


class QueueFull(Exception):
    """max_jobs jobs are waiting or running already."""


class ShuttingDown(Exception):
    """The queue is closed (or closing): the job was not run, or was cancelled."""


class ModelQueue:
    """Runs jobs on `engine` one at a time in its own thread; at most max_jobs waiting or running."""

    def __init__(self, engine: Any, max_jobs: int) -> None:
        if max_jobs < 1:
            raise ValueError("max_jobs must be at least 1")
        self.engine = engine
        self.max_jobs = max_jobs
        self._jobs: queue.Queue[tuple[Job, Future, threading.Event | None] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._pending = 0  # waiting + running
        self._closed = False
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alma-api-model", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Jobs waiting or running now."""
        with self._lock:
            return self._pending

    def submit(self, job: Job[T], cancel: threading.Event | None = None) -> Future[T]:
        """Queue job(engine, should_stop); its Future has the result. QueueFull or ShuttingDown at once.

        Setting `cancel` stops this job alone (between tokens); Future.cancel() drops it while it waits.
        """
        with self._lock:
            if self._closed:
                raise ShuttingDown("the server is shutting down")
            if self._pending >= self.max_jobs:
                raise QueueFull(f"{self._pending} requests are waiting for the model (the limit is {self.max_jobs})")
            self._pending += 1
        future: Future[T] = Future()
        self._jobs.put((job, future, cancel))
        return future

    def _run(self) -> None:
        while (item := self._jobs.get()) is not None:
            job, future, cancel = item
            should_stop = self.stopping.is_set
            if cancel is not None:
                def should_stop(cancel: threading.Event = cancel) -> bool:
                    return self.stopping.is_set() or cancel.is_set()
            result: Any = None
            error: BaseException | None = None
            run = False
            try:
                if self.stopping.is_set():
                    error = ShuttingDown("the server is shutting down")
                elif future.set_running_or_notify_cancel():  # False: the request gave up while waiting
                    run = True
                    result = job(self.engine, should_stop)
            except BaseException as exc:  # noqa: BLE001 (handed to the request, which answers 500)
                error = exc
            # The slot is free before the answer goes out: a client that sends its next request as
            # soon as it has this one's answer must not be told the queue is full.
            with self._lock:
                self._pending -= 1
            try:
                if error is not None:
                    future.set_exception(error)
                elif run:
                    future.set_result(result)
            except InvalidStateError:  # the request was cancelled meanwhile: nobody waits for the answer
                pass

    def close(self, timeout: float = 30.0) -> bool:
        """Refuse new jobs, cancel the running one, fail the waiting ones, and stop the thread.

        True when the thread has ended within timeout (only then may the owner close the engine).
        """
        with self._lock:
            self._closed = True
        self.stopping.set()
        self._jobs.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()
