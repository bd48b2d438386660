"""Tokenizer -> GGUF vocabulary for the two kinds llama-family models use: SentencePiece (tokenizer.model)
and byte-level BPE (tokenizer.json) (docs/convert.md, "How it works")."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import gguf

from convert.bpe_pre_hashes import CHECK_TEXT, PRE_TOKENIZER_BY_HASH
from convert.errors import ConversionError

if TYPE_CHECKING:
    from tokenizers import Tokenizer


def add_vocab(writer: gguf.GGUFWriter, model_dir: Path, vocab_size: int) -> str:
    """Write the tokenizer of `model_dir`; returns the kind written ("spm" or "bpe:<pre name>")."""
    model_dir = Path(model_dir)
    add_prefix = _tokenizer_config(model_dir).get("add_prefix_space")
    if isinstance(add_prefix, bool):
        writer.add_add_space_prefix(add_prefix)
    spm_file = model_dir / "tokenizer.model"
    json_file = model_dir / "tokenizer.json"
    if spm_file.is_file():
        add_sentencepiece_vocab(writer, model_dir, vocab_size)
        return "spm"
    if json_file.is_file():
        pre = _add_bpe_vocab(writer, model_dir, json_file, vocab_size)
        return f"bpe:{pre}"
    raise ConversionError(
        f"{model_dir}: no tokenizer files (tokenizer.model for SentencePiece or tokenizer.json for BPE); "
        "save the tokenizer next to the model (tokenizer.save_pretrained(MODEL_DIR))"
    )


def _tokenizer_config(model_dir: Path) -> dict:
    path = model_dir / "tokenizer_config.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ConversionError(f"{path}: not valid JSON ({error})") from error


def _looks_special(token: str) -> bool:
    # Some models register control tokens (<|im_start|>, Gemma's <unusedN> ...) as non-special added
    # tokens; llama.cpp must still treat them as control tokens, never split them into pieces. The
    # same rules as llama.cpp's converter (does_token_look_special), so that both write the same types.
    return (
        token in ("<pad>", "<mask>", "<2mass>", "[@BOS@]")
        or (token.startswith("<|") and token.endswith("|>"))
        or (token.startswith("<\uff5c") and token.endswith("\uff5c>"))
        or (token.startswith("<unused") and token.endswith(">"))
    )


def add_sentencepiece_vocab(writer: gguf.GGUFWriter, model_dir: Path, vocab_size: int) -> None:
    """tokenizer.model (+ the added tokens of the HF files) as llama.cpp's "llama" vocabulary."""
    tokens, scores, toktypes = sentencepiece_vocab(model_dir, vocab_size)
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(toktypes)
    _special_vocab(model_dir, vocab_size).add_to_gguf(writer, quiet=True)


def sentencepiece_vocab(model_dir: Path, vocab_size: int) -> tuple[list[bytes], list[float], list[int]]:
    """The tokens, scores and token types a GGUF of `model_dir` gets, by id (training reads the same
    vocabulary to choose the tokens the trimmed model keeps: convert/kept_vocab.py)."""
    from sentencepiece import SentencePieceProcessor

    model_dir = Path(model_dir)
    spm_file = model_dir / "tokenizer.model"
    processor = SentencePieceProcessor()
    try:
        processor.LoadFromFile(str(spm_file))
    except (OSError, RuntimeError) as error:
        raise ConversionError(f"{spm_file}: not a SentencePiece model ({error})") from error
    types = gguf.TokenType
    tokens = [f"[PAD{i}]".encode() for i in range(vocab_size)]
    scores = [-10000.0] * vocab_size  # ids past the SentencePiece model, as llama.cpp's converter pads
    toktypes = [types.UNUSED] * vocab_size
    if processor.vocab_size() > vocab_size:
        raise ConversionError(
            f"{spm_file} has {processor.vocab_size()} pieces but config.json says vocab_size {vocab_size}"
        )
    for token_id in range(processor.vocab_size()):
        if processor.IsUnknown(token_id):
            kind = types.UNKNOWN
        elif processor.IsControl(token_id):
            kind = types.CONTROL
        elif processor.IsUnused(token_id):
            kind = types.UNUSED
        elif processor.IsByte(token_id):
            kind = types.BYTE
        else:
            kind = types.NORMAL
        tokens[token_id] = processor.IdToPiece(token_id).encode("utf-8")
        scores[token_id] = processor.GetScore(token_id)
        toktypes[token_id] = kind
    # Tokens added on top of the SentencePiece model (e.g. a pad token) live in the HF files; the
    # special ones listed there (<unk>, <s>, </s> too) become control tokens with score -1000, as
    # llama.cpp's converter writes them.
    added: dict[int, tuple[str, bool]] = {}
    added_file = model_dir / "added_tokens.json"
    if added_file.is_file():
        for text, token_id in json.loads(added_file.read_text(encoding="utf-8")).items():
            added[int(token_id)] = (text, False)
    for token_id, data in _tokenizer_config(model_dir).get("added_tokens_decoder", {}).items():
        added[int(token_id)] = (data["content"], bool(data.get("special")))
    for token_id, (text, special) in sorted(added.items()):
        if token_id >= vocab_size:
            raise ConversionError(
                f"{model_dir}: added token {text!r} has id {token_id} >= vocab_size {vocab_size}"
            )
        control = special or _looks_special(text)
        tokens[token_id] = (text if control else text.replace("\u2581", " ")).encode("utf-8")
        scores[token_id] = -1000.0
        toktypes[token_id] = types.CONTROL if control else types.USER_DEFINED
    return tokens, scores, toktypes


