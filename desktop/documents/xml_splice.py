"""An edited lxml tree written back as the source's own bytes with only the edited elements changed:
declaration, BOM, encoding, line endings, quoting and final newline kept (docs/translate.md, "XLIFF and TMX")."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from xml.parsers import expat

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ATTRIBUTE = re.compile(r"""(\s+)([^\s=/>]+)(\s*=\s*)("[^"]*"|'[^']*')""")
XML_NS = "http://www.w3.org/XML/1998/namespace"


class SpliceError(ValueError):
    """The source cannot be spliced (an encoding Python does not know): write the tree whole instead."""


@dataclass(frozen=True)
class _Span:
    start: int  # the start tag's "<"
    open_end: int  # just after the start tag's ">"
    end: int  # just after the element's last ">"


class Edits:
    """The elements of a parsed tree that a writer changes, recorded as it changes them: `replaced` (an
    existing element whose content changed: written whole), `inserted` (a new element), `attributes`
    (an existing element whose attributes change: call before changing them). `spliced` writes the
    source's bytes with only those places changed."""

    def __init__(self, tree) -> None:
        self._tree = tree
        # Ordinal of every element in document order: the same numbering expat's start events have.
        self._ordinal = {element: number for number, element in enumerate(_elements(tree.getroot()))}
        self._replaced: list = []
        self._inserted: list = []
        self._attributes: dict = {}  # element -> its attributes before the change

    def replaced(self, element) -> None:
        if element not in self._ordinal:  # new: it is written with the new element that holds it
            return
        self._replaced.append(element)

    def inserted(self, element) -> None:
        self._inserted.append(element)

    def attributes(self, element) -> None:
        if element in self._ordinal and element not in self._attributes:
            self._attributes[element] = dict(element.attrib)

    def spliced(self, source: bytes) -> bytes:
        """`source` with every recorded change made, everything else byte for byte; SpliceError when it
        cannot be done (the caller then writes the whole tree)."""
        from lxml import etree

        text, encoding, bom = _decode(source, self._tree.docinfo.encoding)
        old = text.encode("utf-8")
        new = etree.tostring(self._tree, encoding="UTF-8")  # in context: no namespace declarations repeated
        try:
            old_spans, new_spans = _spans(old), _spans(new)
        except (expat.ExpatError, ValueError) as exc:
            raise SpliceError(str(exc)) from None
        if len(old_spans) != len(self._ordinal):
            raise SpliceError("the element count differs from the parsed tree's")
        new_ordinal = {element: number for number, element in enumerate(_elements(self._tree.getroot()))}
        crlf = b"\r\n" in old[: old.find(b"\n") + 1] if b"\n" in old else False

        def fragment(start: int, end: int) -> bytes:
            piece = new[start:end]
            return piece.replace(b"\n", b"\r\n") if crlf else piece

        whole = set(self._replaced)
        inserted = set(self._inserted)
        changes: list[tuple[int, int, bytes]] = []

        def covered(element) -> bool:  # written already as part of a replaced or inserted ancestor
            return any(parent in whole or parent in inserted for parent in element.iterancestors())

        insertions: list[tuple[object, int, bytes]] = []
        for element in self._inserted:
            previous = element.getprevious()
            parent = element.getparent()
            if previous is not None and previous in self._ordinal and isinstance(previous.tag, str):
                # After its original previous sibling: that sibling's new tail and the element.
                at = old_spans[self._ordinal[previous]].end
                piece = fragment(new_spans[new_ordinal[previous]].end, new_spans[new_ordinal[element]].end)
            elif previous is None and parent in self._ordinal \
                    and old[old_spans[self._ordinal[parent]].open_end - 2:][:2] != b"/>":
                # First child: the parent's text and the element, just after the parent's start tag.
                at = old_spans[self._ordinal[parent]].open_end
                piece = fragment(new_spans[new_ordinal[parent]].open_end, new_spans[new_ordinal[element]].end)
            elif parent in self._ordinal:
                whole.add(parent)  # after a comment or a new element, or into <parent/>: the parent whole
                continue
            else:
                raise SpliceError("an inserted element without an original parent")
            insertions.append((element, at, piece))
        changes.extend((at, at, piece) for element, at, piece in insertions if not covered(element))
        for element in whole:
            if covered(element):
                continue
            old_span, new_span = old_spans[self._ordinal[element]], new_spans[new_ordinal[element]]
            changes.append((old_span.start, old_span.end, fragment(new_span.start, new_span.end)))
        for element, before in self._attributes.items():
            if element in whole or covered(element) or before == dict(element.attrib):
                continue
            old_span, new_span = old_spans[self._ordinal[element]], new_spans[new_ordinal[element]]
            tag = old[old_span.start:old_span.open_end].decode("utf-8")
            edited = _edit_start_tag(tag, before, element)
            piece = edited.encode("utf-8") if edited is not None else \
                fragment(new_span.start, new_span.open_end)
            changes.append((old_span.start, old_span.open_end, piece))
        changes.sort(key=lambda change: (change[0], change[1]))
        out: list[bytes] = []
        position = 0
        for start, end, piece in changes:
            if start < position:
                raise SpliceError("overlapping changes")
            out.append(old[position:start])
            out.append(piece)
            position = end
        out.append(old[position:])
        written = b"".join(out).decode("utf-8")
        return bom + written.encode(encoding, errors="xmlcharrefreplace")


