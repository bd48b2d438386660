"""HTML (.html, .htm), streamed through html.parser: text nodes translated, a stretch with inline elements as
one tagged sentence; tags, attributes, comments, scripts and styles kept (docs/translate.md, "Documents";
docs/inline_markup.md, "What the formats do with it")."""

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
from desktop.documents.inline_markup import TaggedBuilder, TaggedText, parse

_KEPT_ELEMENTS = frozenset({"script", "style", "code", "pre", "kbd", "samp", "var", "textarea", "svg", "math"})
# Lines are fed to the parser in batches of about this many characters: html.parser rescans an
# unfinished construct on every feed, so fewer, larger feeds keep a long comment linear.
_FEED_CHARS = 64 * 1024
# The most html.parser may hold unfinished (a comment, a tag, a <script> waiting for its end):
# a large inline script fits; a file that never closes its comment is refused at this size.
_MAX_PENDING_CHARS = 8 * MAX_LINE_CHARS
# Inline elements whose content is part of the sentence around them (a segment spans them).
_INLINE_ELEMENTS = frozenset({"a", "abbr", "b", "bdi", "bdo", "cite", "del", "dfn", "em", "font", "i", "ins",
                              "label", "mark", "q", "s", "small", "span", "strong", "sub", "sup", "time", "u"})
# Inline elements kept whole inside a sentence, as one standalone tag (their content is code or a field).
_INLINE_OPAQUE = frozenset({"code", "kbd", "samp", "var", "tt"})
_INLINE_VOID = frozenset({"br", "img", "wbr"})
_VOID_ELEMENTS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                            "param", "source", "track", "wbr"})


