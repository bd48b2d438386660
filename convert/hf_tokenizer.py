"""A GGUF's tokenizer -> the Hugging Face tokenizer files of its family, giving llama.cpp's token ids
(SentencePiece and byte-level BPE; docs/convert.md, "import-gguf")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from convert.errors import ConversionError
from convert.gguf_vocab import GGUFVocab, TokenType
from convert.sentencepiece_model import ModelType, NormalizerSpec, Piece, PieceType, TrainerSpec, write_model
from convert.vocab import bpe_pre_tokenizer_name

if TYPE_CHECKING:
    from tokenizers import Tokenizer

SPIECE_UNDERLINE = "\u2581"
# The transformers class HF's own repos name for a family (tokenizer_config.json "tokenizer_class");
# other families get the generic fast tokenizer, which reads its post-processor from tokenizer.json.
TOKENIZER_CLASS_BY_ARCHITECTURE = {"gemma3": "GemmaTokenizerFast"}
_ADDED_TOKEN_TYPES = (TokenType.CONTROL, TokenType.USER_DEFINED, TokenType.UNKNOWN)

# llama.cpp's byte-level pre-tokenizers (tokenizer.ggml.pre; their regexes in llama-vocab.cpp) as the HF
# pre_tokenizer of the models they come from. An import is checked against the check-text hash
# (convert.bpe_pre_hashes), so a wrong entry here is refused, never written.
_BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
_LLAMA3_REGEX = (
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
)
_QWEN2_REGEX = _LLAMA3_REGEX.replace("\\p{N}{1,3}", "\\p{N}")


def _split_then_bytes(regex: str) -> dict:
    return {
        "type": "Sequence",
        "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False},
            {**_BYTE_LEVEL, "use_regex": False},
        ],
    }


BYTE_LEVEL_PRE_TOKENIZERS: dict[str, dict] = {
    "gpt-2": _BYTE_LEVEL,
    # every number character alone, then GPT-2's split (SmolLM, SmolLM2, StarCoder)
    "smollm": {
        "type": "Sequence",
        "pretokenizers": [{"type": "Digits", "individual_digits": True}, _BYTE_LEVEL],
    },
    "llama-bpe": _split_then_bytes(_LLAMA3_REGEX),
    "qwen2": _split_then_bytes(_QWEN2_REGEX),
}


def write_hf_tokenizer(vocab: GGUFVocab, out_dir: Path) -> None:
    """tokenizer.json, tokenizer_config.json, special_tokens_map.json (+ tokenizer.model) in `out_dir`."""
    out_dir = Path(out_dir)
    if vocab.is_sentencepiece:
        write_model(out_dir / "tokenizer.model", *sentencepiece_model_parts(vocab))
        backend = sentencepiece_fast_tokenizer(vocab)
    else:
        backend = byte_level_bpe_tokenizer(vocab)
    _save_with_transformers(vocab, backend, out_dir)


# --- SentencePiece ---------------------------------------------------------------------------------


def sentencepiece_model_parts(vocab: GGUFVocab) -> tuple[list[Piece], TrainerSpec, NormalizerSpec]:
    """The pieces and specs of the SentencePiece model equivalent to the GGUF's vocabulary."""
    if vocab.scores is None:
        raise ConversionError(f"{vocab.source}: a SentencePiece vocabulary without tokenizer.ggml.scores")
    unk_id = vocab.special_ids.get("unk")
    if unk_id is None:
        raise ConversionError(f"{vocab.source}: the SentencePiece vocabulary names no unknown token")
    known = set(vocab.tokens)
    pieces = []
    for token_id, (text, score, kind) in enumerate(zip(vocab.tokens, vocab.scores, vocab.types, strict=True)):
        if kind == TokenType.USER_DEFINED:
            # SentencePiece matches user-defined pieces in escaped text, llama.cpp in raw text (its
            # converter wrote "▁" back as " "); the model file holds the escaped form.
            escaped = text.replace(" ", SPIECE_UNDERLINE)
            text = escaped if escaped == text or escaped not in known else text
        # SentencePiece needs exactly one UNKNOWN piece; HF-converted GGUFs mark <unk> CONTROL.
        piece_type = PieceType.UNKNOWN if token_id == unk_id else _piece_type(kind)
        pieces.append(Piece(text, float(score), piece_type))

    def special(kind: str, default: str) -> tuple[int, str]:
        token_id = vocab.special_ids.get(kind, -1)
        return token_id, vocab.tokens[token_id] if token_id >= 0 else default

    (bos_id, bos), (eos_id, eos), (pad_id, pad) = (
        special("bos", "<s>"),
        special("eos", "</s>"),
        special("pad", "<pad>"),
    )
    trainer = TrainerSpec(
        # llama.cpp's SentencePiece tokenizer merges by score: BPE, whatever the model was trained as
        model_type=ModelType.BPE,
        byte_fallback=any(kind == TokenType.BYTE for kind in vocab.types),
        unk_id=unk_id,
        bos_id=bos_id,
        eos_id=eos_id,
        pad_id=pad_id,
        unk_piece=vocab.tokens[unk_id],
        bos_piece=bos,
        eos_piece=eos,
        pad_piece=pad,
    )
    return pieces, trainer, NormalizerSpec(add_dummy_prefix=vocab.space_prefix)


