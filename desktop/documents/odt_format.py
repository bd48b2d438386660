"""OpenDocument text (.odt) and presentations (.odp): paragraphs and headings translated wherever they sit
(frames, text boxes, shapes, notes), text:span and text:a as tags; their XML parts edited with lxml, every
other member copied byte for byte (docs/translate.md, "Documents")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from desktop.documents.base import DocumentError, DocumentFormat, Translate, has_words
from desktop.documents.office_package import (
    PackageKind,
    check_package,
    package_error,
    read_parts,
    rewrite_package,
    serialize_part,
    why_package_empty,
)
from desktop.documents.ooxml_runs import xml_text
from desktop.documents.runs import Span, TextRun, segment_text, translate_runs

ODT = PackageKind(".odt", "OpenDocument text", mimetypes=("application/vnd.oasis.opendocument.text",),
                  refuse_doctype=False)
ODP = PackageKind(".odp", "OpenDocument presentation", mimetypes=("application/vnd.oasis.opendocument.presentation",),
                  refuse_doctype=False)

_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
_FO = "{urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0}"
_PARAGRAPHS = (_TEXT + "p", _TEXT + "h")
_WRAPPERS = frozenset({_TEXT + "span", _TEXT + "a"})
_SPACE = _TEXT + "s"
_SKIPPED = frozenset({_TEXT + "soft-page-break"})  # where the last layout broke the page: recomputed
_PARTS = ("content.xml", "styles.xml")
# ODF collapses any run of white space in text to one space (text:s spells the others).
_WHITESPACE = re.compile(r"[ \t\r\n]+")


@dataclass
class _Stretch:
    pieces: list[tuple[str, tuple]] = field(default_factory=list)  # (text, chain of wrapper elements)

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.pieces)


def _children(element) -> list:
    """The element's content as a list of strings and child elements (lxml keeps text in .text/.tail)."""
    items: list = [element.text] if element.text else []
    for child in element:
        items.append(child)
        if child.tail:
            items.append(child.tail)
    return items


def _simple(element) -> bool:
    """A span or link holding only text, spaces and simple spans or links: it belongs inside a sentence."""
    return all(child.tag in (_SPACE, *_SKIPPED) or (child.tag in _WRAPPERS and _simple(child)) for child in element)


def _flatten(element, chain: tuple, out: _Stretch) -> None:
    for item in _children(element):
        if isinstance(item, str):
            out.pieces.append((_WHITESPACE.sub(" ", item), chain))
        elif item.tag == _SPACE:
            out.pieces.append((" " * max(int(item.get(_TEXT + "c") or 1), 1), chain))
        elif item.tag in _WRAPPERS:
            _flatten(item, (*chain, item), out)
        # text:soft-page-break: dropped


def _layout(container) -> list:
    """The container's content as kept elements (breaks) and _Stretches of text, in order."""
    layout: list = []

    def stretch() -> _Stretch:
        if not layout or not isinstance(layout[-1], _Stretch):
            layout.append(_Stretch())
        return layout[-1]

    for item in _children(container):
        if isinstance(item, str):
            stretch().pieces.append((_WHITESPACE.sub(" ", item), ()))
        elif item.tag == _SPACE:
            stretch().pieces.append((" " * max(int(item.get(_TEXT + "c") or 1), 1), ()))
        elif item.tag in _WRAPPERS and _simple(item):
            _flatten(item, (item,), stretch())
        elif item.tag in _SKIPPED and layout and isinstance(layout[-1], _Stretch):
            continue
        else:
            layout.append(item)
    return layout


def _containers(root) -> Iterator:
    """Paragraphs and headings (in document order), and the complex spans and links inside them."""
    for element in root.iter(*_PARAGRAPHS):
        if any(ancestor.tag == _TEXT + "tracked-changes" for ancestor in element.iterancestors()):
            continue
        yield element
        for inner in element.iterdescendants(*_WRAPPERS):
            # A span or link that holds a tab, a note or a frame is not part of its paragraph's
            # sentences; its own text is translated as a container of its own.
            if not _simple(inner) and inner.getparent() is not None and not _in_nested_paragraph(inner, element):
                yield inner


def _in_nested_paragraph(element, paragraph) -> bool:
    for ancestor in element.iterancestors():
        if ancestor is paragraph:
            return False
        if ancestor.tag in _PARAGRAPHS:
            return True  # a nested paragraph (in a note or frame): handled as its own container
    return False


def _roots(parts: dict[str, object], translated: tuple[str, ...]) -> Iterator[tuple[str, object]]:
    """(part name, element) for the document body and, where translated, the page styles (a text's headers
    and footers live there; a presentation's master pages hold placeholder prompts no slideshow shows)."""
    for name in translated:
        root = parts.get(name)
        if root is not None:
            for top in root.iter(_OFFICE + ("master-styles" if name == "styles.xml" else "body")):
                yield name, top


