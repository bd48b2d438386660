"""Subtitles (.srt, .vtt): each cue's text translated as one sentence with its markup as tags and re-broken
onto as many lines; every byte outside cue text kept (docs/translate.md, "Subtitles"; docs/inline_markup.md)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from desktop.documents.base import Piece, TextDocumentFormat, Translatable, has_words, split_line_ending
from desktop.documents.inline_markup import TaggedBuilder, TaggedText, parse, strip_tags

# A timing line: "00:00:01,000 --> 00:00:02,000" (SRT), "00:01.000 --> 00:02.000 align:start" (WebVTT).
# Lenient on digits and the decimal sign: it only decides whether a block's text is cue text to translate;
# the line itself is always written back as it was.
_TIMING = re.compile(r"^[ \t]*(?:\d+:)?\d{1,2}:\d{1,2}[.,]\d{1,3}[ \t]*-->[ \t]*(?:\d+:)?\d{1,2}:\d{1,2}[.,]\d{1,3}")
_CUE_NUMBER = re.compile(r"^[ \t]*\d+[ \t]*$")
_WEBVTT_SIGNATURE = re.compile(r"^WEBVTT(?:[ \t]|$)")

# Cue markup. WebVTT (https://www.w3.org/TR/webvtt1/#cue-text-parsing-rules): <c.class>, <i>, <b>, <u>,
# <ruby>, <rt>, <v Speaker>, <lang en> and their end tags, timestamps <00:00:01.500> (karaoke); SRT players
# read <b>, <i>, <u>, <s>, <font color="…"> (any case) and ASS override codes such as {\an8}.
_TIMESTAMP_TAG = r"<(?:\d+:)?\d{2}:\d{2}\.\d{3}>"
_ELEMENT_TAG = r"</?[A-Za-z][A-Za-z0-9_-]*(?:\.[^\s<>.]+)*(?:[ \t][^<>]*)?>"
_VTT_MARKUP = re.compile(f"{_TIMESTAMP_TAG}|{_ELEMENT_TAG}|&(?:#\\d+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")
_SRT_MARKUP = re.compile(f"{_TIMESTAMP_TAG}|{_ELEMENT_TAG}|\\{{\\\\[^{{}}]*\\}}")
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9_-]*)")
# The element name the model is shown for a tag (a hint; inline_markup keeps names distinct).
_MODEL_NAMES = {"b": "b", "i": "i", "u": "u", "s": "s", "font": "font", "c": "span", "lang": "span",
                "v": "span", "ruby": "ruby", "rt": "rt"}
# A line that starts a new speaker's turn: "- Hi." / "– Hi." or a WebVTT voice "<v Anna>" (after any tags).
_DIALOGUE_DASH = re.compile(r"[ \t]*[-–—][ \t]+")
_TURN = re.compile(r"^[ \t]*(?:(?:<[^<>]*>|\{\\[^{}]*\})[ \t]*)*(?:[-–—][ \t]|<v[ \t.])", re.IGNORECASE)


@dataclass(frozen=True)
class _Token:
    markup: str
    kind: str  # "open", "close", "empty", "entity"
    name: str = ""


def _tokens(text: str, markup: re.Pattern[str]) -> list[str | _Token]:
    out: list[str | _Token] = []
    start = 0
    for match in markup.finditer(text):
        if match.start() > start:
            out.append(text[start:match.start()])
        span = match.group()
        start = match.end()
        if span.startswith("&"):
            out.append(_Token(span, "entity"))
        elif span.startswith("{") or span[1].isdigit():
            out.append(_Token(span, "empty"))
        else:
            name = _TAG_NAME.match(span).group(1).lower()
            out.append(_Token(span, "close" if span.startswith("</") else "open", name))
    if start < len(text):
        out.append(text[start:])
    return out


def _paired(tokens: list[str | _Token]) -> dict[int, int]:
    """Which open token each close token ends (by index): an end tag closes the innermost open tag of its
    name, implicitly closing what was opened inside it. Unmatched end tags and tags never closed (WebVTT
    allows `<v Anna>` without `</v>`) pair with nothing: they are kept as standalone tags."""
    stack: list[tuple[str, int]] = []
    pairs: dict[int, int] = {}
    for index, token in enumerate(tokens):
        if not isinstance(token, _Token):
            continue
        if token.kind == "open":
            stack.append((token.name, index))
        elif token.kind == "close":
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][0] == token.name:
                    pairs[index] = stack[depth][1]
                    del stack[depth:]
                    break
    return pairs


class _Cue:
    """One cue's text (or one speaker's turn in it) as a tagged sentence, and its translation written back
    as the source's markup broken onto as many lines as the source had."""

    def __init__(self, lines: list[str], webvtt: bool) -> None:
        self.webvtt = webvtt
        bodies = [split_line_ending(line)[0] for line in lines]
        self.endings = [split_line_ending(line)[1] for line in lines]
        tokens = _tokens(" ".join(body.strip() for body in bodies), _VTT_MARKUP if webvtt else _SRT_MARKUP)
        self.line_lengths = [len(self._visible(_tokens(body.strip(), _VTT_MARKUP if webvtt else _SRT_MARKUP)))
                             for body in bodies]
        pairs = _paired(tokens)
        opened = set(pairs.values())
        self.builder = TaggedBuilder()
        self.timestamps: list[str] = []  # karaoke timestamps in source order (they must stay increasing)
        for index, token in enumerate(tokens):
            if isinstance(token, str):
                self.builder.text(token)
            elif token.kind == "entity":
                self.builder.text(html.unescape(token.markup))
            elif index in pairs:
                self.builder.close(str(pairs[index]), token.markup)
            elif index in opened:
                self.builder.open(str(index), token.markup, _MODEL_NAMES.get(token.name, ""))
            else:
                if token.markup.startswith("<") and token.markup[1].isdigit():
                    self.timestamps.append(token.markup)
                self.builder.empty(token.markup, "")

    def _visible(self, tokens: list[str | _Token]) -> str:
        return "".join(t if isinstance(t, str) else html.unescape(t.markup) if t.kind == "entity" else ""
                       for t in tokens)

    def translatable(self) -> Translatable:
        tagged = self.builder.tagged()
        if self.builder.names:
            return Translatable(TaggedText(tagged, self.builder.names), self.render)
        return Translatable(parse(tagged)[0] if tagged else "", self.render_plain)

    def render_plain(self, translation: str) -> str:
        return self._lines([(translation, "text")])

    def render(self, translation: str) -> str:
        parts: list[tuple[str, str]] = []  # (text or markup, "text" or the tag's kind)
        timestamps = iter(self.timestamps)
        for piece in parse(translation):
            if isinstance(piece, str):
                parts.append((piece, "text"))
            elif piece.kind == "empty" and self.builder.markup(piece) in self.timestamps:
                parts.append((next(timestamps), "empty"))  # in source order, wherever the words put them
            else:
                parts.append((self.builder.markup(piece), piece.kind))
        return self._lines(_spaces_outside(parts))

    def _escape(self, text: str) -> str:
        if not self.webvtt:
            return text
        # Cue text must not hold a raw "&", "<" or "-->"; invisible characters are clearer as entities.
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace("-->", "--&gt;")
        return text.replace("\u00a0", "&nbsp;").replace("\u200e", "&lrm;").replace("\u200f", "&rlm;")

    def _lines(self, parts: list[tuple[str, str]]) -> str:
        """The translation written on the source's number of lines: each break at the space nearest to
        where the source's break falls in proportion (by visible characters), at least one word a line."""
        # The model's own line breaks are spaces here (an empty line would end the cue); spaces at the
        # ends of the visible text are dropped.
        parts = [(re.sub(r"[ \t]*[\r\n\u2028\u2029]+[ \t]*", " ", text) if kind == "text" else text, kind)
                 for text, kind in parts]
        texts = [i for i, (_, kind) in enumerate(parts) if kind == "text"]
        for index in texts:
            parts[index] = (parts[index][0].lstrip(), "text")
            if parts[index][0]:
                break
        for index in reversed(texts):
            parts[index] = (parts[index][0].rstrip(), "text")
            if parts[index][0]:
                break
        runs: list[tuple[int, int, int, float]] = []  # (part, start, end, visible middle) of each space run
        offset = 0
        for index in texts:
            text = parts[index][0]
            runs.extend((index, m.start(), m.end(), offset + (m.start() + m.end()) / 2)
                        for m in re.finditer(r"[ \t]+", text))
            offset += len(text)
        breaks = len(self.endings) - 1
        chosen: list[int] = []
        cumulative = 0
        for k in range(min(breaks, len(runs))):
            cumulative += self.line_lengths[k]
            target = offset * cumulative / (sum(self.line_lengths) or 1)
            low = chosen[-1] + 1 if chosen else 0
            high = max(low, len(runs) - (min(breaks, len(runs)) - k))  # a space left for each break to come
            chosen.append(min(range(low, high + 1), key=lambda r: (abs(runs[r][3] - target), r)))
        cuts: dict[int, list[tuple[int, int, str]]] = {}
        for n, r in enumerate(chosen):
            index, start, end, _ = runs[r]
            cuts.setdefault(index, []).append((start, end, self.endings[n]))
        out: list[str] = []
        for index, (text, kind) in enumerate(parts):
            if kind != "text":
                out.append(text)
                continue
            start = 0
            for run_start, run_end, ending in cuts.get(index, []):
                out.append(self._escape(text[start:run_start]) + ending)
                start = run_end
            out.append(self._escape(text[start:]))
        return "".join(out) + self.endings[-1]


