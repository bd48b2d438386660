"""A translation cache: SQLite in the user data dir, one row per translated sentence.

Keyed by the model file's fingerprint (plus the decoding settings), the direction and the sentence,
so translating an edited document again only sends the changed sentences to the model. Each row
also keeps the output's mean token log-probability (the engine's confidence); rows of a cache
written before that column existed read back with None, and the engine reports their confidence
as None rather than spending a model call on re-scoring a translation it already has.
The data dir is platformdirs' user data dir for "alma-local", or $ALMA_LOCAL_DATA when set.

Several processes (two alma-translate runs and the app) may use the file at once: WAL journal,
a busy timeout instead of "database is locked", and every failure of the cache itself (locked too
long, disk full, read-only, corrupt file) is a warning, never a failed translation. The cache holds
at most $ALMA_LOCAL_CACHE_MAX_ROWS sentences (default 100 000); the least recently used go first.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alma_core.file_memo import per_file_version
from alma_core.paths import DATA_DIR_ENV, user_data_dir
from desktop.stores.sqlite import is_corruption, move_aside, warn_once

_CHUNK = 1 << 20

MAX_ROWS_ENV = "ALMA_LOCAL_CACHE_MAX_ROWS"
# About 60 MB on disk for typical sentence lengths (see docs/reliability.md): plenty for re-translating
# edited documents, small next to a model file.
DEFAULT_MAX_ROWS = 100_000
# How long a write waits for another process's write before giving up (and skipping the cache).
BUSY_TIMEOUT_S = 30.0
# Rows are marked used at most once per this many seconds, so a cache hit rarely costs a write.
_TOUCH_GRANULARITY_S = 3600
# The row count is checked on open and after this many writes; eviction goes down to 90% of the cap
# so it does not run again on the very next write.
_CHECK_EVERY = 256
_EVICT_TO = 0.9

__all__ = ["DATA_DIR_ENV", "MAX_ROWS_ENV", "TranslationCache", "data_dir", "max_rows_setting",
           "model_fingerprint"]


def data_dir() -> Path:
    """Where alma-local keeps its user data ($ALMA_LOCAL_DATA, else the platform's user data dir)."""
    return user_data_dir()


@per_file_version
def model_fingerprint(path: Path) -> str:
    """A cheap identity for a model file: its size and the sha256 of its first and last MiB.

    Hashing a multi-GB model in full would take seconds at every start; the head holds the whole
    header (metadata, tensor table) and the tail the last weights, so a re-quantized or re-trained
    model changes the fingerprint. Remembered while the file stays the same (alma_core.file_memo).
    """
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(_CHUNK))
        if size > 2 * _CHUNK:
            handle.seek(-_CHUNK, os.SEEK_END)
        digest.update(handle.read(_CHUNK))
    return digest.hexdigest()[:32]


