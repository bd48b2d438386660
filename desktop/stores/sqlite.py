"""The one way the app opens its SQLite stores (translation cache, translation memory) and keeps going when
their file is in trouble: a damaged file moved aside, a failed read or write a warning (docs/reliability.md)."""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# SQLite's primary result codes for "the file is damaged" and "the file is not a database".
SQLITE_CORRUPT, SQLITE_NOTADB = 11, 26
SQLITE_BUSY, SQLITE_LOCKED = 5, 6
# How long a write waits for another process's write before giving up (and skipping the store).
BUSY_TIMEOUT_S = 30.0

_warned: set[str] = set()


def warn_once(message: str) -> None:
    """One line on stderr, once per message per process: a store problem never stops translation, and a
    problem that repeats for every sentence must not flood the terminal."""
    if message in _warned:
        return
    _warned.add(message)
    print(f"alma-local: warning: {message}", file=sys.stderr, flush=True)


def is_corruption(exc: sqlite3.Error) -> bool:
    """Whether the error says the database file is damaged or not a database at all."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (SQLITE_CORRUPT, SQLITE_NOTADB)
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether the error says another connection holds the lock (busy or locked)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED)
    return "locked" in str(exc).lower() or "busy" in str(exc).lower()


def move_aside(path: Path, aside: Path, what: str, exc: sqlite3.Error) -> None:
    """Move the damaged database `path` to `aside` (kept for a rescue or a bug report) with a warning
    naming `what` it is; the caller then starts an empty one at `path`."""
    warn_once(f"the {what} {path} is damaged ({exc}); moved it to {aside.name} and started an empty one")
    os.replace(path, aside)
    # The old WAL and shared-memory files belong to the damaged database: never replay them.
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def connect_read_only(path: Path, probe: str) -> sqlite3.Connection:
    """A read-only connection to `path` that has answered the query `probe`; sqlite3.Error if none can.

    A WAL database in a folder we cannot write may refuse mode=ro (no -shm file can be made);
    immutable=1 then reads the file as it is (the last writer checkpointed it when it closed).
    """
    failure: sqlite3.Error | None = None
    for query in ("mode=ro", "mode=ro&immutable=1"):
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?{query}", uri=True, timeout=BUSY_TIMEOUT_S,
                                 check_same_thread=False, isolation_level=None)
        except sqlite3.Error as again:
            failure = again
            continue
        try:
            db.execute(probe).fetchone()
        except sqlite3.Error as again:
            db.close()
            failure = again
            continue
        return db
    assert failure is not None
    raise failure


class SqliteStore:
    """One SQLite file shared by threads (one connection under a lock) and processes (WAL, a busy timeout).

    A subclass names itself (`label`, for warnings), says how durable a write must be (`synchronous`),
    creates its tables (`_create`), may check the opened file (`_check`) and names the file a damaged
    database is moved to (`_aside_path`). Opening a damaged file moves it aside with one warning and starts
    an empty one; an operation that fails otherwise warns once and is skipped (`_run`).
    """

    label = "store"
    synchronous = "NORMAL"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.problem: str | None = None  # the last trouble warned about, for a caller to show

    # -- what a store says about itself -----------------------------------------------------------

    def _create(self, db: sqlite3.Connection) -> None:
        """Create or upgrade the tables; runs inside one BEGIN IMMEDIATE transaction."""
        raise NotImplementedError

    def _check(self, db: sqlite3.Connection) -> None:
        """A first query on the opened file, so a damaged one fails on opening rather than mid-session."""

    def _aside_path(self) -> Path:
        """Where a damaged file is kept."""
        raise NotImplementedError

    def _could_not(self, what: str, exc: sqlite3.Error) -> str:
        return f"{self.label} {self.path}: could not {what} ({exc})"

    def _went_off(self, exc: BaseException) -> None:
        """The file went bad while open and no fresh one could be started: the store is off."""
        self._report(f"{self.label} {self.path} is off: {exc}")

    # -- opening and recovery --------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
        try:
            db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            # WAL lets the CLI and the app read while another process writes.
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self.synchronous}")
            with db:  # one transaction: two processes creating the same file do not race half-way
                db.execute("BEGIN IMMEDIATE")
                self._create(db)
            self._check(db)
        except BaseException:
            db.close()
            raise
        return db

    def _open_or_recover(self) -> sqlite3.Connection:
        """The open file; a damaged one is moved aside first. sqlite3.Error or OSError when neither works."""
        try:
            return self._open_when_free()
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            self._move_aside(exc)
            return self._open_when_free()

    def _open_when_free(self) -> sqlite3.Connection:
        """_open(), tried again while another process holds the file: switching a new file to WAL does not
        wait on the busy timeout, so processes starting together on a fresh data folder got "database is
        locked" and ran without the store (tests/stores/test_sqlite_race.py)."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        pause = 0.01
        while True:
            try:
                return self._open()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def _move_aside(self, exc: sqlite3.Error) -> None:
        move_aside(self.path, self._aside_path(), self.label, exc)

    def _recover(self, exc: sqlite3.Error) -> None:
        """The file went bad while open: move it aside and reopen empty, or go on without the store."""
        db, self._db = self._db, None
        if db is not None:
            db.close()
        try:
            self._move_aside(exc)
            self._db = self._open()
        except (sqlite3.Error, OSError) as again:
            self._went_off(again)

    def _report(self, message: str) -> None:
        self.problem = message
        warn_once(message)

    # -- using it --------------------------------------------------------------------------------

    def _run(self, action: Callable[[sqlite3.Connection], Any], what: str, default: Any = None) -> Any:
        """action(db) under the lock; a failure of the file warns once and gives `default` instead of raising."""
        with self._lock:
            if self._db is None:
                return default
            try:
                return action(self._db)
            except sqlite3.DatabaseError as exc:
                if not is_corruption(exc):
                    # Locked past the busy timeout, disk full, read-only: this operation only.
                    self._report(self._could_not(what, exc))
                    return default
                self._recover(exc)
                return default

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
