"""Cut text into sentences and keep everything between them, so a translation can be put back in place.

Joining the texts of all segments gives the input back exactly (docs/translate.md, "Engine").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# What str.splitlines breaks at (and so the cut of the model output, which keeps the first line): \n, \r,
# and also U+2028/U+2029, NEL, vertical tab, form feed and the information separators.
LINE_SEPARATORS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
# A line break together with the blanks around it (blank lines included): always a boundary, because
# the cut of the model output keeps one line only, and a line break is structure the reader sees.
_LINE_BREAK = re.compile(rf"[^\S{LINE_SEPARATORS}]*[{LINE_SEPARATORS}]\s*")
# A sentence end: terminal punctuation, closing quotes or brackets, then whitespace; CJK full stops
# need no whitespace after them.
_LATIN_END = re.compile(r"[.!?…]+[\"'”’»«)\]]*(\s+)(?=\S)")
_CJK_END = re.compile(r"[。！？]+[」』”’)）]*(\s*)(?=\S)")
# Words that end in a full stop without ending the sentence (lowercase, inner dots kept).
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st vs no nr e.g i.e z.b d.h u.a bzw ca vgl sog inkl ggf evtl str jh hr fr abb "
    "bsp etc.pp usw.".split()
)


@dataclass(frozen=True)
class Segment:
    """A piece of the input: a sentence to translate, or text to keep as it is (whitespace, symbols)."""

    text: str
    translatable: bool


def _is_false_end(line: str, end: re.Match[str]) -> bool:
    """True when the full stop at `end` belongs to an abbreviation, an initial or an ordinal number."""
    punct = line[end.start():end.start(1)].rstrip("\"'”’»«)]")
    next_char = line[end.end():end.end() + 1]
    if next_char.islower():  # "z. B. das", "ca. fünf": a sentence does not start in lowercase
        return True
    if punct != ".":
        return False
    # The word before the stop, found by walking back from it: a regex on line[:end] would rescan the
    # whole head of the line at every sentence end (quadratic on a long one-line paragraph).
    stop = first = end.start()
    while first > 0 and not line[first - 1].isspace():
        first -= 1
    if first == stop:
        return False
    word = line[first:stop].lstrip("\"'“„‚‘«»([").lower()
    if word in ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
        return True
    return word.isdigit() and len(word) <= 2  # "am 1. Mai": a German ordinal, not a sentence end


def translatable(text: str) -> bool:
    """Whether text goes to the model: numbers, bullets and rules alone are kept as they are (a small
    model garbles them more often than not)."""
    return any(ch.isalpha() for ch in text)


def _split_line(line: str, segments: list[Segment]) -> None:
    stripped = line.strip()
    if not stripped:
        if line:
            segments.append(Segment(line, False))
        return
    lead = line[: len(line) - len(line.lstrip())]
    trail = line[len(line.rstrip()):]
    if lead:
        segments.append(Segment(lead, False))
    ends = sorted([*_LATIN_END.finditer(stripped), *_CJK_END.finditer(stripped)], key=lambda m: m.start(1))
    start = 0
    for end in ends:
        if end.start(1) <= start or _is_false_end(stripped, end):
            continue
        sentence = stripped[start:end.start(1)]
        segments.append(Segment(sentence, translatable(sentence)))
        if end.end(1) > end.start(1):
            segments.append(Segment(stripped[end.start(1):end.end(1)], False))
        start = end.end(1)
    sentence = stripped[start:]
    segments.append(Segment(sentence, translatable(sentence)))
    if trail:
        segments.append(Segment(trail, False))


def split_segments(text: str) -> list[Segment]:
    """Cut text into sentences and the whitespace between them; joining all texts gives `text` back."""
    segments: list[Segment] = []
    start = 0
    for brk in _LINE_BREAK.finditer(text):
        _split_line(text[start:brk.start()], segments)
        segments.append(Segment(brk.group(), False))
        start = brk.end()
    _split_line(text[start:], segments)
    return segments
