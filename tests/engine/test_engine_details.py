"""Per-sentence details on the real fast model: exact spans, origin, confidence, translation memory."""

from __future__ import annotations

import pytest

from desktop.engine import TranslationEngine
from desktop.stores.cache import TranslationCache

MAX_NEW_TOKENS = 24
TEXT = "  Das Haus ist alt.\tDer Hund schläft!\n\n- 42 -\nWo ist die Katze? Sie ist hier.  "


class DictMemory:
    """The smallest translation memory: an exact-match dict (the real one is desktop.memory.store)."""

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


def test_real_translation_memory_is_served_first(uncached, tmp_path):
    from desktop.memory.store import TranslationMemory

    with TranslationMemory(tmp_path / "memory.sqlite") as memory:
        memory.add("de", "en", "Der Hund schläft!", "The dog is asleep!")
        uncached.memory = memory
        try:
            calls = uncached.model_calls
            report = uncached.translate_report("  Der Hund schläft!", "de", "en")
        finally:
            uncached.memory = None
    assert uncached.model_calls == calls
    (sentence,) = report.sentences
    assert (report.text, sentence.origin, sentence.confidence) == ("  The dog is asleep!", "memory", 1.0)
    assert report.text[sentence.target_start:sentence.target_end] == "The dog is asleep!"


SENTENCE = "Der Hund schläft im Garten, weil es heute warm ist."


def test_alternatives_are_distinct_best_first_greedy_first(uncached):
    greedy = uncached.translate(SENTENCE, "de", "en")
    alternatives = uncached.alternatives(SENTENCE, "de", "en", n=4)
    assert alternatives[0] == greedy
    assert 2 <= len(alternatives) <= 4
    assert len(set(alternatives)) == len(alternatives) and all(alternatives)
    assert uncached.alternatives(SENTENCE, "de", "en", n=4) == alternatives  # deterministic
    # n-best lists are prefixes of each other: the order is the beam ranking, not chance.
    assert uncached.alternatives(SENTENCE, "de", "en", n=2) == alternatives[:2]
    report = uncached.translate_report(SENTENCE, "de", "en", alternatives=3)
    (sentence,) = report.sentences
    assert sentence.translation == greedy
    assert sentence.alternatives == alternatives[1:4]


def test_beam_ranking_is_by_length_normalized_log_probability(default_llama):
    from alma_core.prompts import build_prompt
    from desktop.engine.beam import BeamSearcher

    # Cells as the engine sizes them for 5 beams: n_ctx + 4 x max_new_tokens, rounded up to 256.
    searcher = BeamSearcher(default_llama, 5, -(-(2048 + 4 * MAX_NEW_TOKENS) // 256) * 256, 2)
    try:
        hypotheses = searcher.search(build_prompt("de", "en", SENTENCE), 40)
    finally:
        searcher.close()
    scores = [h.normalized for h in hypotheses]
    assert scores == sorted(scores, reverse=True) and len(hypotheses) >= 5
    assert all(score < 0 for score in scores)


def test_cancel_during_beam_search(uncached):
    from desktop.engine import TranslationCancelled

    def counter(stop_after: int | None = None):
        checks: list[int] = []

        def cancel() -> bool:
            checks.append(1)
            return stop_after is not None and len(checks) > stop_after

        return checks, cancel

    greedy_checks, cancel = counter()
    uncached.translate(SENTENCE, "de", "en", cancel=cancel)
    all_checks, cancel = counter()
    uncached.alternatives(SENTENCE, "de", "en", n=4, cancel=cancel)
    beam_steps = len(all_checks) - len(greedy_checks)
    assert beam_steps > 4  # the search checks before every step
    checks, cancel = counter(stop_after=len(greedy_checks) + 3)  # the greedy pass, then 3 beam steps
    with pytest.raises(TranslationCancelled):
        uncached.alternatives(SENTENCE, "de", "en", n=4, cancel=cancel)
    assert len(checks) == len(greedy_checks) + 4 < len(all_checks)
    # The engine is usable afterwards and gives the same list again.
    assert uncached.alternatives(SENTENCE, "de", "en", n=4)[0] == uncached.translate(SENTENCE, "de", "en")


def test_bad_alternative_counts_are_refused(uncached):
    with pytest.raises(ValueError, match="n must be at least 1"):
        uncached.alternatives(SENTENCE, "de", "en", n=0)
    with pytest.raises(ValueError, match="alternatives must be 0 or more"):
        uncached.translate_report(SENTENCE, "de", "en", alternatives=-1)


def test_calibration_is_chosen_by_base_then_architecture():
    from desktop.engine.confidence import (
        Calibration,
        calibrated_confidence,
        calibration_for,
        load_calibrations,
    )

    shipped = load_calibrations()
    assert any(c.base == "gemma3-270m" and c.architecture == "gemma3" and c.slope > 0 for c in shipped)
    fits = [Calibration("gemma3-270m", "gemma3", 3.0, 1.5), Calibration("other", "llama", 1.0, 0.0)]
    assert calibration_for({"alma.base": "gemma3-270m", "architecture": "gemma3"}, fits) is fits[0]
    assert calibration_for({"architecture": "llama"}, fits) is fits[1]  # a base without alma.* keys
    assert calibration_for({"alma.base": "qwen", "architecture": "qwen2"}, fits) is None
    # Calibrated or not, the mapping is monotone and within 0..1.
    for calibration in (fits[0], None):
        values = [calibrated_confidence(lp, calibration) for lp in (-50.0, -3.0, -1.0, -0.1, 0.0)]
        assert values == sorted(values) and all(0.0 <= v <= 1.0 for v in values)
    assert calibrated_confidence(-1.0, None) == pytest.approx(0.36788, abs=1e-4)  # exp() fallback


def test_old_cache_rows_keep_working_without_confidence(tmp_path, default_gguf):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)  # the schema before confidence was stored
    db.execute("CREATE TABLE translations (model TEXT NOT NULL, src TEXT NOT NULL, tgt TEXT NOT NULL, "
               "source TEXT NOT NULL, target TEXT NOT NULL, used INTEGER NOT NULL DEFAULT 0, "
               "PRIMARY KEY (model, src, tgt, source))")
    db.commit()
    db.close()
    cache = TranslationCache(path)
    engine = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=MAX_NEW_TOKENS, cache=cache)
    key = engine.cache_key()
    cache._db.execute("INSERT INTO translations (model, src, tgt, source, target) VALUES (?, 'de', 'en', ?, ?)",
                      (key, "Das ist alt.", "That is old."))
    report = engine.translate_report("Das ist alt. Das ist neu.", "de", "en")
    old, new = report.sentences
    assert (old.translation, old.origin, old.confidence) == ("That is old.", "cache", None)
    assert new.origin == "model" and 0.0 <= new.confidence <= 1.0
    assert cache.get_entry(key, "de", "en", "Das ist neu.")[1] is not None
    engine.close()


def test_a_long_one_line_paragraph_splits_in_linear_time():
    import time

    from desktop.engine import split_segments

    line = " ".join(f"Satz Nr. {i} ist z. B. hier, am 1. Mai sah es Dr. Müller." for i in range(1000))
    started = time.perf_counter()
    segments = split_segments(line)
    elapsed = time.perf_counter() - started
    assert "".join(s.text for s in segments) == line
    assert sum(s.translatable for s in segments) == 1000  # the abbreviations and ordinals are no ends
    assert elapsed < 2.0, elapsed  # 8.6 s when every sentence end rescanned the line's head (0.02 s now)
