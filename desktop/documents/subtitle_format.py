"""Subtitles (.srt, .vtt): cue text translated and wrapped back onto its lines; numbers, identifiers, timecodes,
settings and the WEBVTT header, NOTE, STYLE and REGION blocks kept (docs/translate.md, "Documents")."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from desktop.documents.base import Piece, TextDocumentFormat, Translatable, has_words, split_line_ending


def wrap_to_lines(text: str, n_lines: int) -> list[str]:
    """Cut text at spaces into at most n_lines lines of about equal length."""
    words = text.split()
    if n_lines <= 1 or len(words) <= 1:
        return [text.strip()]
    lines: list[str] = []
    target = len(text.strip()) / n_lines
    current: list[str] = []
    for index, word in enumerate(words):
        words_left = len(words) - index
        lines_left = n_lines - len(lines)
        length = len(" ".join(current))
        if current and lines_left > 1 and (length + 1 + len(word) / 2 > target or words_left < lines_left):
            lines.append(" ".join(current))
            current = []
        current.append(word)
    lines.append(" ".join(current))
    return lines


def _cue_text(lines: list[str]) -> Translatable:
    ending = split_line_ending(lines[0])[1] or "\n"
    last_ending = split_line_ending(lines[-1])[1]
    bodies = [split_line_ending(line)[0] for line in lines]

    def render(translation: str) -> str:
        return ending.join(wrap_to_lines(translation, len(bodies))) + last_ending

    return Translatable(" ".join(body.strip() for body in bodies), render)


def _block_pieces(block: list[str]) -> Iterator[Piece]:
    timing = next((i for i, line in enumerate(block) if "-->" in line), None)
    if timing is None:
        yield from block
        return
    yield from block[: timing + 1]
    text_lines = block[timing + 1:]
    if text_lines and has_words("".join(text_lines)):
        yield _cue_text(text_lines)
    else:
        yield from text_lines


class SubtitleFormat(TextDocumentFormat):
    extensions = (".srt", ".vtt")

    def pieces(self, lines: Iterable[str]) -> Iterator[Piece]:
        block: list[str] = []
        for line in lines:
            if line.strip():
                block.append(line)
                continue
            yield from _block_pieces(block)
            block = []
            yield line
        yield from _block_pieces(block)
