"""The one GGUF reader: a checked parse of a file's header (metadata and tensor table) before llama.cpp sees
it, and the alma.* keys (docs/reliability.md, "Model file trouble"; docs/convert.md)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import gguf
import numpy as np


class AlmaKey:
    """The alma.* metadata keys this project writes into the GGUFs it makes (docs/convert.md)."""

    PREFIX = "alma."
    PROMPT = "alma.prompt"  # the prompt template the model was trained with
    LANGUAGE_PAIRS = "alma.language_pairs"  # directions trained, "de-en,en-de"
    SOURCE_MODEL = "alma.source_model"  # the HF folder it was converted from
    BASE = "alma.base"  # the registry base it derives from (alma_core.models)
    LICENCE = "alma.licence"
    RECIPE = "alma.recipe"  # the training preset or YAML
    TRAINING_STEPS = "alma.training_steps"
    TRAINING_DATA = "alma.training_data"  # pairs, sources, sha256 (JSON)
    SCORES = "alma.scores"  # evaluation scores (JSON)
    VOCAB_TRIMMED = "alma.vocab_trimmed"  # what alma-convert trim-vocab kept (JSON)
    PARENT = "alma.parent"  # the model a tuned model was tuned from (its file name)
    PARENT_SHA256 = "alma.parent_sha256"
    PARENT_PATH = "alma.parent_path"
    LINEAGE = "alma.lineage"  # the parent's own ancestors, nearest first (JSON)


class ModelLoadError(Exception):
    """A model file that cannot be used: missing, not GGUF, truncated or otherwise unreadable."""


GGUF_MAGIC = b"GGUF"
# Counts and lengths past these are garbage, not a big model: refuse before allocating anything.
_MAX_COUNT = 1 << 32
# Real GGUFs nest arrays one level at most (token merges); each level is a Python call here.
_MAX_ARRAY_DEPTH = 8
_MAX_DIMS = 8
_BLOCK = 1 << 22

_SCALARS = {
    gguf.GGUFValueType.UINT8: "<B", gguf.GGUFValueType.INT8: "<b",
    gguf.GGUFValueType.UINT16: "<H", gguf.GGUFValueType.INT16: "<h",
    gguf.GGUFValueType.UINT32: "<I", gguf.GGUFValueType.INT32: "<i",
    gguf.GGUFValueType.FLOAT32: "<f", gguf.GGUFValueType.BOOL: "<?",
    gguf.GGUFValueType.UINT64: "<Q", gguf.GGUFValueType.INT64: "<q",
    gguf.GGUFValueType.FLOAT64: "<d",
}
_NUMPY = {kind: np.dtype(fmt) for kind, fmt in _SCALARS.items()}


@dataclass(frozen=True)
class GGUFTensor:
    name: str
    shape: tuple[int, ...]  # ggml order: the row length first, as gguf-py's reader gives it
    type: gguf.GGMLQuantizationType
    offset: int  # absolute position of the data in the file
    nbytes: int

    @property
    def n_elements(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass
class GGUFFile:
    path: Path
    metadata: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, GGUFTensor] = field(default_factory=dict)
    data_start: int = 0

    def tensor_bytes(self, name: str) -> np.ndarray:
        """The raw bytes of one tensor (memory-mapped, read only)."""
        tensor = self.tensors[name]
        return np.memmap(self.path, dtype=np.uint8, mode="r", offset=tensor.offset, shape=(tensor.nbytes,))

    def tensor_array(self, name: str) -> np.ndarray:
        """An f32/f16 tensor as a numpy array in numpy's order (rows first, as in the HF checkpoint)."""
        tensor = self.tensors[name]
        dtypes = {gguf.GGMLQuantizationType.F32: np.float32, gguf.GGMLQuantizationType.F16: np.float16}
        if tensor.type not in dtypes:
            raise ValueError(f"{name} is {tensor.type.name}, not f32/f16")
        return self.tensor_bytes(name).view(dtypes[tensor.type]).reshape(tensor.shape[::-1])

    @property
    def parameters(self) -> int:
        return sum(tensor.n_elements for tensor in self.tensors.values())


class _Cursor:
    """Reads the header through a window of the file, refilled in large blocks."""

    def __init__(self, handle: BinaryIO, path: Path, size: int, errors: str) -> None:
        self.handle, self.path, self.size, self.errors = handle, path, size, errors
        self.window, self.window_at, self.pos = b"", 0, 0

    def _truncated(self) -> ModelLoadError:
        return ModelLoadError(f"{self.path}: truncated GGUF header (file ends at byte {self.size})")

    def _corrupt(self, what: str) -> ModelLoadError:
        return ModelLoadError(f"{self.path}: corrupt GGUF header ({what})")

    def take(self, n: int) -> memoryview:
        if self.pos + n > self.size:
            raise self._truncated()
        end = self.window_at + len(self.window)
        if self.pos < self.window_at or self.pos + n > end:
            self.handle.seek(self.pos)
            self.window, self.window_at = self.handle.read(max(n, _BLOCK)), self.pos
            if len(self.window) < n:
                raise self._truncated()
        start = self.pos - self.window_at
        self.pos += n
        return memoryview(self.window)[start:start + n]

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        length = self.unpack("<Q")
        if length > _MAX_COUNT:
            raise self._corrupt(f"string of {length} bytes")
        return bytes(self.take(length)).decode("utf-8", errors=self.errors)

    def value(self, kind: int, max_array: int | None, depth: int = 0) -> Any:
        try:
            kind = gguf.GGUFValueType(kind)
        except ValueError:
            raise self._corrupt(f"unknown value type {kind}") from None
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == gguf.GGUFValueType.STRING:
            return self.string()
        item_kind, count = self.unpack("<I"), self.unpack("<Q")
        if depth >= _MAX_ARRAY_DEPTH:  # arrays of arrays of ...: a crafted header, not a model
            raise self._corrupt(f"arrays nested over {_MAX_ARRAY_DEPTH} deep")
        if count > _MAX_COUNT:
            raise self._corrupt(f"array of {count} items")
        kept = max_array is None or count <= max_array
        if item_kind in _NUMPY:  # numbers: one vectorised read, or one skip
            dtype = _NUMPY[gguf.GGUFValueType(item_kind)]
            if not kept:
                if self.pos + count * dtype.itemsize > self.size:
                    raise self._truncated()
                self.pos += count * dtype.itemsize
                return f"<array of {count}>"
            return np.frombuffer(self.take(count * dtype.itemsize), dtype=dtype).tolist()
        items = [self.value(item_kind, max_array, depth + 1) for _ in range(count)]
        return items if kept else f"<array of {count}>"


