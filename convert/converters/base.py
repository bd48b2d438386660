"""What every HF -> GGUF converter shares: reading config.json, planning the header, streaming the tensors
in slabs of rows, encoding (f32, f16, bf16, q8_0) and writing (docs/convert.md, "How it works")."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import gguf
import numpy as np

from alma_core.atomic import atomic_path
from alma_core.gguf_file import AlmaKey
from alma_core.prompts import PROMPT_TEMPLATE
from convert.checkpoint import FLOAT_DTYPES, Checkpoint
from convert.errors import ConversionError, check_output_free

Q = gguf.GGMLQuantizationType
# --type name -> (general.file_type, tensor type of the 2-D weights)
DIRECT_TYPES: dict[str, tuple[gguf.LlamaFileType, gguf.GGMLQuantizationType]] = {
    "f32": (gguf.LlamaFileType.ALL_F32, Q.F32),
    "f16": (gguf.LlamaFileType.MOSTLY_F16, Q.F16),
    "bf16": (gguf.LlamaFileType.MOSTLY_BF16, Q.BF16),
    "q8_0": (gguf.LlamaFileType.MOSTLY_Q8_0, Q.Q8_0),
}
# Tensors are read, encoded and written a slab of rows at a time (about this many elements).
_SLAB_ELEMENTS = 1 << 22

# HF tensors that carry no weights llama.cpp needs.
SKIPPED_SUFFIXES = (".rotary_emb.inv_freq",)


@dataclass(frozen=True)
class ConversionMetadata:
    """What makes the file self-describing for the app, beyond the model itself."""

    name: str | None = None
    language_pairs: Sequence[str] = ()
    source_model: str | None = None


@dataclass
class PlannedTensor:
    gguf_name: str
    source_name: str | None  # None for a tensor computed by the converter (e.g. rope_freqs)
    shape: tuple[int, ...]  # as written: the rows may be fewer than the checkpoint's (a cut vocabulary)
    qtype: gguf.GGMLQuantizationType
    row_group: int = 1  # slabs hold whole groups of this many rows (one rope head of Q/K)
    data: np.ndarray | None = None  # for computed tensors

    def byte_size(self) -> int:
        return int(np.prod(gguf.quants.quant_shape_to_byte_shape(self.shape, self.qtype)))


def read_config(model_dir: Path) -> dict[str, Any]:
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise ConversionError(f"{model_dir}: no config.json (is this a Hugging Face model directory?)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ConversionError(f"{path}: not valid JSON ({error})") from error


def refuse_quantized(config: dict[str, Any], config_path: Path) -> None:
    if config.get("quantization_config"):
        method = config["quantization_config"].get("quant_method", "unknown")
        raise ConversionError(
            f"{config_path}: the model is already quantized ({method}); convert the unquantized "
            "(merged, bf16/f16/f32) model instead"
        )


class ModelConverter:
    """One HF architecture -> one llama.cpp architecture. Subclasses fill in the hooks below."""

    hf_architectures: ClassVar[tuple[str, ...]] = ()  # config.json "architectures" names handled
    families: ClassVar[str] = ""  # models of this architecture, for error messages
    gguf_arch: ClassVar[gguf.MODEL_ARCH]

    def __init__(self, model_dir: Path, config: dict[str, Any]):
        self.model_dir = Path(model_dir)
        self.config_path = self.model_dir / "config.json"
        self.config = config

    # --- what an architecture says -------------------------------------------------------------

    @property
    def n_layers(self) -> int:
        raise NotImplementedError

    @property
    def tie_word_embeddings(self) -> bool:
        return bool(self.config.get("tie_word_embeddings", False))

    @property
    def source_model_name(self) -> str | None:
        """alma.source_model when the caller names none: what config.json says the model came from."""
        return self.config.get("_name_or_path") or self.config.get("_model_name_or_path")

    def add_hparams(self, writer: gguf.GGUFWriter) -> None:
        """The <arch>.* keys llama.cpp's loader reads."""
        raise NotImplementedError

    def add_vocab(self, writer: gguf.GGUFWriter) -> None:
        """The tokenizer.* keys."""
        raise NotImplementedError

    def required_tensors(self) -> list[str]:
        """GGUF names the model cannot run without (checked before anything is written)."""
        raise NotImplementedError

    def extra_tensors(self) -> list[PlannedTensor]:
        """Tensors computed from the config rather than read (written first)."""
        return []

    def skips(self, name: str) -> bool:
        """Checkpoint tensors that are not written."""
        if name.endswith(SKIPPED_SUFFIXES):
            return True
        # tied: llama.cpp reuses token_embd when there is no output.weight
        return name == "lm_head.weight" and self.tie_word_embeddings

    def rows_written(self, name: str, shape: tuple[int, ...]) -> int:
        """How many of the tensor's rows go into the file (all of them unless the architecture cuts)."""
        return shape[0] if shape else 1

    def row_group(self, name: str, shape: tuple[int, ...]) -> int:
        """Slabs of this tensor must hold whole groups of this many rows (for modify_slab)."""
        return 1

    def modify_slab(self, tensor: PlannedTensor, data: np.ndarray, source_dtype: str) -> np.ndarray:
        """The architecture's tensor hook, on a slab of whole row groups of `tensor` (as float32).

        `source_dtype` is the checkpoint's own type of the tensor (safetensors name, e.g. "F16").
        """
        return data

    @classmethod
    def modify_lora_b(cls, hf_name: str, lora_b: np.ndarray, base_metadata: dict[str, Any]) -> np.ndarray:
        """The tensor hook for a LoRA adapter (`alma-convert lora`): B's rows are the rows of the base weight
        `hf_name`, so a hook that reorders rows applies to B (A, on the input side, is left as it is).

        `base_metadata` is the base GGUF's metadata (the converter of an adapter has no config.json).
        Row-wise value changes (gemma3's norm + 1) do not apply: adapters are on linear layers only.
        """
        return lora_b

    # --- shared ---------------------------------------------------------------------------------

    def convert(
        self,
        output: Path,
        out_type: str = "f16",
        metadata: ConversionMetadata | None = None,
        force: bool = False,
    ) -> Path:
        """Write the GGUF to `output` (atomically) and return it."""
        output = Path(output)
        if out_type not in DIRECT_TYPES:
            raise ConversionError(
                f"--type {out_type!r} is not written directly; use one of {', '.join(DIRECT_TYPES)}"
            )
        file_type, weight_type = DIRECT_TYPES[out_type]
        metadata = metadata or ConversionMetadata()
        checkpoint = Checkpoint(self.model_dir)
        plan = self._plan_tensors(checkpoint, weight_type)

        writer = gguf.GGUFWriter(path=None, arch=gguf.MODEL_ARCH_NAMES[self.gguf_arch])
        self._add_general_metadata(writer, metadata, file_type, plan)
        self.add_hparams(writer)
        self.add_vocab(writer)
        for tensor in plan:
            if tensor.qtype in (Q.F32, Q.F16):
                dtype = np.float32 if tensor.qtype == Q.F32 else np.float16
                writer.add_tensor_info(
                    tensor.gguf_name, tensor.shape, np.dtype(dtype), tensor.byte_size(), tensor.qtype
                )
            else:
                byte_shape = gguf.quants.quant_shape_to_byte_shape(tensor.shape, tensor.qtype)
                writer.add_tensor_info(
                    tensor.gguf_name, byte_shape, np.dtype(np.uint8), tensor.byte_size(), tensor.qtype
                )

        check_output_free(output, force)
        with atomic_path(output, suffix=".tmp") as tmp:
            try:
                writer.write_header_to_file(path=tmp)
                writer.write_kv_data_to_file()
                writer.write_ti_data_to_file()
                fout = writer.fout[0]
                for tensor in plan:
                    # The layout write_tensor_data would give (aligned start, padded end), written
                    # slab by slab instead of from one whole array.
                    writer.write_padding(fout, fout.tell())
                    written = 0
                    for slab in self._encoded_slabs(checkpoint, tensor):
                        slab.tofile(fout)
                        written += slab.nbytes
                    if written != tensor.byte_size():
                        raise ConversionError(
                            f"tensor {tensor.source_name}: wrote {written} bytes, expected {tensor.byte_size()}"
                        )
                    writer.write_padding(fout, written)
            finally:
                writer.close()
        return output

    def _plan_tensors(
        self, checkpoint: Checkpoint, weight_type: gguf.GGMLQuantizationType
    ) -> list[PlannedTensor]:
        name_map = gguf.get_tensor_name_map(self.gguf_arch, self.n_layers)
        arch_name = gguf.MODEL_ARCH_NAMES[self.gguf_arch]
        plan = self.extra_tensors()
        for name in checkpoint.names():
            if self.skips(name):
                continue
            entry = checkpoint.entries[name]
            gguf_name = name_map.get_name(name, try_suffixes=(".weight", ".bias"))
            if gguf_name is None:
                raise ConversionError(
                    f"{entry.file}: tensor {name} has no place in a {arch_name} GGUF (not a {arch_name} model?)"
                )
            if entry.dtype not in FLOAT_DTYPES:
                raise ConversionError(
                    f"{entry.file}: tensor {name} is {entry.dtype}, i.e. the checkpoint is already quantized; "
                    "convert the unquantized model"
                )
            shape = entry.shape
            if shape:
                shape = (self.rows_written(name, shape), *shape[1:])
            plan.append(
                PlannedTensor(
                    gguf_name,
                    name,
                    shape,
                    _tensor_type(gguf_name, shape, weight_type),
                    row_group=self.row_group(name, shape),
                )
            )
        names = {t.gguf_name for t in plan}
        missing = [n for n in self.required_tensors() if n not in names]
        if missing:
            raise ConversionError(
                f"{checkpoint.model_dir}: the checkpoint lacks {len(missing)} tensor(s) a {arch_name} model "
                f"of {self.n_layers} layers needs, e.g. {', '.join(missing[:4])} "
                "(incomplete or corrupt safetensors?)"
            )
        return plan

    def _encoded_slabs(self, checkpoint: Checkpoint, tensor: PlannedTensor) -> Iterator[np.ndarray]:
        """The tensor's bytes in GGUF encoding, a slab of whole rows at a time.

        Every encoding here works row by row (f16/bf16 per value, q8_0 per 32-value block within a
        row) and every hook per row group, so encoding slabs gives exactly the bytes of the whole tensor.
        """
        if tensor.data is not None:
            yield encode(tensor.data, tensor.qtype)
            return
        shape = tensor.shape
        rows = shape[0] if shape else 1
        row_elements = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
        slab_rows = max(1, _SLAB_ELEMENTS // row_elements)
        slab_rows = max(1, slab_rows // tensor.row_group) * tensor.row_group
        source_dtype = checkpoint.entries[tensor.source_name].dtype
        for start in range(0, rows, slab_rows):
            stop = min(rows, start + slab_rows)
            data = checkpoint.load_rows_f32(tensor.source_name, start, stop)
            yield encode(self.modify_slab(tensor, data, source_dtype), tensor.qtype)

    def _add_general_metadata(
        self,
        writer: gguf.GGUFWriter,
        metadata: ConversionMetadata,
        file_type: gguf.LlamaFileType,
        plan: list[PlannedTensor],
    ) -> None:
        writer.add_type(gguf.GGUFType.MODEL)
        writer.add_name(metadata.name or self.model_dir.resolve().name)
        n_params = sum(int(np.prod(t.shape)) for t in plan if t.source_name is not None)
        writer.add_size_label(gguf.size_label(n_params, 0, 0, 0))
        writer.add_file_type(file_type)
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        # alma.*: what the desktop app needs to offer the right directions with the right prompt.
        writer.add_string(AlmaKey.PROMPT, PROMPT_TEMPLATE)
        if metadata.language_pairs:
            writer.add_array(AlmaKey.LANGUAGE_PAIRS, list(metadata.language_pairs))
        writer.add_string(
            AlmaKey.SOURCE_MODEL,
            metadata.source_model or self.source_model_name or self.model_dir.resolve().name,
        )


def _tensor_type(
    gguf_name: str, shape: tuple[int, ...], weight_type: gguf.GGMLQuantizationType
) -> gguf.GGMLQuantizationType:
    # Norms and other vectors stay f32: llama.cpp's kernels expect them so (as its converter does).
    if len(shape) <= 1 or gguf_name.endswith("_norm.weight") or not gguf_name.endswith(".weight"):
        return Q.F32
    block_size, _ = gguf.GGML_QUANT_SIZES[weight_type]
    if shape[-1] % block_size:
        return Q.F16  # a row that is not a whole number of blocks cannot be block-quantized
    return weight_type


def encode(data: np.ndarray, qtype: gguf.GGMLQuantizationType) -> np.ndarray:
    if qtype == Q.F32:
        return np.ascontiguousarray(data, dtype=np.float32)
    if qtype == Q.F16:
        return data.astype(np.float16)
    return gguf.quants.quantize(data, qtype)