def max_rows_setting() -> int:
    """The row cap: $ALMA_LOCAL_CACHE_MAX_ROWS when it is a positive integer, else DEFAULT_MAX_ROWS."""
    raw = os.environ.get(MAX_ROWS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_ROWS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        warn_once(f"{MAX_ROWS_ENV}={raw!r} is not a positive number; using {DEFAULT_MAX_ROWS}")
        return DEFAULT_MAX_ROWS
    return value


class TranslationCache:
    """Sentence translations by (model key, src, tgt, sentence). Safe to share between threads and processes.

    max_rows: the cap (default: max_rows_setting()); past it the least recently used rows are deleted.
    Opening a file that is not a database or is damaged moves it aside (name.corrupt) with a warning
    and starts an empty cache. A directory that cannot be written raises sqlite3.Error or OSError.
    """

    def __init__(self, path: Path | str | None = None, max_rows: int | None = None) -> None:
        self.path = Path(path) if path is not None else data_dir() / "translation-cache.sqlite3"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_rows = max_rows if max_rows is not None else max_rows_setting()
        self._lock = threading.Lock()
        self._writes = 0
        self._db: sqlite3.Connection | None = None
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            self._move_aside(exc)
            self._db = self._open()

    # -- opening and recovery --------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
        try:
            db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            # WAL lets the CLI and the app read while another process writes; NORMAL sync is enough
            # for a cache (a power cut may lose the last rows, never corrupt the file).
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            with db:  # one transaction: two processes creating the same file do not race half-way
                db.execute("BEGIN IMMEDIATE")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS translations (model TEXT NOT NULL, src TEXT NOT NULL, "
                    "tgt TEXT NOT NULL, source TEXT NOT NULL, target TEXT NOT NULL, "
                    "used INTEGER NOT NULL DEFAULT 0, logprob REAL, PRIMARY KEY (model, src, tgt, source))"
                )
                columns = {row[1] for row in db.execute("PRAGMA table_info(translations)")}
                if "used" not in columns:  # a cache written before the size cap existed
                    db.execute("ALTER TABLE translations ADD COLUMN used INTEGER NOT NULL DEFAULT 0")
                if "logprob" not in columns:  # written before confidence was stored: NULL for old rows
                    db.execute("ALTER TABLE translations ADD COLUMN logprob REAL")
                db.execute("CREATE INDEX IF NOT EXISTS translations_used ON translations (used)")
            self._evict_if_needed(db)
        except BaseException:
            db.close()
            raise
        return db

    def _move_aside(self, exc: sqlite3.Error) -> None:
        """Keep the damaged file as name.corrupt (one, the latest) for a bug report; start afresh."""
        move_aside(self.path, self.path.with_name(self.path.name + ".corrupt"), "translation cache", exc)

    def _run(self, action: Callable[[sqlite3.Connection], Any], what: str) -> Any:
        """action(db) under the lock; a cache failure warns once and returns None instead of raising."""
        with self._lock:
            if self._db is None:
                return None
            try:
                return action(self._db)
            except sqlite3.DatabaseError as exc:
                if not is_corruption(exc):
                    # Locked past the busy timeout, disk full, read-only: skip this entry only.
                    warn_once(f"translation cache {self.path}: could not {what} ({exc}); continuing without it")
                    return None
                self._recover(exc)
                return None

    def _recover(self, exc: sqlite3.Error) -> None:
        """The file went bad while open: move it aside and reopen empty, or go on without a cache."""
        db, self._db = self._db, None
        if db is not None:
            db.close()
        try:
            self._move_aside(exc)
            self._db = self._open()
        except (sqlite3.Error, OSError) as again:
            warn_once(f"translation cache {self.path} disabled: {again}")

    # -- the cache -------------------------------------------------------------------------------

    def get(self, model: str, src: str, tgt: str, source: str) -> str | None:
        """The cached translation, or None (also when the cache cannot be read)."""
        entry = self.get_entry(model, src, tgt, source)
        return None if entry is None else entry[0]

    def get_entry(self, model: str, src: str, tgt: str, source: str) -> tuple[str, float | None] | None:
        """(translation, mean token log-probability) or None; the log-probability is None for a row
        written before it was stored (or by a caller that did not give one)."""

        def lookup(db: sqlite3.Connection) -> tuple[str, float | None] | None:
            row = db.execute(
                "SELECT target, used, logprob FROM translations WHERE model=? AND src=? AND tgt=? AND source=?",
                (model, src, tgt, source),
            ).fetchone()
            if row is None:
                return None
            now = int(time.time())
            if row[1] < now - _TOUCH_GRANULARITY_S:
                db.execute("UPDATE translations SET used=? WHERE model=? AND src=? AND tgt=? AND source=?",
                           (now, model, src, tgt, source))
            return row[0], row[2]

        return self._run(lookup, "read")

    def put(self, model: str, src: str, tgt: str, source: str, target: str, logprob: float | None = None) -> None:
        """Store a translation and its mean token log-probability (best effort: a failed write is a warning)."""

        def store(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO translations (model, src, tgt, source, target, used, logprob) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (model, src, tgt, source, target, int(time.time()), logprob))
            self._writes += 1
            if self._writes % _CHECK_EVERY == 0:
                self._evict_if_needed(db)

        self._run(store, "write")

    def evict(self) -> int:
        """Apply the cap now; the number of rows deleted."""
        return self._run(self._evict_if_needed, "evict") or 0

    def _evict_if_needed(self, db: sqlite3.Connection) -> int:
        count = db.execute("SELECT COUNT(*) FROM translations").fetchone()[0]
        if count <= self.max_rows:
            return 0
        excess = count - int(self.max_rows * _EVICT_TO)
        # Oldest use first; rowid breaks ties so rows written in the same second go in write order.
        db.execute("DELETE FROM translations WHERE rowid IN "
                   "(SELECT rowid FROM translations ORDER BY used, rowid LIMIT ?)", (excess,))
        return excess

    def __len__(self) -> int:
        return self._run(lambda db: db.execute("SELECT COUNT(*) FROM translations").fetchone()[0], "count") or 0

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
