"""Check a GGUF file and read its metadata before llama.cpp sees it.

llama.cpp can abort the whole process on some malformed files, so the header is parsed here first:
magic, version, every key/value, every tensor's extent. A file that fails any check raises
ModelLoadError naming the file and the problem. gguf.GGUFReader would do the parsing too, but it
builds numpy views over all ~100k tokenizer strings (about 2 s for the default model); this reader
skips long arrays and takes a few milliseconds.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any, BinaryIO

GGUF_MAGIC = b"GGUF"
# Arrays longer than this (tokenizer vocabularies, merges) are skipped, not kept in the metadata.
_MAX_KEPT_ARRAY = 64
# Counts and lengths past these are garbage, not a big model: refuse before allocating anything.
_MAX_COUNT = 1 << 32
# Real GGUFs nest arrays one level at most (token merges); each level is a Python call here.
_MAX_ARRAY_DEPTH = 8

# GGUF value types: struct format of the scalar ones; 8 = string, 9 = array.
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


class ModelLoadError(Exception):
    """A model file that cannot be used: missing, not GGUF, truncated or otherwise unreadable."""


class _Reader:
    def __init__(self, handle: BinaryIO, path: Path, size: int) -> None:
        self.handle, self.path, self.size = handle, path, size

    def read(self, n: int) -> bytes:
        data = self.handle.read(n)
        if len(data) != n:
            raise ModelLoadError(f"{self.path}: truncated GGUF header (file ends at byte {self.size})")
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        length = self.unpack("<Q")
        if length > _MAX_COUNT:
            raise ModelLoadError(f"{self.path}: corrupt GGUF header (string of {length} bytes)")
        return self.read(length).decode("utf-8", errors="replace")

    def value(self, vtype: int, depth: int = 0) -> Any:
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            item_type, count = self.unpack("<I"), self.unpack("<Q")
            if depth >= _MAX_ARRAY_DEPTH:  # arrays of arrays of ...: a crafted header, not a model
                raise ModelLoadError(f"{self.path}: corrupt GGUF header (arrays nested over {_MAX_ARRAY_DEPTH} deep)")
            if count > _MAX_COUNT:
                raise ModelLoadError(f"{self.path}: corrupt GGUF header (array of {count} items)")
            if count > _MAX_KEPT_ARRAY and item_type in _SCALARS:
                skip = count * struct.calcsize(_SCALARS[item_type])
                if self.handle.tell() + skip > self.size:
                    raise ModelLoadError(f"{self.path}: truncated GGUF header (file ends at byte {self.size})")
                self.handle.seek(skip, os.SEEK_CUR)
                return f"<array of {count}>"
            items = [self.value(item_type, depth + 1) for _ in range(count)]
            return items if count <= _MAX_KEPT_ARRAY else f"<array of {count}>"
        raise ModelLoadError(f"{self.path}: corrupt GGUF header (unknown value type {vtype})")


def read_gguf_header(path: Path | str) -> tuple[dict[str, Any], list[tuple[str, int, int, int]], int]:
    """(metadata, tensors as (name, ggml type, n_elements, offset), data start) of a GGUF file.

    Raises ModelLoadError for a missing file, a non-GGUF file, a bad header or tensors that reach
    past the end of the file (a truncated download).
    """
    import gguf  # only for the ggml type sizes

    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    size = path.stat().st_size
    with path.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise ModelLoadError(f"{path}: not a GGUF model file (no GGUF magic at its start)")
        reader = _Reader(handle, path, size)
        version = reader.unpack("<I")
        if version not in (2, 3):
            raise ModelLoadError(f"{path}: GGUF version {version} is not supported (2 or 3 expected)")
        tensor_count, kv_count = reader.unpack("<Q"), reader.unpack("<Q")
        if tensor_count > _MAX_COUNT or kv_count > _MAX_COUNT:
            raise ModelLoadError(f"{path}: corrupt GGUF header ({tensor_count} tensors, {kv_count} keys)")
        metadata: dict[str, Any] = {}
        for _ in range(kv_count):
            key = reader.string()
            metadata[key] = reader.value(reader.unpack("<I"))
        tensors = []
        for _ in range(tensor_count):
            name = reader.string()
            n_dims = reader.unpack("<I")
            if n_dims > 8:
                raise ModelLoadError(f"{path}: corrupt GGUF header (tensor {name} has {n_dims} dims)")
            n_elements = 1
            for _ in range(n_dims):
                n_elements *= reader.unpack("<Q")
            tensors.append((name, reader.unpack("<I"), n_elements, reader.unpack("<Q")))
        alignment = int(metadata.get("general.alignment", gguf.GGUF_DEFAULT_ALIGNMENT))
        data_start = -(-handle.tell() // alignment) * alignment
    for name, ggml_type, n_elements, offset in tensors:
        try:
            block, type_size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(ggml_type)]
        except (ValueError, KeyError):
            raise ModelLoadError(f"{path}: tensor {name} has unknown ggml type {ggml_type}") from None
        end = data_start + offset + n_elements // block * type_size
        if end > size:
            raise ModelLoadError(
                f"{path}: truncated model file: tensor {name} ends at byte {end}, the file has {size} bytes"
            )
    return metadata, tensors, data_start


def _quantization_name(file_type: Any) -> str | None:
    import gguf

    try:
        return gguf.LlamaFileType(int(file_type)).name.removeprefix("MOSTLY_")
    except (TypeError, ValueError):
        return None


def read_model_info(path: Path | str) -> dict[str, Any]:
    """What the app shows about a model: architecture, quantization, size, the alma.* keys.

    Keys: path, file_size (bytes), architecture, name, quantization, parameters, context_length,
    layers, and every alma.* key as stored. Raises ModelLoadError for a bad file.
    """
    metadata, tensors, _ = read_gguf_header(path)
    arch = metadata.get("general.architecture")
    info: dict[str, Any] = {
        "path": str(path),
        "file_size": Path(path).stat().st_size,
        "architecture": arch,
        "name": metadata.get("general.name"),
        "quantization": _quantization_name(metadata.get("general.file_type")),
        "parameters": sum(n for _, _, n, _ in tensors),
        "context_length": metadata.get(f"{arch}.context_length"),
        "layers": metadata.get(f"{arch}.block_count"),
    }
    info.update({key: value for key, value in metadata.items() if key.startswith("alma.")})
    return info


def trained_pairs(info: dict[str, Any]) -> set[tuple[str, str]] | None:
    """The directions an ALMA model was trained for (alma.language_pairs), or None when not recorded.

    The key holds pairs like "de-en", as a list or a comma/space separated string.
    """
    raw = info.get("alma.language_pairs")
    if raw is None:
        return None
    items = raw if isinstance(raw, list) else str(raw).replace(",", " ").split()
    pairs = set()
    for item in items:
        src, _, tgt = str(item).strip().partition("-")
        if src and tgt:
            pairs.add((src, tgt))
    return pairs
