"""Where a direction's terms come from (TermSource: a file, a set of files, the app's store, a request's list),
and direction_terms, the one builder of "the terms of one direction" (docs/terminology.md, "Where a
direction's terms come from: one builder")."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from desktop.terminology.entry import TermEntry
from desktop.terminology.files import glossary_languages, read_do_not_translate, read_glossary
from desktop.terminology.matching import TermBase


class TermSource(Protocol):
    def entries(self, src: str, tgt: str) -> list[TermEntry]:
        """This source's entries for src -> tgt, in order ([] when it has none for that direction)."""


def direction_terms(sources: Iterable[TermSource | None], src: str, tgt: str) -> TermBase:
    """The terms of src -> tgt: every source's entries in order (None sources skipped); for the same
    source term (casefolded) a later entry replaces an earlier one, so later sources win."""
    return TermBase([entry for source in sources if source is not None for entry in source.entries(src, tgt)],
                    src, tgt)


class EntryList:
    """Entries that hold in every direction they are used for (an API request's own terms)."""

    def __init__(self, entries: Iterable[TermEntry] = ()) -> None:
        self._entries = list(entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def entries(self, src: str, tgt: str) -> list[TermEntry]:
        return list(self._entries)


class GlossaryFile:
    """A TSV/CSV/TBX glossary. For_pair_in_header: a TSV/CSV whose header names a pair serves that pair
    only (either way) and is skipped for others; otherwise it is read for any direction asked, and a
    header naming other languages is a GlossaryError (a file given for one translation)."""

    def __init__(self, path: Path | str, for_pair_in_header: bool = False) -> None:
        self.path = Path(path)
        self.pair = glossary_languages(self.path) if for_pair_in_header else None
        self._read: dict[tuple[str, str], list[TermEntry]] = {}

    def check(self) -> None:
        """Read every line now (GlossaryError for the first bad one)."""
        self.entries(*(self.pair or ("de", "en")))

    def entries(self, src: str, tgt: str) -> list[TermEntry]:
        if self.pair is not None and set(self.pair) != {src, tgt}:
            return []
        if (src, tgt) not in self._read:
            self._read[(src, tgt)] = read_glossary(self.path, src, tgt)
        return list(self._read[(src, tgt)])


class DoNotTranslateFile:
    """A do-not-translate list: the same terms, kept as they are, in every direction."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._entries: list[TermEntry] | None = None

    def entries(self, src: str, tgt: str) -> list[TermEntry]:
        if self._entries is None:
            self._entries = read_do_not_translate(self.path)
        return list(self._entries)


class GlossarySet:
    """Glossary and do-not-translate files for every direction (a server's terms): `before` (the app's
    glossaries), then the glossaries in order, then the do-not-translate lists (so a kept term wins).
    Every file is read once here, so a bad one fails at once (GlossaryError); a TSV/CSV whose header
    names a pair serves that pair only."""

    def __init__(self, glossaries: Iterable[Path | str] = (), do_not_translate: Iterable[Path | str] = (),
                 before: Sequence[TermSource] = ()) -> None:
        self.before = list(before)
        self.glossaries = [GlossaryFile(path, for_pair_in_header=True) for path in glossaries]
        self.do_not_translate = [DoNotTranslateFile(path) for path in do_not_translate]
        for source in self.glossaries:
            source.check()
        for keep in self.do_not_translate:
            keep.entries("", "")

    def __bool__(self) -> bool:
        return bool(self.sources)

    @property
    def sources(self) -> list[TermSource]:
        return [*self.before, *self.glossaries, *self.do_not_translate]

    def entries(self, src: str, tgt: str) -> list[TermEntry]:
        return [entry for source in self.sources for entry in source.entries(src, tgt)]


def load_terms(glossaries: Sequence[Path | str] = (), do_not_translate: Sequence[Path | str] = (),
               src: str = "", tgt: str = "", before: Sequence[TermSource] = ()) -> TermBase | None:
    """The terms of src -> tgt from glossary files, then do-not-translate files (later ones win), each
    read for this direction (a header naming other languages is a GlossaryError); `before`: sources
    whose entries come first (the app's glossaries). None without files and without a term before them."""
    files = [*(GlossaryFile(path) for path in glossaries), *(DoNotTranslateFile(path) for path in do_not_translate)]
    terms = direction_terms([*before, *files], src, tgt)
    return terms if files or len(terms) else None
