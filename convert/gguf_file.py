"""A fast reader of a GGUF file's metadata and tensor table (the data stays on disk until asked for).

gguf-py's GGUFReader builds numpy views for every element of every array, which takes about 20 s
for Gemma 3's 262,144-token vocabulary (three arrays of that length) on two cores. The import and
the tests read such files often, so the header is parsed here directly (GGUF v2/v3, little-endian),
in well under a second. Values come back as Python values: strings, ints, floats, bools, lists.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gguf
import numpy as np

from convert.errors import ConversionError

_SCALARS = {
    gguf.GGUFValueType.UINT8: "<B",
    gguf.GGUFValueType.INT8: "<b",
    gguf.GGUFValueType.UINT16: "<H",
    gguf.GGUFValueType.INT16: "<h",
    gguf.GGUFValueType.UINT32: "<I",
    gguf.GGUFValueType.INT32: "<i",
    gguf.GGUFValueType.FLOAT32: "<f",
    gguf.GGUFValueType.UINT64: "<Q",
    gguf.GGUFValueType.INT64: "<q",
    gguf.GGUFValueType.FLOAT64: "<d",
    gguf.GGUFValueType.BOOL: "<?",
}
_NUMPY = {t: np.dtype(fmt) for t, fmt in _SCALARS.items()}


@dataclass(frozen=True)
class GGUFTensor:
    name: str
    shape: tuple[int, ...]  # ggml order: the row length first, as gguf-py's reader gives it
    type: gguf.GGMLQuantizationType
    offset: int  # absolute position of the data in the file
    nbytes: int


@dataclass
class GGUFFile:
    path: Path
    metadata: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, GGUFTensor] = field(default_factory=dict)

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


class _Cursor:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def unpack(self, fmt: str):
        value = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        length = self.unpack("<Q")
        raw = self.data[self.pos : self.pos + length]
        self.pos += length
        return raw.decode("utf-8", errors="surrogateescape")

    def value(self, kind: int) -> Any:
        kind = gguf.GGUFValueType(kind)
        if kind == gguf.GGUFValueType.STRING:
            return self.string()
        if kind == gguf.GGUFValueType.ARRAY:
            item_kind, count = gguf.GGUFValueType(self.unpack("<I")), self.unpack("<Q")
            if item_kind in _NUMPY:  # numbers: one vectorised read
                items = np.frombuffer(self.data, dtype=_NUMPY[item_kind], count=count, offset=self.pos)
                self.pos += items.nbytes
                return items.tolist()
            return [self.value(item_kind) for _ in range(count)]
        return self.unpack(_SCALARS[kind])


def read_gguf(path: Path) -> GGUFFile:
    """Metadata and tensor table of the GGUF at `path` (ConversionError if it is not one)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(24)
            if len(head) < 24 or head[:4] != b"GGUF":
                raise ConversionError(f"{path}: not a GGUF file")
            version, n_tensors, n_kv = struct.unpack("<IQQ", head[4:])
            if version not in (2, 3):
                raise ConversionError(f"{path}: GGUF version {version} is not supported")
            # The header is small next to the tensors; read generously and grow if it is larger.
            size = 1 << 24
            while True:
                f.seek(24)
                cursor = _Cursor(f.read(size))
                try:
                    return _parse(path, cursor, n_tensors, n_kv)
                except (struct.error, ValueError):
                    if len(cursor.data) < size:
                        raise
                    size *= 4
    except (OSError, struct.error, ValueError) as error:
        raise ConversionError(f"{path}: not a readable GGUF file ({error})") from error


def _parse(path: Path, cursor: _Cursor, n_tensors: int, n_kv: int) -> GGUFFile:
    result = GGUFFile(path)
    for _ in range(n_kv):
        key = cursor.string()
        result.metadata[key] = cursor.value(cursor.unpack("<I"))
    infos = []
    for _ in range(n_tensors):
        name = cursor.string()
        dims = tuple(cursor.unpack("<Q") for _ in range(cursor.unpack("<I")))
        infos.append((name, dims, gguf.GGMLQuantizationType(cursor.unpack("<I")), cursor.unpack("<Q")))
    if cursor.pos > len(cursor.data):
        raise struct.error("header runs past the data read")
    alignment = int(result.metadata.get("general.alignment", gguf.GGUF_DEFAULT_ALIGNMENT))
    header_end = 24 + cursor.pos
    data_start = header_end + (-header_end % alignment)
    for name, dims, kind, offset in infos:
        block, type_size = gguf.GGML_QUANT_SIZES[kind]
        nbytes = int(np.prod(dims, dtype=np.int64)) // block * type_size
        result.tensors[name] = GGUFTensor(name, dims, kind, data_start + offset, nbytes)
    return result