def _piece_type(kind: int) -> PieceType:
    try:
        return PieceType(int(kind))
    except ValueError:
        return PieceType.NORMAL


def sentencepiece_merges(tokens: list[str], scores: list[float]) -> list[tuple[str, str]]:
    """Every (left, right) whose concatenation is a token, ranked as llama.cpp applies them.

    llama.cpp merges the adjacent pair whose joined text is the highest-scoring token; a BPE merge
    list sorted by that score (ties by token id) makes HF's BPE apply the same merges in the same order.
    """
    ids = {text: token_id for token_id, text in enumerate(tokens)}
    found = []
    for token_id, text in enumerate(tokens):
        for cut in range(1, len(text)):
            left, right = text[:cut], text[cut:]
            if left in ids and right in ids:
                found.append((-scores[token_id], token_id, ids[left], left, right))
    found.sort()
    return [(left, right) for *_, left, right in found]


def sentencepiece_fast_tokenizer(vocab: GGUFVocab) -> Tokenizer:
    """The fast tokenizer (tokenizers' BPE with byte fallback) of a SentencePiece GGUF vocabulary."""
    from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE

    token_ids = {text: token_id for token_id, text in enumerate(vocab.tokens)}
    if len(token_ids) != len(vocab.tokens):
        raise ConversionError(f"{vocab.source}: the vocabulary lists a token text twice")
    unk = vocab.special_token("unk")
    tokenizer = Tokenizer(
        BPE(
            token_ids,
            sentencepiece_merges(vocab.tokens, vocab.scores),
            unk_token=unk,
            fuse_unk=True,
            byte_fallback=True,
            dropout=None,
        )
    )
    decode = [decoders.Replace(SPIECE_UNDERLINE, " "), decoders.ByteFallback(), decoders.Fuse()]
    if vocab.space_prefix:
        # LLaMA-2's shape (transformers' LlamaConverter): llama.cpp puts a space before every piece
        # of text that starts the input or follows a special token, which is what a per-segment
        # normalizer does, since HF normalizes each stretch between added tokens separately.
        tokenizer.normalizer = normalizers.Sequence(
            [normalizers.Prepend(SPIECE_UNDERLINE), normalizers.Replace(" ", SPIECE_UNDERLINE)]
        )
        decode.append(decoders.Strip(content=" ", left=1))
    else:
        # Gemma's shape (transformers' GemmaConverter); the Split finds no spaces after the
        # normalizer and is kept only because HF's Gemma files have it.
        tokenizer.normalizer = normalizers.Replace(" ", SPIECE_UNDERLINE)
        tokenizer.pre_tokenizer = pre_tokenizers.Split(" ", "merged_with_previous")
    tokenizer.decoder = decoders.Sequence(decode)
    tokenizer.add_tokens(
        [
            AddedToken(
                vocab.tokens[token_id],
                normalized=False,  # matched in raw text, as llama.cpp does
                special=kind != TokenType.USER_DEFINED,
                lstrip=False,
                rstrip=False,
                single_word=False,
            )
            for token_id, kind in enumerate(vocab.types)
            if kind in _ADDED_TOKEN_TYPES
        ]
    )
    return tokenizer


# --- byte-level BPE --------------------------------------------------------------------------------


