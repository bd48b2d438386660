"""The translation memory: sentence pairs the user confirmed, in SQLite in the user data dir.

Corrections the user confirms in the app (and units imported from a TMX) are stored one row per
(direction, source sentence); the engine serves an exact match from here before its cache and the
model. The memory exports as TMX 1.4 (for CAT tools) and as the JSON Lines tuning data that
desktop.models.tuning and alma-train read, so that "tune on my corrections" trains on exactly these pairs.

Unlike the translation cache this is the user's own work, so it is never evicted and a damaged file
is kept under a new name (memory.sqlite.corrupt-<time>, never overwriting an older one). Opening and
reading never fail: a damaged file, a read-only folder, a lock held too long are warnings on stderr
(and `problem`), and a lookup is then a miss. Writing is the user's explicit action, so a write that
cannot be made raises MemoryWriteError (an OSError; the app shows it in a dialog) instead of losing the
correction silently. The app's engine thread reads while the GUI thread writes: one connection shared
under a lock; another process (alma-translate memory import) may write at the same time (WAL, a busy
timeout).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.stores.cache import data_dir
from desktop.stores.sqlite import is_corruption, move_aside, warn_once

# Confirmed pairs of one direction needed before the Tune tab offers "tune on my corrections": fewer
# give desktop.models.tuning too small a held-out slice to say whether tuning helped.
MEMORY_MIN_PAIRS = 20
MEMORY_FILE = "memory.sqlite"
BUSY_TIMEOUT_S = 30.0
SCHEMA_VERSION = 1
ORIGINS = ("correction", "import")

__all__ = ["MEMORY_MIN_PAIRS", "MemoryFileError", "MemoryUnit", "MemoryWriteError", "TranslationMemory", "default_memory_path"]


class MemoryFileError(ValueError):
    """A TMX or JSON Lines file that cannot be read or written; the message names the file."""


class MemoryWriteError(OSError):
    """The memory itself cannot store a change (read-only folder, disk full, locked); names the file."""


@dataclass(frozen=True)
class MemoryUnit:
    """One confirmed pair. created/updated: seconds since the epoch (UTC)."""

    src: str
    tgt: str
    source: str
    target: str
    origin: str
    model: str | None
    created: float
    updated: float


def default_memory_path() -> Path:
    """<user data dir>/memory.sqlite ($ALMA_LOCAL_DATA when set)."""
    return data_dir() / MEMORY_FILE


def _code(lang: str) -> str:
    code = (lang or "").strip().lower()
    if not code:
        raise ValueError("a language code is empty")
    return code


def _direction_filter(src: str | None, tgt: str | None) -> tuple[str, tuple[str, ...]]:
    clauses, args = [], []
    if src is not None:
        clauses.append("src=?")
        args.append(_code(src))
    if tgt is not None:
        clauses.append("tgt=?")
        args.append(_code(tgt))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", tuple(args)


_COLUMNS = "src, tgt, source, target, origin, model, created, updated"


class TranslationMemory:
    """Confirmed sentence pairs by (src, tgt, source sentence). Safe to share between threads and processes.

    path: the SQLite file (default: default_memory_path()). A file that is not a database or is damaged
    is moved aside with a warning and an empty memory started; a folder or file that cannot be written
    leaves the memory read-only (lookups still work when the file can be read) or off, with a warning;
    `writable` and `problem` say which, and add()/remove() raise MemoryWriteError.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_memory_path()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.writable = False
        self.problem: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._open_or_recover()
            self.writable = True
        except (sqlite3.Error, OSError) as exc:
            self._open_read_only(exc)

    # -- opening and recovery --------------------------------------------------------------------

    def _open_or_recover(self) -> sqlite3.Connection:
        try:
            return self._open()
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            self._move_aside(exc)
            return self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
        try:
            db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            # WAL: the app reads while alma-translate memory writes. FULL sync: these are the user's
            # corrections, and writes are rare (one per confirmed sentence), so durability is cheap.
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            with db:  # one transaction: two processes creating the file at once do not race half-way
                db.execute("BEGIN IMMEDIATE")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS units (src TEXT NOT NULL, tgt TEXT NOT NULL, "
                    "source TEXT NOT NULL, target TEXT NOT NULL, origin TEXT NOT NULL, model TEXT, "
                    "created REAL NOT NULL, updated REAL NOT NULL, PRIMARY KEY (src, tgt, source))"
                )
                if db.execute("PRAGMA user_version").fetchone()[0] == 0:
                    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            # A file whose header is fine but whose pages are not fails here rather than mid-session.
            db.execute("SELECT COUNT(*) FROM units").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def _open_read_only(self, exc: BaseException) -> None:
        """The file or its folder cannot be written: serve lookups from it if it can be read."""
        self.problem = f"the translation memory {self.path} cannot be written ({exc}); corrections will not be saved"
        warn_once(self.problem)
        if not self.path.is_file():
            return
        failure: sqlite3.Error | None = None
        # A WAL database in a folder we cannot write may refuse mode=ro (no -shm file can be made);
        # immutable=1 then reads the file as it is (the last writer checkpointed it when it closed).
        for query in ("mode=ro", "mode=ro&immutable=1"):
            try:
                db = sqlite3.connect(f"{self.path.resolve().as_uri()}?{query}", uri=True, timeout=BUSY_TIMEOUT_S,
                                     check_same_thread=False, isolation_level=None)
            except sqlite3.Error as again:
                failure = again
                continue
            try:
                db.execute("SELECT COUNT(*) FROM units").fetchone()
            except sqlite3.Error as again:
                db.close()
                failure = again
                continue
            self._db = db
            return
        warn_once(f"the translation memory {self.path} cannot be read either ({failure}); it is off")

    def _move_aside(self, exc: sqlite3.Error) -> None:
        """Keep the damaged file (the user's work: someone may rescue rows from it) and start afresh."""
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        number = 1
        while aside.exists():
            number += 1
            aside = aside.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{number}")
        move_aside(self.path, aside, "translation memory", exc)

    def _run(self, action: Callable[[sqlite3.Connection], Any], what: str, default: Any = None) -> Any:
        """action(db) under the lock; a failure of the file warns and gives `default` instead of raising."""
        with self._lock:
            if self._db is None:
                return default
            try:
                return action(self._db)
            except sqlite3.DatabaseError as exc:
                if not is_corruption(exc):
                    # Locked past the busy timeout, disk full, read-only: this operation only.
                    self.problem = f"translation memory {self.path}: could not {what} ({exc})"
                    warn_once(self.problem)
                    return default
                self._recover(exc)
                return default

    def _write(self, action: Callable[[sqlite3.Connection], Any], what: str) -> Any:
        """action(db) under the lock, or MemoryWriteError naming the file. A file found damaged is moved
        aside and the action made once more on the fresh memory, so the change is not lost."""
        with self._lock:
            for attempt in (1, 2):
                if self._db is None or not self.writable:
                    raise MemoryWriteError(self.problem or f"the translation memory {self.path} cannot be written")
                try:
                    return action(self._db)
                except sqlite3.DatabaseError as exc:
                    if not is_corruption(exc) or attempt == 2:
                        raise MemoryWriteError(f"the translation memory {self.path}: could not {what} ({exc})") \
                            from None
                    self._recover(exc)
        raise AssertionError("unreachable")

    def _recover(self, exc: sqlite3.Error) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()
        try:
            self._move_aside(exc)
            self._db = self._open()
        except (sqlite3.Error, OSError) as again:
            self.writable = False
            self.problem = f"translation memory {self.path} is off: {again}"
            warn_once(self.problem)

    # -- the memory ------------------------------------------------------------------------------

    def add(self, src: str, tgt: str, source: str, target: str, origin: str = "correction",
            model: str | None = None) -> None:
        """Store (or replace) the translation of `source`. ValueError for an empty sentence or code,
        MemoryWriteError (naming the file) when the memory cannot be written."""
        self.add_many([(source, target)], src, tgt, origin, model)

    def add_many(self, pairs: Iterable[tuple[str, str]], src: str, tgt: str, origin: str = "correction",
                 model: str | None = None) -> int:
        """add() for many (source, target) pairs in one transaction; the number stored."""
        src, tgt = _code(src), _code(tgt)
        rows = []
        for source, target in pairs:
            source, target = (source or "").strip(), (target or "").strip()
            if not source or not target:
                raise ValueError(f"an empty {'source' if not source else 'target'} sentence cannot be stored "
                                 f"in the translation memory ({src}-{tgt})")
            rows.append((src, tgt, source, target, origin, model))

        def store(db: sqlite3.Connection) -> int:
            now = time.time()
            with db:
                db.execute("BEGIN IMMEDIATE")
                # created stays the first confirmation's time; a later correction replaces the rest.
                db.executemany(
                    f"INSERT INTO units ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (src, tgt, source) DO UPDATE SET target=excluded.target, "
                    "origin=excluded.origin, model=excluded.model, updated=excluded.updated",
                    [(*row, now, now) for row in rows])
            return len(rows)

        return self._write(store, "save a correction")

    def lookup(self, src: str, tgt: str, source: str) -> str | None:
        """The stored translation of exactly this sentence (ends' whitespace ignored), or None."""
        source, src, tgt = (source or "").strip(), (src or "").strip().lower(), (tgt or "").strip().lower()
        if not (source and src and tgt):  # the engine's lookup path never raises
            return None
        row = self._run(lambda db: db.execute("SELECT target FROM units WHERE src=? AND tgt=? AND source=?",
                                              (src, tgt, source)).fetchone(), "read")
        return row[0] if row else None

    def pairs(self, src: str | None = None, tgt: str | None = None) -> list[MemoryUnit]:
        """The units of one direction (or all), oldest first."""
        where, args = _direction_filter(src, tgt)
        rows = self._run(lambda db: db.execute(f"SELECT {_COLUMNS} FROM units{where} ORDER BY created, rowid",
                                               args).fetchall(), "read", [])
        return [MemoryUnit(*row) for row in rows]

    def count(self, src: str | None = None, tgt: str | None = None) -> int:
        where, args = _direction_filter(src, tgt)
        return self._run(lambda db: db.execute(f"SELECT COUNT(*) FROM units{where}", args).fetchone()[0],
                         "count", 0)

    def counts(self) -> dict[tuple[str, str], int]:
        """Units per direction, {(src, tgt): n}, largest first."""
        rows = self._run(lambda db: db.execute("SELECT src, tgt, COUNT(*) FROM units GROUP BY src, tgt "
                                               "ORDER BY COUNT(*) DESC, src, tgt").fetchall(), "count", [])
        return {(src, tgt): n for src, tgt, n in rows}

    def remove(self, src: str, tgt: str, source: str) -> bool:
        """Forget one sentence's stored translation; whether there was one. MemoryWriteError as add()."""
        source = (source or "").strip()
        return self._write(lambda db: db.execute("DELETE FROM units WHERE src=? AND tgt=? AND source=?",
                                                 (_code(src), _code(tgt), source)).rowcount > 0, "remove a unit")

    def __len__(self) -> int:
        return self.count()

    # -- exchange --------------------------------------------------------------------------------

    def export_tmx(self, path: Path | str, src: str | None = None, tgt: str | None = None) -> int:
        """Write the units (of one direction, or all) as TMX 1.4, atomically; the number written."""
        from desktop.memory.files import write_tmx

        units = self.pairs(src, tgt)
        write_tmx(path, units)
        return len(units)

    def export_jsonl(self, path: Path | str, src: str | None = None, tgt: str | None = None) -> int:
        """Write the units as the JSON Lines that desktop.models.tuning and alma-train read ({"de": .., "en": ..}
        per line), atomically; the number written."""
        from desktop.memory.files import write_jsonl

        units = self.pairs(src, tgt)
        write_jsonl(path, units)
        return len(units)

    def import_tmx(self, path: Path | str, src: str, tgt: str) -> int:
        """Add the units of a TMX that have both languages (origin "import"); the number stored.

        MemoryFileError naming the file (and line) when it cannot be read or has no unit of src-tgt;
        MemoryWriteError when the memory cannot be written (then nothing is added: one transaction).
        """
        from desktop.memory.files import read_tmx_pairs

        pairs = read_tmx_pairs(path, _code(src), _code(tgt))
        return self.add_many(pairs, src, tgt, origin="import")

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> TranslationMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
