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
from desktop.documents.rewrap import MAX_PARAGRAPH_LINES, rewrap

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INDENTED = re.compile(r"^(?: {4}|\t)")
# A list item's marker and the spaces after it: its content starts after them (at most 4 spaces; with more,
# the content starts one space after the marker and the rest is an indented code block).
_ITEM_MARKER = re.compile(r"^([ \t]*(?:[-*+]|\d{1,9}[.)]))([ \t]+)(?=\S)")
# A line of a quote that is empty but for its marks (">"): it ends the quoted paragraph, as an empty line does.
_QUOTE_BLANK = re.compile(r"^[ \t]{0,3}>[ \t>]*$")
# HTML blocks by CommonMark's start and end conditions (https://spec.commonmark.org/0.31.2/#html-blocks):
# types 1-5 end at the line holding their end mark (a comment at "-->"), types 6 and 7 at an empty line;
# type 7 (any other tag alone on its line) cannot interrupt a paragraph.
_HTML_ENDS = (
    (re.compile(r"^ {0,3}<(?:pre|script|style|textarea)(?:[\s>]|$)", re.I),
     re.compile(r"</(?:pre|script|style|textarea)>", re.I)),
    (re.compile(r"^ {0,3}<!--"), re.compile(r"-->")),
    (re.compile(r"^ {0,3}<\?"), re.compile(r"\?>")),
    (re.compile(r"^ {0,3}<![A-Za-z]"), re.compile(r">")),
    (re.compile(r"^ {0,3}<!\[CDATA\["), re.compile(r"\]\]>")),
)
_HTML_BLOCK_NAMES = (
    "address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details|dialog|dir|div|"
    "dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|h[1-6]|head|header|hr|html|iframe|legend|li|"
    "link|main|menu|menuitem|nav|noframes|ol|optgroup|option|p|param|search|section|summary|table|tbody|td|"
    "tfoot|th|thead|title|tr|track|ul"
)
_HTML_BLOCK_6 = re.compile(rf"^ {{0,3}}</?(?:{_HTML_BLOCK_NAMES})(?:[\s>]|/>|$)", re.I)
_HTML_ATTRIBUTE = r"""\s+[A-Za-z_:][\w.:-]*(?:\s*=\s*(?:[^\s"'=<>`]+|'[^']*'|"[^"]*"))?"""
_HTML_BLOCK_7 = re.compile(
    rf"^ {{0,3}}(?:<[A-Za-z][A-Za-z0-9-]*(?:{_HTML_ATTRIBUTE})*\s*/?>|</[A-Za-z][A-Za-z0-9-]*\s*>)\s*$")
_LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*\S")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{1,}:?\s*(?:\|\s*:?-{1,}:?\s*)*\|?\s*$")
_BLOCK_PREFIX = re.compile(
    r"^\s*(?:>\s?)*\s*(?:#{1,6}(?=\s)|[-*+](?=\s)(?:\s+\[[ xX]\](?=\s))?|\d{1,9}[.)](?=\s))?\s*"
)
_LIST_ITEM = re.compile(r"^\s*(?:>\s?)*\s*(?:[-*+]|\d{1,9}[.)])\s")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}=+[ \t]*$")
# A word that, first on a line, would start another block: a list mark, a heading, a quote, a rule, a fence,
# a table row or an HTML block (https://spec.commonmark.org/0.31.2/#blocks-and-inlines).
_BLOCK_START = re.compile(r"[>|<]|[-+*=_#]+$|\d{1,9}[.)]$|`{3}|~{3}")
_INLINE_KEPT = re.compile(
    r"(`+).*?\1"  # inline code
    r"|!?\["  # the opening of a link or image (its text is translated)
    r"|\]\((?:[^()\s]|\([^()]*\))*(?:\s+(?:\"[^\"]*\"|'[^']*'))?\)"  # ](target "title")
    r"|\]\[[^\]]*\]"  # ][reference]
    r"|\[\^[^\]]+\]"  # footnote reference
    r"|<(?:https?|ftp|mailto):[^>\s]+>|<[^>\s@]+@[^>\s]+>"  # autolinks
    r"|(?:(?:https?|ftp)://|www\.)(?:[^\s<>()]|\([^\s<>()]*\))+(?<![?!.,:*_~'\"])"  # bare URLs (GFM)
    r"|(?<![\w.+-])(?:mailto:)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail addresses
    r"|</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>|<!--.*?-->"  # inline HTML
    r"|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z]\w*);"  # entities
    r"|\*{1,3}|(?<!\w)_{1,3}|_{1,3}(?!\w)|~~"  # emphasis markers
    r"|\]|\s+\#+\s*$|\\."  # a closing bracket, closing heading hashes, escapes
)


