"""The translation memory: the sentence pairs the user confirmed, one SQLite row per direction and source
sentence, never evicted; the engine serves an exact match from it before the cache and the model
(docs/post_editing.md)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from alma_core.paths import translation_memory_path
from desktop.memory.files import MemoryFileError, read_tmx_pairs, write_jsonl, write_tmx
from desktop.memory.unit import MemoryUnit
from desktop.stores.sqlite import SqliteStore, connect_read_only, is_corruption, warn_once

# Confirmed pairs of one direction needed before the Tune tab offers "tune on my corrections": fewer
# give desktop.models.tuning too small a held-out slice to say whether tuning helped.
MEMORY_MIN_PAIRS = 20
MEMORY_FILE = "memory.sqlite"
SCHEMA_VERSION = 1

__all__ = ["MEMORY_MIN_PAIRS", "MemoryFileError", "MemoryUnit", "MemoryWriteError", "TranslationMemory",
           "default_memory_path"]


class MemoryWriteError(OSError):
    """The memory itself cannot store a change (read-only folder, disk full, locked); names the file."""


def default_memory_path() -> Path:
    """<user data dir>/memory.sqlite ($ALMA_LOCAL_DATA when set)."""
    return translation_memory_path()


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


class TranslationMemory(SqliteStore):
    """Confirmed sentence pairs by (src, tgt, source sentence). Safe to share between threads and processes.

    path: the SQLite file (default: default_memory_path()). A file that is not a database or is damaged
    is moved aside (name.corrupt-<time>, never overwriting an older one: it is the user's work) with a
    warning and an empty memory started; a folder or file that cannot be written leaves the memory
    read-only (lookups still work when the file can be read) or off, with a warning; `writable` and
    `problem` say which, and add()/remove() raise MemoryWriteError (the user's explicit action must not
    be lost silently).
    """

    label = "translation memory"
    # These are the user's corrections, and writes are rare (one per confirmed sentence): durability is cheap.
    synchronous = "FULL"

    def __init__(self, path: Path | str | None = None) -> None:
        super().__init__(Path(path) if path is not None else default_memory_path())
        self.writable = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._open_or_recover()
            self.writable = True
        except (sqlite3.Error, OSError) as exc:
            self._open_read_only(exc)

    # -- opening and recovery --------------------------------------------------------------------

    def _create(self, db: sqlite3.Connection) -> None:
        db.execute(
            "CREATE TABLE IF NOT EXISTS units (src TEXT NOT NULL, tgt TEXT NOT NULL, "
            "source TEXT NOT NULL, target TEXT NOT NULL, origin TEXT NOT NULL, model TEXT, "
            "created REAL NOT NULL, updated REAL NOT NULL, PRIMARY KEY (src, tgt, source))"
        )
        if db.execute("PRAGMA user_version").fetchone()[0] == 0:
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _check(self, db: sqlite3.Connection) -> None:
        db.execute("SELECT COUNT(*) FROM units").fetchone()

    def _aside_path(self) -> Path:
        """name.corrupt-<time>, numbered when that exists: someone may rescue rows from each."""
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        number = 1
        while aside.exists():
            number += 1
            aside = aside.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{number}")
        return aside

    def _went_off(self, exc: BaseException) -> None:
        self.writable = False
        super()._went_off(exc)

    def _open_read_only(self, exc: BaseException) -> None:
        """The file or its folder cannot be written: serve lookups from it if it can be read."""
        self._report(f"the translation memory {self.path} cannot be written ({exc}); corrections will not be saved")
        if not self.path.is_file():
            return
        try:
            self._db = connect_read_only(self.path, "SELECT COUNT(*) FROM units")
        except sqlite3.Error as again:
            warn_once(f"the translation memory {self.path} cannot be read either ({again}); it is off")

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
        units = self.pairs(src, tgt)
        write_tmx(path, units)
        return len(units)

    def export_jsonl(self, path: Path | str, src: str | None = None, tgt: str | None = None) -> int:
        """Write the units as the JSON Lines that desktop.models.tuning and alma-train read ({"de": .., "en": ..}
        per line), atomically; the number written."""
        units = self.pairs(src, tgt)
        write_jsonl(path, units)
        return len(units)

    def import_tmx(self, path: Path | str, src: str, tgt: str) -> int:
        """Add the units of a TMX that have both languages (origin "import"); the number stored.

        MemoryFileError naming the file (and line) when it cannot be read or has no unit of src-tgt;
        MemoryWriteError when the memory cannot be written (then nothing is added: one transaction).
        """
        pairs = read_tmx_pairs(path, _code(src), _code(tgt))
        return self.add_many(pairs, src, tgt, origin="import")

    def __enter__(self) -> TranslationMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
