"""TermEntry: one glossary or do-not-translate term, the unit every terminology module shares
(docs/terminology.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TermEntry:
    """One term: source -> target, with a note and where it came from ("file:line").

    A do-not-translate term has keep=True and target == source.
    """

    source: str
    target: str
    note: str = ""
    origin: str = ""
    keep: bool = False
