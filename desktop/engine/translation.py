"""TranslationEngine: one GGUF model, greedy decoding, one sentence at a time, streamed and cancellable.

ALMA models are trained on single sentences, so text is cut into sentences (desktop.engine.sentences),
each is sent alone with the shared ALMA prompt, the output is cut the paper's way (clean_output),
and the translations are put back between the original whitespace and line breaks.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alma_core.gguf_file import ModelLoadError, read_model_info, trained_pairs
from alma_core.languages import language_name
from alma_core.prompts import OUTPUT_LENGTH_FACTOR, build_prompt, clean_output, output_token_limit
from desktop.engine.confidence import LogprobRecorder, calibrated_confidence, calibration_for, mean_logprob
from desktop.engine.sentences import split_segments
from desktop.engine.term_decoding import DEFAULT_STRATEGY, check_strategy, enforce_sentence
from desktop.terminology.files import TermEntry
from desktop.terminology.matching import TermBase

CancelCheck = Callable[[], bool] | threading.Event | None


# Beams searched for alternatives at least (n-best lists of 2 or 3 from 5 beams are more varied).
MIN_BEAMS = 5


class TranslationCancelled(Exception):
    """Raised inside a running translation after cancel() (or its cancel check) asked it to stop."""


class UntrainedDirectionWarning(UserWarning):
    """The model's alma.language_pairs metadata does not list the requested direction."""


ORIGINS = ("model", "cache", "memory")


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


@dataclass
class _Outcome:
    """Where one sentence's translation came from, filled in by _translate_sentence."""

    origin: str = "model"
    # Mean log-probability per token of the greedy output (None: not known); 1.0 confidence for memory.
    logprob: float | None = None
    confidence: float | None = None


@dataclass
class TranslationReport:
    """translate_report's answer: the translation (what translate() returns) and its sentences."""

    text: str
    sentences: list[SentenceReport] = field(default_factory=list)

    @property
    def missing(self) -> list[SentenceReport]:
        """The sentences with a term that was not placed."""
        return [sentence for sentence in self.sentences if sentence.missing]


def resolve_gpu_layers(n_gpu_layers: int | str) -> int:
    """"auto": every layer (-1) when llama.cpp was built with GPU offload (Metal, CUDA, ...), else 0."""
    if n_gpu_layers == "auto":
        import llama_cpp

        return -1 if llama_cpp.llama_supports_gpu_offload() else 0
    return int(n_gpu_layers)


def default_threads() -> int:
    # llama.cpp scales to the physical cores; past ~8 threads memory bandwidth is the limit on CPUs.
    return max(1, min(8, os.cpu_count() or 1))


# llama.cpp logs these at error level although nothing is wrong (every Gemma 3 load says it uses the
# full-size sliding-window cache); llama-cpp-python prints error-level lines even with verbose=False.
_HARMLESS_LLAMA_LOG_LINES = (b"using full-size SWA cache",)
_log_filter = None


