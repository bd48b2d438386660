"""Plain text (.txt): every line is translated on its own; blank lines, indentation and endings kept
(docs/translate.md, "Documents")."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from desktop.documents.base import Piece, TextDocumentFormat, Translatable, has_words, split_line_ending


class PlainTextFormat(TextDocumentFormat):
    extensions = (".txt",)

    def pieces(self, lines: Iterable[str]) -> Iterator[Piece]:
        for line in lines:
            body, ending = split_line_ending(line)
            # The engine cuts the line into sentences and keeps the spaces around them.
            yield Translatable(body) if has_words(body) else body
            if ending:
                yield ending
