"""Vocabulary trimming (Ushio et al. 2023): a GGUF that keeps only the tokens its languages use
(docs/translate.md, "Speed: a trimmed vocabulary and documents in batches")."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alma_core.atomic import atomic_path
from alma_core.gguf_file import AlmaKey
from alma_core.languages import UnknownLanguageError, language_name
from alma_core.prompts import build_prompt
from convert.errors import ConversionError, check_output_free

# GGUF token types (llama.cpp's llama_token_type).
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
DEFAULT_KEEP_TOP = 64_000  # chosen on heldout-valid: docs/translate.md "Speed"
VOCAB_KEYS = ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type")
ROW_TENSORS = ("token_embd.weight", "output.weight")
_PLACEHOLDER = re.compile(r"<unused\d+>$")


@dataclass(frozen=True)
class Vocabulary:
    """A GGUF's tokens (as text) and their types, by id."""

    tokens: list[str]
    types: list[int]


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


def tokens_used(model: Path, texts: Iterable[str]) -> set[int]:
    """The ids llama.cpp's tokenizer of `model` makes of the texts (each alone and after a space)."""
    import llama_cpp

    vocab = llama_cpp.Llama(str(model), vocab_only=True, verbose=False)
    used: set[int] = set()
    try:
        for text in texts:
            data = text.encode("utf-8")
            used.update(vocab.tokenize(data, add_bos=False, special=False))
            used.update(vocab.tokenize(b" " + data, add_bos=False, special=False))
    finally:
        vocab.close()
    return used


def choose_tokens(vocabulary: Vocabulary, used: Iterable[int], keep_top: int = DEFAULT_KEEP_TOP) -> list[int]:
    """The ids to keep, ascending (see the module docstring for what and why)."""
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


def prompt_texts(languages: Sequence[str]) -> list[str]:
    """The ALMA prompt of every direction between the languages (its words must stay tokens)."""
    return [build_prompt(src, tgt, "") for src in languages for tgt in languages if src != tgt]


# Files of these splits in a data folder are never read: the model's scores on them must not depend
# on the vocabulary having been cut to fit them.
EVALUATION_SPLITS = ("test", "valid", "heldout")


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
    keep = choose_tokens(vocabulary, tokens_used(source, texts), keep_top)
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
