"""Markdown (.md): prose translated; code, front matter and markup kept, a line's emphasis, links and inline
code as tags of one sentence (docs/translate.md, "Documents"; docs/inline_markup.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from desktop.documents.base import (
    Piece,
    TextDocumentFormat,
    Translatable,
    has_words,
    protected_pieces,
    split_line_ending,
)
from desktop.documents.inline_markup import TaggedBuilder, TaggedText, parse

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INDENTED = re.compile(r"^(?: {4}|\t)")
_HTML_BLOCK = re.compile(r"^ {0,3}<(?:[A-Za-z][\w-]*|/[A-Za-z]|!--|!\[CDATA|\?)")
_LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*\S")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{1,}:?\s*(?:\|\s*:?-{1,}:?\s*)*\|?\s*$")
_BLOCK_PREFIX = re.compile(
    r"^\s*(?:>\s?)*\s*(?:#{1,6}(?=\s)|[-*+](?=\s)(?:\s+\[[ xX]\](?=\s))?|\d{1,9}[.)](?=\s))?\s*"
)
_LIST_ITEM = re.compile(r"^\s*(?:>\s?)*\s*(?:[-*+]|\d{1,9}[.)])\s")
_INLINE_KEPT = re.compile(
    r"(`+).*?\1"  # inline code
    r"|!?\["  # the opening of a link or image (its text is translated)
    r"|\]\((?:[^()\s]|\([^()]*\))*(?:\s+(?:\"[^\"]*\"|'[^']*'))?\)"  # ](target "title")
    r"|\]\[[^\]]*\]"  # ][reference]
    r"|\[\^[^\]]+\]"  # footnote reference
    r"|<(?:https?|ftp|mailto):[^>\s]+>|<[^>\s@]+@[^>\s]+>"  # autolinks
    r"|https?://[^\s<>()]+"  # bare URLs
    r"|</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>|<!--.*?-->"  # inline HTML
    r"|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z]\w*);"  # entities
    r"|\*{1,3}|(?<!\w)_{1,3}|_{1,3}(?!\w)|~~"  # emphasis markers
    r"|\]|\s+\#+\s*$|\\."  # a closing bracket, closing heading hashes, escapes
)


_EMPHASIS = re.compile(r"\*{1,3}|_{1,3}|~~")
_HTML_OPEN = re.compile(r"<([A-Za-z][\w-]*)(?:\s[^<>]*)?>")
_HTML_CLOSE = re.compile(r"</([A-Za-z][\w-]*)\s*>")
_EMPHASIS_NAMES = {"*": "i", "_": "i", "**": "b", "__": "b", "***": "strong", "___": "strong", "~~": "s"}


def _inline(text: str) -> list[Piece]:
    return _tagged_inline(text) or protected_pieces(text, _INLINE_KEPT)


def _tagged_inline(text: str) -> list[Piece] | None:
    """The line as one tagged segment when its markup pairs up; None to translate it piece by piece."""
    builder = TaggedBuilder()
    start = 0
    for match in _INLINE_KEPT.finditer(text):
        span = match.group()
        if not span:
            continue
        builder.text(text[start:match.start()])
        start = match.end()
        html_open, html_close = _HTML_OPEN.fullmatch(span), _HTML_CLOSE.fullmatch(span)
        if span in ("[", "!["):
            kind, key, name = "open", "link", "a"
        elif span.startswith(("](", "][")) or span == "]":
            kind, key, name = "close", "link", "a"
        elif _EMPHASIS.fullmatch(span):
            kind = "close" if builder.innermost() == span else "open"
            key, name = span, _EMPHASIS_NAMES[span]
        elif html_open and not span.endswith("/>"):
            kind, key, name = "open", "html:" + html_open.group(1).lower(), html_open.group(1).lower()
        elif html_close:
            kind, key, name = "close", "html:" + html_close.group(1).lower(), ""
        else:
            kind, key, name = "empty", "", "code" if span.startswith("`") else ""
        if kind == "close":
            if not builder.close(key, span):
                return None
        elif kind == "open":
            builder.open(key, span, name)
        else:
            builder.empty(span, name)
    builder.text(text[start:])
    if not builder.balanced or not builder.names:
        return None
    tagged = builder.tagged()
    body = tagged.strip()
    if not has_words(re.sub(r"<[^<>]*>", "", body)):
        return None
    lead = tagged[: len(tagged) - len(tagged.lstrip())]
    trail = tagged[len(tagged.rstrip()):]

    def render(translation: str) -> str:
        return "".join(piece if isinstance(piece, str) else builder.markup(piece) for piece in parse(translation))

    return [piece for piece in (lead, Translatable(TaggedText(body, builder.names), render), trail) if piece]


def _table_row(body: str) -> list[Piece]:
    pieces: list[Piece] = []
    for index, cell in enumerate(re.split(r"(?<!\\)\|", body)):
        if index:
            pieces.append("|")
        pieces.extend(_inline(cell))
    return pieces


class MarkdownFormat(TextDocumentFormat):
    extensions = (".md", ".markdown")

    def pieces(self, lines: Iterable[str]) -> Iterator[Piece]:
        fence: str | None = None  # the opening fence while inside a fenced block
        in_html = in_front_matter = False
        previous_blank = True
        in_list = False
        for number, line in enumerate(lines):
            body, ending = split_line_ending(line)
            blank = not body.strip()
            if number == 0 and body.rstrip() == "---":
                in_front_matter = True
                yield line
                continue
            if in_front_matter:
                in_front_matter = body.rstrip() not in ("---", "...")
                yield line
                continue
            if fence is not None:
                closing = _FENCE.match(body)
                if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence) \
                        and not body.strip().strip(fence[0]):
                    fence = None
                yield line
                continue
            opening = _FENCE.match(body)
            if opening:
                fence = opening.group(1)
                yield line
                previous_blank = False
                continue
            if in_html:
                in_html = not blank
                yield line
                previous_blank = blank
                continue
            if blank:
                yield line
                previous_blank = True
                continue
            if _INDENTED.match(body) and previous_blank and not in_list:
                yield line  # an indented code block (a blank line before it, not inside a list)
                continue
            previous_blank = False
            if _HTML_BLOCK.match(body):
                in_html = True
                yield line
                continue
            if _LINK_DEFINITION.match(body) or _TABLE_RULE.match(body) and "-" in body:
                yield line
                continue
            if _LIST_ITEM.match(body):
                in_list = True
            elif not _INDENTED.match(body):
                in_list = False
            if body.lstrip().startswith("|"):
                yield from _table_row(body)
            else:
                prefix = _BLOCK_PREFIX.match(body).group()
                if prefix:
                    yield prefix
                yield from _inline(body[len(prefix):])
            if ending:
                yield ending
