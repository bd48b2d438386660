"""Atomic text output: a temporary sibling, then os.replace, so a killed run never leaves a half file
under the final name (and a failed one leaves the previous file as it was)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from alma_train.interrupts import critical


@contextmanager
def atomic_writer(path: Path | str) -> Iterator[TextIO]:
    """A UTF-8 text handle whose content replaces `path` only when the block ends without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        with critical():  # a second signal must not skip the removal
            Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path | str, text: str) -> None:
    """Write `text` to `path` atomically."""
    with atomic_writer(path) as handle:
        handle.write(text)


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