def _spaces_outside(parts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Spaces that the model put just inside a span ("word<i> next</i>") moved outside it ("word <i>next</i>"),
    as a subtitler writes them."""
    parts = list(parts)
    index = 0
    while index < len(parts):
        text, kind = parts[index]
        if kind == "text" and index and parts[index - 1][1] == "open" and text[:1].isspace():
            stripped = text.lstrip()
            parts[index] = (stripped, "text")
            before = index - 1
            while before > 0 and parts[before - 1][1] == "open":
                before -= 1
            if not (before and parts[before - 1][0][-1:].isspace()):
                parts.insert(before, (text[: len(text) - len(stripped)], "text"))
        elif kind == "text" and index + 1 < len(parts) and parts[index + 1][1] == "close" and text[-1:].isspace():
            stripped = text.rstrip()
            parts[index] = (stripped, "text")
            after = index + 1
            while after + 1 < len(parts) and parts[after + 1][1] == "close":
                after += 1
            if not (after + 1 < len(parts) and parts[after + 1][0][:1].isspace()):
                parts.insert(after + 1, (text[len(stripped):], "text"))
        index += 1
    return parts


def _turns(lines: list[str]) -> list[list[str]]:
    """A cue's lines grouped by speaker: a dialogue line ("- Hi.", "<v Bob>Hi.") starts a new group, so
    each speaker's words are translated and kept on their own line(s)."""
    groups: list[list[str]] = []
    for line in lines:
        if not groups or _TURN.match(line):
            groups.append([line])
        else:
            groups[-1].append(line)
    return groups


def _cue_pieces(lines: list[str], webvtt: bool) -> Iterator[Piece]:
    for group in _turns(lines):
        if not has_words("".join(group)):
            yield from group
            continue
        dash = _DIALOGUE_DASH.match(group[0])
        cue = _Cue([group[0][dash.end():], *group[1:]] if dash else group, webvtt)
        if not has_words(strip_tags(cue.builder.tagged())):  # only tags, symbols or "&amp;": nothing to say
            yield from group
            continue
        if dash:  # "- " in front of a speaker's words stays as it is
            yield dash.group()
        yield cue.translatable()


def _block_pieces(block: list[str], webvtt: bool) -> Iterator[Piece]:
    """A block as written, with its cue text (after the timing line) translated; a block that is no cue
    (NOTE, STYLE, REGION, anything unknown) is kept verbatim."""
    timing = next((i for i, line in enumerate(block[:2]) if _TIMING.match(line)), None)
    if timing is None:
        yield from block
        return
    yield from block[: timing + 1]
    if block[timing + 1:]:
        yield from _cue_pieces(block[timing + 1:], webvtt)


class SubtitleFormat(TextDocumentFormat):
    extensions = (".srt", ".vtt")

    def pieces(self, lines: Iterable[str]) -> Iterator[Piece]:
        """Blocks as the WebVTT parser collects them (https://www.w3.org/TR/webvtt1/#file-parsing): a
        block ends at an empty line, or where a line holding "-->" comes after the block's first line
        (second, after an identifier): that line starts the next cue even without an empty line before
        it. SRT is read the same way, a cue number moving with the timing line that follows it, and a
        line of spaces counts as empty."""
        block: list[str] = []
        webvtt = False  # WebVTT when the first line is its signature ("WEBVTT"), else SRT
        in_header = False
        for number, line in enumerate(lines):
            body = split_line_ending(line)[0]
            if number == 0:
                webvtt = in_header = bool(_WEBVTT_SIGNATURE.match(body))
                if in_header:
                    yield line  # the signature line and the header lines under it are kept as they are
                    continue
            empty = body == "" if webvtt else not body.strip()
            if empty:
                yield from block if in_header else _block_pieces(block, webvtt)
                block = []
                in_header = False
                yield line
                continue
            arrow = "-->" in body if webvtt else bool(_TIMING.match(body))
            if in_header:
                if not arrow:
                    yield line
                    continue
                in_header = False  # a timing line ends the header: the first cue begins
            if arrow and block and not (len(block) == 1 and "-->" not in block[0]):
                carried = [] if webvtt or not _CUE_NUMBER.match(split_line_ending(block[-1])[0]) else [block.pop()]
                yield from _block_pieces(block, webvtt)
                block = carried
            block.append(line)
        if in_header:
            yield from block
        else:
            yield from _block_pieces(block, webvtt)
