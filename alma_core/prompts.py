"""The ALMA prompt, byte-exact, owned here once and used by training, evaluation and the app
(docs/training.md, "The prompt")."""

from __future__ import annotations

import re

from alma_core.languages import language_name

PROMPT_TEMPLATE = "Translate this from {src} to {tgt}:\n{src}: {text}\n{tgt}:"


def build_prompt(src: str, tgt: str, text: str) -> str:
    """The ALMA prompt translating `text` from language code `src` to `tgt`."""
    src_name = language_name(src)
    tgt_name = language_name(tgt)
    return PROMPT_TEMPLATE.format(src=src_name, tgt=tgt_name, text=text)


def clean_output(generated: str, tgt: str) -> str:
    """The paper's cut of a model output into the translation.

    `generated` is either the whole decoded sequence (prompt included, as beam search in
    transformers returns it) or only the continuation (as llama.cpp returns it). For a whole
    sequence, take the text after the prompt's final "{Tgt}:"; then keep the first non-empty line,
    stripped. The prompt is found by its shape rather than by splitting on the last "{Tgt}:",
    because the prompt's first line also ends in "{Tgt}:" and a rambling model may print more
    "{Tgt}:" lines after its answer.
    """
    tgt_name = re.escape(language_name(tgt))
    prompt_shape = re.compile(
        rf"Translate this from (?P<src>[^\n]+?) to {tgt_name}:\n(?P=src): .*?\n{tgt_name}:",
        re.DOTALL,
    )
    match = prompt_shape.search(generated)
    cut = generated[match.end():] if match else generated
    for line in cut.splitlines():
        line = line.strip()
        if line:
            return line
    return ""


# A complete non-empty line: some text, then a newline.
_COMPLETE_LINE = re.compile(r"\S[^\n]*\n")


def has_complete_line(text: str) -> bool:
    """True once `text` holds a non-empty line followed by a newline (the cut can no longer change):
    decoders stop there, since clean_output keeps only the first non-empty line."""
    return _COMPLETE_LINE.search(text) is not None


# A translation is rarely more than a few times longer than its source: past that, a model is
# rambling (repeating itself, or going on past where it should have stopped). Marian's
# --max-length-factor (default 3) bounds output length the same way; it saves the time of up to
# max_new_tokens of useless tokens per runaway sentence and keeps the cut output from holding them.
OUTPUT_LENGTH_FACTOR = 3
OUTPUT_LENGTH_SLACK = 16


def output_token_limit(source_tokens: int, max_new_tokens: int, factor: float = OUTPUT_LENGTH_FACTOR) -> int:
    """New tokens allowed for a source of `source_tokens` tokens: factor x source + slack, capped.

    factor 0 turns the bound off (max_new_tokens only, as the paper decodes).
    """
    if factor <= 0:
        return max_new_tokens
    return max(1, min(max_new_tokens, int(factor * source_tokens) + OUTPUT_LENGTH_SLACK))


# A sentence of more tokens than this is translated in parts, cut at clause boundaries (desktop/engine/clauses.py)
# and joined back. At OUTPUT_LENGTH_FACTOR a part this long may take 3 x 80 + 16 = 256 new tokens, the
# default max_new_tokens: its translation has room even where the target takes three times the source's
# tokens, and the output cap only cuts a model that rambles. 80 tokens are 30 to 55 words of German or
# English with these tokenizers, longer than nearly every sentence a translator is trained on (WMT and
# Flores sentences average 20-25 words) and short enough for a small model to keep every clause.
PART_TOKENS = (256 - OUTPUT_LENGTH_SLACK) // OUTPUT_LENGTH_FACTOR
