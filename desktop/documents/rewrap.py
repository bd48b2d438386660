"""A translated paragraph broken into lines again at its source's line width (docs/translate.md, "Paragraphs
wrapped over several lines")."""

from __future__ import annotations

import re
from collections.abc import Callable

# Lines held while deciding whether a block is a wrapped paragraph; a longer block is translated line by line
# (and memory stays bounded whatever the file).
MAX_PARAGRAPH_LINES = 200
# Blanks inside a paragraph that a line break may replace: spaces only (a tab or a no-break space is meant).
_SPACES = re.compile(r"( +)")


def rewrap(text: str, width: int, first: int, continuation: str, ending: str,
           may_start: Callable[[str], bool] = lambda word: True) -> str:
    """`text` (one line) broken at its spaces, greedily, into lines of at most `width` characters, as the
    source's lines were (a word longer than a line gets a line of its own). The first line starts after
    `first` characters already written (an indent, a list marker); the others start with `continuation`;
    lines are joined by `ending` (the source's line ending). A word for which `may_start` is False is never
    put at the start of a line (in Markdown, "-" or "#" there would start a list or a heading)."""
    tokens = _SPACES.split(text.strip(" "))
    lines: list[str] = []
    current, used = tokens[0], first
    for index in range(1, len(tokens) - 1, 2):
        space, word = tokens[index], tokens[index + 1]
        if used + len(current) + len(space) + len(word) > width and current and may_start(word):
            lines.append(current)
            current, used = word, len(continuation)
        else:
            current += space + word
    lines.append(current)
    return (ending + continuation).join(lines)
