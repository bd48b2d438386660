"""What every document format shares: the error type, segments, text decoding and the format interface
(a file or text in, a binary stream out); docs/translate.md, "Documents".
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

Translate = Callable[[str], str]

# The longest line a text format reads: 1 million characters is a few hundred pages without a line
# break, far past any real paragraph, and keeps a line-less file (binary, one huge line) to a few MB.
MAX_LINE_CHARS = 1_000_000


NOTHING_TO_TRANSLATE = "nothing to translate (the document is empty or has no text)"


class DocumentError(Exception):
    """A document that cannot be translated: missing, empty, unsupported or undecodable."""


@dataclass(frozen=True)
class TextSource:
    """A document held as text (the API's `format=html`): read by the text formats like a UTF-8 file;
    `name` stands for the file in messages, `suffix` picks the format."""

    text: str
    name: str
    suffix: str

    def __str__(self) -> str:
        return self.name


Source = Path | TextSource


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


# Each byte order mark with the codec of its byte order: "utf-16" would write the machine's order (LE), so a
# UTF-16 BE source would come back LE. UTF-32 LE first: its BOM starts with UTF-16 LE's.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# The BOM written (and skipped when reading) by hand for the codecs of one byte order; utf-8-sig does its own.
_BOM_OF = {encoding: bom for bom, encoding in _BOMS if encoding != "utf-8-sig"}


def detect_encoding(path: Source) -> str:
    """UTF-8, or the UTF flavour and byte order its byte order mark names (utf-8-sig, utf-16-le/-be,
    utf-32-le/-be); text is UTF-8."""
    if isinstance(path, TextSource):
        return "utf-8"
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError as exc:  # a folder, no permission, a vanished file: said plainly, never a traceback
        raise DocumentError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    return "utf-8"


def _open_text(source: Source, encoding: str) -> TextIO:
    if isinstance(source, TextSource):
        return io.StringIO(source.text, newline="")
    handle = source.open("rb")
    handle.seek(len(_BOM_OF.get(encoding, b"")))  # the BOM is no text; it is written back by write_bom
    return io.TextIOWrapper(handle, encoding=encoding, newline="")


def write_bom(out: BinaryIO, encoding: str) -> None:
    """The byte order mark of a source read in `encoding` (detect_encoding's), before its text."""
    out.write(_BOM_OF.get(encoding, b""))


def read_lines(path: Source, encoding: str, max_line_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """The file's (or text's) lines with their endings, decoded; a DocumentError names the file and line at fault.

    Lines are read with a length limit, so a file without line breaks (a binary, a 5 GB log) is
    refused after max_line_chars characters instead of being read whole into memory.
    """
    number = 0
    # Room for the longest ending ("\r\n") on a line of exactly max_line_chars characters.
    limit = max_line_chars + 2
    try:
        with _open_text(path, encoding) as handle:
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
    """A document format: the texts it holds (`segments`), and how to write it back with them translated
    (`write`: the source walked again, a callback asked for each text, the result written to `out`).

    Walking twice keeps memory bounded for line-based formats: nothing but the current block is held.
    Files are read by every format, text (TextSource) by the line-based ones.
    """

    extensions: tuple[str, ...] = ()
    # What the user must know about every translation in this format, said once the file is written
    # (a PDF comes back as a Word document without its layout); empty for the formats that keep it all.
    note: str = ""

    def configured(self, src: str, tgt: str, overwrite: bool = False, model_name: str | None = None) -> DocumentFormat:
        """The format for one job: bilingual formats (XLIFF) check the languages, mark the model's
        output and keep or replace existing targets; the others are the same for every job."""
        return self

    def output_suffix(self, suffix: str) -> str:
        """The suffix of a translation of a file with this suffix (a .pot template becomes a .po catalog)."""
        return suffix

    def segments(self, source: Source) -> Iterator[str]:
        raise NotImplementedError

    def why_empty(self, source: Source) -> str:
        """Why segments() yields nothing for `source`, in words for the user after the file's name (asked
        only then): bilingual formats tell a file whose units are all translated from an empty one."""
        return NOTHING_TO_TRANSLATE

    def write(self, source: Source, out: BinaryIO, translate: Translate) -> None:
        raise NotImplementedError


class TextDocumentFormat(DocumentFormat):
    """A line-based text format: subclasses turn lines into pieces; the output keeps the source's encoding."""

    def pieces(self, lines: Iterable[str]) -> Iterator[Piece]:
        raise NotImplementedError

    def segments(self, source: Source) -> Iterator[str]:
        with _naming(source):
            for piece in self.pieces(read_lines(source, detect_encoding(source))):
                if isinstance(piece, Translatable):
                    yield piece.text

    def write(self, source: Source, out: BinaryIO, translate: Translate) -> None:
        encoding = detect_encoding(source)
        write_bom(out, encoding)
        text = io.TextIOWrapper(out, encoding=encoding, newline="")
        try:
            with _naming(source):
                for piece in self.pieces(read_lines(source, encoding)):
                    text.write(piece.written(translate(piece.text)) if isinstance(piece, Translatable) else piece)
            text.flush()
        finally:
            text.detach()  # `out` stays open: it is the caller's


@contextmanager
def _naming(source: Source) -> Iterator[None]:
    """Put the file's name in front of a DocumentError raised without it (by a parser that never saw it)."""
    try:
        yield
    except DocumentError as exc:
        if str(exc).startswith(str(source)):
            raise
        raise DocumentError(f"{source}: {exc}") from None
