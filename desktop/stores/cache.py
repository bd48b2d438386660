"""The translation cache: one SQLite row per translated sentence, keyed by model, direction and sentence,
so that translating an edited document again only sends the changed sentences to the model; at most
$ALMA_LOCAL_CACHE_MAX_ROWS rows, the least recently used go first (docs/reliability.md)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path
from typing import NamedTuple

from alma_core.file_memo import per_file_version
from alma_core.paths import CACHE_MAX_ROWS_ENV, translation_cache_path
from desktop.stores.sqlite import SqliteStore, warn_once

_CHUNK = 1 << 20

# About 60 MB on disk for typical sentence lengths (see docs/reliability.md): plenty for re-translating
# edited documents, small next to a model file.
DEFAULT_MAX_ROWS = 100_000
# Rows are marked used at most once per this many seconds, so a cache hit rarely costs a write.
_TOUCH_GRANULARITY_S = 3600
# The row count is checked on open and after this many writes; eviction goes down to 90% of the cap
# so it does not run again on the very next write.
_CHECK_EVERY = 256
_EVICT_TO = 0.9

__all__ = ["CachedTranslation", "TranslationCache", "max_rows_setting", "model_fingerprint"]


class CachedTranslation(NamedTuple):
    """A cache row: the translation, its mean token log-probability (None: not known) and whether it
    stopped at its token limit (None: a row written before that was stored)."""

    translation: str
    logprob: float | None
    truncated: bool | None


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
    raw = os.environ.get(CACHE_MAX_ROWS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_ROWS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        warn_once(f"{CACHE_MAX_ROWS_ENV}={raw!r} is not a positive number; using {DEFAULT_MAX_ROWS}")
        return DEFAULT_MAX_ROWS
    return value


class TranslationCache(SqliteStore):
    """Sentence translations by (model key, src, tgt, sentence). Safe to share between threads and processes.

    max_rows: the cap (default: max_rows_setting()); past it the least recently used rows are deleted.
    Opening a file that is not a database or is damaged moves it aside (name.corrupt) with a warning
    and starts an empty cache. A directory that cannot be written raises sqlite3.Error or OSError.
    """

    label = "translation cache"
    # A power cut may lose the last rows of a cache, never corrupt the file.
    synchronous = "NORMAL"

    def __init__(self, path: Path | str | None = None, max_rows: int | None = None) -> None:
        super().__init__(Path(path) if path is not None else translation_cache_path())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_rows = max_rows if max_rows is not None else max_rows_setting()
        self._writes = 0
        self._db = self._open_or_recover()

    def _create(self, db: sqlite3.Connection) -> None:
        db.execute(
            "CREATE TABLE IF NOT EXISTS translations (model TEXT NOT NULL, src TEXT NOT NULL, "
            "tgt TEXT NOT NULL, source TEXT NOT NULL, target TEXT NOT NULL, "
            "used INTEGER NOT NULL DEFAULT 0, logprob REAL, truncated INTEGER, PRIMARY KEY (model, src, tgt, source))"
        )
        columns = {row[1] for row in db.execute("PRAGMA table_info(translations)")}
        if "used" not in columns:  # a cache written before the size cap existed
            db.execute("ALTER TABLE translations ADD COLUMN used INTEGER NOT NULL DEFAULT 0")
        if "logprob" not in columns:  # written before confidence was stored: NULL for old rows
            db.execute("ALTER TABLE translations ADD COLUMN logprob REAL")
        if "truncated" not in columns:  # written before cut outputs were told apart: NULL, not known
            db.execute("ALTER TABLE translations ADD COLUMN truncated INTEGER")
        db.execute("CREATE INDEX IF NOT EXISTS translations_used ON translations (used)")

    def _check(self, db: sqlite3.Connection) -> None:
        self._evict_if_needed(db)

    def _aside_path(self) -> Path:
        """name.corrupt: one, the latest, for a bug report (the cache can be re-made by translating)."""
        return self.path.with_name(self.path.name + ".corrupt")

    def _could_not(self, what: str, exc: sqlite3.Error) -> str:
        return f"{super()._could_not(what, exc)}; continuing without it"

    def _went_off(self, exc: BaseException) -> None:
        self._report(f"translation cache {self.path} disabled: {exc}")

    # -- the cache -------------------------------------------------------------------------------

    def get(self, model: str, src: str, tgt: str, source: str) -> str | None:
        """The cached translation, or None (also when the cache cannot be read)."""
        entry = self.get_entry(model, src, tgt, source)
        return None if entry is None else entry[0]

    def get_entry(self, model: str, src: str, tgt: str, source: str) -> CachedTranslation | None:
        """(translation, mean token log-probability, truncated) or None; the log-probability is None for
        a row written before it was stored (or by a caller that did not give one), truncated None for a
        row written before it was."""

        def lookup(db: sqlite3.Connection) -> CachedTranslation | None:
            row = db.execute(
                "SELECT target, used, logprob, truncated FROM translations "
                "WHERE model=? AND src=? AND tgt=? AND source=?",
                (model, src, tgt, source),
            ).fetchone()
            if row is None:
                return None
            now = int(time.time())
            if row[1] < now - _TOUCH_GRANULARITY_S:
                db.execute("UPDATE translations SET used=? WHERE model=? AND src=? AND tgt=? AND source=?",
                           (now, model, src, tgt, source))
            return CachedTranslation(row[0], row[2], None if row[3] is None else bool(row[3]))

        return self._run(lookup, "read")

    def put(self, model: str, src: str, tgt: str, source: str, target: str, logprob: float | None = None,
            truncated: bool = False) -> None:
        """Store a translation, its mean token log-probability and whether it stopped at its token limit
        (best effort: a failed write is a warning)."""

        def store(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO translations (model, src, tgt, source, target, used, logprob, "
                       "truncated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (model, src, tgt, source, target, int(time.time()), logprob, int(truncated)))
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
