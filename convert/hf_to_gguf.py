"""Hugging Face LlamaForCausalLM directory -> GGUF file, tensor by tensor.

The GGUF header (metadata and every tensor's name, shape and type) is written first, from
config.json, the tokenizer files and the safetensors headers alone; then each tensor is read,
transformed, encoded and appended in slabs of rows (whole heads for Q/K), so that not even one
tensor has to be in memory at once: peak memory is a few slabs, whatever the model size.

Types written directly here: f32, f16, bf16 and q8_0. Lower-bit types go through an f16 file and
llama.cpp's own quantizer (convert.quantize).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

from alma_train.prompts import PROMPT_TEMPLATE
from convert.checkpoint import FLOAT_DTYPES, Checkpoint
from convert.errors import ConversionError
from convert.llama_hparams import (
    LlamaHparams,
    add_llama_hparams,
    llama3_rope_factors,
    parse_llama_config,
    read_config,
)
from convert.output_file import atomic_file
from convert.vocab import add_vocab

log = logging.getLogger(__name__)

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
_SKIPPED_SUFFIXES = (".rotary_emb.inv_freq",)


@dataclass(frozen=True)
class ConversionMetadata:
    """What makes the file self-describing for the app, beyond the model itself."""

    name: str | None = None
    language_pairs: Sequence[str] = ()
    source_model: str | None = None


@dataclass
class _PlannedTensor:
    gguf_name: str
    source_name: str | None  # None for a tensor computed here (rope_freqs)
    shape: tuple[int, ...]
    qtype: gguf.GGMLQuantizationType
    rope_heads: int | None = None  # rows to permute for llama.cpp's rope, in this many heads
    data: np.ndarray | None = None  # for computed tensors

    def byte_size(self) -> int:
        return int(np.prod(gguf.quants.quant_shape_to_byte_shape(self.shape, self.qtype)))


def permute_for_rope(weight: np.ndarray, n_heads: int) -> np.ndarray:
    """Reorder the rows of a Q or K projection from HF's rope layout to llama.cpp's.

    HF's llama rotates dimension i of each head together with dimension i + head_dim/2 (its
    rotate_half); llama.cpp's llama rope rotates neighbours (2i, 2i+1), the layout of Meta's original
    checkpoints. HF's own conversion from Meta permuted the rows; this is the inverse, per head.
    """
    rows = weight.shape[0]
    return (
        weight.reshape(n_heads, 2, rows // n_heads // 2, *weight.shape[1:])
        .swapaxes(1, 2)
        .reshape(weight.shape)
    )


def convert_hf_to_gguf(
    model_dir: Path,
    output: Path,
    out_type: str = "f16",
    metadata: ConversionMetadata | None = None,
    force: bool = False,
) -> Path:
    """Convert `model_dir` to `output` (written atomically) and return `output`."""
    model_dir, output = Path(model_dir), Path(output)
    if out_type not in DIRECT_TYPES:
        raise ConversionError(
            f"--type {out_type!r} is not written directly; use one of {', '.join(DIRECT_TYPES)}"
        )
    file_type, weight_type = DIRECT_TYPES[out_type]
    metadata = metadata or ConversionMetadata()
    if not model_dir.is_dir():
        raise ConversionError(f"{model_dir}: not a directory")
    if output.exists() and not force:
        raise ConversionError(f"{output} already exists; pass --force to overwrite it")

    hparams = parse_llama_config(read_config(model_dir), model_dir / "config.json")
    checkpoint = Checkpoint(model_dir)
    plan = _plan_tensors(checkpoint, hparams, weight_type)

    writer = gguf.GGUFWriter(path=None, arch=gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    _add_general_metadata(writer, model_dir, hparams, metadata, file_type, plan)
    add_llama_hparams(writer, hparams)
    add_vocab(writer, model_dir, hparams.vocab_size)
    for tensor in plan:
        byte_shape = gguf.quants.quant_shape_to_byte_shape(tensor.shape, tensor.qtype)
        if tensor.qtype in (Q.F32, Q.F16):
            dtype = np.float32 if tensor.qtype == Q.F32 else np.float16
            writer.add_tensor_info(
                tensor.gguf_name, tensor.shape, np.dtype(dtype), tensor.byte_size(), tensor.qtype
            )
        else:
            writer.add_tensor_info(
                tensor.gguf_name, byte_shape, np.dtype(np.uint8), tensor.byte_size(), tensor.qtype
            )

    with atomic_file(output, force=force) as tmp:
        try:
            writer.write_header_to_file(path=tmp)
            writer.write_kv_data_to_file()
            writer.write_ti_data_to_file()
            fout = writer.fout[0]
            for tensor in plan:
                # The layout write_tensor_data would give (aligned start, padded end), written slab
                # by slab instead of from one whole array.
                writer.write_padding(fout, fout.tell())
                written = 0
                for slab in _encoded_slabs(checkpoint, tensor):
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
    checkpoint: Checkpoint, hp: LlamaHparams, weight_type: gguf.GGMLQuantizationType
) -> list[_PlannedTensor]:
    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, hp.n_layers)
    plan: list[_PlannedTensor] = []
    rope_factors = llama3_rope_factors(hp)
    if rope_factors is not None:
        plan.append(_PlannedTensor("rope_freqs.weight", None, rope_factors.shape, Q.F32, data=rope_factors))
    for name in checkpoint.names():
        if name.endswith(_SKIPPED_SUFFIXES):
            continue
        if name == "lm_head.weight" and hp.tie_word_embeddings:
            continue  # tied: llama.cpp reuses token_embd when there is no output.weight
        entry = checkpoint.entries[name]
        gguf_name = name_map.get_name(name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ConversionError(
                f"{entry.file}: tensor {name} has no place in a llama GGUF (not a llama model?)"
            )
        if entry.dtype not in FLOAT_DTYPES:
            raise ConversionError(
                f"{entry.file}: tensor {name} is {entry.dtype}, i.e. the checkpoint is already quantized; "
                "convert the unquantized model"
            )
        rope_heads = None
        if name.endswith(("self_attn.q_proj.weight", "self_attn.q_proj.bias")):
            rope_heads = hp.n_heads
        elif name.endswith(("self_attn.k_proj.weight", "self_attn.k_proj.bias")):
            rope_heads = hp.n_kv_heads
        plan.append(
            _PlannedTensor(
                gguf_name, name, entry.shape, _tensor_type(gguf_name, entry.shape, weight_type), rope_heads
            )
        )
    _check_complete(checkpoint, hp, {t.gguf_name for t in plan})
    return plan


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


def _check_complete(checkpoint: Checkpoint, hp: LlamaHparams, names: set[str]) -> None:
    required = ["token_embd.weight", "output_norm.weight"]
    for layer in range(hp.n_layers):
        required += [
            f"blk.{layer}.{part}.weight"
            for part in (
                "attn_norm",
                "attn_q",
                "attn_k",
                "attn_v",
                "attn_output",
                "ffn_norm",
                "ffn_gate",
                "ffn_up",
                "ffn_down",
            )
        ]
    if not hp.tie_word_embeddings:
        required.append("output.weight")
    missing = [n for n in required if n not in names]
    if missing:
        raise ConversionError(
            f"{checkpoint.model_dir}: the checkpoint lacks {len(missing)} tensor(s) a llama model of "
            f"{hp.n_layers} layers needs, e.g. {', '.join(missing[:4])} (incomplete or corrupt safetensors?)"
        )


def _encoded_slabs(checkpoint: Checkpoint, tensor: _PlannedTensor) -> Iterator[np.ndarray]:
    """The tensor's bytes in GGUF encoding, a slab of whole rows at a time.

    Every encoding here works row by row (f16/bf16 per value, q8_0 per 32-value block within a row)
    and the rope permutation per head, so encoding slabs gives exactly the bytes of the whole tensor.
    """
    if tensor.data is not None:
        yield _encode(tensor.data, tensor.qtype)
        return
    shape = tensor.shape
    rows = shape[0] if shape else 1
    row_elements = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
    slab_rows = max(1, _SLAB_ELEMENTS // row_elements)
    head_rows = rows // tensor.rope_heads if tensor.rope_heads else 1
    slab_rows = max(1, slab_rows // head_rows) * head_rows
    for start in range(0, rows, slab_rows):
        stop = min(rows, start + slab_rows)
        data = checkpoint.load_rows_f32(tensor.source_name, start, stop)
        if tensor.rope_heads is not None:
            data = permute_for_rope(data, (stop - start) // head_rows)
        yield _encode(data, tensor.qtype)


def _encode(data: np.ndarray, qtype: gguf.GGMLQuantizationType) -> np.ndarray:
    if qtype == Q.F32:
        return np.ascontiguousarray(data, dtype=np.float32)
    if qtype == Q.F16:
        return data.astype(np.float16)
    return gguf.quants.quantize(data, qtype)


def _add_general_metadata(
    writer: gguf.GGUFWriter,
    model_dir: Path,
    hp: LlamaHparams,
    metadata: ConversionMetadata,
    file_type: gguf.LlamaFileType,
    plan: list[_PlannedTensor],
) -> None:
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(metadata.name or model_dir.resolve().name)
    n_params = sum(int(np.prod(t.shape)) for t in plan if t.source_name is not None)
    writer.add_size_label(gguf.size_label(n_params, 0, 0, 0))
    writer.add_file_type(file_type)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    # alma.*: what the desktop app needs to offer the right directions with the right prompt.
    writer.add_string("alma.prompt", PROMPT_TEMPLATE)
    if metadata.language_pairs:
        writer.add_array("alma.language_pairs", list(metadata.language_pairs))
    writer.add_string(
        "alma.source_model", metadata.source_model or hp.name_or_path or model_dir.resolve().name
    )
