"""Lazy, tensor-by-tensor access to a Hugging Face checkpoint's safetensors files (only the headers up
front; pickled weights are never loaded; docs/convert.md, "How it works")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open

from convert.errors import ConversionError

# safetensors dtype names of plain floating-point weights; anything else (I8, U8, F8_*, I32 ...) in a
# weight means a quantized checkpoint (GPTQ, AWQ, bitsandbytes, fp8), which this converter refuses.
FLOAT_DTYPES = {"F32", "F16", "BF16", "F64"}


@dataclass(frozen=True)
class TensorEntry:
    name: str
    shape: tuple[int, ...]
    dtype: str  # safetensors dtype name, e.g. "BF16"
    file: Path


class Checkpoint:
    """The tensors of MODEL_DIR's model.safetensors, or of the shards its index lists (or of `files`)."""

    def __init__(self, model_dir: Path, files: list[Path] | None = None):
        self.model_dir = Path(model_dir)
        self.files = _safetensors_files(self.model_dir) if files is None else [Path(f) for f in files]
        self.entries: dict[str, TensorEntry] = {}
        self._handles: dict[Path, object] = {}
        self._ranges: dict[Path, dict[str, tuple[int, int]]] = {}
        for file in self.files:
            handle = self._open(file)
            for name in handle.keys():
                tensor_slice = handle.get_slice(name)
                entry = TensorEntry(name, tuple(tensor_slice.get_shape()), tensor_slice.get_dtype(), file)
                self.entries[name] = entry

    def _open(self, file: Path):
        if file not in self._handles:
            try:
                self._handles[file] = safe_open(str(file), framework="np")
            except (SafetensorError, OSError) as error:
                raise ConversionError(f"{file}: not a readable safetensors file ({error})") from error
        return self._handles[file]

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def names(self) -> list[str]:
        return list(self.entries)

    def load_f32(self, name: str) -> np.ndarray:
        """One whole tensor as float32."""
        return self.load_rows_f32(name, 0, self.entries[name].shape[0] if self.entries[name].shape else 1)

    def load_rows_f32(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) of a tensor (along its first axis) as float32, the working precision.

        The bytes are read straight from the file at the rows' offset (np.fromfile), not memory-mapped
        and copied, so a slab costs its size in RAM once and a tensor never has to be whole in memory.
        """
        entry = self.entries[name]
        if entry.dtype not in FLOAT_DTYPES:
            raise ConversionError(f"{entry.file}: tensor {name} has dtype {entry.dtype}, not a float type")
        offset, size = self._data_range(entry)
        stored = _NUMPY_DTYPES[entry.dtype]
        row_shape = entry.shape[1:]
        row_elements = int(np.prod(row_shape, dtype=np.int64))
        total = int(np.prod(entry.shape, dtype=np.int64))
        if size != total * stored.itemsize:
            raise ConversionError(
                f"{entry.file}: tensor {name} has {size} bytes, its shape needs {total * stored.itemsize}"
            )
        count = (stop - start) * row_elements
        with open(entry.file, "rb") as f:
            f.seek(offset + start * row_elements * stored.itemsize)
            data = np.fromfile(f, dtype=stored, count=count)
        if data.size != count:
            raise ConversionError(f"{entry.file}: truncated inside tensor {name}")
        data = data.reshape((stop - start, *row_shape) if entry.shape else ())
        if entry.dtype == "BF16":
            # numpy has no bfloat16; bf16 is the top half of an f32, so widening the bits is exact.
            return (data.astype(np.uint32) << 16).view(np.float32)
        return data.astype(np.float32, copy=False)

    def _data_range(self, entry: TensorEntry) -> tuple[int, int]:
        if entry.file not in self._ranges:
            from gguf.utility import SafetensorsLocal

            self._ranges[entry.file] = {
                n: (t.data_range.offset, t.data_range.size)
                for n, t in SafetensorsLocal(entry.file).tensors.items()
            }
        return self._ranges[entry.file][entry.name]


_NUMPY_DTYPES = {
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "F64": np.dtype("<f8"),
}


def _safetensors_files(model_dir: Path) -> list[Path]:
    index = model_dir / "model.safetensors.index.json"
    single = model_dir / "model.safetensors"
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            raise ConversionError(f"{index}: not a safetensors index ({error!r})") from None
        # Shards are plain file names beside the index: anything else is a damaged or crafted index.
        if not isinstance(weight_map, dict) or not all(
            isinstance(name, str) and name and Path(name).name == name for name in weight_map.values()
        ):
            raise ConversionError(f"{index}: not a safetensors index (weight_map must map tensor names to "
                                  "shard file names in the same folder)")
        files = [model_dir / name for name in dict.fromkeys(weight_map.values())]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise ConversionError(f"{index} lists shards that are missing: {', '.join(missing)}")
        return files
    if single.is_file():
        return [single]
    pickled = sorted(p.name for p in model_dir.glob("*.bin")) + sorted(p.name for p in model_dir.glob("*.pt"))
    hint = (
        f" (found {', '.join(pickled)}: pickled weights are not loaded; re-save with safe_serialization=True)"
    )
    raise ConversionError(
        f"{model_dir}: no model.safetensors or model.safetensors.index.json" + (hint if pickled else "")
    )