def _filter_llama_log() -> None:
    """Route llama.cpp's log through llama-cpp-python's own printer, minus the harmless lines above.

    Installed once per process; everything else (real load errors included) is printed as before.
    """
    global _log_filter
    if _log_filter is not None:
        return
    import ctypes

    import llama_cpp
    from llama_cpp import _logger

    from alma_core.interrupts import called_from_c

    @llama_cpp.llama_log_callback
    @called_from_c  # a signal landing in here is delivered again outside it (alma_core.interrupts)
    def log_filter(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        if not any(line in text for line in _HARMLESS_LLAMA_LOG_LINES):
            _logger.llama_log_callback(level, text, user_data)

    _log_filter = log_filter  # keep the ctypes callback alive as long as llama.cpp may call it
    llama_cpp.llama_log_set(log_filter, ctypes.c_void_p(0))


MMAP_ENV = "ALMA_LOCAL_MMAP"


def use_mmap() -> bool:
    """Whether llama.cpp maps the GGUF instead of reading it into memory: only when $ALMA_LOCAL_MMAP=1.

    A mapped model crashes the whole process with SIGBUS when its file is truncated or overwritten in
    place (`cp new.gguf model.gguf`, a download into the same name) while loaded; a model read into
    memory keeps translating whatever happens to the file. Mapping saves memory only for models
    larger than the free RAM, so it is an opt-in.
    """
    return os.environ.get(MMAP_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _stop_requested(cancel: CancelCheck) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


class TranslationEngine:
    """Loads one GGUF model and translates text with it.

    model_path: a GGUF file; None takes alma_core.models.resolve_translation_model()'s choice
    ($ALMA_LOCAL_DEFAULT_MODEL, else the translator `make model` built, else the one a bundle carries,
    else the best installed base, zero-shot), kept in .choice. The file is checked before llama.cpp
    loads it; a bad one (or no model at all) raises ModelLoadError. n_gpu_layers: a number or "auto".
    cache: True for the shared cache in the user data dir, a TranslationCache, or False/None for none.
    memory: a translation memory (desktop.memory.store.TranslationMemory or anything with
    lookup(src, tgt, source) -> str | None), settable later as .memory; an exact match is served
    before the cache and the model. Counters: model_calls (sentences sent to the model) and
    generated_tokens.
    """

    def __init__(self, model_path: Path | str | None = None, n_threads: int | None = None,
                 n_ctx: int = 2048, n_gpu_layers: int | str = "auto", max_new_tokens: int = 256,
                 cache: Any = True, memory: Any = None) -> None:
        # How the model was chosen: None when model_path was given, else resolve_translation_model()'s
        # ModelChoice (environment, the translator `make model` built, the bundle's, or a base).
        self.choice = None
        if model_path is None:
            from alma_core.models import DefaultModelMissingError, resolve_translation_model

            try:
                self.choice = resolve_translation_model()
            except DefaultModelMissingError as exc:
                raise ModelLoadError(str(exc)) from None
            model_path = self.choice.path
        self.model_path = Path(model_path)
        self.info: dict[str, Any] = read_model_info(self.model_path)
        # How mean token log-probabilities become 0..1 confidences for this model (None: exp fallback).
        self.calibration = calibration_for(self.info)
        fingerprint = None
        if cache is not None and cache is not False:
            from desktop.stores.cache import model_fingerprint

            # Taken before llama.cpp reads the file, so the cache key is the one of the weights loaded
            # even when the file is replaced or deleted right after.
            try:
                fingerprint = model_fingerprint(self.model_path)
            except OSError as exc:
                raise ModelLoadError(f"{self.model_path}: cannot read the model file ({exc.strerror})") from None
        self.n_threads = n_threads or default_threads()
        self.n_ctx = n_ctx
        self.n_gpu_layers = resolve_gpu_layers(n_gpu_layers)
        self.max_new_tokens = max_new_tokens
        self.model_calls = 0
        self.generated_tokens = 0
        self.memory = memory

        from llama_cpp import Llama

        _filter_llama_log()
        try:
            self._llama = Llama(str(self.model_path), n_ctx=n_ctx, n_threads=self.n_threads,
                                n_gpu_layers=self.n_gpu_layers, verbose=False, seed=0, use_mmap=use_mmap())
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(f"{self.model_path}: llama.cpp could not load the model ({exc})") from None

        if cache is True:
            import sqlite3

            from desktop.stores.cache import TranslationCache

            try:
                cache = TranslationCache()
            except (sqlite3.Error, OSError) as exc:  # a read-only home must not stop translation
                warnings.warn(f"translation cache disabled: {exc}", RuntimeWarning, stacklevel=2)
                cache = None
        self.cache = None if cache is None or cache is False else cache
        if self.cache is not None:
            # Greedy output depends on the weights and on the token limit, nothing else.
            # The decoding settings are part of the key: a cached output is only reused for the same ones.
            self._cache_model_key = (f"{fingerprint}:greedy:{max_new_tokens}"
                                     f":lf{OUTPUT_LENGTH_FACTOR}")
        self._generate_lock = threading.RLock()  # llama.cpp contexts are not thread-safe
        self._state_lock = threading.Lock()
        self._running = 0
        self._cancel = threading.Event()
        self._warned: set[tuple[str, str]] = set()
        # Sentences of the document being written, decoded ahead in batches (desktop.engine.batch_translate):
        # (src, tgt, sentence) -> (translation, mean token log-probability).
        self._prepared: dict[tuple[str, str, str], tuple[str, float | None]] = {}
        self._searcher: Any = None  # desktop.engine.beam.BeamSearcher, made by the first alternatives()

    # -- directions ------------------------------------------------------------------------------

    def direction_warning(self, src: str, tgt: str) -> str | None:
        """A message when the model's metadata says it was not trained for src->tgt, else None."""
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

    # -- translation -----------------------------------------------------------------------------

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

    def iter_translate(self, text: str, src: str, tgt: str, cancel: CancelCheck = None,
                       terms: TermBase | None = None, term_strategy: str = DEFAULT_STRATEGY) -> Iterator[str]:
        """Yield the translation piece by piece: tokens as the model makes them, whitespace as it was.

        "".join(pieces) is the translation. cancel (an Event or a callable) is checked between tokens,
        as is cancel(); either raises TranslationCancelled. terms: glossary and do-not-translate terms
        for src->tgt, put into the translation by term_strategy (desktop.engine.term_decoding); a
        sentence with a term comes in one piece once its terms are settled.
        """
        self._check_direction(src, tgt)
        check_strategy(term_strategy)
        with self._running_translation():
            for segment in split_segments(text):
                if self._stopping(cancel):
                    raise TranslationCancelled("translation cancelled")
                if not segment.translatable:
                    yield segment.text
                    continue
                yield from self._translate_sentence(segment.text, src, tgt, cancel, terms, term_strategy)

    def translate(self, text: str, src: str, tgt: str, cancel: CancelCheck = None,
                  terms: TermBase | None = None, term_strategy: str = DEFAULT_STRATEGY) -> str:
        """The translation of `text` from language code src to tgt, whitespace and line breaks kept."""
        return "".join(self.iter_translate(text, src, tgt, cancel, terms, term_strategy))

    def translate_report(self, text: str, src: str, tgt: str, cancel: CancelCheck = None,
                         terms: TermBase | None = None, term_strategy: str = DEFAULT_STRATEGY,
                         alternatives: int = 0) -> TranslationReport:
        """translate(), sentence by sentence: each sentence's source, translation, missing terms,
        confidence, origin and exact spans in `text` and in the translation; alternatives > 0 adds
        up to that many other translations per model-translated sentence (beam search, slower)."""
        self._check_direction(src, tgt)
        check_strategy(term_strategy)
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
                translation = "".join(self._translate_sentence(segment.text, src, tgt, cancel, terms,
                                                               term_strategy, outcome))
                pieces.append(translation)
                target_start, target_at = target_at, target_at + len(translation)
                missing = terms.missing(segment.text, translation) if terms else []
                others: list[str] = []
                if alternatives and outcome.origin != "memory":
                    others = self._alternatives(segment.text, src, tgt, alternatives + 1, cancel,
                                                translation)[1:]
                sentences.append(SentenceReport(
                    len(sentences), segment.text, translation, missing, confidence=outcome.confidence,
                    alternatives=others, source_start=source_start, source_end=source_at,
                    target_start=target_start, target_end=target_at, origin=outcome.origin))
        return TranslationReport("".join(pieces), sentences)

    def translate_sentence(self, sentence: str, src: str, tgt: str, terms: TermBase | None = None,
                           term_strategy: str = DEFAULT_STRATEGY) -> str:
        """One sentence through the model (and the cache), without sentence splitting."""
        check_strategy(term_strategy)
        return "".join(self._translate_sentence(sentence, src, tgt, None, terms, term_strategy))

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
        parts = self._fit_to_context(sentence, src, tgt)
        if len(parts) > 1:  # a sentence cut to fit the context: its parts' n-bests do not combine
            return results
        beams = max(n + 1, MIN_BEAMS)
        with self._generate_lock:
            searcher = self._beam_searcher(beams)
            self.model_calls += 1
            try:
                hypotheses = searcher.search(build_prompt(src, tgt, sentence), self._token_limit(sentence),
                                             stop=lambda: self._stopping(cancel))
            except InterruptedError:
                raise TranslationCancelled("translation cancelled") from None
            self.generated_tokens += sum(len(h.tokens) for h in hypotheses)
            for text in searcher.texts(hypotheses):
                cleaned = clean_output(text, tgt)
                if cleaned and cleaned not in results:
                    results.append(cleaned)
                if len(results) == n:
                    break
        return results

    def _beam_searcher(self, beams: int) -> Any:
        """The beam-search context, made on first use (and again for more beams); it has its own KV
        cache, room for the longest prompt plus `beams` outputs."""
        from desktop.engine.beam import BeamSearcher

        searcher = self._searcher
        if searcher is None or searcher.beams < beams:
            if searcher is not None:
                searcher.close()
            self._searcher = None
            n_ctx = self.n_ctx + (beams - 1) * self.max_new_tokens
            self._searcher = BeamSearcher(self._llama, beams, -(-n_ctx // 256) * 256, self.n_threads)
        return self._searcher

    def cache_key(self, terms: TermBase | None = None, term_strategy: str = DEFAULT_STRATEGY) -> str | None:
        """The cache's model key for sentences with terms of `terms` (None without a cache): the
        decoding settings, plus the terms' fingerprint and the strategy when they change the output."""
        if self.cache is None:
            return None
        if terms is None or not len(terms) or term_strategy == "none":
            return self._cache_model_key
        return f"{self._cache_model_key}:terms:{terms.fingerprint()}:{term_strategy}"

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
                            terms: TermBase | None = None, term_strategy: str = DEFAULT_STRATEGY,
                            outcome: _Outcome | None = None) -> Iterator[str]:
        outcome = outcome if outcome is not None else _Outcome()
        remembered = self._memory_lookup(src, tgt, sentence)
        if remembered is not None:  # the user's own translation wins over the cache and the model
            outcome.origin, outcome.confidence = "memory", 1.0
            yield remembered
            return
        if terms is not None and term_strategy != "none" and terms.find(sentence):
            yield self._translate_with_terms(sentence, src, tgt, cancel, terms, term_strategy, outcome)
            return
        prepared = self._prepared.get((src, tgt, sentence))
        if prepared is not None:  # decoded a moment ago in the document's batch
            outcome.origin = "model"
            self._set_logprob(outcome, prepared[1])
            yield prepared[0]
            return
        if self.cache is not None:
            cached = self.cache.get_entry(self._cache_model_key, src, tgt, sentence)
            if cached is not None:
                outcome.origin = "cache"
                self._set_logprob(outcome, cached[1])
                yield cached[0]
                return
        pieces: list[str] = []
        logprobs: list[float] = []
        for index, part in enumerate(self._fit_to_context(sentence, src, tgt)):
            if index:
                pieces.append(" ")
                yield " "
            for piece in self._generate(part, src, tgt, cancel, token_logprobs=logprobs):
                pieces.append(piece)
                yield piece
        self._set_logprob(outcome, mean_logprob(logprobs))
        if self.cache is not None:
            self.cache.put(self._cache_model_key, src, tgt, sentence, "".join(pieces), logprob=outcome.logprob)

    def _translate_with_terms(self, sentence: str, src: str, tgt: str, cancel: CancelCheck,
                              terms: TermBase, term_strategy: str, outcome: _Outcome | None = None) -> str:
        """A sentence with terms in it, enforced by term_strategy, cached under the terms' key."""
        outcome = outcome if outcome is not None else _Outcome()
        key = self.cache_key(terms, term_strategy)
        if key is not None:
            cached = self.cache.get_entry(key, src, tgt, sentence)
            if cached is not None:
                outcome.origin = "cache"
                self._set_logprob(outcome, cached[1])
                return cached[0]
        # The strategy may decode a part up to three times and keep any one of the outputs: each
        # output's token log-probabilities, so the kept one's can be found by its text.
        scored: dict[str, list[float]] = {}

        def generate(text: str, **sampling: Any) -> str:
            logprobs: list[float] = []
            output = "".join(self._generate(text, src, tgt, cancel, token_logprobs=logprobs, **sampling))
            scored[output] = logprobs
            return output

        parts = [enforce_sentence(generate, self._llama, part, terms, term_strategy)
                 for part in self._fit_to_context(sentence, src, tgt)]
        translation = " ".join(parts)
        # A do-not-translate name mended after decoding has no decoded log-probabilities: unknown.
        known = all(part in scored for part in parts)
        self._set_logprob(outcome, mean_logprob([lp for part in parts for lp in scored[part]]) if known else None)
        if key is not None:
            self.cache.put(key, src, tgt, sentence, translation, logprob=outcome.logprob)
        return translation

    def _fit_to_context(self, sentence: str, src: str, tgt: str) -> list[str]:
        """The sentence, cut at spaces into parts whose prompts leave room for the output in n_ctx."""
        budget = self.n_ctx - self.max_new_tokens
        prompt_tokens = len(self._llama.tokenize(build_prompt(src, tgt, sentence).encode(), add_bos=False))
        if prompt_tokens <= budget:
            return [sentence]
        middle = len(sentence) // 2
        cut = sentence.rfind(" ", 0, middle)
        cut = cut if cut > 0 else middle
        return [*self._fit_to_context(sentence[:cut].rstrip(), src, tgt),
                *self._fit_to_context(sentence[cut:].lstrip(), src, tgt)]

    def _token_limit(self, sentence: str) -> int:
        """New tokens allowed for this sentence: a few times its own length, at most max_new_tokens
        (a model that rambles on costs the user time and puts junk in the output)."""
        source_tokens = len(self._llama.tokenize(sentence.encode("utf-8"), add_bos=False))
        return output_token_limit(source_tokens, self.max_new_tokens)

    def _generate(self, sentence: str, src: str, tgt: str, cancel: CancelCheck,
                  logits_processor: Any = None, grammar: Any = None,
                  token_logprobs: list[float] | None = None) -> Iterator[str]:
        """Stream the model's translation of one sentence, cut as clean_output cuts it.

        logits_processor / grammar: llama-cpp-python's, for terminology enforcement (greedy still).
        token_logprobs: extended with the model's log-probability of each token chosen (confidence).

        clean_output keeps the first non-empty line, stripped: leading whitespace is dropped here,
        trailing whitespace is held back until more text follows, and generation stops at the first
        line break after the text began.
        """
        prompt = build_prompt(src, tgt, sentence)
        raw: list[str] = []
        streamed: list[str] = []
        pending = ""
        started = False
        if token_logprobs is not None:
            from llama_cpp import LogitsProcessorList

            recorder = LogprobRecorder(logits_processor)
            logits_processor = LogitsProcessorList([recorder])
        with self._generate_lock:
            self.model_calls += 1
            stream = self._llama.create_completion(
                prompt, max_tokens=self._token_limit(sentence), temperature=0.0, top_k=1, stream=True,
                logits_processor=logits_processor, grammar=grammar,
            )
            try:
                for chunk in stream:
                    if self._stopping(cancel):
                        raise TranslationCancelled("translation cancelled")
                    self.generated_tokens += 1
                    text = chunk["choices"][0]["text"]
                    raw.append(text)
                    if not started:
                        text = text.lstrip()
                        if not text:
                            continue
                        started = True
                    lines = text.splitlines()
                    first = lines[0] if lines else ""
                    body = pending + first
                    kept = body.rstrip()
                    pending = body[len(kept):]
                    if kept:
                        streamed.append(kept)
                        yield kept
                    if first != text:  # a line break: the translation line is complete
                        break
            finally:
                stream.close()
                if token_logprobs is not None:
                    token_logprobs.extend(recorder.logprobs)
        # The streamed cut and the shared cut agree; the shared one is the reference.
        cleaned = clean_output("".join(raw), tgt)
        if cleaned != "".join(streamed) and cleaned.startswith("".join(streamed)):
            yield cleaned[len("".join(streamed)):]

    def close(self) -> None:
        """Free the model now rather than at garbage collection."""
        with self._generate_lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None
            self._llama.close()