def byte_level_bpe_tokenizer(vocab: GGUFVocab) -> Tokenizer:
    """transformers' GGUF tokenizer of a byte-level BPE vocabulary, with its artefacts removed."""
    from tokenizers import Tokenizer, decoders
    from transformers import AutoTokenizer

    if vocab.pre not in BYTE_LEVEL_PRE_TOKENIZERS:
        raise ConversionError(
            f"{vocab.source}: BPE pre-tokenizer {vocab.pre!r} is not supported by import-gguf "
            f"({', '.join(BYTE_LEVEL_PRE_TOKENIZERS)} are)"
        )
    loaded = AutoTokenizer.from_pretrained(str(vocab.source.parent), gguf_file=vocab.source.name)
    spec = json.loads(loaded.backend_tokenizer.to_str())
    spec["pre_tokenizer"] = BYTE_LEVEL_PRE_TOKENIZERS[vocab.pre]
    # Byte-level BPE never falls back to <0xXX> tokens (it has all 256 bytes as tokens); the flag
    # makes llama.cpp's converter take the file for a SentencePiece-style "llama" vocabulary.
    spec["model"]["byte_fallback"] = False
    if spec.get("normalizer") == {"type": "Sequence", "normalizers": []}:
        spec["normalizer"] = None
    # Control tokens (CONTROL in the GGUF) are special, user-defined ones are not.
    for added in spec.get("added_tokens", []):
        added["special"] = vocab.types[added["id"]] != TokenType.USER_DEFINED
    tokenizer = Tokenizer.from_str(json.dumps(spec))
    tokenizer.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    if [tokenizer.id_to_token(i) for i in range(len(vocab.tokens))] != vocab.tokens:
        raise ConversionError(f"{vocab.source}: transformers read a different vocabulary from the GGUF")
    # The check text's ids must hash to the GGUF's own pre-tokenizer, as alma-convert will require
    # (ids of the text alone: the loader's guessed BOS post-processor is replaced when saving).
    tokenizer.post_processor = None
    try:
        recognised = bpe_pre_tokenizer_name(tokenizer, vocab.source)
    except ConversionError:
        recognised = None
    if recognised != vocab.pre:
        raise ConversionError(
            f"{vocab.source}: the rebuilt tokenizer splits text as {recognised or 'no known'} pre-tokenizer, "
            f"not as the GGUF's {vocab.pre!r}; no export is written"
        )
    return tokenizer


# --- files -----------------------------------------------------------------------------------------


def _post_processor(vocab: GGUFVocab):
    """BOS/EOS added as the GGUF says (transformers' GGUF loader guesses them)."""
    from tokenizers import processors

    bos = vocab.special_token("bos") if vocab.add_bos else None
    eos = vocab.special_token("eos") if vocab.add_eos else None
    if not (bos or eos):
        return None
    single = [f"{bos}:0"] if bos else []
    pair = [f"{bos}:0"] if bos else []
    single += ["$A:0"] + ([f"{eos}:0"] if eos else [])
    pair += ["$A:0"] + ([f"{eos}:0"] if eos else []) + ([f"{bos}:1"] if bos else []) + ["$B:1"]
    pair += [f"{eos}:1"] if eos else []
    special = [(t, vocab.tokens.index(t)) for t in dict.fromkeys(filter(None, (bos, eos)))]
    return processors.TemplateProcessing(single=" ".join(single), pair=" ".join(pair), special_tokens=special)


def _save_with_transformers(vocab: GGUFVocab, backend: Tokenizer, out_dir: Path) -> None:
    """Save through transformers, so tokenizer_config.json has what its readers expect.

    That is added_tokens_decoder (llama.cpp's converter takes control/user-defined token types from
    it), the special tokens and add_bos_token/add_eos_token as the GGUF says.
    """
    import transformers

    class_name = TOKENIZER_CLASS_BY_ARCHITECTURE.get(vocab.architecture, "PreTrainedTokenizerFast")
    tokenizer_class = getattr(transformers, class_name)
    backend.post_processor = _post_processor(vocab)
    kwargs = {f"{kind}_token": vocab.special_token(kind) for kind in ("bos", "eos", "unk", "pad")}
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    # Only the settings the GGUF has: llama.cpp's converter reads each back as a key, and the defaults
    # of a missing one agree (no EOS; BOS as the post-processor adds it).
    for key, setting in (
        ("add_bos_token", vocab.add_bos_token),
        ("add_eos_token", vocab.add_eos_token),
        ("add_prefix_space", vocab.add_space_prefix),
    ):
        if setting is not None:
            kwargs[key] = setting
    if vocab.context_length:
        kwargs["model_max_length"] = vocab.context_length
    if (out_dir / "tokenizer.model").is_file():
        kwargs["vocab_file"] = str(out_dir / "tokenizer.model")
    tokenizer = tokenizer_class(tokenizer_object=backend, clean_up_tokenization_spaces=False, **kwargs)
    if vocab.chat_template:
        tokenizer.chat_template = vocab.chat_template
    tokenizer.save_pretrained(str(out_dir))
