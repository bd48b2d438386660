"""restrict_vocab: the kept vocabulary of a run, chosen on its training texts by the trim's own function,
checked against every stage-2 label and written beside the model for the build's trim
(docs/training.md#efficiency)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alma_core.atomic import write_text_atomic
from alma_train.data.monolingual import iter_documents
from alma_train.train.config import ConfigError, TrainConfig
from alma_train.train.examples import IGNORE_INDEX
from convert.errors import ConversionError
from convert.kept_vocab import DEFAULT_KEEP_TOP, data_texts, hf_vocabulary, kept_token_ids, prompt_texts
from convert.trim_vocab import open_gguf, read_vocabulary

KEPT_FILE = "kept_tokens.json"
VOCABULARY_DOC = "docs/training.md#a-language-is-an-adapter-alma-train-add-language"


@dataclass(frozen=True)
class KeptChoice:
    ids: list[int]  # ascending
    vocab_size: int
    names: list[str]  # token texts by id, for messages
    note: dict[str, Any]


def training_texts(config: TrainConfig) -> list[str]:
    """What the kept set is chosen on: stage 2, the prompts of its languages and every string of its
    training files (as trim-vocab reads data); stage 1, the documents of its monolingual files."""
    try:
        if config.stage == "stage2":
            languages = sorted({code for pair in config.pairs for code in pair.split("-")})
            files = [config.resolve_data_path(path) for path in config.train_files]
            return [*prompt_texts(languages), *data_texts(files)]
        return [text for path in config.monolingual.values()
                for text in iter_documents(config.resolve_data_path(path))]
    except ConversionError as error:
        raise ConfigError(f"setting 'restrict_vocab': {error}") from None


def choose_kept(config: TrainConfig, model_dir: Path, tokenizer: Any) -> KeptChoice:
    """The tokens the model keeps, by convert.kept_vocab.kept_token_ids (the trim's decision) with the HF
    tokenizer of the very vocabulary the GGUF will get; or, with `kept_vocabulary`, the set that file fixes."""
    try:
        vocabulary = hf_vocabulary(model_dir)
    except ConversionError as error:
        raise ConfigError(f"setting 'restrict_vocab' needs a vocabulary that is trimmed: {error}") from None
    if config.kept_vocabulary:
        return kept_from_file(config.resolve_data_path(config.kept_vocabulary), vocabulary.tokens)
    texts = training_texts(config)
    ids = kept_token_ids(vocabulary, texts,
                         lambda chunk: tokenizer(chunk, add_special_tokens=False)["input_ids"], DEFAULT_KEEP_TOP)
    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]
    note = {"keep_top": DEFAULT_KEEP_TOP, "texts": len(texts), "texts_sha256": digest,
            "kept": len(ids), "of": len(vocabulary.tokens)}
    return KeptChoice(ids, len(vocabulary.tokens), vocabulary.tokens, note)


def kept_from_file(path: Path, names: list[str]) -> KeptChoice:
    """The kept set a file fixes, as ids of the training vocabulary `names` (token texts by id): a GGUF's
    own tokens (a trimmed base keeps no old ids, so its tokens are found by text) or a kept_tokens.json."""
    where = f"setting 'kept_vocabulary': {path}"
    if not path.is_file():
        raise ConfigError(f"{where}: no such file")
    if path.suffix == ".gguf":
        try:
            tokens = read_vocabulary(open_gguf(path), path).tokens
        except ConversionError as error:
            raise ConfigError(f"{where}: {error}") from None
        by_text = {text: i for i, text in enumerate(names)}
        missing = [text for text in tokens if text not in by_text]
        if missing:
            raise ConfigError(f"{where}: {len(missing)} of its tokens (e.g. {missing[0]!r}) are not in the "
                              "training model's vocabulary; it was not made from this base")
        ids = sorted({by_text[text] for text in tokens})
    else:
        try:
            ids = sorted({int(i) for i in json.loads(path.read_text(encoding="utf-8"))["ids"]})
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ConfigError(f"{where}: not a kept_tokens.json ({error})") from None
        if ids and (ids[0] < 0 or ids[-1] >= len(names)):
            raise ConfigError(f"{where}: ids outside the vocabulary of {len(names):,} tokens")
    note = {"from": str(path), "kept": len(ids), "of": len(names)}
    return KeptChoice(ids, len(names), names, note)


def check_examples_kept(examples: Sequence[Any], pairs: Sequence[Any], choice: KeptChoice) -> None:
    """Every trained label of the stage-2 examples is kept; else a ConfigError naming the token and the
    example (its direction and target text)."""
    kept = set(choice.ids)
    for number, (example, pair) in enumerate(zip(examples, pairs, strict=True), 1):
        for label in example.labels:
            if label != IGNORE_INDEX and label not in kept:
                raise ConfigError(
                    f"restrict_vocab: token {label} {choice.names[label]!r} of training example {number} "
                    f"({pair.src_lang}->{pair.tgt_lang}, target {pair.tgt[:80]!r}) is not in the kept "
                    + (f"vocabulary of {choice.note['from']} (build that base's vocabulary with this "
                       f"language's data: {VOCABULARY_DOC})" if "from" in choice.note
                       else "vocabulary chosen on the training files"))


def write_kept(folder: Path, choice: KeptChoice) -> None:
    write_text_atomic(folder / KEPT_FILE, json.dumps({**choice.note, "ids": choice.ids}) + "\n")


def read_kept(folder: Path) -> list[int] | None:
    """The kept ids a restricted run wrote into `folder`, or None."""
    path = Path(folder) / KEPT_FILE
    if not path.is_file():
        return None
    return [int(i) for i in json.loads(path.read_text(encoding="utf-8"))["ids"]]