def _special_vocab(model_dir: Path, vocab_size: int, load_merges: bool = False) -> gguf.SpecialVocab:
    """gguf-py's reading of special ids, add_bos/add_eos/add_sep and the chat template.

    Its warnings about templates it only half parses (Gemma's "<bos> $A <bos> $B" pair template:
    "Unknown separator token") are kept off the console; the keys it writes are what llama.cpp's
    converter writes (tested against it).
    """
    gguf_log = logging.getLogger("gguf.vocab")
    level = gguf_log.level
    gguf_log.setLevel(logging.ERROR)
    try:
        return gguf.SpecialVocab(model_dir, load_merges=load_merges, n_vocab=vocab_size)
    finally:
        gguf_log.setLevel(level)


def bpe_pre_tokenizer_name(tokenizer: Tokenizer, source: Path) -> str:
    """llama.cpp's name for the tokenizer's pre-tokenizer, from the hash of its check-text token ids."""
    token_ids = tokenizer.encode(CHECK_TEXT).ids
    digest = hashlib.sha256(str(token_ids).encode()).hexdigest()
    if digest not in PRE_TOKENIZER_BY_HASH:
        raise ConversionError(
            f"{source}: unknown BPE pre-tokenizer (check-text hash {digest}); llama.cpp would split text "
            "differently from this tokenizer, so no GGUF is written. Models llama.cpp knows: Llama-3, "
            "SmolLM/SmolLM2, Qwen2, Mistral-Nemo, ... (see convert/bpe_pre_hashes.py)"
        )
    return PRE_TOKENIZER_BY_HASH[digest][0]


def _has_byte_level(pre_tokenizer: dict | None) -> bool:
    if not pre_tokenizer:
        return False
    if pre_tokenizer.get("type") == "ByteLevel":
        return True
    return any(_has_byte_level(p) for p in pre_tokenizer.get("pretokenizers") or [])


def _add_bpe_vocab(writer: gguf.GGUFWriter, model_dir: Path, json_file: Path, vocab_size: int) -> str:
    try:
        spec = json.loads(json_file.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ConversionError(f"{json_file}: not valid JSON ({error})") from error
    model_type = (spec.get("model") or {}).get("type")
    if model_type != "BPE" or not _has_byte_level(spec.get("pre_tokenizer")):
        raise ConversionError(
            f"{json_file}: a {model_type or 'unknown'} tokenizer without a ByteLevel pre-tokenizer is not "
            "byte-level BPE; for a SentencePiece model put its tokenizer.model beside it"
        )
    from tokenizers import Tokenizer

    # The tokenizers library is what transformers' fast tokenizers run on (the hash table was made
    # with them), without importing transformers and torch just to read a vocabulary.
    try:
        tokenizer = Tokenizer.from_file(str(json_file))
    except Exception as error:  # tokenizers raises a bare Exception for a malformed file
        raise ConversionError(f"{json_file}: cannot load the tokenizer ({error})") from error
    pre = bpe_pre_tokenizer_name(tokenizer, json_file)
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    if max(vocab.values()) >= vocab_size:
        raise ConversionError(
            f"{json_file}: token ids reach {max(vocab.values())} but vocab_size is {vocab_size}"
        )
    by_id = {token_id: text for text, token_id in vocab.items()}
    added = tokenizer.get_added_tokens_decoder()
    types = gguf.TokenType
    tokens: list[str] = []
    toktypes: list[int] = []
    for token_id in range(vocab_size):
        text = by_id.get(token_id)
        if text is None:
            tokens.append(f"[PAD{token_id}]")
            toktypes.append(types.UNUSED)
        elif token_id in added:
            tokens.append(text)
            toktypes.append(
                types.CONTROL if added[token_id].special or _looks_special(text) else types.USER_DEFINED
            )
        else:
            tokens.append(text)
            toktypes.append(types.NORMAL)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(toktypes)
    _special_vocab(model_dir, vocab_size, load_merges=True).add_to_gguf(writer, quiet=True)
    return pre