# What a paragraph may hold and still be kept whole: images, links (a badge is an image in a link), autolinks,
# bare URLs and addresses, with nothing but spaces and punctuation between them.
_DESTINATION = r"\((?:[^()\s]|\([^()]*\))*(?:\s+(?:\"[^\"]*\"|'[^']*'))?\)"
_IMAGE = rf"!\[[^\[\]]*\](?:{_DESTINATION}|\[[^\]]*\])"
_LINK_ONLY = re.compile(
    rf"{_IMAGE}|\[(?:[^\[\]]|{_IMAGE})*\](?:{_DESTINATION}|\[[^\]]*\])"  # images, links, reference links
    r"|<[A-Za-z][\w+.-]*:[^<>\s]*>|<[^<>\s@]+@[^<>\s]+>"  # autolinks
    r"|(?:(?:https?|ftp)://|www\.)[^\s<>]+|(?<![\w.+-])(?:mailto:)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # URLs, addresses
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
        out: list[str] = []
        for piece in parse(translation):
            written = piece if isinstance(piece, str) else builder.markup(piece)
            if out and out[-1].endswith("`") and written.startswith("`"):
                out.append(" ")  # two code spans the model left side by side would read as one
            out.append(written)
        return "".join(out)

    return [piece for piece in (lead, Translatable(TaggedText(body, builder.names), render), trail) if piece]


def _table_row(body: str) -> list[Piece]:
    pieces: list[Piece] = []
    for index, cell in enumerate(re.split(r"(?<!\\)\|", body)):
        if index:
            pieces.append("|")
        pieces.extend(_inline(cell))
    return pieces


def _html_block(body: str, in_paragraph: bool) -> re.Pattern[str] | str | None:
    """Whether the line starts an HTML block: the end mark its block waits for, "" for one that ends at an
    empty line, None for no HTML block."""
    for start, end in _HTML_ENDS:
        if start.match(body):
            return end
    if _HTML_BLOCK_6.match(body) or not in_paragraph and _HTML_BLOCK_7.match(body):
        return ""
    return None


def _links_only(text: str) -> bool:
    """A paragraph line that is nothing but links, images, autolinks or URLs (a badge row, a bare address)."""
    return bool(_LINK_ONLY.search(text)) and not has_words(_LINK_ONLY.sub("", text))


def _indent(body: str) -> int:
    """The columns of a line's leading whitespace (a tab to the next multiple of 4, as CommonMark counts)."""
    expanded = body.expandtabs(4)
    return len(expanded) - len(expanded.lstrip(" "))


def _content_column(body: str) -> int:
    """Where a list item's content starts (https://spec.commonmark.org/0.31.2/#list-items)."""
    match = _ITEM_MARKER.match(body)
    if match is None:
        return _indent(body)
    marker, spaces = len(match.group(1).expandtabs(4)), len(match.group(2).expandtabs(4))
    return marker + (spaces if spaces <= 4 else 1)


def _quote_depth(body: str) -> int:
    return re.match(r"[ \t>]*", body).group().count(">")


def _plain(prefix: str) -> bool:
    """No heading, list or numbering mark in a line's block prefix (only indentation and quote marks)."""
    return not re.search(r"#|[-*+](?=\s)|\d[.)]", prefix)


def _paragraph(lines: list[tuple[str, str]]) -> Iterator[Piece]:
    """A paragraph or list item (body, ending per line). Kept byte for byte when it is only links, images or
    URLs; translated as one text and wrapped again at its width when it is prose wrapped over several lines
    (_wrapped); else line by line."""
    if not lines:
        return
    prefixes = [_BLOCK_PREFIX.match(body).group() for body, _ in lines]
    if _plain(prefixes[0]) and all(_links_only(body[len(prefix):]) for (body, _), prefix in zip(lines, prefixes,
                                                                                                   strict=True)):
        yield from (body + ending for body, ending in lines)
        return
    joined = _wrapped(lines, prefixes)
    if joined is None:
        for body, ending in lines:
            yield from _text_line(body, ending)
        return
    yield from joined


def _wrapped(lines: list[tuple[str, str]], prefixes: list[str]) -> list[Piece] | None:
    """The pieces of a paragraph translated whole, wrapped again at its width, or None to go line by line: a
    paragraph of one line, hard line breaks (two spaces, a backslash, <br> at a line's end), a table's pipes,
    a line of only links, mixed line endings, one sentence a line (semantic line breaks: kept as written), or
    markup that does not pair up over the whole paragraph."""
    if len(lines) < 2 or len({ending for _, ending in lines[:-1]}) != 1:
        return None
    bodies = [body for body, _ in lines]
    if any(re.search(r"(?:  |\\|<br\s*/?>)$", body, re.IGNORECASE) for body in bodies[:-1]) \
            or any(re.search(r"(?<!\\)\|", body) for body in bodies):
        return None
    continuation = re.match(r"[ \t>]*", bodies[1]).group()
    contents = [bodies[0][len(prefixes[0]):].strip()] + [re.sub(r"^[ \t>]*", "", body).strip() for body in bodies[1:]]
    if any(_links_only(content) for content in contents) \
            or all(re.search(r"[.!?…:;][\"'”’)\]*_`]*$", content) for content in contents):
        return None
    pieces = _inline(" ".join(contents))
    translatable = [piece for piece in pieces if isinstance(piece, Translatable)]
    if len(translatable) != 1 or any(isinstance(piece, str) and piece.strip() for piece in pieces):
        return None
    inner = translatable[0]
    width = max(len(body.rstrip()) for body in bodies)
    ending = lines[0][1]

    def render(translation: str) -> str:
        return rewrap(inner.written(translation), width, len(prefixes[0]), continuation, ending, _may_start_line)

    return [prefixes[0], *_at_line_start([Translatable(inner.text, render)], contents[0]), lines[-1][1]]


def _may_start_line(word: str) -> bool:
    """Whether a word may begin a wrapped line: not one that would make the line a list item, a heading, a
    quote, a rule, a fence, a table row or an HTML block."""
    return not _BLOCK_START.match(word)


def _starts_block(text: str) -> bool:
    """Whether a line whose content starts with `text` would start a block of its own (a fence, a heading, a
    list item, a quote, a rule, a table row, an HTML block) rather than go on as the paragraph's text."""
    if text.startswith("<"):
        return _html_block(text, in_paragraph=False) is not None
    words = text.split(maxsplit=1)
    return bool(words) and not _may_start_line(words[0])


def _escape_block_start(text: str) -> str:
    """`text` with a backslash that keeps its first word from starting a block: the model wrote "```python"
    or "- " where the source's line had words (a fence would swallow the rest of the file)."""
    if not _starts_block(text):
        return text
    number = re.match(r"\d{1,9}(?=[.)])", text)
    return f"{number.group()}\\{text[number.end():]}" if number else "\\" + text


def _at_line_start(pieces: list[Piece], source: str) -> list[Piece]:
    """A line's pieces whose first one, a translation written at the start of the line's content, may not
    start a block where the source's content did not."""
    if not pieces or not isinstance(pieces[0], Translatable) or _starts_block(source):
        return pieces
    first = pieces[0]
    return [Translatable(first.text, lambda translation: _escape_block_start(first.written(translation))),
            *pieces[1:]]


def _text_line(body: str, ending: str) -> Iterator[Piece]:
    if body.lstrip().startswith("|"):
        yield from _table_row(body)
    else:
        prefix = _BLOCK_PREFIX.match(body).group()
        if prefix:
            yield prefix
        content = body[len(prefix):]
        yield from _at_line_start(_inline(content), content)
    if ending:
        yield ending


class MarkdownFormat(TextDocumentFormat):
    extensions = (".md", ".markdown")

    def pieces(self, lines: Iterable[str]) -> Iterator[Piece]:
        fence: str | None = None  # the opening fence while inside a fenced block
        html_end: re.Pattern[str] | str | None = None  # inside an HTML block: what ends it ("": an empty line)
        in_front_matter = False
        previous_blank = True
        in_list = in_paragraph = False
        item_column = 0  # where the content of the last list item starts
        code_column: int | None = None  # inside an indented code block: the indent that goes on with it
        # The lines (body, ending) of the paragraph or list item being read: translated when it ends, whole
        # when it is wrapped prose (see _paragraph).
        paragraph: list[tuple[str, str]] = []
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
            if html_end is not None:
                if html_end == "":
                    html_end = None if blank else html_end
                    previous_blank = blank
                elif html_end.search(body):
                    html_end = None
                yield line
                continue
            if code_column is not None:
                if blank or _indent(body) >= code_column:  # its lines, and empty lines between them
                    previous_blank = blank
                    yield line
                    continue
                code_column = None
            paragraph_line = False
            opening = _FENCE.match(body)
            if opening:
                fence = opening.group(1)
            elif blank:
                previous_blank = True
            elif previous_blank and _indent(body) >= (item_column + 4 if in_list else 4):
                # an indented code block: a blank line before it, indented 4 past the text it is in (inside a
                # list item: past the item's content; go-astisub's README has commands so)
                code_column = item_column + 4 if in_list else 4
            elif _QUOTE_BLANK.match(body):
                pass  # ">" alone: an empty line of a quote, between two of its paragraphs
            elif (end := _html_block(body, in_paragraph)) is not None:
                html_end = end if not (end and end.search(body, body.index("<") + 2)) else None
            elif _LINK_DEFINITION.match(body) or _TABLE_RULE.match(body) and "-" in body:
                pass
            else:
                paragraph_line = True
            if not blank:
                previous_blank = bool(_QUOTE_BLANK.match(body))
            if not paragraph_line:
                yield from _paragraph(paragraph)
                paragraph = []
                in_paragraph = False
                yield line
                continue
            if _LIST_ITEM.match(body):
                in_list = True
                item_column = _content_column(body)
            elif not _INDENTED.match(body):
                in_list = False
            prefix = _BLOCK_PREFIX.match(body).group()
            heading = prefix.lstrip(" >").startswith("#")
            if heading or body.lstrip().startswith("|") or _SETEXT_UNDERLINE.match(body):
                # A heading, a table row, a heading's underline: one line each, never part of a paragraph.
                yield from _paragraph(paragraph)
                paragraph = []
                in_paragraph = not heading  # a heading is a paragraph of one line
                yield from _text_line(body, ending)
                continue
            if paragraph and (_LIST_ITEM.match(body) or _quote_depth(body) != _quote_depth(paragraph[0][0])
                              or len(paragraph) >= MAX_PARAGRAPH_LINES):
                yield from _paragraph(paragraph)  # a new list item or quote level starts a new block
                paragraph = []
            paragraph.append((body, ending))
            in_paragraph = True
        yield from _paragraph(paragraph)
