"""The one error type the converter raises for input a user can fix (exit code 2 on the command line)."""

from __future__ import annotations


class ConversionError(Exception):
    """Bad input: the message names the file or setting at fault and what to do about it."""