def read_gguf(path: Path | str, max_array: int | None = None, errors: str = "replace") -> GGUFFile:
    """Metadata and tensor table of the GGUF at `path`, checked; ModelLoadError naming the file otherwise.

    max_array: arrays longer than this (vocabularies, merges) come back as "<array of N>" (None: all
    kept). errors: how invalid UTF-8 in strings is decoded ("surrogateescape" keeps token bytes exact).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            if handle.read(4) != GGUF_MAGIC:
                raise ModelLoadError(f"{path}: not a GGUF model file (no GGUF magic at its start)")
            cursor = _Cursor(handle, path, size, errors)
            cursor.pos = 4
            return _parse(cursor, max_array)
    except OSError as exc:
        raise ModelLoadError(f"{path}: cannot read the model file ({exc.strerror or exc})") from None


def _parse(cursor: _Cursor, max_array: int | None) -> GGUFFile:
    path = cursor.path
    version = cursor.unpack("<I")
    if version not in (2, 3):
        raise ModelLoadError(f"{path}: GGUF version {version} is not supported (2 or 3 expected)")
    n_tensors, n_kv = cursor.unpack("<Q"), cursor.unpack("<Q")
    if n_tensors > _MAX_COUNT or n_kv > _MAX_COUNT:
        raise cursor._corrupt(f"{n_tensors} tensors, {n_kv} keys")
    result = GGUFFile(path)
    for _ in range(n_kv):
        key = cursor.string()
        result.metadata[key] = cursor.value(cursor.unpack("<I"), max_array)
    infos = []
    for _ in range(n_tensors):
        name = cursor.string()
        n_dims = cursor.unpack("<I")
        if n_dims > _MAX_DIMS:
            raise cursor._corrupt(f"tensor {name} has {n_dims} dims")
        dims = tuple(cursor.unpack("<Q") for _ in range(n_dims))
        infos.append((name, dims, cursor.unpack("<I"), cursor.unpack("<Q")))
    alignment = int(result.metadata.get("general.alignment", gguf.GGUF_DEFAULT_ALIGNMENT))
    result.data_start = -(-cursor.pos // alignment) * alignment
    for name, dims, kind, offset in infos:
        try:
            ggml_type = gguf.GGMLQuantizationType(kind)
            block, type_size = gguf.GGML_QUANT_SIZES[ggml_type]
        except (ValueError, KeyError):
            raise ModelLoadError(f"{path}: tensor {name} has unknown ggml type {kind}") from None
        nbytes = int(np.prod(dims, dtype=np.int64)) // block * type_size
        start = result.data_start + offset
        if start + nbytes > cursor.size:
            raise ModelLoadError(f"{path}: truncated model file: tensor {name} ends at byte {start + nbytes}, "
                                 f"the file has {cursor.size} bytes")
        result.tensors[name] = GGUFTensor(name, dims, ggml_type, start, nbytes)
    return result


# Arrays longer than this (tokenizer vocabularies, merges) are left out of what the app shows.
_INFO_MAX_ARRAY = 64


def _quantization_name(file_type: Any) -> str | None:
    try:
        return gguf.LlamaFileType(int(file_type)).name.removeprefix("MOSTLY_")
    except (TypeError, ValueError):
        return None


def read_model_info(path: Path | str) -> dict[str, Any]:
    """What the app shows about a model: architecture, quantization, size, the alma.* keys.

    Keys: path, file_size (bytes), architecture, name, quantization, parameters, context_length,
    layers, and every alma.* key as stored. Raises ModelLoadError for a bad file.
    """
    model = read_gguf(path, max_array=_INFO_MAX_ARRAY)
    metadata = model.metadata
    arch = metadata.get("general.architecture")
    info: dict[str, Any] = {
        "path": str(path),
        "file_size": Path(path).stat().st_size,
        "architecture": arch,
        "name": metadata.get("general.name"),
        "quantization": _quantization_name(metadata.get("general.file_type")),
        "parameters": model.parameters,
        "context_length": metadata.get(f"{arch}.context_length"),
        "layers": metadata.get(f"{arch}.block_count"),
    }
    info.update({key: value for key, value in metadata.items() if key.startswith(AlmaKey.PREFIX)})
    return info


def trained_pairs(info: dict[str, Any]) -> set[tuple[str, str]] | None:
    """The directions an ALMA model was trained for (alma.language_pairs), or None when not recorded.

    The key holds pairs like "de-en", as a list or a comma/space separated string.
    """
    raw = info.get(AlmaKey.LANGUAGE_PAIRS)
    if raw is None:
        return None
    items = raw if isinstance(raw, list) else str(raw).replace(",", " ").split()
    pairs = set()
    for item in items:
        src, _, tgt = str(item).strip().partition("-")
        if src and tgt:
            pairs.add((src, tgt))
    return pairs
