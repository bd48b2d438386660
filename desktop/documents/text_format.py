"""Plain text (.txt): each line translated on its own, a tab-separated line cell by cell, and a paragraph
hard-wrapped over several lines translated whole and wrapped again at its width; blank lines, indentation,
tabs and every line ending kept (docs/translate.md, "Documents")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from desktop.documents.base import Piece, TextDocumentFormat, Translatable, has_words, split_line_ending
from desktop.documents.rewrap import MAX_PARAGRAPH_LINES, rewrap
from desktop.engine.sentences import LINE_SEPARATORS

# A paragraph wrapped by an editor is at least this wide: shorter lines are a list, an address, a poem.
MIN_WRAP_WIDTH = 40
# A line that starts a list item, a quotation or a table row is never part of a wrapped paragraph.
_ITEM = re.compile(r"[ \t]*(?:[-*+•‣◦▪–—>|#]|\d{1,9}[.)]|[A-Za-z][.)])(?:\s|$)")
_INNER_BREAK = re.compile(f"[{LINE_SEPARATORS}]")
_SENTENCE_END = re.compile(r"[.!?…:。！？][\"'”’»)\]]*\s*$")


def _line_pieces(body: str, ending: str) -> Iterator[Piece]:
    """One line as it is translated alone: a tab-separated line cell by cell (tabs are columns), else whole
    (the engine cuts it into sentences and keeps the blanks and line separators around them)."""
    for cell in re.split(r"(\t+)", body) if "\t" in body else [body]:
        if cell:
            yield Translatable(cell) if has_words(cell) else cell
    if ending:
        yield ending


def _lead(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" "))]


def wrapped_paragraph(lines: list[tuple[str, str]]) -> bool:
    """Whether a block of non-blank lines (body, ending) is one paragraph an editor wrapped: two lines or
    more, every line with words, no tabs, list marks or separators inside, the same line ending and the same
    indentation after the first line (which may be indented more), at least MIN_WRAP_WIDTH wide, each break
    where a greedy wrap puts it (the next line's first word would not have fit on the line), and at least one
    break inside a sentence (where lines each holding whole sentences are translated as well one by one)."""
    if not 2 <= len(lines) <= MAX_PARAGRAPH_LINES:
        return False
    bodies = [body.rstrip() for body, _ in lines]
    width = max(len(body) for body in bodies)
    if width < MIN_WRAP_WIDTH or len({ending for _, ending in lines[:-1]}) != 1:
        return False
    if any("\t" in body or _INNER_BREAK.search(body) or _ITEM.match(body) or not has_words(body) for body in bodies):
        return False
    indent = _lead(bodies[1])
    if any(_lead(body) != indent for body in bodies[2:]) or not bodies[0].startswith(indent):
        return False
    breaks = list(zip(bodies, bodies[1:], strict=False))
    return all(len(body) + 1 + len(following.split()[0]) > width for body, following in breaks) \
        and any(_inside_sentence(body, following) for body, following in breaks)


def _inside_sentence(line: str, following: str) -> bool:
    """Whether a line break falls inside a sentence: the line does not end one, and the next line goes on
    in lowercase or the line ends with a comma, a dash or an opening bracket. Only then is joining needed (and
    a title above a line is not taken for the start of a paragraph)."""
    if _SENTENCE_END.search(line):
        return False
    first = following.lstrip()[:1]
    return first.islower() or line.rstrip()[-1:] in ",;-–—(„“\""


def _paragraph_pieces(lines: list[tuple[str, str]]) -> Iterator[Piece]:
    if not wrapped_paragraph(lines):
        for body, ending in lines:
            yield from _line_pieces(body, ending)
        return
    bodies = [body.rstrip() for body, _ in lines]
    width = max(len(body) for body in bodies)
    lead, continuation, ending = _lead(bodies[0]), _lead(bodies[1]), lines[0][1]
    yield lead
    yield Translatable(" ".join(body.strip() for body in bodies),
                       lambda text: rewrap(text, width, len(lead), continuation, ending))
    tail = lines[-1][0][len(bodies[-1]):]  # blanks at the end of the last line, as they were
    yield tail + lines[-1][1]


class PlainTextFormat(TextDocumentFormat):
    extensions = (".txt",)

    def pieces(self, lines: Iterable[str]) -> Iterator[Piece]:
        block: list[tuple[str, str]] = []  # the non-blank lines since the last blank line
        for line in lines:
            body, ending = split_line_ending(line)
            if body.strip():
                block.append((body, ending))
                if len(block) > MAX_PARAGRAPH_LINES:  # too long for a paragraph: line by line, memory bounded
                    yield from _paragraph_pieces(block)
                    block = []
                continue
            yield from _paragraph_pieces(block)
            block = []
            yield line
        yield from _paragraph_pieces(block)
