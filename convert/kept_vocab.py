"""The tokens a trimmed model keeps, decided by one function for training (restrict_vocab) and for
`alma-convert trim-vocab`, so that the shipped GGUF has exactly the vocabulary training saw
(docs/training.md#efficiency, docs/translate.md "Speed: a trimmed vocabulary and documents in batches")."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from alma_core.prompts import build_prompt
from convert.errors import ConversionError
from convert.vocab import sentencepiece_vocab

# GGUF token types (llama.cpp's llama_token_type).
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
DEFAULT_KEEP_TOP = 64_000  # chosen on heldout-valid: docs/translate.md "Speed"
_PLACEHOLDER = re.compile(r"<unused\d+>$")
# Files of these splits in a data folder are never read: the model's scores on them must not depend
# on the vocabulary having been cut to fit them.
EVALUATION_SPLITS = ("test", "valid", "heldout")
# Encodes a list of texts (no BOS/EOS) into one list of ids each: llama.cpp's tokenizer for the trim,
# the HF fast tokenizer of the same vocabulary for training.
Tokenize = Callable[[list[str]], Iterable[Sequence[int]]]


@dataclass(frozen=True)
class Vocabulary:
    """A GGUF's tokens (as text) and their types, by id."""

    tokens: list[str]
    types: list[int]


def choose_tokens(vocabulary: Vocabulary, used: Iterable[int], keep_top: int = DEFAULT_KEEP_TOP) -> list[int]:
    """The ids to keep, ascending: every used id, the `keep_top` most frequent normal tokens (SentencePiece
    numbers them by frequency), every unknown/byte/user-defined/control token but Gemma's <unusedN>
    placeholders, and every normal token that is a substring of a kept one (the tokenizer's merges
    pass through them)."""
    tokens, types = vocabulary.tokens, vocabulary.types
    keep = {i for i in used if 0 <= i < len(tokens)}
    normal_seen = 0
    for i, (text, kind) in enumerate(zip(tokens, types, strict=True)):
        if kind == NORMAL:
            if normal_seen < keep_top:
                keep.add(i)
            normal_seen += 1
        elif kind in (UNKNOWN, BYTE, USER_DEFINED) or (kind == CONTROL and not _PLACEHOLDER.match(text)):
            keep.add(i)
    by_text = {text: i for i, (text, kind) in enumerate(zip(tokens, types, strict=True)) if kind == NORMAL}
    for i in list(keep):
        if types[i] != NORMAL:
            continue
        text = tokens[i]
        for start in range(len(text)):
            for end in range(start + 1, len(text) + 1):
                j = by_text.get(text[start:end])
                if j is not None:
                    keep.add(j)
    return sorted(keep)


def used_token_ids(texts: Sequence[str], tokenize: Tokenize, batch_size: int = 2048) -> set[int]:
    """The ids the tokenizer makes of the texts, each alone and after a space."""
    used: set[int] = set()
    for start in range(0, len(texts), batch_size):
        chunk = list(texts[start:start + batch_size])
        for ids in (*tokenize(chunk), *tokenize([" " + text for text in chunk])):
            used.update(ids)
    return used


def kept_token_ids(vocabulary: Vocabulary, texts: Sequence[str], tokenize: Tokenize,
                   keep_top: int = DEFAULT_KEEP_TOP) -> list[int]:
    """The one decision of which ids a model trained on `texts` keeps (ascending)."""
    return choose_tokens(vocabulary, used_token_ids(texts, tokenize), keep_top)


def prompt_texts(languages: Sequence[str]) -> list[str]:
    """The ALMA prompt of every direction between the languages (its words must stay tokens)."""
    return [build_prompt(src, tgt, "") for src in languages for tgt in languages if src != tgt]


def data_texts(paths: Sequence[Path]) -> Iterable[str]:
    """Every string value of the jsonl files under `paths` (parallel and monolingual data alike); in a
    folder, files of the evaluation splits (test*, valid*, heldout*) are skipped."""
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files.extend(file for file in sorted(path.rglob("*.jsonl"))
                         if not file.name.startswith(EVALUATION_SPLITS))
        elif path.is_file():
            files.append(path)
        else:
            raise ConversionError(f"{path}: no such file or folder")
    if not files:
        raise ConversionError(f"{', '.join(map(str, paths))}: no .jsonl data found to measure token use on")
    for file in files:
        with file.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise ConversionError(f"{file}:{number}: not JSON ({error.msg})") from None
                values = row.values() if isinstance(row, dict) else [row]
                yield from (value for value in values if isinstance(value, str) and value.strip())


def hf_vocabulary(model_dir: Path) -> Vocabulary:
    """The vocabulary a GGUF converted from the HF folder `model_dir` gets (convert.vocab writes it), so
    that training chooses by the very tokens and types the trim will see. SentencePiece only: a byte-level
    BPE vocabulary is not trimmed (convert.trim_vocab.can_trim)."""
    model_dir = Path(model_dir)
    if not (model_dir / "tokenizer.model").is_file():
        raise ConversionError(f"{model_dir}: no tokenizer.model; only SentencePiece vocabularies (e.g. Gemma 3) "
                              "are trimmed, so only they can be restricted")
    try:
        vocab_size = int(json.loads((model_dir / "config.json").read_text(encoding="utf-8"))["vocab_size"])
    except (OSError, ValueError, KeyError) as error:
        raise ConversionError(f"{model_dir / 'config.json'}: no vocab_size ({error})") from None
    tokens, _, types = sentencepiece_vocab(model_dir, vocab_size)
    return Vocabulary([token.decode("utf-8", "replace") for token in tokens], [int(kind) for kind in types])
