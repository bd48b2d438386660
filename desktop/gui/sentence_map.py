"""Which source sentence goes with which translation sentence, kept right while the user edits: the engine's
spans as Qt text cursors that move with every edit (docs/gui.md, "How it is built")."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from PySide6.QtGui import QTextCursor, QTextDocument

PARAGRAPH_SEPARATOR = "\u2029"  # QTextCursor.selectedText()'s line break


class Utf16Positions:
    """Python string indices of `text` -> Qt document positions (UTF-16 code units: a character
    beyond the BMP, an emoji, counts two). Built once per text; each lookup is a bisection."""

    def __init__(self, text: str) -> None:
        self._astral = [i for i, ch in enumerate(text) if ord(ch) > 0xFFFF] if not text.isascii() else []

    def __call__(self, index: int) -> int:
        return index + bisect.bisect_left(self._astral, index)


def _cursor(document: QTextDocument, position: int, keep_on_insert: bool, last: int) -> QTextCursor:
    cursor = QTextCursor(document)
    cursor.setPosition(min(position, last))
    cursor.setKeepPositionOnInsert(keep_on_insert)
    return cursor


def _text_between(document: QTextDocument, start: int, end: int) -> str:
    if end <= start:
        return ""
    cursor = QTextCursor(document)
    cursor.setPosition(start)
    cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
    return cursor.selectedText().replace(PARAGRAPH_SEPARATOR, "\n")


@dataclass
class _Span:
    start: QTextCursor
    end: QTextCursor

    def range(self) -> tuple[int, int]:
        start, end = self.start.position(), self.end.position()
        return start, max(start, end)


class SentenceMap:
    """The shown translation's sentences (engine SentenceReports) tracked in both editors' documents.

    shown[i] is the translation of sentence i as shown (or as last confirmed); text(i) is what the
    target box holds for it now; edited(i) says whether the user changed it since.
    """

    def __init__(self, sentences: list, source: QTextDocument, source_text: str,
                 target: QTextDocument, target_text: str) -> None:
        self.sentences = list(sentences)
        self._target_document = target
        self.shown = [sentence.translation for sentence in self.sentences]
        self.origins = [getattr(sentence, "origin", "model") or "model" for sentence in self.sentences]
        self.confirmed: set[int] = set()
        self._edited: set[int] = set()  # kept up to date by changed(): a keystroke re-reads one sentence
        self._targets: list[_Span] = []
        self._sources: list[_Span | None] = []
        target_position, source_position = Utf16Positions(target_text), Utf16Positions(source_text)
        target_last, source_last = max(0, target.characterCount() - 1), max(0, source.characterCount() - 1)
        for sentence in self.sentences:
            start, end = target_position(sentence.target_start), target_position(sentence.target_end)
            self._targets.append(_Span(_cursor(target, start, True, target_last), _cursor(target, end, False, target_last)))
            # The source box may have changed since the request was sent: map only sentences still there.
            if source_text[sentence.source_start:sentence.source_end] == sentence.source:
                start, end = source_position(sentence.source_start), source_position(sentence.source_end)
                # Typing at either edge of a source sentence stays outside it (a new sentence or line,
                # translated with the next request); only its translation is tracked for edits.
                self._sources.append(_Span(_cursor(source, start, False, source_last), _cursor(source, end, True, source_last)))
            else:
                self._sources.append(None)

    def __len__(self) -> int:
        return len(self.sentences)

    def target_range(self, index: int) -> tuple[int, int]:
        return self._targets[index].range()

    def source_range(self, index: int) -> tuple[int, int] | None:
        span = self._sources[index]
        return span.range() if span is not None else None

    def text(self, index: int) -> str:
        """Sentence index's translation as the target box holds it now."""
        return _text_between(self._target_document, *self.target_range(index))

    def edited(self, index: int) -> bool:
        return index in self._edited

    def changed(self, position: int, added: int) -> list[int]:
        """The target document changed at position (added characters now there): re-read the
        sentences that touch it; returns those whose edited state changed."""
        flipped = []
        for index in self.touching(position, position + added):
            now = self.text(index).strip() != self.shown[index].strip()
            if now != (index in self._edited):
                flipped.append(index)
                (self._edited.add if now else self._edited.discard)(index)
        return flipped

    def touching(self, start: int, end: int) -> list[int]:
        """Sentences whose target range meets [start, end]."""
        found = []
        for index, span in enumerate(self._targets):
            first, last = span.range()
            if first > end:
                break  # ranges follow each other in the document
            if last >= start:
                found.append(index)
        return found

    def at_target(self, position: int) -> int | None:
        """The sentence at a target box position (its end counts: the cursor right after its last
        character is still in it)."""
        return self._find(position, [span.range() for span in self._targets])

    def at_source(self, position: int) -> int | None:
        return self._find(position, [span.range() if span else None for span in self._sources])

    @staticmethod
    def _find(position: int, ranges: list[tuple[int, int] | None]) -> int | None:
        for index, span in enumerate(ranges):
            if span is not None and span[0] <= position <= span[1]:
                return index
        return None

    def replace(self, index: int, text: str) -> None:
        """Replace sentence index's text in the target document as typing would (undoable)."""
        start, end = self.target_range(index)
        cursor = QTextCursor(self._target_document)
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(text)  # the document's contentsChange calls changed() before this returns
        new_end = cursor.position()
        span = self._targets[index]
        span.start.setPosition(start)
        span.end.setPosition(new_end)
        # With no whitespace between two sentences, the next one's start stayed at `start`.
        for later in self._targets[index + 1:]:
            if later.start.position() >= new_end:
                break
            later.start.setPosition(new_end)
            later.end.setPosition(max(later.end.position(), new_end))
        self.changed(start, new_end - start)

    def corrections(self) -> list[tuple[int, str, str]]:
        """(index, source sentence, current translation) of every edited sentence not emptied."""
        found = []
        for index in sorted(self._edited):
            text = self.text(index).strip()
            if text:
                found.append((index, self.sentences[index].source, text))
        return found

    def confirm(self, index: int, text: str) -> None:
        """Sentence index's correction is saved: it is the shown text now, from the memory."""
        self.shown[index] = text
        self.origins[index] = "memory"
        self.confirmed.add(index)
        self._edited.discard(index)