def _elements(root):
    from lxml import etree

    return root.iter(tag=etree.Element)


def _decode(source: bytes, parsed: str | None) -> tuple[str, str, bytes]:
    """The source as text, the codec that writes it back, and its byte order mark (b"" when none);
    `parsed` is the encoding the XML parser read it in."""
    for bom, codec in _BOMS:
        if source.startswith(bom):
            return source[len(bom):].decode(codec), codec, bom
    declared = _DECLARED.match(source)
    codec = declared.group(1).decode("ascii") if declared else (parsed or "utf-8")
    try:
        if codecs.lookup(codec).name in ("utf-16", "utf-32"):  # without a BOM: byte order unknown here
            raise SpliceError(f"{codec} without a byte order mark")
        return source.decode(codec), codec, b""
    except (LookupError, UnicodeDecodeError) as exc:
        raise SpliceError(f"encoding {codec}: {exc}") from None


def _spans(data: bytes) -> list[_Span]:
    """Where each element of UTF-8 XML `data` is, in document order (expat's byte offsets)."""
    parser = expat.ParserCreate("UTF-8")  # the bytes are UTF-8 whatever the declaration says
    starts: list[int] = []
    ends: dict[int, int] = {}
    open_ends: dict[int, int] = {}
    stack: list[int] = []

    def start(name, attributes) -> None:
        number = len(starts)
        at = parser.CurrentByteIndex
        starts.append(at)
        open_ends[number] = _tag_end(data, at)
        stack.append(number)

    def end(name) -> None:
        number = stack.pop()
        if data[open_ends[number] - 2:open_ends[number]] == b"/>":
            ends[number] = open_ends[number]  # <empty/>: expat reports the position after it
        else:
            ends[number] = data.index(b">", parser.CurrentByteIndex) + 1

    def refuse(*_) -> None:  # checked before (safe_xml); never expanded here either
        raise SpliceError("entity declarations")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.EntityDeclHandler = refuse
    parser.Parse(data, True)
    return [_Span(starts[number], open_ends[number], ends[number]) for number in range(len(starts))]


def _tag_end(data: bytes, start: int) -> int:
    """Just after the ">" closing the start tag at `start` (a ">" inside a quoted value does not close it)."""
    quote = 0
    for position in range(start + 1, len(data)):
        byte = data[position]
        if quote:
            if byte == quote:
                quote = 0
        elif byte in (0x22, 0x27):  # " '
            quote = byte
        elif byte == 0x3E:  # >
            return position + 1
    raise SpliceError("an unterminated start tag")


def _qualified(element, key: str) -> str | None:
    """The attribute's name as written (prefix:local); None when no prefix is declared for its namespace."""
    if not key.startswith("{"):
        return key
    namespace, local = key[1:].split("}", 1)
    if namespace == XML_NS:
        return f"xml:{local}"
    for prefix, uri in element.nsmap.items():
        if prefix and uri == namespace:
            return f"{prefix}:{local}"
    return None


def _escape(value: str, quote: str) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;")
    value = value.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    return value.replace(quote, "&quot;" if quote == '"' else "&apos;")


def _edit_start_tag(tag: str, before: dict, element) -> str | None:
    """The start tag as written with the attributes changed from `before` to the element's: changed values
    in place (same quotes), removed ones cut, new ones added after the last; None if a name is not found."""
    after = dict(element.attrib)
    found = {match.group(2): match for match in _ATTRIBUTE.finditer(tag)}
    cuts: list[tuple[int, int, str]] = []
    for key in set(before) | set(after):
        if before.get(key) == after.get(key):
            continue
        name = _qualified(element, key)
        if name is None:
            return None
        match = found.get(name)
        if key in before:
            if match is None:
                return None
            if key in after:
                quote = match.group(4)[0]
                cuts.append((match.start(4), match.end(4), f"{quote}{_escape(after[key], quote)}{quote}"))
            else:
                cuts.append((match.start(), match.end(), ""))
    added = "".join(f' {_qualified(element, key)}="{_escape(after[key], chr(34))}"'
                    for key in after if key not in before)
    if added:
        if any(_qualified(element, key) is None for key in after if key not in before):
            return None
        last = max((match.end() for match in found.values()), default=None)
        if last is None:  # no attribute yet: after the element's name
            last = re.match(r"<[^\s/>]+", tag).end()
        cuts.append((last, last, added))
    for start, end, piece in sorted(cuts, reverse=True):
        tag = tag[:start] + piece + tag[end:]
    return tag
