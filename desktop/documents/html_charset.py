"""An HTML page's character encoding as a browser finds it: its byte order mark, else the HTML standard's
prescan of its first 1024 bytes for a `<meta charset>` or `http-equiv` Content-Type, with the WHATWG
label table (webencodings); docs/translate.md, "HTML charsets"."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import webencodings

# How far a browser looks for a declaration: the standard's suggested end condition of the prescan.
PRESCAN_BYTES = 1024

_SPACE = b"\t\n\x0c\r "
_META = re.compile(rb"<meta[\t\n\x0c\r /]", re.IGNORECASE)
_TAG = re.compile(rb"</?[A-Za-z]")
_CHARSET = re.compile(rb"charset", re.IGNORECASE)


# The five bytes Python's cp1252 leaves undefined; WHATWG's windows-1252 reads each as the C1 control of
# the same number (U+0081 ...), so a page holding one is read as a browser reads it and written back as it was.
_C1_BYTES = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})
# The error handler a page's legacy charset is read and written with (both directions).
ERRORS = "alma-html-charset"


def _charset_errors(exc: UnicodeError) -> tuple[str | bytes, int]:
    """Reading: the C1 bytes of windows-1252; writing: those back, and a character the page's charset cannot
    hold as a numeric character reference (`&#8364;`), which a browser shows as the character."""
    if isinstance(exc, UnicodeDecodeError):
        byte = exc.object[exc.start]
        if exc.encoding == "charmap" and byte in _C1_BYTES:
            return chr(byte), exc.start + 1
        raise exc
    if isinstance(exc, UnicodeEncodeError):
        char = ord(exc.object[exc.start])
        if exc.encoding == "charmap" and char in _C1_BYTES:
            return bytes([char]), exc.start + 1
        return f"&#{char};", exc.start + 1
    raise exc


codecs.register_error(ERRORS, _charset_errors)


@dataclass(frozen=True)
class Declared:
    """A charset the page declares: its WHATWG name, the Python codec that reads it, the line of its <meta>."""

    name: str
    codec: str
    line: int


class _Scan:
    """The standard's prescan over `data` (the first PRESCAN_BYTES); running out of bytes ends it."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise _OutOfBytes
        return self.data[self.pos]

    def skip_space(self) -> None:
        while self.byte() in _SPACE:
            self.pos += 1

    def attribute(self) -> tuple[bytes, bytes] | None:
        """The standard's "get an attribute": (name, value) in ASCII lower case, None at the tag's end."""
        while self.byte() in _SPACE or self.byte() == ord("/"):
            self.pos += 1
        if self.byte() == ord(">"):
            return None
        name = bytearray()
        while True:
            byte = self.byte()
            if byte == ord("=") and name:
                self.pos += 1
                break
            if byte in _SPACE:
                self.skip_space()
                if self.byte() != ord("="):
                    return bytes(name), b""
                self.pos += 1
                break
            if byte in b"/>":
                return bytes(name), b""
            name.append(byte | 0x20 if ord("A") <= byte <= ord("Z") else byte)
            self.pos += 1
        self.skip_space()
        value = bytearray()
        quote = self.byte()
        if quote in b"\"'":
            self.pos += 1
            while (byte := self.byte()) != quote:
                value.append(byte | 0x20 if ord("A") <= byte <= ord("Z") else byte)
                self.pos += 1
            self.pos += 1
            return bytes(name), bytes(value)
        if quote == ord(">"):
            return bytes(name), b""
        while (byte := self.byte()) not in _SPACE and byte != ord(">"):
            value.append(byte | 0x20 if ord("A") <= byte <= ord("Z") else byte)
            self.pos += 1
        return bytes(name), bytes(value)

    def meta(self) -> webencodings.Encoding | None:
        """The encoding one <meta> declares (the scan stands after `<meta` and its space), None if none."""
        seen: set[bytes] = set()
        got_pragma, need_pragma = False, None
        charset: webencodings.Encoding | None = None
        while (attribute := self.attribute()) is not None:
            name, value = attribute
            if name in seen:
                continue
            seen.add(name)
            if name == b"http-equiv" and value == b"content-type":
                got_pragma = True
            elif name == b"content" and charset is None:
                label = _charset_in_content(value)
                found = None if label is None else _lookup(label)
                if found is not None:
                    charset, need_pragma = found, True
            elif name == b"charset":
                charset, need_pragma = _lookup(value), False
        if need_pragma is None or (need_pragma and not got_pragma) or charset is None:
            return None
        if charset.name in ("utf-16be", "utf-16le"):  # bytes that were read as ASCII cannot be UTF-16
            return webencodings.lookup("utf-8")
        if charset.name == "x-user-defined":
            return webencodings.lookup("windows-1252")
        return charset


class _OutOfBytes(Exception):
    pass


def _lookup(label: bytes) -> webencodings.Encoding | None:
    return webencodings.lookup(label.decode("latin-1"))


def _charset_in_content(value: bytes) -> bytes | None:
    """The standard's "extract a character encoding from a meta element" on a content attribute."""
    pos = 0
    while match := _CHARSET.search(value, pos):
        pos = match.end()
        while pos < len(value) and value[pos] in _SPACE:
            pos += 1
        if pos >= len(value) or value[pos] != ord("="):
            continue
        pos += 1
        while pos < len(value) and value[pos] in _SPACE:
            pos += 1
        if pos >= len(value):
            return None
        if value[pos] in b"\"'":
            end = value.find(value[pos:pos + 1], pos + 1)
            return value[pos + 1:end] if end >= 0 else None
        end = pos
        while end < len(value) and value[end] not in _SPACE and value[end] != ord(";"):
            end += 1
        return value[pos:end]
    return None


def prescan(head: bytes) -> Declared | None:
    """The charset the page's first PRESCAN_BYTES declare in a <meta> (BOMs are the caller's), or None."""
    scan = _Scan(head[:PRESCAN_BYTES])
    data = scan.data
    try:
        while scan.pos < len(data):
            if data.startswith(b"<!--", scan.pos):
                end = data.find(b"-->", scan.pos + 2)  # `<!-->` is a whole comment
                if end < 0:
                    return None
                scan.pos = end + 3
            elif match := _META.match(data, scan.pos):
                start = scan.pos
                scan.pos = match.end()
                encoding = scan.meta()
                if encoding is not None:
                    return Declared(encoding.name, encoding.codec_info.name, data.count(b"\n", 0, start) + 1)
                scan.pos += 1
            elif match := _TAG.match(data, scan.pos):
                scan.pos = match.end()
                while scan.byte() not in _SPACE and scan.byte() != ord(">"):
                    scan.pos += 1
                while scan.attribute() is not None:
                    pass
                scan.pos += 1
            elif data.startswith((b"<!", b"</", b"<?"), scan.pos):
                end = data.find(b">", scan.pos + 2)
                if end < 0:
                    return None
                scan.pos = end + 1
            else:
                scan.pos += 1
    except _OutOfBytes:
        pass
    return None
