"""Remember a value computed from a file while its size and modification time stay the same (the cache's
model fingerprint and the Models view's parent sha256 read gigabyte model files, again and again)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def per_file_version(compute: Callable[[Path], T]) -> Callable[[Path | str], T]:
    """compute(path) remembered for this process per (resolved path, size, mtime_ns): computed again only
    when the file has changed (a same-size rewrite within the clock's resolution would go unseen)."""
    memo: dict[tuple[str, int, int], T] = {}

    @functools.wraps(compute)
    def remembered(path: Path | str) -> T:
        path = Path(path).resolve()
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in memo:
            memo[key] = compute(path)
        return memo[key]

    return remembered


def sha256_of_file(path: Path | str) -> str:
    """The file's sha256, read in 1 MiB blocks (model files are too large to read at once)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