class _PieceParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)  # entities reach us raw, so kept text stays byte-exact
        self.pieces: list[Piece] = []
        self._text: list[str] = []
        # The current stretch: raw text and inline tags, ("text", raw) / (kind, raw markup, element name).
        self._run: list[tuple[str, str, str]] = []
        self._run_open: list[str] = []  # inline elements opened in the stretch, innermost last
        self._capture: list[str] | None = None  # raw markup of an opaque inline element being read
        self._capture_depth = 0
        self._stack: list[tuple[str, bool]] = []  # (tag, keeps its content)
        self._open: dict[str, int] = {}  # how many of each tag are on the stack
        self._raw_endtag = ""  # the end tag being handled, as written

    def _keeping(self) -> bool:
        return bool(self._stack) and self._stack[-1][1]

    def _text_piece(self, raw: str) -> None:
        """One text node as before: translated alone (or kept, inside a kept element or without words)."""
        if self._keeping() or not has_words(raw):
            self.pieces.append(raw)
            return
        text = html.unescape(raw)
        lead = text[: len(text) - len(text.lstrip())]
        trail = text[len(text.rstrip()):]
        # Whitespace runs collapsed for the model (a browser collapses them too); the node's own leading
        # and trailing whitespace kept.
        self.pieces.append(Translatable(re.sub(r"\s+", " ", text.strip()),
                                        lambda t, lead=lead, trail=trail: lead + html.escape(t, quote=False) + trail))

    def _end_text(self) -> None:
        if self._text:
            self._run.append(("text", "".join(self._text), ""))
            self._text = []

    def flush_text(self) -> None:
        """End the current stretch: one tagged segment when it holds well-nested inline markup."""
        self._end_text()
        run, self._run, self._run_open = self._run, [], []
        if not run:
            return
        if all(kind == "text" for kind, _, _ in run):
            self._text_piece("".join(raw for _, raw, _ in run))
            return
        piece = _tagged_piece(run)
        if piece is not None:
            self.pieces.append(piece)
            return
        for kind, raw, _ in run:  # the inline elements do not nest within the stretch: piece by piece
            if kind == "text":
                self._text_piece(raw)
            else:
                self.pieces.append(raw)

    def handle_data(self, data: str) -> None:
        if self._capture is not None:
            self._capture.append(data)
        else:
            self._text.append(data)

    def handle_entityref(self, name: str) -> None:
        self.handle_data(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.handle_data(f"&#{name};")

    def _markup(self, raw: str) -> None:
        if self._capture is not None:
            self._capture.append(raw)
            return
        self.flush_text()
        self.pieces.append(raw)

    def _inline(self, kind: str, raw: str, tag: str) -> None:
        self._end_text()
        self._run.append((kind, raw, tag))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raw = self.get_starttag_text() or f"<{tag}>"
        no_translate = dict(attrs).get("translate") == "no"
        if self._capture is None and not self._keeping():
            if tag in _INLINE_VOID:
                self._inline("empty", raw, tag)
                return
            if tag in _INLINE_ELEMENTS and not no_translate:
                self._inline("open", raw, tag)
                self._run_open.append(tag)
                self._stack.append((tag, False))
                self._open[tag] = self._open.get(tag, 0) + 1
                return
            if tag in _INLINE_OPAQUE or (tag in _INLINE_ELEMENTS and no_translate):
                self._end_text()
                self._capture, self._capture_depth = [raw], len(self._stack)
                self._stack.append((tag, True))
                self._open[tag] = self._open.get(tag, 0) + 1
                return
        self._markup(raw)
        if tag in _VOID_ELEMENTS:
            return
        keep = self._keeping() or tag in _KEPT_ELEMENTS or no_translate
        self._stack.append((tag, keep))
        self._open[tag] = self._open.get(tag, 0) + 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raw = self.get_starttag_text() or f"<{tag}/>"
        if self._capture is None and not self._keeping() and tag in _INLINE_VOID:
            self._inline("empty", raw, tag)
        else:
            self._markup(raw)

    def parse_endtag(self, i: int) -> int:
        # html.parser hands handle_endtag the name in lower case; the end tag is written back as it was,
        # so XHTML (EPUB) stays well-formed: </linearGradient> in inline SVG, </p > with its space.
        end = self.rawdata.find(">", i + 1)
        self._raw_endtag = self.rawdata[i:end + 1] if end >= 0 else ""
        return super().parse_endtag(i)

    def _endtag_text(self, tag: str) -> str:
        raw = self._raw_endtag
        return raw if raw[2:2 + len(tag)].lower() == tag else f"</{tag}>"

    def handle_endtag(self, tag: str) -> None:
        raw = self._endtag_text(tag)
        if self._capture is None and self._run_open and self._run_open[-1] == tag:
            self._inline("close", raw, tag)
            self._run_open.pop()
        else:
            self._markup(raw)
        if not self._open.get(tag):  # a stray end tag: skip the scan (10,000 of them are quadratic)
            return
        for index in range(len(self._stack) - 1, -1, -1):  # tolerate unclosed inner elements
            if self._stack[index][0] == tag:
                for closed, _ in self._stack[index:]:
                    self._open[closed] -= 1
                del self._stack[index:]
                break
        if self._capture is not None and len(self._stack) <= self._capture_depth:
            # The opaque element ended: all of it is one standalone tag in the stretch.
            captured, self._capture = "".join(self._capture), None
            self._run.append(("empty", captured, tag))

    def handle_comment(self, data: str) -> None:
        self._markup(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self._markup(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self._markup(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self._markup(f"<![{data}]>")


def _tagged_piece(run: list[tuple[str, str, str]]) -> Translatable | None:
    """A stretch of text and inline tags as one tagged segment; None when its tags do not nest in it."""
    builder = TaggedBuilder()
    for kind, raw, tag in run:
        if kind == "text":
            builder.text(re.sub(r"\s+", " ", html.unescape(raw)))
        elif kind == "close":
            if not builder.close(tag, raw):
                return None
        elif kind == "open":
            builder.open(tag, raw, tag)
        else:
            builder.empty(raw, tag)
    if not builder.balanced:
        return None
    tagged = builder.tagged()
    body = tagged.strip()
    if not has_words(re.sub(r"<[^<>]*>", "", body)):
        return None  # nothing to translate: kept piece by piece (all of it is markup or blank)
    # The stretch's own leading and trailing whitespace, as written in the source.
    first, last = run[0], run[-1]
    lead = first[1][: len(first[1]) - len(first[1].lstrip())] if first[0] == "text" else ""
    trail = last[1][len(last[1].rstrip()):] if last[0] == "text" else ""

    def render(translation: str) -> str:
        out = [lead]
        for piece in parse(translation):
            if isinstance(piece, str):
                out.append(html.escape(piece, quote=False))
            else:
                out.append(builder.markup(piece))
        out.append(trail)
        return "".join(out)

    return Translatable(TaggedText(body, builder.names), render)


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
