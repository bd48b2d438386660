"""HTML (.html, .htm): text nodes translated; tags, attributes, comments, scripts and styles kept.

Parsed with the standard library's html.parser in chunks, so a large page is never held whole.
Not translated: script, style, code, pre and the like, and anything inside an element marked
translate="no" (the HTML standard's own switch). Whitespace runs inside a text node are collapsed
for the model (the browser collapses them too); the node's leading and trailing whitespace is kept.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser

from desktop.documents.base import (
    MAX_LINE_CHARS,
    DocumentError,
    Piece,
    TextDocumentFormat,
    Translatable,
    has_words,
)

_KEPT_ELEMENTS = frozenset({"script", "style", "code", "pre", "kbd", "samp", "var", "textarea", "svg", "math"})
# Lines are fed to the parser in batches of about this many characters: html.parser rescans an
# unfinished construct on every feed, so fewer, larger feeds keep a long comment linear.
_FEED_CHARS = 64 * 1024
# The most html.parser may hold unfinished (a comment, a tag, a <script> waiting for its end):
# a large inline script fits; a file that never closes its comment is refused at this size.
_MAX_PENDING_CHARS = 8 * MAX_LINE_CHARS
_VOID_ELEMENTS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                            "param", "source", "track", "wbr"})


class _PieceParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)  # entities reach us raw, so kept text stays byte-exact
        self.pieces: list[Piece] = []
        self._text: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, keeps its content)
        self._open: dict[str, int] = {}  # how many of each tag are on the stack

    def _keeping(self) -> bool:
        return bool(self._stack) and self._stack[-1][1]

    def flush_text(self) -> None:
        if not self._text:
            return
        raw = "".join(self._text)
        self._text = []
        if self._keeping() or not has_words(raw):
            self.pieces.append(raw)
            return
        text = html.unescape(raw)
        lead = text[: len(text) - len(text.lstrip())]
        trail = text[len(text.rstrip()):]
        self.pieces.append(Translatable(re.sub(r"\s+", " ", text.strip()),
                                        lambda t, lead=lead, trail=trail: lead + html.escape(t, quote=False) + trail))

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_entityref(self, name: str) -> None:
        self._text.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self._text.append(f"&#{name};")

    def _markup(self, raw: str) -> None:
        self.flush_text()
        self.pieces.append(raw)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._markup(self.get_starttag_text() or f"<{tag}>")
        if tag in _VOID_ELEMENTS:
            return
        keep = self._keeping() or tag in _KEPT_ELEMENTS or dict(attrs).get("translate") == "no"
        self._stack.append((tag, keep))
        self._open[tag] = self._open.get(tag, 0) + 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._markup(self.get_starttag_text() or f"<{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        self._markup(f"</{tag}>")
        if not self._open.get(tag):  # a stray end tag: skip the scan (10,000 of them are quadratic)
            return
        for index in range(len(self._stack) - 1, -1, -1):  # tolerate unclosed inner elements
            if self._stack[index][0] == tag:
                for closed, _ in self._stack[index:]:
                    self._open[closed] -= 1
                del self._stack[index:]
                break

    def handle_comment(self, data: str) -> None:
        self._markup(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self._markup(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self._markup(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self._markup(f"<![{data}]>")


class HtmlFormat(TextDocumentFormat):
    extensions = (".html", ".htm")

    def pieces(self, lines: Iterable[str]) -> Iterator[Piece]:
        parser = _PieceParser()
        batch: list[str] = []
        size = 0
        for line in lines:
            batch.append(line)
            size += len(line)
            # A batch at least as long as what the parser still holds keeps the rescans linear.
            if size < max(_FEED_CHARS, len(parser.rawdata)):
                continue
            yield from self._feed(parser, "".join(batch))
            batch, size = [], 0
        yield from self._feed(parser, "".join(batch))
        # What html.parser still holds at the end is an unfinished comment, tag or script: close()
        # would turn it into text to translate, or drop it (an unclosed <script>). A cut file, refused.
        if parser.cdata_elem or re.match(r"<[!?/A-Za-z]", parser.rawdata):
            raise DocumentError(
                f"the file ends inside an unclosed {'<' + parser.cdata_elem + '>' if parser.cdata_elem else 'comment or tag'}"
                f" ({parser.rawdata[:30]!r}...); it looks truncated"
            )
        parser.close()
        parser.flush_text()
        yield from parser.pieces

    @staticmethod
    def _feed(parser: _PieceParser, chunk: str) -> Iterator[Piece]:
        parser.feed(chunk)
        # html.parser keeps an unfinished construct (an unclosed comment, tag or declaration) and
        # scans it again on every feed: refuse one that runs on, before that turns quadratic.
        if len(parser.rawdata) > _MAX_PENDING_CHARS:
            raise DocumentError(f"an unclosed comment, tag, script or declaration runs on for more than "
                                f"{_MAX_PENDING_CHARS:,} characters")
        # Text may continue in the next chunk: only what precedes the last markup is final.
        ready, parser.pieces = parser.pieces, []
        yield from ready
