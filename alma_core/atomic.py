"""Atomic outputs, the one implementation for files and folders: written under a hidden sibling name and
renamed into place only when complete, so no half-written output ever has the final name
(docs/reliability.md)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from alma_core.interrupts import critical


def current_umask() -> int:
    """The process's umask (reading it means setting it, so it is set straight back)."""
    current = os.umask(0)
    os.umask(current)
    return current


def give_default_modes(folder: Path) -> None:
    """Give a staged output folder and its files the modes a plain mkdir and open() would have.

    mkdtemp makes the staging folder private, and some writers (safetensors' save) make files so.
    """
    umask = current_umask()
    os.chmod(folder, 0o777 & ~umask)
    for item in Path(folder).rglob("*"):
        if item.is_file() and not item.is_symlink():
            os.chmod(item, 0o666 & ~umask)


@contextmanager
def atomic_path(path: Path | str, mode_from: Path | str | None = None, suffix: str = ".part") -> Iterator[Path]:
    """Yield a temporary file path beside `path`; it replaces `path` only when the block succeeds.

    The file gets the mode a plain open() would give it, or that of `mode_from` (a translated document
    is as readable as its source). The sibling lives in the same folder, so the rename stays on one
    file system; it is removed whatever happens.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    staging = Path(name)
    try:
        yield staging
        if mode_from is not None:
            shutil.copymode(mode_from, staging)
        else:
            os.chmod(staging, 0o666 & ~current_umask())  # mkstemp made it private
        os.replace(staging, path)
    finally:
        with critical():  # a second signal must not skip the removal
            staging.unlink(missing_ok=True)


@contextmanager
def atomic_writer(path: Path | str) -> Iterator[TextIO]:
    """A UTF-8 text handle whose content replaces `path` only when the block ends without error."""
    with atomic_path(path, suffix=".tmp") as staging, open(staging, "w", encoding="utf-8") as handle:
        yield handle


def write_text_atomic(path: Path | str, text: str) -> None:
    """Write `text` to `path` (UTF-8) atomically."""
    with atomic_writer(path) as handle:
        handle.write(text)


@contextmanager
def atomic_folder(path: Path | str) -> Iterator[Path]:
    """Yield a hidden staging folder beside `path`; it replaces `path` (file or folder) when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield staging
        give_default_modes(staging)
        # A signal between removing the old output and the rename would leave neither: held back.
        with critical():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
            os.replace(staging, path)
    finally:
        with critical():
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)


def write_bytes_atomic(path: Path | str, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as staging:
        staging.write_bytes(data)
