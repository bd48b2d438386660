"""TranslationEngine: the Translator for one GGUF model or a bundle (a base and an adapter per language); each
sentence goes memory -> terms -> prefetched -> cache -> model (a long one in parts), the text put back together
around its whitespace (docs/translate.md, "Engine"; bundles: docs/adapters.md)."""

from __future__ import annotations

import sqlite3
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alma_core.bundle import Bundle, bundle_info, is_bundle, load_bundle
from alma_core.gguf_file import ModelLoadError, read_model_info, trained_pairs
from alma_core.languages import language_name
from alma_core.prompts import OUTPUT_LENGTH_FACTOR, clean_output
from desktop.engine.batch_decode import DEFAULT_CELLS, DEFAULT_SEQUENCES, Decoded
from desktop.engine.batch_translate import decode_ahead
from desktop.engine.clauses import Part, join_part
from desktop.engine.confidence import calibrated_confidence, calibration_for, mean_logprob
from desktop.engine.llama_model import DirectionDecoder, LlamaModel, default_threads, resolve_gpu_layers
from desktop.engine.sentences import split_segments, translatable
from desktop.engine.term_decoding import enforce_sentence
from desktop.engine.translator import (
    ORIGINS,
    CancelCheck,
    SentenceReport,
    TranslationCancelled,
    TranslationReport,
    Translator,
    UntrainedDirectionWarning,
)
from desktop.stores.cache import CachedTranslation, TranslationCache, model_fingerprint
from desktop.terminology.matching import TermMatch
from desktop.terminology.terms import Terms

__all__ = ["MIN_BEAMS", "ORIGINS", "CancelCheck", "SentenceReport", "TranslationCancelled", "TranslationEngine",
           "TranslationReport", "Translator", "UntrainedDirectionWarning"]

# Beams searched for alternatives at least (n-best lists of 2 or 3 from 5 beams are more varied).
MIN_BEAMS = 5

# (src, tgt, sentence or part) -> (translation, mean token log-probability, stopped at its token limit): a
# document's sentences decoded ahead.
Prefetched = dict[tuple[str, str, str], tuple[str, float | None, bool]]
# Told the source and translation of each sentence whose translation stopped at its token limit.
TruncationHook = Callable[[str, str], None]


@dataclass
class _Outcome:
    """Where one sentence's translation came from, filled in by _translate_sentence."""

    origin: str = "model"
    # Mean log-probability per token of the greedy output (None: not known); 1.0 confidence for memory.
    logprob: float | None = None
    confidence: float | None = None
    truncated: bool = False  # stopped at its token limit (the end may be missing)
    parts: list[tuple[str, str]] = field(default_factory=list)  # (source, translation) of a long one's parts


def _stop_requested(cancel: CancelCheck) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


