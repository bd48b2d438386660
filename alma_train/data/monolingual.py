"""Stage-1 monolingual data: streamed documents, interleaved by language, packed into fixed blocks.

Formats and sampling: docs/training.md#data.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from torch.utils.data import IterableDataset

from alma_core.languages import language_name
from alma_core.parallel_files import DataFormatError, iter_json_lines

MONOLINGUAL_SUFFIXES = (".txt", ".jsonl", ".txt.gz", ".jsonl.gz")


@dataclass(frozen=True)
class Document:
    lang: str
    text: str


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def _base_suffix(path: Path) -> str:
    suffixes = path.suffixes
    return suffixes[-2] if suffixes and suffixes[-1] == ".gz" and len(suffixes) > 1 else path.suffix


def iter_documents(path: Path | str) -> Iterator[str]:
    """Documents of one monolingual file, streamed."""
    path = Path(path)
    kind = _base_suffix(path)
    if kind not in (".txt", ".jsonl"):
        raise DataFormatError(f"{path}: unknown monolingual format (expected {', '.join(MONOLINGUAL_SUFFIXES)})")
    with _open_text(path) as handle:
        if kind == ".jsonl":
            for number, obj in iter_json_lines(path, handle):
                if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                    raise DataFormatError(f'{path}:{number}: expected {{"text": "..."}}')
                if obj["text"].strip():
                    yield obj["text"]
        else:
            paragraph: list[str] = []
            for raw in handle:
                if raw.strip():
                    paragraph.append(raw.rstrip("\n"))
                elif paragraph:
                    yield "\n".join(paragraph)
                    paragraph = []
            if paragraph:
                yield "\n".join(paragraph)


def check_sources(sources: Mapping[str, str | Path], probabilities: Mapping[str, float]) -> None:
    """Fail early (before anything is written) on unknown languages, missing or empty files."""
    if not sources:
        raise ValueError("stage 1 needs at least one monolingual source (setting: monolingual)")
    for lang, path in sources.items():
        language_name(lang)
        if not Path(path).is_file():
            raise FileNotFoundError(f"monolingual file for {lang!r} not found: {path}")
        if next(iter_documents(path), None) is None:
            raise ValueError(f"monolingual file for {lang!r} is empty: {path}")
    unknown = set(probabilities) - set(sources)
    if unknown:
        raise ValueError(f"sampling probabilities name languages without a source: {sorted(unknown)}")
    if any(p < 0 for p in probabilities.values()) or (probabilities and sum(probabilities.values()) <= 0):
        raise ValueError("sampling probabilities must be non-negative and not all zero")


def interleave(sources: Mapping[str, str | Path], probabilities: Mapping[str, float],
               seed: int = 0) -> Iterator[Document]:
    """An endless stream of documents, the language of each drawn by probability."""
    langs = list(sources)
    weights = [float(probabilities.get(lang, 1.0 if not probabilities else 0.0)) for lang in langs]
    streams = {lang: iter_documents(sources[lang]) for lang in langs}
    rng = random.Random(seed)
    while True:
        lang = rng.choices(langs, weights)[0]
        text = next(streams[lang], None)
        if text is None:  # end of that file: start its next epoch
            streams[lang] = iter_documents(sources[lang])
            text = next(streams[lang])
        yield Document(lang, text)


def pack_blocks(documents: Iterator[Document], encode: Callable[[str], list[int]], bos_id: int | None,
                eos_id: int, block_size: int) -> Iterator[list[int]]:
    """BOS + doc + EOS for each document, concatenated and cut into block_size pieces."""
    buffer: list[int] = []
    for doc in documents:
        buffer.extend(([bos_id] if bos_id is not None else []) + encode(doc.text) + [eos_id])
        while len(buffer) >= block_size:
            yield buffer[:block_size]
            del buffer[:block_size]


class PackedMonolingualDataset(IterableDataset):
    """An endless IterableDataset of packed blocks: {"input_ids", "labels"} with loss on every token."""

    def __init__(self, sources: Mapping[str, str | Path], probabilities: Mapping[str, float], tokenizer,
                 block_size: int = 512, seed: int = 0):
        super().__init__()
        self.sources = {lang: str(path) for lang, path in sources.items()}
        self.probabilities = dict(probabilities)
        self.tokenizer = tokenizer
        self.block_size = block_size
        self.seed = seed
        # SmolLM2 has a BOS token but does not add it when encoding: add it here explicitly.
        self.bos_id = tokenizer.bos_token_id
        self.eos_id = tokenizer.eos_token_id

    def _encode(self, text: str) -> list[int]:
        # verbose=False: documents longer than the model's context are expected here (they are cut).
        return self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]

    def __iter__(self) -> Iterator[dict]:
        docs = interleave(self.sources, self.probabilities, seed=self.seed)
        for block in pack_blocks(docs, self._encode, self.bos_id, self.eos_id, self.block_size):
            yield {"input_ids": block, "labels": list(block)}
