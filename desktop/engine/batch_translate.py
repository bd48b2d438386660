"""A document's sentences decoded together in batches before it is written (TranslationEngine.prefetch);
how often a near-tie differs from one at a time, and which the cache keeps: docs/translate.md, "Speed"."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from alma_core.prompts import build_prompt, clean_output
from desktop.engine.batch_decode import BatchDecoder, Decoded
from desktop.engine.sentences import split_segments


def decode_ahead(decoder: BatchDecoder, texts: Sequence[str], sentences: Sequence[str],
                 token_limit: Callable[[str], int], src: str, tgt: str, stop: Callable[[], bool] | None,
                 on_decoded: Callable[[str, str, Decoded], None],
                 on_text: Callable[[int], None] | None = None,
                 units_of: Callable[[str], Iterable[str]] | None = None) -> int:
    """Decode `sentences` (those of `texts` that need the model) for src->tgt; returns how many were.

    on_decoded(sentence, translation, decoded) is called as each one finishes, on_text(i) once every
    sentence of texts[i] is ready (texts with nothing to decode at once). units_of(text): what the model
    translates for a text (default: its sentences; the engine gives a long sentence's parts). Sentences
    whose prompt and output limit do not fit the batch's cells are left out (decoded one at a time as
    they are written). stop() is checked before every step; true raises InterruptedError.
    """
    limits = {sentence: token_limit(sentence) for sentence in sentences}
    batched = [s for s in sentences if decoder.fits(len(decoder.prompt_tokens(build_prompt(src, tgt, s))), limits[s])]
    units_of = units_of if units_of is not None else _sentences
    batched_set = set(batched)
    waiting_by_text = [{unit for unit in units_of(text) if unit in batched_set} for text in texts]
    users: dict[str, list[int]] = {}
    for number, pending in enumerate(waiting_by_text):
        for sentence in pending:
            users.setdefault(sentence, []).append(number)
        if not pending and on_text is not None:
            on_text(number)

    def done(index: int, decoded: Decoded) -> None:
        sentence = batched[index]
        on_decoded(sentence, clean_output(decoded.text, tgt), decoded)
        for number in users.get(sentence, ()):
            waiting_by_text[number].discard(sentence)
            if not waiting_by_text[number] and on_text is not None:
                on_text(number)

    decoder.decode([build_prompt(src, tgt, s) for s in batched], [limits[s] for s in batched], stop=stop, on_done=done)
    return len(batched)


def _sentences(text: str) -> list[str]:
    return [segment.text for segment in split_segments(text) if segment.translatable]
