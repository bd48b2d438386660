"""Per-sentence details on the real fast model: exact spans, origin, confidence, translation memory."""

from __future__ import annotations

import pytest

from desktop.cache import TranslationCache
from desktop.engine import TranslationEngine

MAX_NEW_TOKENS = 24
TEXT = "  Das Haus ist alt.\tDer Hund schläft!\n\n- 42 -\nWo ist die Katze? Sie ist hier.  "


class DictMemory:
    """The smallest translation memory: an exact-match dict (the real one is desktop.memory)."""

    def __init__(self, pairs: dict[tuple[str, str, str], str]) -> None:
        self.pairs = pairs
        self.lookups = 0

    def lookup(self, src: str, tgt: str, source: str) -> str | None:
        self.lookups += 1
        return self.pairs.get((src, tgt, source.strip()))


@pytest.fixture(scope="module")
def engine(default_gguf, tmp_path_factory) -> TranslationEngine:
    cache = TranslationCache(tmp_path_factory.mktemp("details-cache") / "cache.sqlite3")
    return TranslationEngine(default_gguf, n_threads=2, max_new_tokens=MAX_NEW_TOKENS, cache=cache)


@pytest.fixture(scope="module")
def uncached(default_gguf) -> TranslationEngine:
    return TranslationEngine(default_gguf, n_threads=2, max_new_tokens=MAX_NEW_TOKENS, cache=False)


def test_spans_map_each_sentence_exactly(uncached):
    report = uncached.translate_report(TEXT, "de", "en")
    assert [s.source for s in report.sentences] == ["Das Haus ist alt.", "Der Hund schläft!",
                                                    "Wo ist die Katze?", "Sie ist hier."]
    assert report.text == uncached.translate(TEXT, "de", "en")
    previous_end = 0
    for sentence in report.sentences:
        assert TEXT[sentence.source_start:sentence.source_end] == sentence.source
        assert report.text[sentence.target_start:sentence.target_end] == sentence.translation
        assert sentence.target_start >= previous_end
        previous_end = sentence.target_end
        assert sentence.origin == "model"
    # What lies between the translations is the input's own whitespace and untranslated text.
    assert report.text.startswith("  ") and report.text.endswith("  ")
    assert "\n\n- 42 -\n" in report.text


def test_confidence_is_in_range_and_deterministic(uncached):
    first = uncached.translate_report(TEXT, "de", "en")
    second = uncached.translate_report(TEXT, "de", "en")
    confidences = [s.confidence for s in first.sentences]
    assert all(c is not None and 0.0 <= c <= 1.0 for c in confidences), confidences
    assert confidences == [s.confidence for s in second.sentences]
    assert len(set(confidences)) > 1  # it tells sentences apart


def test_cached_confidence_equals_fresh(engine):
    text = "Der Garten ist groß. Die Sonne scheint."
    fresh = engine.translate_report(text, "de", "en")
    calls = engine.model_calls
    again = engine.translate_report(text, "de", "en")
    assert engine.model_calls == calls
    assert [s.origin for s in fresh.sentences] == ["model", "model"]
    assert [s.origin for s in again.sentences] == ["cache", "cache"]
    assert [s.confidence for s in again.sentences] == [s.confidence for s in fresh.sentences]
    assert [s.translation for s in again.sentences] == [s.translation for s in fresh.sentences]


def test_memory_match_is_served_without_a_model_call(uncached):
    memory = DictMemory({("de", "en", "Das Haus ist alt."): "The house is old."})
    uncached.memory = memory
    try:
        calls = uncached.model_calls
        report = uncached.translate_report("Das Haus ist alt. Der Hund schläft!", "de", "en")
        assert uncached.model_calls == calls + 1  # only the second sentence went to the model
        first, second = report.sentences
        assert (first.translation, first.origin, first.confidence) == ("The house is old.", "memory", 1.0)
        assert second.origin == "model"
        assert report.text.startswith("The house is old. ")
        calls = uncached.model_calls
        assert uncached.translate("Das Haus ist alt.", "de", "en") == "The house is old."
        assert uncached.model_calls == calls
    finally:
        uncached.memory = None
    calls = uncached.model_calls
    assert uncached.translate("Das Haus ist alt.", "de", "en") != "The house is old."
    assert uncached.model_calls == calls + 1