class TranslationEngine:
    """Loads one GGUF model (or a bundle) and translates text with it.

    model_path: a GGUF file or a bundle folder (alma_core.bundle: its base is loaded once and each
    direction's adapter set on the context as requests come; a direction without one runs on the base,
    with a warning), decided by the caller (the command line, the app, the server: they ask
    alma_core.models.resolve_translation_model() when the user named none). The file (the bundle and its
    files) is checked before llama.cpp loads it; a bad one raises ModelLoadError. n_gpu_layers: a number or "auto".
    cache: True for the shared cache in the user data dir, a TranslationCache, or False/None for none.
    memory: a translation memory (desktop.memory.store.TranslationMemory or anything with
    lookup(src, tgt, source) -> str | None), settable later as .memory; an exact match is served
    before the cache and the model. Counters: model_calls (sentences sent to the model) and
    generated_tokens. on_truncated(source, translation), when set, is told of every sentence whose
    translation stopped at its token limit, whichever method translated it (the command line warns).
    """

    def __init__(self, model_path: Path | str, n_threads: int | None = None,
                 n_ctx: int = 2048, n_gpu_layers: int | str = "auto", max_new_tokens: int = 256,
                 cache: Any = True, memory: Any = None) -> None:
        self.model_path = Path(model_path)
        self.bundle: Bundle | None = load_bundle(self.model_path) if is_bundle(self.model_path) else None
        weights = self.bundle.base_path if self.bundle is not None else self.model_path
        # A bundle's directions are the ones trained (the API's /languages, direction warnings).
        self.info: dict[str, Any] = read_model_info(weights) if self.bundle is None else bundle_info(self.bundle)
        # How mean token log-probabilities become 0..1 confidences for this model (None: exp fallback).
        self.calibration = calibration_for(self.info)
        fingerprint = None
        if cache is not None and cache is not False:
            # Taken before llama.cpp reads the file, so the cache key is the one of the weights loaded
            # even when the file is replaced or deleted right after.
            try:
                fingerprint = model_fingerprint(weights)
            except OSError as exc:
                raise ModelLoadError(f"{weights}: cannot read the model file ({exc.strerror})") from None
        self.n_threads = n_threads or default_threads()
        self.n_ctx = n_ctx
        self.n_gpu_layers = resolve_gpu_layers(n_gpu_layers)
        self.max_new_tokens = max_new_tokens
        self.memory = memory
        adapters = {} if self.bundle is None else {
            tuple(direction.split("-")): self.bundle.adapter_path(adapter)
            for adapter in self.bundle.adapters for direction in adapter.directions}
        self._model = LlamaModel(weights, n_ctx, self.n_threads, self.n_gpu_layers, max_new_tokens, adapters=adapters)

        if cache is True:
            try:
                cache = TranslationCache()
            except (sqlite3.Error, OSError) as exc:  # a read-only home must not stop translation
                warnings.warn(f"translation cache disabled: {exc}", RuntimeWarning, stacklevel=2)
                cache = None
        self.cache = None if cache is None or cache is False else cache
        # Greedy output depends on the weights (a bundle's: the base and the direction's adapter) and on
        # the token limit, nothing else: the decoding settings are part of the key, so a cached output is
        # only reused for the same ones.
        self._fingerprint = fingerprint
        self._settings_key = f"greedy:{max_new_tokens}:lf{OUTPUT_LENGTH_FACTOR}"
        self._state_lock = threading.Lock()
        self._running = 0
        self._cancel = threading.Event()
        self._warned: set[tuple[str, str]] = set()
        self._prefetched: list[Prefetched] = []  # one table per open prefetch() block
        self.on_truncated: TruncationHook | None = None

    # -- counters (the model's; settable, e.g. to 0 before a measurement) -----------------------

    @property
    def model_calls(self) -> int:
        """Sentences (or parts of one) sent to the model."""
        return self._model.calls

    @model_calls.setter
    def model_calls(self, value: int) -> None:
        self._model.calls = value

    @property
    def generated_tokens(self) -> int:
        return self._model.tokens

    @generated_tokens.setter
    def generated_tokens(self, value: int) -> None:
        self._model.tokens = value

    # -- directions ------------------------------------------------------------------------------

    def adapter_for(self, src: str, tgt: str) -> Path | None:
        """The bundle's adapter file that translates src->tgt (None: a single GGUF, or the bundle's base alone)."""
        return self._model.adapter_for(src, tgt)

    def direction_warning(self, src: str, tgt: str) -> str | None:
        """A message when the model's metadata says it was not trained for src->tgt (a bundle: it has no
        adapter for it, so the base translates alone), else None."""
        if self.bundle is not None:
            if self.adapter_for(src, tgt) is not None:
                return None
            listed = ", ".join(f"{s}-{t}" for s, t in self.bundle.directions) or "none"
            return (f"{self.model_path.name} has no adapter for {src}-{tgt} (adapters: {listed}); "
                    "its base translates it alone, zero-shot")
        pairs = trained_pairs(self.info)
        if pairs is None or (src, tgt) in pairs:
            return None
        listed = ", ".join(sorted(f"{a}-{b}" for a, b in pairs)) or "none"
        return (f"{self.model_path.name} was not trained for {src}-{tgt} (alma.language_pairs: {listed}); "
                "translating anyway")

    def _check_direction(self, src: str, tgt: str) -> None:
        language_name(src)  # UnknownLanguageError naming the code
        language_name(tgt)
        message = self.direction_warning(src, tgt)
        if message and (src, tgt) not in self._warned:
            self._warned.add((src, tgt))
            warnings.warn(message, UntrainedDirectionWarning, stacklevel=4)

    # -- cancellation ----------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop the running translation (it raises TranslationCancelled); a no-op when none runs."""
        with self._state_lock:
            if self._running:
                self._cancel.set()

    def _stopping(self, cancel: CancelCheck) -> bool:
        return self._cancel.is_set() or _stop_requested(cancel)

    @contextmanager
    def _running_translation(self) -> Iterator[None]:
        with self._state_lock:
            if not self._running:
                self._cancel.clear()
            self._running += 1
        try:
            yield
        finally:
            with self._state_lock:
                self._running -= 1

    # -- translation -----------------------------------------------------------------------------

    def iter_translate(self, text: str, src: str, tgt: str, cancel: CancelCheck = None,
                       terms: Terms | None = None) -> Iterator[str]:
        """Yield the translation piece by piece: tokens as the model makes them, whitespace as it was.

        "".join(pieces) is the translation. cancel (an Event or a callable) is checked between tokens,
        as is cancel(); either raises TranslationCancelled. terms: glossary and do-not-translate terms
        for src->tgt and their strategy (desktop.engine.term_decoding); a sentence with a term comes
        in one piece once its terms are settled.
        """
        self._check_direction(src, tgt)
        with self._running_translation():
            for segment in split_segments(text):
                if self._stopping(cancel):
                    raise TranslationCancelled("translation cancelled")
                if not segment.translatable:
                    yield segment.text
                    continue
                yield from self._translate_sentence(segment.text, src, tgt, cancel, terms)

    def translate(self, text: str, src: str, tgt: str, cancel: CancelCheck = None,
                  terms: Terms | None = None) -> str:
        """Translate text from src to tgt (language codes such as "de", "en")."""
        return "".join(self.iter_translate(text, src, tgt, cancel, terms))

    def translate_report(self, text: str, src: str, tgt: str, cancel: CancelCheck = None,
                         terms: Terms | None = None, alternatives: int = 0) -> TranslationReport:
        """translate(), sentence by sentence: each sentence's source, translation, missing terms,
        confidence, origin and exact spans in `text` and in the translation; alternatives > 0 adds
        up to that many other translations per model-translated sentence (beam search, slower)."""
        self._check_direction(src, tgt)
        if alternatives < 0:
            raise ValueError(f"alternatives must be 0 or more, not {alternatives}")
        pieces: list[str] = []
        sentences: list[SentenceReport] = []
        source_at = target_at = 0
        with self._running_translation():
            for segment in split_segments(text):
                if self._stopping(cancel):
                    raise TranslationCancelled("translation cancelled")
                source_start, source_at = source_at, source_at + len(segment.text)
                if not segment.translatable:
                    pieces.append(segment.text)
                    target_at += len(segment.text)
                    continue
                outcome = _Outcome()
                translation = "".join(self._translate_sentence(segment.text, src, tgt, cancel, terms, outcome))
                pieces.append(translation)
                target_start, target_at = target_at, target_at + len(translation)
                missing = terms.missing(segment.text, translation) if terms is not None else []
                others: list[str] = []
                if alternatives and outcome.origin != "memory":
                    others = self._alternatives(segment.text, src, tgt, alternatives + 1, cancel,
                                                translation)[1:]
                sentences.append(SentenceReport(
                    len(sentences), segment.text, translation, missing, confidence=outcome.confidence,
                    alternatives=others, source_start=source_start, source_end=source_at,
                    target_start=target_start, target_end=target_at, origin=outcome.origin,
                    truncated=outcome.truncated, parts=outcome.parts))
        return TranslationReport("".join(pieces), sentences)

    def translate_sentence(self, sentence: str, src: str, tgt: str, terms: Terms | None = None) -> str:
        """One sentence through the chain (memory, cache, model; a long one in parts), not cut into sentences."""
        return "".join(self._translate_sentence(sentence, src, tgt, None, terms))

    def alternatives(self, sentence: str, src: str, tgt: str, n: int = 4, cancel: CancelCheck = None) -> list[str]:
        """Up to n translations of one sentence, best first, distinct: the engine's own translation
        (what translate() gives: greedy, or the translation memory's) first, then beam search's n-best
        (beams = max(n + 1, MIN_BEAMS), cut by clean_output). Fewer than n when the beams agree.
        cancel (or cancel()) stops the search between steps with TranslationCancelled."""
        if n < 1:
            raise ValueError(f"n must be at least 1, not {n}")
        self._check_direction(src, tgt)
        with self._running_translation():
            translation = "".join(self._translate_sentence(sentence, src, tgt, cancel))
            return self._alternatives(sentence, src, tgt, n, cancel, translation)

    def _alternatives(self, sentence: str, src: str, tgt: str, n: int, cancel: CancelCheck,
                      first: str) -> list[str]:
        results = [first]
        if n < 2:
            return results
        if len(self._model.parts(sentence, src, tgt)) > 1:
            return results  # a long sentence translated in parts: their n-bests do not combine
        try:
            texts = self._model.n_best(sentence, src, tgt, max(n + 1, MIN_BEAMS), stop=lambda: self._stopping(cancel))
        except InterruptedError:
            raise TranslationCancelled("translation cancelled") from None
        for text in texts:
            cleaned = clean_output(text, tgt)
            if cleaned and cleaned not in results:
                results.append(cleaned)
            if len(results) == n:
                break
        return results

    # -- documents: sentences decoded ahead in batches -----------------------------------------

    @contextmanager
    def prefetch(self, texts: Sequence[str], src: str, tgt: str, cancel: CancelCheck = None,
                 on_text: Callable[[int], None] | None = None, terms: Terms | None = None,
                 max_sequences: int = DEFAULT_SEQUENCES, n_ctx: int = DEFAULT_CELLS) -> Iterator[int]:
        """Decode the sentences of `texts` that need the model together, before they are translated.

        On entry the sentences the chain would send to the model (not in the memory, without terms to
        enforce, not cached; a long sentence's parts, as translate() cuts it) are decoded in batches of up
        to max_sequences (desktop.engine.batch_translate) and cached; inside the block translate() serves
        them; at exit they are forgotten. Yields how many were decoded. on_text(i) is called once every
        sentence of texts[i] is ready. cancel stops the decoding with TranslationCancelled.
        """
        table: Prefetched = {}

        def decoded(unit: str, translation: str, result: Decoded) -> None:
            table[(src, tgt, unit)] = (translation, result.logprob, result.truncated)
            self._model.tokens += result.tokens
            if self.cache is not None:
                self.cache.put(self._model_key(src, tgt), src, tgt, unit, translation, logprob=result.logprob,
                               truncated=result.truncated)

        with self._running_translation():
            units: dict[str, list[str]] = {}  # sentence -> the texts the model translates for it
            for sentence in _distinct_sentences(texts):
                units[sentence] = [part.text for part in self._model.parts(sentence, src, tgt)]
            wanted = list(dict.fromkeys(unit for sentence in units
                                        for unit in self._model_units(sentence, units[sentence], src, tgt, terms)))

            def units_of(text: str) -> list[str]:
                return [unit for segment in split_segments(text) if segment.translatable
                        for unit in units[segment.text]]

            with self._model.batch_decoder(max_sequences, n_ctx, src, tgt) as decoder:
                try:
                    count = decode_ahead(decoder, texts, wanted, self._model.token_limit, src, tgt,
                                         stop=lambda: self._stopping(cancel), on_decoded=decoded, on_text=on_text,
                                         units_of=units_of)
                except InterruptedError:
                    raise TranslationCancelled("translation cancelled") from None
            self._model.calls += count
        self._prefetched.append(table)
        try:
            yield count
        finally:
            self._prefetched.remove(table)

    def _model_units(self, sentence: str, parts: list[str], src: str, tgt: str, terms: Terms | None) -> list[str]:
        """The texts _translate_sentence would send to the model as they are for the sentence (cut into
        `parts`): none when the memory has it, else the parts without terms to enforce, not prefetched
        and not cached."""
        if self._memory_lookup(src, tgt, sentence) is not None:
            return []
        return [unit for unit in parts
                if translatable(unit) and not (terms is not None and terms.to_enforce(unit))
                and self._prefetched_entry(src, tgt, unit) is None
                and (self.cache is None or self.cache.get_entry(self._model_key(src, tgt), src, tgt, unit) is None)]

    def _prefetched_entry(self, src: str, tgt: str, sentence: str) -> tuple[str, float | None, bool] | None:
        for table in self._prefetched:
            found = table.get((src, tgt, sentence))
            if found is not None:
                return found
        return None

    # -- one sentence: the chain -----------------------------------------------------------------

    def _model_key(self, src: str, tgt: str) -> str:
        """The cache's model key of src->tgt: the weights' fingerprint, a bundle's adapter of the direction
        (its sha256; outputs of another adapter or of the base alone are not reused) and the settings."""
        adapter = self.bundle.adapter_for(src, tgt) if self.bundle is not None else None
        weights = self._fingerprint if adapter is None else f"{self._fingerprint}+lora:{adapter.sha256[:32]}"
        return f"{weights}:{self._settings_key}"

    def cache_key(self, terms: Terms | None = None, src: str = "", tgt: str = "") -> str | None:
        """The cache's model key for src->tgt sentences translated with `terms` (None without a cache): the
        weights (a bundle's adapter of the direction), the decoding settings, plus the terms' fingerprint
        and strategy when they change the output."""
        if self.cache is None:
            return None
        return self._model_key(src, tgt) + (terms.cache_suffix() if terms is not None else "")

    def _memory_lookup(self, src: str, tgt: str, sentence: str) -> str | None:
        """The translation memory's exact match for the sentence, or None (also when it cannot be read:
        a broken memory must not stop translation)."""
        memory = self.memory
        if memory is None:
            return None
        try:
            return memory.lookup(src, tgt, sentence)
        except (OSError, sqlite3.Error) as exc:
            warnings.warn(f"translation memory skipped: {exc}", RuntimeWarning, stacklevel=2)
            return None

    def _set_logprob(self, outcome: _Outcome, logprob: float | None) -> None:
        outcome.logprob = logprob
        outcome.confidence = None if logprob is None else calibrated_confidence(logprob, self.calibration)

    def _translate_sentence(self, sentence: str, src: str, tgt: str, cancel: CancelCheck,
                            terms: Terms | None = None, outcome: _Outcome | None = None) -> Iterator[str]:
        """One sentence: memory, else the sentence (a long one part by part, joined back with its
        separators) through terms -> prefetched -> cache -> model, the first that has it."""
        outcome = outcome if outcome is not None else _Outcome()
        # 1. The user's own translation wins over everything else.
        remembered = self._memory_lookup(src, tgt, sentence)
        if remembered is not None:
            outcome.origin, outcome.confidence = "memory", 1.0
            yield remembered
            return
        parts = self._model.parts(sentence, src, tgt)
        pieces: list[str] = []
        units = (self._translate_unit(sentence, src, tgt, cancel, terms, outcome) if len(parts) == 1
                 else self._translate_parts(parts, src, tgt, cancel, terms, outcome))
        for piece in units:
            pieces.append(piece)
            yield piece
        if outcome.truncated and self.on_truncated is not None:
            self.on_truncated(sentence, "".join(pieces))

    def _translate_parts(self, parts: list[Part], src: str, tgt: str, cancel: CancelCheck, terms: Terms | None,
                         outcome: _Outcome) -> Iterator[str]:
        """A long sentence's parts, each translated as a sentence of its own and yielded with the
        separator after it (desktop.engine.clauses.join_part)."""
        translated: list[tuple[_Outcome, str]] = []
        for index, part in enumerate(parts):
            translation = part.text  # a part without letters (a number, a date) is kept, as a sentence is
            if translatable(part.text):
                part_outcome = _Outcome()
                translation = "".join(self._translate_unit(part.text, src, tgt, cancel, terms, part_outcome))
                translated.append((part_outcome, translation))
            outcome.parts.append((part.text, translation))
            # A part the model gave nothing for keeps its source: shown untranslated, never dropped.
            yield join_part(part, translation or part.text, tgt, last=index == len(parts) - 1)
        outcomes = [part_outcome for part_outcome, _ in translated]
        outcome.origin = "cache" if outcomes and all(o.origin == "cache" for o in outcomes) else "model"
        outcome.truncated = any(o.truncated for o in outcomes)
        # The sentence's log-probability: its parts', weighted by their length (known only if all are).
        weights = [max(1, len(translation)) for _, translation in translated]
        known = outcomes and all(o.logprob is not None for o in outcomes)
        self._set_logprob(outcome, sum(o.logprob * w for o, w in zip(outcomes, weights, strict=True)) / sum(weights)
                          if known else None)

    def _translate_unit(self, text: str, src: str, tgt: str, cancel: CancelCheck, terms: Terms | None,
                        outcome: _Outcome) -> Iterator[str]:
        """A sentence (or a part of a long one) that fits the model: terms -> prefetched -> cache -> model."""
        # 2. A text with terms to enforce is decoded by the terminology strategy (its own cache key).
        matches = terms.to_enforce(text) if terms is not None else []
        if terms is not None and matches:
            yield self._translate_with_terms(text, src, tgt, cancel, terms, matches, outcome)
            return
        # 3. Decoded a moment ago in the document's batch.
        prefetched = self._prefetched_entry(src, tgt, text)
        if prefetched is not None:
            outcome.origin, outcome.truncated = "model", prefetched[2]
            self._set_logprob(outcome, prefetched[1])
            yield prefetched[0]
            return
        # 4. Translated before with the same model and settings.
        if self.cache is not None:
            cached = self.cache.get_entry(self._model_key(src, tgt), src, tgt, text)
            if cached is not None:
                outcome.origin, outcome.truncated = "cache", self._was_cut(text, cached)
                self._set_logprob(outcome, cached.logprob)
                yield cached.translation
                return
        # 5. The model, streamed.
        pieces: list[str] = []
        logprobs: list[float] = []
        cut: list[bool] = []
        for piece in self._model.stream(text, src, tgt, self._stop_check(cancel), token_logprobs=logprobs, cut=cut):
            pieces.append(piece)
            yield piece
        outcome.truncated = any(cut)
        self._set_logprob(outcome, mean_logprob(logprobs))
        if self.cache is not None:
            self.cache.put(self._model_key(src, tgt), src, tgt, text, "".join(pieces), logprob=outcome.logprob,
                           truncated=outcome.truncated)

    def _was_cut(self, text: str, cached: CachedTranslation) -> bool:
        """Whether a cached translation stopped at its token limit. A row written before that was stored
        is judged by its length: one that reaches the limit (less a token or two that tokenizing the
        cleaned text again may merge) was most likely cut there."""
        if cached.truncated is not None:
            return cached.truncated
        return len(self._model.tokenize(cached.translation)) >= self._model.token_limit(text) - 2

    def _translate_with_terms(self, text: str, src: str, tgt: str, cancel: CancelCheck, terms: Terms,
                              matches: list[TermMatch], outcome: _Outcome) -> str:
        """A text with terms in it, enforced by terms.strategy, cached under the terms' key."""
        key = self.cache_key(terms, src, tgt)
        if key is not None:
            cached = self.cache.get_entry(key, src, tgt, text)
            if cached is not None:
                outcome.origin, outcome.truncated = "cache", self._was_cut(text, cached)
                self._set_logprob(outcome, cached.logprob)
                return cached.translation
        # The strategy may decode the text up to three times and keep any one of the outputs: the
        # decoder keeps each output's token log-probabilities (and whether it was cut), so the kept
        # one's are found by its text.
        decoder = DirectionDecoder(self._model, src, tgt, self._stop_check(cancel))
        translation = enforce_sentence(decoder, text, terms, matches)
        # A do-not-translate name mended after decoding has no decoded log-probabilities: unknown; it
        # counts as cut when any output it may come from was.
        known = translation in decoder.scored
        self._set_logprob(outcome, mean_logprob(decoder.scored[translation]) if known else None)
        outcome.truncated = decoder.cut[translation] if known else any(decoder.cut.values())
        if key is not None:
            self.cache.put(key, src, tgt, text, translation, logprob=outcome.logprob, truncated=outcome.truncated)
        return translation

    def _stop_check(self, cancel: CancelCheck) -> Callable[[], bool]:
        return lambda: self._stopping(cancel)

    def close(self) -> None:
        """Free the model now rather than at garbage collection."""
        self._model.close()


def _distinct_sentences(texts: Sequence[str]) -> list[str]:
    """The translatable sentences of texts, each once, in order."""
    seen: dict[str, None] = {}
    for text in texts:
        for segment in split_segments(text):
            if segment.translatable:
                seen.setdefault(segment.text, None)
    return list(seen)
