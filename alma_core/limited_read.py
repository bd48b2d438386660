"""Reading a user's file whole, but only up to a size limit (refused by its size before it is read), with
the one message every reader gives (docs/reliability.md, "Hostile and malformed inputs")."""

from __future__ import annotations

from pathlib import Path


class LimitedReadError(ValueError):
    """The file is over the limit or cannot be read; the message names the file."""


def read_limited(path: Path, max_bytes: int, what: str) -> bytes:
    """The bytes of `path`, refused with LimitedReadError when larger than max_bytes or unreadable.

    what names the kind of file in the message ("an XLIFF file", "a glossary").
    """
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LimitedReadError(f"{path}: {size / 2**20:,.0f} MB; the limit for {what} is "
                                   f"{max_bytes // 2**20} MB")
        return path.read_bytes()
    except OSError as exc:
        raise LimitedReadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
