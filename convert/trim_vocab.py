"""Vocabulary trimming (Ushio et al. 2023): a GGUF that keeps only the tokens its languages use
(docs/translate.md, "Speed: a trimmed vocabulary and documents in batches")."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alma_core.atomic import atomic_path
from alma_core.gguf_file import AlmaKey
from alma_core.languages import UnknownLanguageError, language_name
from convert.errors import ConversionError, check_output_free
from convert.kept_vocab import (
    DEFAULT_KEEP_TOP,
    Tokenize,
    Vocabulary,
    data_texts,
    kept_token_ids,
    prompt_texts,
)

VOCAB_KEYS = ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type")
ROW_TENSORS = ("token_embd.weight", "output.weight")


@dataclass(frozen=True)
class TrimResult:
    output: Path
    kept: int
    total: int
    bytes_before: int
    bytes_after: int

    def summary(self) -> str:
        return (f"{self.output}: {self.kept:,} of {self.total:,} tokens kept "
                f"({100 * self.kept / self.total:.1f} %), {self.bytes_before / 1e6:.1f} MB -> "
                f"{self.bytes_after / 1e6:.1f} MB")


def open_gguf(path: Path) -> Any:
    """gguf-py's reader of the file (it parses every array up front: ~20 s for Gemma's vocabulary on the
    2-core machine, so one reader serves the whole trim)."""
    import gguf

    try:
        return gguf.GGUFReader(path)
    except (OSError, ValueError) as error:
        raise ConversionError(f"{path}: not a readable GGUF file ({error})") from error


def tokenizer_model(reader: Any) -> str | None:
    """The GGUF's tokenizer.ggml.model ("llama" is SentencePiece, "gpt2" byte-level BPE), None if absent."""
    field = reader.get_field("tokenizer.ggml.model")
    return None if field is None else str(field.contents())


def can_trim(path: Path | Any) -> bool:
    """Whether trim-vocab handles this model's vocabulary: SentencePiece (Gemma, LLaMA-2) only. A
    byte-level BPE vocabulary (SmolLM2, GPT-2 style) also needs its merge list cut consistently, which
    is not done. path: a GGUF file or an open reader."""
    reader = open_gguf(path) if isinstance(path, (str, Path)) else path
    return tokenizer_model(reader) == "llama"


def read_vocabulary(reader: Any, path: Path) -> Vocabulary:
    tokens_field = reader.get_field("tokenizer.ggml.tokens")
    types_field = reader.get_field("tokenizer.ggml.token_type")
    if tokens_field is None or types_field is None:
        raise ConversionError(f"{path}: the GGUF has no tokenizer.ggml.tokens / token_type to trim")
    tokens = [bytes(tokens_field.parts[i]).decode("utf-8", "replace") for i in tokens_field.data]
    types = [int(types_field.parts[i][0]) for i in types_field.data]
    return Vocabulary(tokens, types)


@contextmanager
def llama_tokenizer(model: Path) -> Iterator[Tokenize]:
    """llama.cpp's tokenizer of the GGUF `model` (vocabulary only), as kept_vocab's Tokenize."""
    import llama_cpp

    vocab = llama_cpp.Llama(str(model), vocab_only=True, verbose=False)
    try:
        yield lambda texts: [vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False) for text in texts]
    finally:
        vocab.close()


