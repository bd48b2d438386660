"""A sentence too long to translate in one piece, cut at clause boundaries (then at words) into parts that fit,
and the parts' translations joined back with the separators kept (docs/translate.md, "Long sentences")."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Boundaries from the strongest to the weakest; a part is only cut at a weaker one when it does not fit
# between stronger ones. Each pattern matches the whole separator, blanks included, so that joining
# parts and separators gives the sentence back exactly.
_LEVELS = (
    # Semicolons and inline list marks ("a • b • c", "a | b").
    re.compile(r"\s*[;；]\s*|\s+[•·|▪]\s+"),
    # Colons followed by a blank (not "12:30"), full-width colons, dashes between blanks.
    re.compile(r"(?<!\d):\s+|：\s*|\s+[–—-]{1,2}\s+|——"),
    # Commas followed by a blank (not "3,5"), ideographic and full-width commas, the Arabic comma.
    re.compile(r",\s+|[，、]\s*|،\s*"),
)
_BRACKETS = {"(": ")", "[": "]", "{": "}", "（": "）", "「": "」", "『": "』", "《": "》"}
_CLOSING = set(_BRACKETS.values())
# Inline markup as the documents show it to the model (<b>, </b>, <br/>): an element is a bracket too,
# so a part never holds an opening tag without its closing one.
_TAG = re.compile(r"<(/?)[A-Za-z][\w.:-]*(/?)>")
_BLANKS = re.compile(r"\s+")

# Targets written without blanks between words, with full-width punctuation.
_FULL_WIDTH = {"zh": {"comma": "，", "semicolon": "；", "colon": "：", "dash": "——", "space": ""},
               "ja": {"comma": "、", "semicolon": "；", "colon": "：", "dash": "——", "space": ""}}
_LATIN = {"comma": ", ", "semicolon": "; ", "colon": ": ", "dash": " – ", "space": " "}
_ARABIC = {**_LATIN, "comma": "، ", "semicolon": "؛ "}
_TARGET_STYLE = {**_FULL_WIDTH, "ar": _ARABIC}
_TARGET_SCRIPT = {"zh": "full", "ja": "full", "ar": "arabic"}
# What a part's translation may end in that the separator after it already says (or that a model adds
# to any text it translates, as if it were a whole sentence): dropped before the separator.
_PART_END = re.compile(r"[\s.。．,，、،;；؛:：]+$")
_SENTENCE_END = re.compile(r"[.。．!?！？…]$")


@dataclass(frozen=True)
class Part:
    """A piece of a sentence translated on its own: its text, and the source text between it and the
    next part ("" after the last). Joining every text and separator in order gives the sentence back."""

    text: str
    separator: str = ""


def split_long(sentence: str, fits: Callable[[str], bool]) -> list[Part]:
    """The sentence as one Part when fits(sentence), else parts that each fit (as far as one word can).

    Cut at semicolons and list marks first, then colons and dashes, then commas (none inside brackets),
    and a clause that still does not fit at the blanks between words (between characters in text
    without blanks); neighbouring pieces are packed together as long as they fit, so a part is as
    long as the budget allows and no longer.
    """
    return _split(sentence, fits, 0)


def _split(text: str, fits: Callable[[str], bool], level: int) -> list[Part]:
    if fits(text):
        return [Part(text)]
    if level == len(_LEVELS):
        return _cut_words(text, fits)
    pieces = _pieces(text, _LEVELS[level])
    if len(pieces) == 1:
        return _split(text, fits, level + 1)
    parts: list[Part] = []
    current, separator = pieces[0]
    for piece, after in pieces[1:]:
        joined = current + separator + piece
        if fits(joined):
            current = joined
        else:
            parts.extend(_close(current, separator, fits, level))
            current = piece
        separator = after
    parts.extend(_close(current, separator, fits, level))
    return parts


def _close(text: str, separator: str, fits: Callable[[str], bool], level: int) -> list[Part]:
    """text (followed by separator in the sentence) as parts: itself, or cut at weaker boundaries."""
    parts = [Part(text)] if fits(text) else _split(text, fits, level + 1)
    return [*parts[:-1], Part(parts[-1].text, parts[-1].separator + separator)]


def _pieces(text: str, boundary: re.Pattern[str]) -> list[tuple[str, str]]:
    """(piece, separator after it) at every boundary outside brackets and elements; the last separator
    is ""."""
    tags = {match.start(): 1 if not (match.group(1) or match.group(2)) else -1 if match.group(1) else 0
            for match in _TAG.finditer(text)}
    depth = [0] * (len(text) + 1)
    level = 0
    for index, char in enumerate(text):
        step = tags.get(index, 1 if char in _BRACKETS else -1 if char in _CLOSING else 0)
        level = max(0, level + step)
        depth[index + 1] = level
    pieces: list[tuple[str, str]] = []
    start = 0
    for match in boundary.finditer(text):
        # A boundary at the very start or end of the text separates nothing; one in brackets is kept.
        if match.start() == 0 or match.end() == len(text) or depth[match.start()]:
            continue
        piece = text[start:match.start()]
        if not piece.strip() and pieces:  # ";;", ", -": one separator, no empty part between
            pieces[-1] = (pieces[-1][0], pieces[-1][1] + piece + match.group())
        else:
            pieces.append((piece, match.group()))
        start = match.end()
    pieces.append((text[start:], ""))
    return pieces


def _cut_words(text: str, fits: Callable[[str], bool]) -> list[Part]:
    """text cut at blanks (or between characters when it has none) into the longest parts that fit."""
    parts: list[Part] = []
    rest = text
    while not fits(rest):
        blanks = list(_BLANKS.finditer(rest))
        # The ends of the candidate heads: before each blank, or after each character.
        ends = [m.start() for m in blanks if m.start()] if blanks else list(range(1, len(rest)))
        if not ends:
            break
        cut = _longest(rest, ends, fits)
        if cut is None:  # not even the first word fits: take it alone rather than lose it
            cut = ends[0]
        after = next((m.end() for m in blanks if m.start() == cut), cut)
        parts.append(Part(rest[:cut], rest[cut:after]))
        rest = rest[after:]
    parts.append(Part(rest))
    return parts


def _longest(text: str, ends: Sequence[int], fits: Callable[[str], bool]) -> int | None:
    """The largest end for which text[:end] fits, by binary search (a longer head never fits better)."""
    low, high, best = 0, len(ends) - 1, None
    while low <= high:
        middle = (low + high) // 2
        if fits(text[:ends[middle]]):
            best, low = ends[middle], middle + 1
        else:
            high = middle - 1
    return best


def separator_for(separator: str, tgt: str) -> str:
    """The source separator as the target language writes it: kept as it is where the target writes it
    the same way (the source's own blanks too), else the target's comma, semicolon, colon, dash or blank."""
    kind = _kind(separator)
    if kind is None or _script_of(separator) == _TARGET_SCRIPT.get(tgt, "latin"):
        return separator  # list marks are kept as they are
    return _style(tgt)[kind]


def _style(tgt: str) -> dict[str, str]:
    return _TARGET_STYLE.get(tgt, _LATIN)


def _script_of(separator: str) -> str:
    """How a separator is written: "full" (CJK full-width, or no blank at all: a cut in text written
    without blanks), "arabic" or "latin"."""
    if not separator or any(char in "，、；：" for char in separator) or "——" in separator:
        return "full"
    if any(char in "،؛" for char in separator):
        return "arabic"
    return "latin"


def _kind(separator: str) -> str | None:
    stripped = separator.strip()
    if not stripped:
        return "space"
    for kind, marks in (("comma", ",，、،"), ("semicolon", ";；؛"), ("colon", ":："), ("dash", "–—-")):
        if stripped[0] in marks:
            return kind
    return None


def join_part(part: Part, translation: str, tgt: str, last: bool) -> str:
    """One part's translation as it goes into the sentence's: followed by the separator, in the target's
    way of writing it. A model translates a clause as if it were a sentence, so a full stop (or comma)
    it ends a part with is dropped before a separator, unless the source part itself ended so."""
    if last:
        return translation
    translation = translation.rstrip()
    if part.separator.strip() and not _SENTENCE_END.search(part.text):
        translation = _PART_END.sub("", translation)
    return translation + separator_for(part.separator, tgt)
