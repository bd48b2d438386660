"""A GGUF's tokenizer, read from its tokenizer.ggml.* keys into one plain object (what llama.cpp tokenizes
with; docs/convert.md, "import-gguf")."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import gguf

from alma_core.gguf_file import ModelLoadError, read_gguf
from convert.errors import ConversionError

TokenType = gguf.TokenType

# The keys the import writes back from the GGUF and llama.cpp's converter reads from the HF files.
SPECIAL_TOKEN_KEYS = {
    "bos": "tokenizer.ggml.bos_token_id",
    "eos": "tokenizer.ggml.eos_token_id",
    "unk": "tokenizer.ggml.unknown_token_id",
    "pad": "tokenizer.ggml.padding_token_id",
}


@dataclass
class GGUFVocab:
    source: Path
    architecture: str
    model: str  # tokenizer.ggml.model: "llama" (SentencePiece) or "gpt2" (byte-level BPE)
    pre: str | None
    tokens: list[str]
    types: list[int]
    scores: list[float] | None = None
    merges: list[str] = field(default_factory=list)
    special_ids: dict[str, int] = field(default_factory=dict)  # bos/eos/unk/pad -> id
    # None where the file has no such key (llama.cpp's default applies; see add_bos/add_eos)
    add_bos_token: bool | None = None
    add_eos_token: bool | None = None
    add_space_prefix: bool | None = None
    chat_template: str | None = None
    context_length: int | None = None  # <arch>.context_length: the tokenizer's model_max_length

    @property
    def is_sentencepiece(self) -> bool:
        return self.model == "llama"

    def special_token(self, kind: str) -> str | None:
        """The text of the bos/eos/unk/pad token, or None."""
        token_id = self.special_ids.get(kind)
        return None if token_id is None else self.tokens[token_id]

    @property
    def add_bos(self) -> bool:
        """Whether llama.cpp adds BOS: the key, else its default (SentencePiece: yes, BPE: no)."""
        return self.is_sentencepiece if self.add_bos_token is None else self.add_bos_token

    @property
    def add_eos(self) -> bool:
        return bool(self.add_eos_token)

    @property
    def space_prefix(self) -> bool:
        """Whether llama.cpp prepends a space to text: the key, else its default (SentencePiece: yes)."""
        return self.is_sentencepiece if self.add_space_prefix is None else self.add_space_prefix


def read_gguf_vocab(gguf_path: Path) -> GGUFVocab:
    """The tokenizer of `gguf_path` (ConversionError if the file has none or is not a GGUF)."""
    gguf_path = Path(gguf_path)
    try:
        fields = read_gguf(gguf_path, errors="surrogateescape").metadata  # token bytes kept exact
    except ModelLoadError as exc:
        raise ConversionError(str(exc)) from None

    def value(key: str, default=None):
        return fields.get(key, default)

    if "tokenizer.ggml.tokens" not in fields:
        raise ConversionError(f"{gguf_path}: the GGUF has no tokenizer (tokenizer.ggml.tokens)")
    model = value("tokenizer.ggml.model", "llama")
    if model not in ("llama", "gpt2"):
        raise ConversionError(
            f"{gguf_path}: tokenizer model {model!r} is not supported (llama = SentencePiece, gpt2 = BPE are)"
        )
    tokens = value("tokenizer.ggml.tokens")
    is_spm = model == "llama"
    # llama.cpp's defaults for a SentencePiece vocabulary whose file names no special ids.
    special_ids = {"unk": 0, "bos": 1, "eos": 2} if is_spm else {}
    special_ids.update({kind: int(value(key)) for kind, key in SPECIAL_TOKEN_KEYS.items() if key in fields})
    return GGUFVocab(
        source=gguf_path,
        architecture=value("general.architecture", ""),
        model=model,
        pre=value("tokenizer.ggml.pre"),
        tokens=tokens,
        # llama.cpp's default when the key is absent: every token is NORMAL
        types=value("tokenizer.ggml.token_type", [TokenType.NORMAL] * len(tokens)),
        scores=value("tokenizer.ggml.scores"),
        merges=value("tokenizer.ggml.merges", []),
        special_ids=special_ids,
        add_bos_token=value("tokenizer.ggml.add_bos_token"),
        add_eos_token=value("tokenizer.ggml.add_eos_token"),
        add_space_prefix=value("tokenizer.ggml.add_space_prefix"),
        chat_template=value("tokenizer.chat_template"),
        context_length=value(f"{value('general.architecture', '')}.context_length"),
    )
