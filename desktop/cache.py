"""A translation cache: SQLite in the user data dir, one row per translated sentence.

Keyed by the model file's fingerprint (plus the decoding settings), the direction and the sentence,
so translating an edited document again only sends the changed sentences to the model.
The data dir is platformdirs' user data dir for "alma-local", or $ALMA_LOCAL_DATA when set.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path

from alma_train.user_dirs import DATA_DIR_ENV, user_data_dir

_CHUNK = 1 << 20
_fingerprints: dict[tuple[str, int, int], str] = {}

__all__ = ["DATA_DIR_ENV", "TranslationCache", "data_dir", "model_fingerprint"]


def data_dir() -> Path:
    """Where alma-local keeps its user data ($ALMA_LOCAL_DATA, else the platform's user data dir)."""
    return user_data_dir()


def model_fingerprint(path: Path | str) -> str:
    """A cheap identity for a model file: its size and the sha256 of its first and last MiB.

    Hashing a multi-GB model in full would take seconds at every start; the head holds the whole
    header (metadata, tensor table) and the tail the last weights, so a re-quantized or re-trained
    model changes the fingerprint. Memoized per (path, size, mtime).
    """
    path = Path(path).resolve()
    stat = path.stat()
    memo_key = (str(path), stat.st_size, stat.st_mtime_ns)
    if memo_key not in _fingerprints:
        digest = hashlib.sha256(str(stat.st_size).encode())
        with path.open("rb") as handle:
            digest.update(handle.read(_CHUNK))
            if stat.st_size > 2 * _CHUNK:
                handle.seek(-_CHUNK, os.SEEK_END)
            digest.update(handle.read(_CHUNK))
        _fingerprints[memo_key] = digest.hexdigest()[:32]
    return _fingerprints[memo_key]


class TranslationCache:
    """Sentence translations by (model key, src, tgt, sentence). Safe to share between threads."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else data_dir() / "translation-cache.sqlite3"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        # WAL lets the CLI and the app use the cache at the same time; NORMAL sync is enough for a cache.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS translations (model TEXT NOT NULL, src TEXT NOT NULL, "
            "tgt TEXT NOT NULL, source TEXT NOT NULL, target TEXT NOT NULL, "
            "PRIMARY KEY (model, src, tgt, source))"
        )

    def get(self, model: str, src: str, tgt: str, source: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT target FROM translations WHERE model=? AND src=? AND tgt=? AND source=?",
                (model, src, tgt, source),
            ).fetchone()
        return row[0] if row else None

    def put(self, model: str, src: str, tgt: str, source: str, target: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO translations VALUES (?, ?, ?, ?, ?)", (model, src, tgt, source, target)
            )

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM translations").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
