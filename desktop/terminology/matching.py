"""TermBase: finding glossary terms in sentences (across simple inflections) and checking translations.

A suffix heuristic per language, not a morphological analyser (docs/terminology.md, "How terms are found").
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from desktop.terminology.entry import TermEntry


@dataclass(frozen=True)
class Inflection:
    endings: tuple[str, ...]  # a term word may lose one of these (its stem keeps >= 3 letters) ...
    suffixes: tuple[str, ...]  # ... and the stem or the whole word may take one of these
    # final consonants of a stem that change before some endings (Czech zákazník -> zákazníci)
    alternations: tuple[tuple[str, str], ...] = ()


INFLECTIONS: dict[str, Inflection] = {
    "en": Inflection(("e", "y"), ("s", "es", "d", "ed", "ing", "ies", "ied")),
    "de": Inflection(("e",), ("e", "en", "n", "s", "es", "er", "ern", "em", "nen")),
    "cs": Inflection(("a", "e", "ě", "i", "í", "o", "u", "y", "ý", "á", "é", "ů"),
                     ("a", "e", "ě", "i", "í", "o", "u", "y", "ý", "á", "é", "ů", "ou", "em", "ám", "ách",
                      "ami", "ech", "ích", "ím", "ími", "mi", "ovi", "ové", "ům", "ého", "ému", "ém", "ých",
                      "ým", "ými"),
                     (("ch", "š"), ("k", "c"), ("h", "z"), ("g", "z"), ("r", "ř"))),
    "ru": Inflection(("а", "я", "о", "е", "ь", "й", "ы", "и", "ия", "ие", "ий", "ый", "ой", "ая", "ое"),
                     ("а", "я", "у", "ю", "ом", "ем", "ём", "ой", "ей", "е", "и", "ы", "ов", "ев", "ёв", "ам",
                      "ям", "ами", "ями", "ах", "ях", "ь", "ью", "ия", "ии", "ию", "ие", "ий", "ием", "иям",
                      "иями", "иях", "ого", "его", "ому", "ему", "ым", "им", "ых", "их", "ую", "юю", "ая", "яя",
                      "ое", "ее", "ые", "ие", "ый")),
    "uk": Inflection(("а", "я", "о", "е", "ь", "й", "и", "і"),
                     ("а", "я", "у", "ю", "ом", "ем", "єм", "ою", "ею", "ей", "е", "і", "и", "ів", "їв",
                      "ам", "ям", "ами", "ями", "ах", "ях", "ь", "ого", "ому", "им", "их")),
    "is": Inflection(("ur", "i", "a", "ar", "ir", "r", "s"),
                     ("i", "a", "u", "s", "ar", "ir", "ur", "um", "unum", "inn", "ið", "in", "num", "nna",
                      "ins", "inu", "ina", "ana", "anna", "ann", "arnir", "ra", "rar", "ri", "rum", "ni",
                      "nir", "nar")),
    "fr": Inflection((), ("s", "x", "e", "es")),
    "es": Inflection((), ("s", "es")),
    "pt": Inflection((), ("s", "es")),
    "it": Inflection(("o", "a", "e", "i"), ("o", "a", "e", "i")),
    "nl": Inflection((), ("s", "en", "n", "e")),
}
SUBSTRING_LANGUAGES = frozenset({"zh", "ja"})
MIN_STEM = 3
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class TermMatch:
    """A term found in a sentence: sentence[start:end] is the (possibly inflected) source term."""

    entry: TermEntry
    start: int
    end: int


def _word_pattern(word: str, lang: str) -> str:
    rules = INFLECTIONS.get(lang)
    lower = word.lower()
    if rules is None or len(lower) < MIN_STEM or not lower[-1].isalpha():
        return re.escape(word)
    stems = {lower}
    for ending in rules.endings:
        if lower.endswith(ending) and len(lower) - len(ending) >= MIN_STEM:
            stems.add(lower[:-len(ending)])
    for stem in list(stems):
        for final, changed in rules.alternations:
            if stem.endswith(final) and len(stem) >= MIN_STEM:
                stems.add(stem[:-len(final)] + changed)
                break
    stem_part = "|".join(re.escape(stem) for stem in sorted(stems, key=len, reverse=True))
    suffix_part = "|".join(re.escape(suffix) for suffix in sorted(rules.suffixes, key=len, reverse=True))
    return f"(?:{stem_part})(?:{suffix_part})?"


@functools.lru_cache(maxsize=65536)
def term_pattern(term: str, lang: str, exact: bool = False) -> re.Pattern[str]:
    """The regular expression that finds `term` in text of language `lang`.

    exact: the term's own spelling, case-sensitive (do-not-translate terms); else case-insensitive
    with the language's inflections.
    """
    term = term.strip()
    if lang in SUBSTRING_LANGUAGES:
        body = r"\s*".join(re.escape(part) for part in term.split())
        return re.compile(body, 0 if exact else re.IGNORECASE)
    parts = []
    for piece in re.split(r"(\w+)", term):
        if not piece:
            continue
        if _WORD.fullmatch(piece):
            parts.append(re.escape(piece) if exact else _word_pattern(piece, lang))
        elif piece.isspace():
            parts.append(r"\s+")
        else:
            parts.append(r"\s*".join(re.escape(bit) for bit in piece.split()))
    body = "".join(parts)
    before = r"(?<!\w)" if term[:1].isalnum() or term[:1] == "_" else ""
    after = r"(?!\w)" if term[-1:].isalnum() or term[-1:] == "_" else ""
    return re.compile(before + body + after, 0 if exact else re.IGNORECASE)


def _entry_pattern(entry: TermEntry, lang: str, side: str = "source") -> re.Pattern[str]:
    return term_pattern(entry.source if side == "source" else entry.target, lang, exact=entry.keep)


def target_present(text: str, entry: TermEntry, tgt: str) -> bool:
    """Whether the translation `text` has the entry's target term (an inflected form of it counts;
    a do-not-translate term must be there exactly as written)."""
    return _entry_pattern(entry, tgt, "target").search(text) is not None


def _prefilter_key(term: str, lang: str) -> str | None:
    """The first three letters (casefolded) every match of the term starts with, or None (always try)."""
    if lang in SUBSTRING_LANGUAGES:
        return None
    first = _WORD.match(term.strip())
    return first.group(0)[:MIN_STEM].casefold() if first else None


class TermBase:
    """The terms of one direction (glossaries and do-not-translate lists merged).

    A later entry for the same source term (compared casefolded) replaces an earlier one.
    """

    def __init__(self, entries: Iterable[TermEntry], src: str, tgt: str) -> None:
        self.src = src
        self.tgt = tgt
        merged: dict[str, TermEntry] = {}
        for entry in entries:
            if not entry.source.strip():
                continue
            key = entry.source.strip().casefold()
            merged.pop(key, None)
            merged[key] = entry
        self.entries: list[TermEntry] = list(merged.values())
        self._fingerprint: str | None = None
        self._by_key: dict[str | None, list[TermEntry]] = {}
        for entry in self.entries:
            self._by_key.setdefault(_prefilter_key(entry.source, src), []).append(entry)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[TermEntry]:
        return iter(self.entries)

    def __repr__(self) -> str:
        return f"TermBase({len(self.entries)} terms, {self.src}->{self.tgt})"

    def _candidates(self, sentence: str) -> Iterator[TermEntry]:
        yield from self._by_key.get(None, ())
        seen = set()
        for word in _WORD.findall(sentence):
            key = word[:MIN_STEM].casefold()
            if key not in seen:
                seen.add(key)
                yield from self._by_key.get(key, ())

    def find(self, sentence: str) -> list[TermMatch]:
        """The terms in the sentence, in order: non-overlapping, the longest match winning."""
        found = []
        for entry in self._candidates(sentence):
            for match in _entry_pattern(entry, self.src).finditer(sentence):
                if match.end() > match.start():
                    found.append(TermMatch(entry, match.start(), match.end()))
        found.sort(key=lambda m: (-(m.end - m.start), -len(m.entry.source), m.start))
        chosen: list[TermMatch] = []
        for match in found:
            if all(match.end <= other.start or match.start >= other.end for other in chosen):
                chosen.append(match)
        return sorted(chosen, key=lambda m: m.start)

    def missing(self, source: str, translation: str) -> list[TermEntry]:
        """The entries found in `source` whose target is not in `translation` (each entry once)."""
        missing: list[TermEntry] = []
        for match in self.find(source):
            if match.entry not in missing and not target_present(translation, match.entry, self.tgt):
                missing.append(match.entry)
        return missing

    def fingerprint(self) -> str:
        """A short hash of the direction and the terms (for cache keys)."""
        if self._fingerprint is None:
            self._fingerprint = self._hash()
        return self._fingerprint

    def _hash(self) -> str:
        terms = sorted((entry.source, entry.target, entry.keep) for entry in self.entries)
        data = json.dumps([self.src, self.tgt, terms], ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(data).hexdigest()[:16]