def trim_gguf(source: Path, output: Path, keep: Sequence[int], force: bool = False,
              note: dict | None = None, reader: Any = None) -> TrimResult:
    """Write `source` with only the `keep` token ids (ascending) to `output`, atomically (reader: the
    source's open reader, if there is one)."""
    import gguf
    import numpy as np

    source, output = Path(source), Path(output)
    if source.resolve() == output.resolve():
        raise ConversionError(f"{output}: the trimmed model must not replace its own source")
    reader = reader if reader is not None else open_gguf(source)
    total = len(reader.get_field("tokenizer.ggml.tokens").data)
    ids = np.asarray(sorted(set(keep)), dtype=np.int64)
    if len(ids) == 0 or ids[0] < 0 or ids[-1] >= total:
        raise ConversionError(f"{source}: token ids to keep must lie in 0..{total - 1}")
    new_id = {int(old): new for new, old in enumerate(ids)}
    arch = reader.get_field(gguf.Keys.General.ARCHITECTURE).contents()
    check_output_free(output, force)
    with atomic_path(output, suffix=".tmp") as staging:
        writer = gguf.GGUFWriter(staging, arch=arch, endianess=reader.endianess)
        alignment = reader.get_field(gguf.Keys.General.ALIGNMENT)
        if alignment is not None:
            writer.data_alignment = alignment.contents()
        for field in reader.fields.values():
            if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
                continue
            kind = field.types[0]
            sub_type = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
            value = field.contents()
            if field.name in VOCAB_KEYS:
                value = [value[i] for i in ids]
            elif field.name.startswith("tokenizer.ggml.") and field.name.endswith("_token_id"):
                if int(value) not in new_id:
                    raise ConversionError(f"{source}: {field.name} {value} would be trimmed away")
                value = new_id[int(value)]
            elif field.name.endswith(".vocab_size"):
                value = len(ids)
            writer.add_key_value(field.name, value, kind, sub_type=sub_type)
        writer.add_key_value(AlmaKey.VOCAB_TRIMMED, json.dumps({"kept": len(ids), "of": total, **(note or {})},
                                                              sort_keys=True), gguf.GGUFValueType.STRING)
        tensors = []
        for tensor in reader.tensors:
            data = tensor.data
            if tensor.name in ROW_TENSORS:
                if data.shape[0] != total:
                    raise ConversionError(f"{source}: {tensor.name} has {data.shape[0]} rows, not {total}")
                data = np.ascontiguousarray(data[ids])
            tensors.append(data)
            writer.add_tensor_info(tensor.name, data.shape, data.dtype, data.nbytes, tensor.tensor_type)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for data in tensors:
            writer.write_tensor_data(data)
        writer.close()
    return TrimResult(output, len(ids), total, source.stat().st_size, output.stat().st_size)


def trim_model(source: Path, output: Path, data: Sequence[Path], languages: Sequence[str],
               keep_top: int = DEFAULT_KEEP_TOP, force: bool = False, reader: Any = None) -> TrimResult:
    """Measure token use on `data` (+ the prompts of `languages`) and write the trimmed model."""
    texts = [*prompt_texts(languages), *data_texts(data)]  # bad data is named before the slow reading
    reader = reader if reader is not None else open_gguf(source)
    if not can_trim(reader):
        raise ConversionError(f"{source}: trim-vocab handles SentencePiece vocabularies (tokenizer.ggml.model "
                              f"'llama', e.g. Gemma 3); this one is {tokenizer_model(reader)!r}")
    vocabulary = read_vocabulary(reader, source)
    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]
    with llama_tokenizer(source) as tokenize:
        keep = kept_token_ids(vocabulary, texts, tokenize, keep_top)
    return trim_gguf(source, output, keep, force=force, reader=reader,
                     note={"keep_top": keep_top, "data_sha256": digest, "texts": len(texts)})


def trim_languages(model: Path, data: Sequence[Path], languages: str = "", reader: Any = None) -> list[str]:
    """The languages whose prompts are kept: `languages` (comma-separated codes), else those of the
    model's alma.language_pairs, else those named by the data's xx-yy folders."""
    codes = [code.strip() for code in languages.split(",") if code.strip()]
    if not codes:
        field = (reader if reader is not None else open_gguf(model)).get_field(AlmaKey.LANGUAGE_PAIRS)
        pairs = field.contents() if field is not None else []
        pairs = pairs.split(",") if isinstance(pairs, str) else list(pairs)
        if not pairs:
            pairs = [folder.name for path in data if Path(path).is_dir()
                     for folder in Path(path).rglob("*-*") if folder.is_dir()]
        codes = sorted({code for pair in pairs for code in pair.strip().split("-") if code})
    for code in codes:
        try:
            language_name(code)
        except UnknownLanguageError as error:
            raise ConversionError(f"--languages: {error}") from None
    return codes
