"""The engine's interface: the Translator protocol and what it answers (reports, cancellation); the app, the
CLI, the API and the documents use only this (docs/translate.md, "Engine")."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from desktop.engine.batch_decode import DEFAULT_SEQUENCES
from desktop.terminology.entry import TermEntry
from desktop.terminology.terms import Terms

CancelCheck = Callable[[], bool] | threading.Event | None
ORIGINS = ("model", "cache", "memory")


class TranslationCancelled(Exception):
    """Raised inside a running translation after cancel() (or its cancel check) asked it to stop."""


class UntrainedDirectionWarning(UserWarning):
    """The model's alma.language_pairs metadata does not list the requested direction."""


@dataclass
class SentenceReport:
    """One translated sentence: index counts the translatable sentences of the text from 0; missing
    lists the glossary and do-not-translate entries found in the source whose target term is not in
    the translation.

    confidence: 0..1 (desktop.engine.confidence; 1.0 for a translation-memory match; None when not
    known, e.g. a cache row written before confidence was stored). alternatives: other translations,
    best first, distinct, without `translation` (only when asked for). The spans map the sentence
    exactly: text[source_start:source_end] == source in the input text and
    report.text[target_start:target_end] == translation. origin: "model", "cache" or "memory".
    truncated: the translation (or a part of it) stopped at its token limit, so its end may be missing.
    parts: (source part, its translation) for a sentence too long to translate whole, cut at clause
    boundaries (desktop.engine.clauses); empty for a sentence translated in one piece.
    """

    index: int
    source: str
    translation: str
    missing: list[TermEntry] = field(default_factory=list)
    confidence: float | None = None
    alternatives: list[str] = field(default_factory=list)
    source_start: int = 0
    source_end: int = 0
    target_start: int = 0
    target_end: int = 0
    origin: str = "model"
    truncated: bool = False
    parts: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class TranslationReport:
    """translate_report's answer: the translation (what translate() returns) and its sentences."""

    text: str
    sentences: list[SentenceReport] = field(default_factory=list)

    @property
    def missing(self) -> list[SentenceReport]:
        """The sentences with a term that was not placed."""
        return [sentence for sentence in self.sentences if sentence.missing]

    @property
    def truncated(self) -> list[SentenceReport]:
        """The sentences whose translation stopped at its token limit (its end may be missing)."""
        return [sentence for sentence in self.sentences if sentence.truncated]


@runtime_checkable
class Translator(Protocol):
    """A loaded model that translates text sentence by sentence (TranslationEngine).

    memory and cache may be None; terms is the direction's Terms (desktop.terminology) or None.
    cancel (an Event or a callable) is checked between tokens; cancel() stops whatever runs.
    """

    model_path: Path
    info: dict[str, Any]
    memory: Any
    cache: Any
    generated_tokens: int

    def direction_warning(self, src: str, tgt: str) -> str | None:
        """Why src->tgt may translate badly (the model was not trained for it), or None."""

    def translate(self, text: str, src: str, tgt: str, cancel: CancelCheck = None,
                  terms: Terms | None = None) -> str:
        """The translation of text."""

    def iter_translate(self, text: str, src: str, tgt: str, cancel: CancelCheck = None,
                       terms: Terms | None = None) -> Iterator[str]:
        """The translation piece by piece, as the model makes it."""

    def translate_report(self, text: str, src: str, tgt: str, cancel: CancelCheck = None,
                         terms: Terms | None = None, alternatives: int = 0) -> TranslationReport:
        """The translation with its sentences (spans, confidence, origin, terms not placed)."""

    def alternatives(self, sentence: str, src: str, tgt: str, n: int = 4, cancel: CancelCheck = None) -> list[str]:
        """Up to n distinct translations of one sentence, best first."""

    def prefetch(self, texts: Sequence[str], src: str, tgt: str, cancel: CancelCheck = None,
                 on_text: Callable[[int], None] | None = None, terms: Terms | None = None,
                 max_sequences: int = DEFAULT_SEQUENCES) -> AbstractContextManager[int]:
        """Decode the sentences of texts in batches on entry; translations inside the block use them;
        they are forgotten at exit."""

    def cancel(self) -> None:
        """Stop the running translation (it raises TranslationCancelled)."""

    def close(self) -> None:
        """Free the model."""
