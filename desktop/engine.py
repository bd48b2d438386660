"""The translation engine: a GGUF model run by llama.cpp, with the shared ALMA prompt.

No Qt here (the GUI puts a window on it) and no torch (the desktop bundle ships without it).
ALMA is trained on single sentences, so text is cut into sentences, each is translated alone, and
the pieces are joined back with the original whitespace and line breaks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from alma_train.prompts import build_prompt, clean_output

# A sentence ends at . ! ? (or their CJK forms) followed by whitespace; CJK full stops need none.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[。！？])")


@dataclass(frozen=True)
class Segment:
    """A piece of the input: text to translate, or whitespace to keep as it is."""

    text: str
    translatable: bool


def split_segments(text: str) -> list[Segment]:
    """Cut text into sentences and the whitespace between them; joining all texts gives `text` back."""
    segments: list[Segment] = []
    for piece in re.split(r"(\s*\n\s*)", text):
        if not piece:
            continue
        if piece.isspace():
            segments.append(Segment(piece, False))
            continue
        start = 0
        for match in _SENTENCE_END.finditer(piece):
            if match.start() > start:
                segments.append(Segment(piece[start:match.start()], True))
            if match.end() > match.start():
                segments.append(Segment(piece[match.start():match.end()], False))
            start = match.end()
        if start < len(piece):
            lead = piece[start:]
            stripped = lead.rstrip()
            segments.append(Segment(stripped, True))
            if len(stripped) < len(lead):
                segments.append(Segment(lead[len(stripped):], False))
    return segments


class TranslationEngine:
    """Loads one GGUF model and translates text with it (greedy decoding, one sentence at a time)."""

    def __init__(self, model_path: Path | str | None = None, n_threads: int | None = None,
                 n_ctx: int = 2048, n_gpu_layers: int = 0, max_new_tokens: int = 256) -> None:
        from llama_cpp import Llama

        if model_path is None:
            from alma_train.default_model import default_gguf_path

            model_path = default_gguf_path()
        self.model_path = Path(model_path)
        self.max_new_tokens = max_new_tokens
        self._llama = Llama(
            str(self.model_path), n_ctx=n_ctx, n_threads=n_threads or max(1, os.cpu_count() or 1),
            n_gpu_layers=n_gpu_layers, verbose=False, seed=0,
        )

    def translate_sentence(self, sentence: str, src: str, tgt: str) -> str:
        prompt = build_prompt(src, tgt, sentence)
        result = self._llama.create_completion(
            prompt, max_tokens=self.max_new_tokens, temperature=0.0, top_k=1, stop=["\n"],
        )
        return clean_output(result["choices"][0]["text"], tgt)

    def iter_translate(self, text: str, src: str, tgt: str) -> Iterator[str]:
        """Yield the output piece by piece (translated sentences and the whitespace between them)."""
        for segment in split_segments(text):
            yield self.translate_sentence(segment.text, src, tgt) if segment.translatable else segment.text

    def translate(self, text: str, src: str, tgt: str) -> str:
        return "".join(self.iter_translate(text, src, tgt))
