"""Atomic outputs: a kill or a full disk never leaves a half-written file under the final name."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alma_train.atomic_files import current_umask, give_default_modes
from alma_train.interrupts import critical
from convert.errors import ConversionError


def check_output_free(path: Path, force: bool) -> None:
    """Refuse to overwrite an existing output unless the user said --force."""
    if path.exists() and not force:
        raise ConversionError(f"{path} already exists; pass --force to overwrite it")


@contextmanager
def atomic_file(path: Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only when the block succeeds.

    The temporary file lives in the same folder so that os.replace is a rename on one file system.
    """
    path = Path(path)
    check_output_free(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp made it private; give it a plain open()'s mode
        os.replace(tmp, path)
    finally:
        with critical():  # a SIGTERM arriving here must not skip the removal
            tmp.unlink(missing_ok=True)


@contextmanager
def atomic_dir(path: Path, force: bool = False) -> Iterator[Path]:
    """Like atomic_file, for a directory: built in a hidden sibling, renamed into place at the end."""
    path = Path(path)
    check_output_free(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield staging
        give_default_modes(staging)
        # A signal between removing the old output and the rename would leave neither: held back.
        with critical():
            if path.exists():
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            os.replace(staging, path)
    finally:
        with critical():
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
