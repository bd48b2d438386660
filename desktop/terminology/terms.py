"""Terms: the terms of one direction together with the strategy that puts them into translations, one value
from the edge down to the engine; the default strategy is decided here (docs/terminology.md, "How terms are
enforced")."""

from __future__ import annotations

from dataclasses import dataclass

from desktop.terminology.entry import TermEntry
from desktop.terminology.matching import TermBase, TermMatch

# "none": report only; "substitute", "constrained", "grammar": desktop.engine.term_decoding.
STRATEGIES = ("none", "substitute", "constrained", "grammar")
DEFAULT_STRATEGY = "constrained"


def check_strategy(name: str) -> str:
    """The strategy name, or ValueError listing the known ones."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown terminology strategy {name!r} (known: {', '.join(STRATEGIES)})")
    return name


@dataclass(frozen=True)
class Terms:
    """A direction's TermBase and how its terms are enforced (strategy, checked on creation)."""

    base: TermBase
    strategy: str = DEFAULT_STRATEGY

    def __post_init__(self) -> None:
        check_strategy(self.strategy)

    @classmethod
    def of(cls, base: TermBase | None, strategy: str | None = None) -> Terms | None:
        """Terms for base (None: None); strategy None is the default strategy."""
        if base is None:
            return None
        return cls(base) if strategy is None else cls(base, strategy)

    @property
    def src(self) -> str:
        return self.base.src

    @property
    def tgt(self) -> str:
        return self.base.tgt

    @property
    def enforced(self) -> bool:
        """Whether decoding changes for sentences with terms (a strategy other than "none", and terms)."""
        return self.strategy != "none" and len(self.base) > 0

    def to_enforce(self, sentence: str) -> list[TermMatch]:
        """The terms of the sentence that its decoding must place ([] when nothing is enforced)."""
        return self.base.find(sentence) if self.enforced else []

    def missing(self, source: str, translation: str) -> list[TermEntry]:
        """The entries found in source whose target is not in translation (reported with any strategy)."""
        return self.base.missing(source, translation)

    def cache_suffix(self) -> str:
        """What a cache key adds for sentences decoded with these terms ("" when decoding is unchanged)."""
        return f":terms:{self.base.fingerprint()}:{self.strategy}" if self.enforced else ""
