"""Batched translation of a whole document's sentences before it is written (issue 17).

A document is written segment by segment through the engine, one sentence at a time. prepare() runs
first: it splits every segment into the sentences the engine would send to the model, leaves out those
the engine serves without the model (translation memory, cache, sentences with glossary terms, which
need the terminology decoders) and those too long for a batch, and decodes the rest together with
desktop.engine.batch_decode. Each result goes into the engine's `_prepared` table (and its cache), so
the writing pass that follows finds every sentence ready and calls the model only for what was left out.

Batched greedy outputs are not always the one-at-a-time outputs: llama.cpp adds up a batch's matrix
products in another order, and a near-tie between two tokens can tip the other way (measured in
docs/translate.md). Both are the model's greedy translation, so a batched output is cached under the
same key as a one-at-a-time one: whichever was made first is what the cache serves afterwards, so a
sentence translated again keeps its translation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from alma_core.prompts import build_prompt, clean_output
from desktop.engine.batch_decode import DEFAULT_CELLS, DEFAULT_SEQUENCES, BatchDecoder, Decoded
from desktop.engine.sentences import split_segments
from desktop.engine.translation import TranslationCancelled


def supports_batches(engine: Any) -> bool:
    """Whether `engine` is a TranslationEngine with the table that prepared sentences go into."""
    return hasattr(engine, "_prepared") and hasattr(engine, "_llama")


def sentences_to_decode(engine: Any, texts: Sequence[str], src: str, tgt: str,
                        terms: Any = None, term_strategy: str = "none") -> list[str]:
    """The distinct sentences of `texts` the engine would send to the model one at a time, in order."""
    wanted: dict[str, None] = {}
    for text in texts:
        for segment in split_segments(text):
            sentence = segment.text
            if not segment.translatable or sentence in wanted:
                continue
            if (src, tgt, sentence) in engine._prepared:
                continue
            if terms is not None and term_strategy != "none" and terms.find(sentence):
                continue  # the terminology strategies decode these themselves
            if engine._memory_lookup(src, tgt, sentence) is not None:
                continue
            if engine.cache is not None and engine.cache.get_entry(engine._cache_model_key, src, tgt, sentence):
                continue
            wanted[sentence] = None
    return list(wanted)


def prepare(engine: Any, texts: Sequence[str], src: str, tgt: str, cancel: Callable[[], bool] | None = None,
            on_text: Callable[[int], None] | None = None, terms: Any = None, term_strategy: str = "none",
            max_sequences: int = DEFAULT_SEQUENCES, n_ctx: int = DEFAULT_CELLS) -> int:
    """Decode the sentences of `texts` that need the model in batches; returns how many were decoded.

    on_text(i) is called once every sentence of texts[i] is ready (texts whose sentences need no model
    call are ready at once). cancel() is checked before every batch step; true raises
    TranslationCancelled. The results stay in engine._prepared until forget() (or a later prepare).
    """
    sentences = sentences_to_decode(engine, texts, src, tgt, terms, term_strategy)
    decoder = BatchDecoder(engine._llama, max_sequences=max_sequences, n_ctx=n_ctx, n_threads=engine.n_threads)
    try:
        # Sentences the batch cannot hold (prompt + output limit over its cells) stay one at a time.
        limits = {sentence: engine._token_limit(sentence) for sentence in sentences}
        batched = [s for s in sentences
                   if decoder.fits(len(decoder.prompt_tokens(build_prompt(src, tgt, s))), limits[s])]
        waiting_by_text = [_pending(text, set(batched)) for text in texts]
        users: dict[str, list[int]] = {}
        for number, pending in enumerate(waiting_by_text):
            for sentence in pending:
                users.setdefault(sentence, []).append(number)
            if not pending and on_text is not None:
                on_text(number)

        def done(index: int, decoded: Decoded) -> None:
            sentence = batched[index]
            translation = clean_output(decoded.text, tgt)
            engine._prepared[(src, tgt, sentence)] = (translation, decoded.logprob)
            engine.generated_tokens += decoded.tokens
            if engine.cache is not None:
                engine.cache.put(engine._cache_model_key, src, tgt, sentence, translation, logprob=decoded.logprob)
            for number in users.get(sentence, ()):
                waiting_by_text[number].discard(sentence)
                if not waiting_by_text[number] and on_text is not None:
                    on_text(number)

        try:
            decoder.decode([build_prompt(src, tgt, s) for s in batched], [limits[s] for s in batched],
                           stop=cancel, on_done=done)
        except InterruptedError:
            raise TranslationCancelled("translation cancelled") from None
        engine.model_calls += len(batched)
        return len(batched)
    finally:
        decoder.close()


def forget(engine: Any) -> None:
    """Drop the prepared translations (the document they were for is written)."""
    engine._prepared.clear()


def _pending(text: str, batched: set[str]) -> set[str]:
    return {segment.text for segment in split_segments(text) if segment.translatable and segment.text in batched}
