"""What every document format shares: the error type, segments, text decoding and the format interface.

A format walks its file and yields the texts to translate in order (`segments`), and writes the
translated file by walking the source again and asking a callback for each text (`write`). Walking
twice keeps memory bounded for line-based formats: nothing but the current block is held.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

Translate = Callable[[str], str]

# The longest line a text format reads: 1 million characters is a few hundred pages without a line
# break, far past any real paragraph, and keeps a line-less file (binary, one huge line) to a few MB.
MAX_LINE_CHARS = 1_000_000


class DocumentError(Exception):
    """A document that cannot be translated: missing, empty, unsupported or undecodable."""


@dataclass(frozen=True)
class Translatable:
    """A text to translate; `render` turns its translation into what is written (rewrap, escape...)."""

    text: str
    render: Callable[[str], str] | None = None

    def written(self, translation: str) -> str:
        return self.render(translation) if self.render else translation


Piece = str | Translatable  # a plain str is written as it is


def has_words(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def protected_pieces(text: str, protected: re.Pattern[str]) -> list[Piece]:
    """Cut text around the spans `protected` matches (code, URLs, placeholders): those are kept."""
    pieces: list[Piece] = []
    start = 0
    for match in protected.finditer(text):
        if match.start() > start:
            chunk = text[start:match.start()]
            pieces.append(Translatable(chunk) if has_words(chunk) else chunk)
        if match.group():
            pieces.append(match.group())
        start = match.end()
    if start < len(text):
        chunk = text[start:]
        pieces.append(Translatable(chunk) if has_words(chunk) else chunk)
    return pieces


def split_line_ending(line: str) -> tuple[str, str]:
    """("text", "\\r\\n") for "text\\r\\n"."""
    body = line.rstrip("\r\n")
    return body, line[len(body):]


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def detect_encoding(path: Path) -> str:
    """UTF-8, or the UTF flavour its byte order mark names (UTF-8-BOM, UTF-16, UTF-32)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError as exc:  # a folder, no permission, a vanished file: said plainly, never a traceback
        raise DocumentError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    return "utf-8"


def read_lines(path: Path, encoding: str, max_line_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """The file's lines with their endings, decoded; a DocumentError names the file and line at fault.

    Lines are read with a length limit, so a file without line breaks (a binary, a 5 GB log) is
    refused after max_line_chars characters instead of being read whole into memory.
    """
    number = 0
    # Room for the longest ending ("\r\n") on a line of exactly max_line_chars characters.
    limit = max_line_chars + 2
    try:
        with path.open(encoding=encoding, newline="") as handle:
            while line := handle.readline(limit):
                number += 1
                if len(line) == limit and not line.endswith(("\n", "\r")):
                    raise DocumentError(
                        f"{path}: line {number} is longer than {max_line_chars:,} characters; "
                        "this does not look like a text document (split it into lines or paragraphs)"
                    )
                if "\x00" in line:
                    raise DocumentError(
                        f"{path}: line {number}: a NUL byte; this looks like a binary file "
                        "(or UTF-16 text without a byte order mark: save it as UTF-8)"
                    )
                yield line
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{path}: line {number + 1}: not {encoding.upper()} text ({exc.reason}); save it as UTF-8 "
            "(e.g. iconv -f latin1 -t utf-8) and try again"
        ) from None
    except OSError as exc:
        raise DocumentError(f"{path}: cannot be read ({exc.strerror or exc})") from None


class DocumentFormat:
    """A document format: the texts it holds, and how to write it back with them translated."""

    extensions: tuple[str, ...] = ()

    def segments(self, source: Path) -> Iterator[str]:
        raise NotImplementedError

    def write(self, source: Path, target: Path, translate: Translate) -> None:
        raise NotImplementedError


class TextDocumentFormat(DocumentFormat):
    """A line-based text format: subclasses turn lines into pieces; the output keeps the source's encoding."""

    def pieces(self, lines: Iterable[str]) -> Iterator[Piece]:
        raise NotImplementedError

    def segments(self, source: Path) -> Iterator[str]:
        with _naming(source):
            for piece in self.pieces(read_lines(source, detect_encoding(source))):
                if isinstance(piece, Translatable):
                    yield piece.text

    def write(self, source: Path, target: Path, translate: Translate) -> None:
        encoding = detect_encoding(source)
        with _naming(source), target.open("w", encoding=encoding, newline="") as out:
            for piece in self.pieces(read_lines(source, encoding)):
                out.write(piece.written(translate(piece.text)) if isinstance(piece, Translatable) else piece)


@contextmanager
def _naming(source: Path) -> Iterator[None]:
    """Put the file's name in front of a DocumentError raised without it (by a parser that never saw it)."""
    try:
        yield
    except DocumentError as exc:
        if str(exc).startswith(str(source)):
            raise
        raise DocumentError(f"{source}: {exc}") from None
