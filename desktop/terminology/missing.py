"""Terms not placed: the one reporter that numbers a run's sentences and tells or keeps those missing terms,
in the shapes the CLI, the API and the app show (docs/terminology.md, "Terms not placed")."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from desktop.terminology.entry import TermEntry


class CheckedSentence(Protocol):
    """What the reporter reads of a translated sentence (the engine's SentenceReport)."""

    source: str
    translation: str
    missing: list[TermEntry]


@dataclass(frozen=True)
class MissingTerms:
    """A sentence whose glossary or do-not-translate terms were not all placed.

    number counts the run's sentences from 1; start:end is its translation in the translated text
    when the reporter was given that text (-1 when not, or when it was not found there).
    """

    number: int
    source: str
    entries: tuple[TermEntry, ...]
    start: int = -1
    end: int = -1

    def warnings(self, name: str) -> list[str]:
        """alma-translate's lines: "NAME: sentence N: term 'Kunde' -> 'client' not placed", one per term."""
        return [f"{name}: sentence {self.number}: {_term(entry)} not placed" for entry in self.entries]

    def as_json(self) -> list[dict[str, Any]]:
        """The API's terms_missing items, one per term: sentence, source, target, do_not_translate."""
        return [{"sentence": self.number, "source": entry.source, "target": entry.target,
                 "do_not_translate": entry.keep} for entry in self.entries]


def _term(entry: TermEntry) -> str:
    return f"term {entry.source!r} kept" if entry.keep else f"term {entry.source!r} -> {entry.target!r}"


class MissingTermReporter:
    """Counts the sentences of one run (a document, stdin, one API text) and, for each whose terms were
    not all placed, calls `tell` with its MissingTerms, or keeps it in `found` when there is no `tell`."""

    def __init__(self, tell: Callable[[MissingTerms], None] | None = None) -> None:
        self.sentences = 0
        self.found: list[MissingTerms] = []
        self._tell = tell if tell is not None else self.found.append

    def sentence(self, source: str, missing: Sequence[TermEntry], start: int = -1, end: int = -1) -> None:
        """One more sentence of the run, with the entries missing from its translation (maybe none)."""
        self.sentences += 1
        if missing:
            self._tell(MissingTerms(self.sentences, source, tuple(missing), start, end))

    def sentences_of(self, sentences: Iterable[CheckedSentence], text: str | None = None) -> None:
        """The sentences of one translation report, in order; given the translated `text`, each is
        found in it after the one before (where the app's text view highlights it)."""
        position = 0
        for sentence in sentences:
            start = end = -1
            if text is not None and sentence.translation:
                start = text.find(sentence.translation, position)
                if start >= 0:
                    end = position = start + len(sentence.translation)
            self.sentence(sentence.source, sentence.missing, start, end)

    def as_json(self) -> list[dict[str, Any]]:
        """Every kept sentence's terms as the API's terms_missing list."""
        return [item for found in self.found for item in found.as_json()]


def warn_each(name: str, write: Callable[[str], None]) -> MissingTermReporter:
    """A reporter writing alma-translate's warning lines for the run called `name` (a file, stdin)."""

    def tell(found: MissingTerms) -> None:
        for line in found.warnings(name):
            write(line)

    return MissingTermReporter(tell)