class _Looks:
    """What each character style looks like, for the tag names the model sees (<b>, <i>, <u>)."""

    def __init__(self, parts: dict[str, object]) -> None:
        self.names: dict[str, str] = {}
        for root in parts.values():
            for style in root.iter(_STYLE + "style"):
                props = style.find(_STYLE + "text-properties")
                if props is None:
                    continue
                name = ("b" if props.get(_FO + "font-weight") in ("bold", "600", "700", "800", "900") else
                        "i" if props.get(_FO + "font-style") in ("italic", "oblique") else
                        "u" if props.get(_STYLE + "text-underline-style") not in (None, "none") else None)
                if name:
                    self.names[style.get(_STYLE + "name") or ""] = name

    def name(self, chain: tuple) -> str:
        if not chain:
            return "span"
        innermost = chain[-1]
        if innermost.tag == _TEXT + "a":
            return "a"
        return self.names.get(innermost.get(_TEXT + "style-name") or "", "span")


def _key(chain: tuple) -> tuple:
    return tuple((element.tag, tuple(sorted(element.attrib.items()))) for element in chain)


def _spaced(container, text: str) -> list:
    """Text as ODF writes it: one space kept as it is, the others of a run as <text:s text:c="n"/>."""
    items: list = []
    for part in re.split(r"( {2,})", re.sub(r"[\t\r\n]", " ", xml_text(text))):
        if not part:
            continue
        if part.startswith("  "):
            items.append(" ")
            space = container.makeelement(_SPACE, {})
            if len(part) > 2:
                space.set(_TEXT + "c", str(len(part) - 1))
            items.append(space)
        else:
            items.append(part)
    return items


def _built(container, stretch: _Stretch, spans: list[Span]) -> list:
    """New content for a stretch: each span's text inside copies of its source piece's wrappers."""
    items: list = []
    for span in spans:
        chain = stretch.pieces[span.run][1]
        content = _spaced(container, span.text)
        for wrapper in reversed(chain):
            copy_ = container.makeelement(wrapper.tag, dict(wrapper.attrib))
            _fill(copy_, content)
            content = [copy_]
        items.extend(content)
    return items


def _fill(element, items: list) -> None:
    """Set an element's content from strings and elements (the inverse of _children)."""
    element.text = None
    for child in list(element):
        element.remove(child)
    last = None
    for item in items:
        if isinstance(item, str):
            if last is None:
                element.text = (element.text or "") + item
            else:
                last.tail = (last.tail or "") + item
        else:
            item.tail = None
            element.append(item)
            last = item


def _stretch_runs(stretch: _Stretch, looks: _Looks) -> list[TextRun]:
    return [TextRun(text, _key(chain), looks.name(chain)) for text, chain in stretch.pieces]


def _load(source: Path, kind: PackageKind) -> dict[str, object]:
    check_package(source, kind)
    parts = read_parts(source, kind, lambda name: name in _PARTS)
    if "content.xml" not in parts:
        raise DocumentError(f"{source}: {kind.unreadable} (no content.xml in the package)")
    return parts


class OdtFormat(DocumentFormat):
    extensions = (".odt",)
    kind = ODT
    translated_parts: tuple[str, ...] = _PARTS  # the body, and the page styles' headers and footers

    def segments(self, source: Path) -> Iterator[str]:
        parts = _load(source, self.kind)
        looks = _Looks(parts)
        for _, top in _roots(parts, self.translated_parts):
            for container in _containers(top):
                for entry in _layout(container):
                    if isinstance(entry, _Stretch) and has_words(entry.text):
                        yield segment_text(_stretch_runs(entry, looks))

    def why_empty(self, source: Path) -> str:
        return why_package_empty(source, self.kind)

    def write(self, source: Path, out: BinaryIO, translate: Translate) -> None:
        parts = _load(source, self.kind)
        looks = _Looks(parts)
        changed: set[str] = set()
        for name, top in _roots(parts, self.translated_parts):
            for container in list(_containers(top)):
                layout = _layout(container)
                if not any(isinstance(e, _Stretch) and has_words(e.text) for e in layout):
                    continue  # left exactly as it was
                items: list = []
                for entry in layout:
                    if not isinstance(entry, _Stretch):
                        items.append(entry)
                    elif has_words(entry.text):
                        spans = translate_runs(_stretch_runs(entry, looks), translate)
                        items.extend(_built(container, entry, spans))
                    else:  # spaces and punctuation between kept elements: written back as they were
                        items.extend(_built(container, entry, [Span(t, i) for i, (t, _) in enumerate(entry.pieces)]))
                _fill(container, items)
                changed.add(name)
        try:
            rewrite_package(source, out, {name: serialize_part(parts[name]) for name in changed})
        except (OSError, DocumentError):
            raise
        except Exception as exc:
            raise package_error(source, self.kind, exc) from None


class OdpFormat(OdtFormat):
    """A presentation: the same paragraphs, in the slides' frames, text boxes and shapes and in the notes."""

    extensions = (".odp",)
    kind = ODP
    translated_parts = ("content.xml",)  # not the master pages (as in .pptx, not its layouts and masters)

