"""The one error type the converter raises for input a user can fix (exit code 2 on the command line;
docs/convert.md, "Errors")."""

from __future__ import annotations

from pathlib import Path


class ConversionError(Exception):
    """Bad input: the message names the file or setting at fault and what to do about it."""


def check_output_free(path: Path, force: bool) -> None:
    """Refuse to overwrite an existing output unless the user said --force."""
    if Path(path).exists() and not force:
        raise ConversionError(f"{path} already exists; pass --force to overwrite it")
