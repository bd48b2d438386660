"""What the app's SQLite stores (translation cache, translation memory) do when their file is in trouble.

Both keep going on a problem: a damaged file is moved aside and a fresh one started, a store that cannot
be written warns once and goes on without it. These two helpers say which errors mean a damaged file
and print each warning once per process.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

# SQLite's primary result codes for "the file is damaged" and "the file is not a database".
SQLITE_CORRUPT, SQLITE_NOTADB = 11, 26

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


def move_aside(path: Path, aside: Path, what: str, exc: sqlite3.Error) -> None:
    """Move the damaged database `path` to `aside` (kept for a rescue or a bug report) with a warning
    naming `what` it is; the caller then starts an empty one at `path`."""
    warn_once(f"the {what} {path} is damaged ({exc}); moved it to {aside.name} and started an empty one")
    os.replace(path, aside)
    # The old WAL and shared-memory files belong to the damaged database: never replay them.
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
