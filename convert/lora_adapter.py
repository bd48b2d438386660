"""peft LoRA adapter folder -> llama.cpp GGUF LoRA adapter, every target checked against the base GGUF it
will run on (`alma-convert lora`; docs/convert.md, "Adapters")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf

from alma_core.atomic import atomic_path
from alma_core.gguf_file import GGUFFile, ModelLoadError, read_gguf
from convert.checkpoint import FLOAT_DTYPES, Checkpoint
from convert.converters import converter_class_for_gguf_arch
from convert.converters.base import ModelConverter, encode
from convert.errors import ConversionError, check_output_free

Q = gguf.GGMLQuantizationType
# --type -> the type of the A and B matrices. llama.cpp's own converter writes the same three (f32 is its
# default; f16 is ours: half the size, and llama.cpp computes the adapter's product in f32 either way).
ADAPTER_TYPES: dict[str, gguf.GGMLQuantizationType] = {"f32": Q.F32, "f16": Q.F16, "q8_0": Q.Q8_0}
CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
_PEFT_PREFIX = "base_model.model."
_A, _B = ".lora_A.weight", ".lora_B.weight"
_BASE_LAYER = ".base_layer.weight"
# Base tensors an adapter may not touch: a vocabulary-trimmed base has fewer rows than the model the
# adapter was trained on, and llama.cpp's adapters on them need layouts of their own.
_VOCABULARY_TENSORS = ("token_embd.weight", "output.weight")

# adapter_config.json settings a llama.cpp LoRA cannot express: setting -> why (each refused by name).
_UNSUPPORTED: dict[str, str] = {
    "use_dora": "DoRA adds a magnitude vector llama.cpp does not apply",
    "use_rslora": "rsLoRA scales by alpha/sqrt(r), llama.cpp by alpha/r",
    "alpha_pattern": "a GGUF adapter has one alpha for all its tensors",
    "modules_to_save": "fully trained modules are weights, not a LoRA",
    "trainable_token_indices": "trained token rows are weights, not a LoRA",
    "fan_in_fan_out": "transposed (Conv1D) layers are not in llama or gemma3 models",
    "lora_bias": "llama.cpp's LoRA has no bias",
}


@dataclass(frozen=True)
class LoraPair:
    """One adapted weight: its names in the adapter, the HF model and the GGUF, and its matrices."""

    hf_name: str  # e.g. model.layers.0.self_attn.q_proj.weight
    gguf_name: str  # e.g. blk.0.attn_q.weight
    a_name: str
    b_name: str


@dataclass(frozen=True)
class LoraConversion:
    output: Path
    architecture: str
    alpha: float
    pairs: int
    parameters: int

    def summary(self) -> str:
        size = self.output.stat().st_size
        return (f"{self.output}: {self.architecture} LoRA adapter, {self.pairs} weights, "
                f"{self.parameters / 1e6:.2f}M parameters, alpha {self.alpha:g}, {size / 1e6:.1f} MB")


def read_adapter_config(adapter_dir: Path) -> dict[str, Any]:
    """adapter_config.json of a peft LoRA folder, refusing what a llama.cpp LoRA cannot express."""
    adapter_dir = Path(adapter_dir)
    if not adapter_dir.is_dir():
        raise ConversionError(f"{adapter_dir}: not a directory (a peft adapter folder is expected)")
    path = adapter_dir / CONFIG_FILE
    if not path.is_file():
        raise ConversionError(f"{adapter_dir}: no {CONFIG_FILE} (is this a peft adapter folder?)")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ConversionError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(config, dict):
        raise ConversionError(f"{path}: not a peft adapter config (a JSON object is expected)")
    if config.get("peft_type", "LORA") != "LORA":
        raise ConversionError(f"{path}: peft_type {config['peft_type']!r}; only LORA adapters convert")
    for key, why in _UNSUPPORTED.items():
        if config.get(key):
            raise ConversionError(f"{path}: {key} is set ({config[key]!r}); {why}")
    if config.get("bias", "none") != "none":
        raise ConversionError(f"{path}: bias {config['bias']!r}; llama.cpp's LoRA has no bias (train with bias='none')")
    alpha = config.get("lora_alpha")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or alpha <= 0:
        raise ConversionError(f"{path}: lora_alpha {alpha!r} must be a positive number")
    return config


def adapter_checkpoint(adapter_dir: Path) -> Checkpoint:
    """The adapter's weights (safetensors only: pickled weights can run code and are never loaded)."""
    weights = Path(adapter_dir) / WEIGHTS_FILE
    if not weights.is_file():
        pickled = sorted(p.name for p in Path(adapter_dir).glob("*.bin")) + sorted(
            p.name for p in Path(adapter_dir).glob("*.pt"))
        hint = (f" (found {', '.join(pickled)}: pickled weights are not loaded; save the adapter with "
                "safe_serialization=True)") if pickled else ""
        raise ConversionError(f"{adapter_dir}: no {WEIGHTS_FILE}{hint}")
    return Checkpoint(Path(adapter_dir), files=[weights])


def read_base(base_gguf: Path) -> GGUFFile:
    try:
        base = read_gguf(base_gguf, max_array=0)
    except ModelLoadError as error:
        raise ConversionError(str(error)) from error
    if base.metadata.get("general.type", "model") != "model":
        raise ConversionError(f"{base_gguf}: general.type is {base.metadata['general.type']!r}; --base must be "
                              "the model the adapter runs on")
    return base


def plan_pairs(checkpoint: Checkpoint, base: GGUFFile, converter: type[ModelConverter]) -> list[LoraPair]:
    """The adapter's A/B pairs with their GGUF names, each checked against the base (name, shape, rank)."""
    weights = checkpoint.files[0]
    arch = base.metadata["general.architecture"]
    n_layers = int(base.metadata.get(f"{arch}.block_count", 0))
    name_map = gguf.get_tensor_name_map(converter.gguf_arch, n_layers)
    halves: dict[str, dict[str, str]] = {}
    for name in checkpoint.names():
        entry = checkpoint.entries[name]
        module = name.removeprefix(_PEFT_PREFIX)
        for suffix in (_A, _B, _BASE_LAYER):
            module = module.removesuffix(suffix)
        # peft writes lora_embedding_A/B for an embedding and saves the tied base weights with it
        if "lora_embedding_" in name or name_map.get_name(module + ".weight", try_suffixes=(".weight",)) in _VOCABULARY_TENSORS:
            raise ConversionError(
                f"{weights}: tensor {name}: the adapter trains the embeddings or the output layer, which is "
                "refused (a vocabulary-trimmed base has other rows); target attention and MLP layers only")
        side = "A" if name.endswith(_A) else "B" if name.endswith(_B) else None
        if side is None:
            raise ConversionError(f"{weights}: tensor {name} is not a LoRA A or B matrix (DoRA magnitudes, "
                                  "saved modules and biases have no place in a llama.cpp LoRA)")
        if entry.dtype not in FLOAT_DTYPES or len(entry.shape) != 2:
            raise ConversionError(f"{weights}: tensor {name} is {entry.dtype}{list(entry.shape)}; a LoRA "
                                  "matrix is a 2-D float tensor")
        hf_name = name.removeprefix(_PEFT_PREFIX).removesuffix(_A).removesuffix(_B) + ".weight"
        halves.setdefault(hf_name, {})[side] = name
    if not halves:
        raise ConversionError(f"{weights}: no LoRA tensors")
    pairs = []
    for hf_name, sides in halves.items():
        if len(sides) != 2:
            missing = "lora_B" if "A" in sides else "lora_A"
            raise ConversionError(f"{weights}: {hf_name} has no {missing} matrix (incomplete adapter)")
        gguf_name = name_map.get_name(hf_name, try_suffixes=(".weight",))
        if gguf_name is None:
            raise ConversionError(f"{weights}: {hf_name} has no place in a {arch} model (an adapter of "
                                  "another architecture?)")
        pair = LoraPair(hf_name, gguf_name, sides["A"], sides["B"])
        _check_shapes(pair, checkpoint, base)
        pairs.append(pair)
    return pairs


def _check_shapes(pair: LoraPair, checkpoint: Checkpoint, base: GGUFFile) -> None:
    weights = checkpoint.files[0]
    target = base.tensors.get(pair.gguf_name)
    if target is None:
        raise ConversionError(f"{base.path}: has no tensor {pair.gguf_name}, which the adapter's {pair.hf_name} "
                              "adapts (the adapter of another model?)")
    rank, n_in = checkpoint.entries[pair.a_name].shape
    n_out, rank_b = checkpoint.entries[pair.b_name].shape
    if rank != rank_b:
        raise ConversionError(f"{weights}: {pair.a_name} has rank {rank} but {pair.b_name} has rank {rank_b}")
    if len(target.shape) != 2 or target.shape != (n_in, n_out):
        base_shape = "x".join(map(str, target.shape[::-1]))
        raise ConversionError(
            f"{base.path}: tensor {pair.gguf_name} is {base_shape} (out x in), the adapter's {pair.hf_name} is "
            f"{n_out}x{n_in}: the adapter was trained on another model")


def adapter_tensor_type(shape: tuple[int, ...], out_type: str) -> gguf.GGMLQuantizationType:
    """The type a matrix is written in: a row that is not whole q8_0 blocks (B's rows are r long) falls back
    to f16, as llama.cpp's converter does."""
    qtype = ADAPTER_TYPES[out_type]
    block, _ = gguf.GGML_QUANT_SIZES[qtype]
    return qtype if shape[-1] % block == 0 else Q.F16


def convert_lora(
    adapter_dir: Path,
    base_gguf: Path,
    output: Path,
    out_type: str = "f16",
    name: str | None = None,
    force: bool = False,
) -> LoraConversion:
    """Write the GGUF LoRA adapter of the peft folder `adapter_dir` for the model `base_gguf` (atomically)."""
    adapter_dir, base_gguf, output = Path(adapter_dir), Path(base_gguf), Path(output)
    if out_type not in ADAPTER_TYPES:
        raise ConversionError(f"--type {out_type!r}: an adapter is written as {', '.join(ADAPTER_TYPES)}")
    config = read_adapter_config(adapter_dir)
    checkpoint = adapter_checkpoint(adapter_dir)
    base = read_base(base_gguf)
    arch = str(base.metadata.get("general.architecture", ""))
    converter = converter_class_for_gguf_arch(arch, base_gguf)
    pairs = plan_pairs(checkpoint, base, converter)
    check_output_free(output, force)

    alpha = float(config["lora_alpha"])
    writer = gguf.GGUFWriter(path=None, arch=arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    # llama.cpp scales each pair by alpha / rank (the rank read from the tensor), as peft does without rsLoRA.
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    writer.add_name(name or adapter_dir.resolve().name)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    parameters = 0
    for pair in pairs:
        lora_a = checkpoint.load_f32(pair.a_name)
        lora_b = converter.modify_lora_b(pair.hf_name, checkpoint.load_f32(pair.b_name), base.metadata)
        for suffix, matrix in ((".lora_a", lora_a), (".lora_b", lora_b)):
            qtype = adapter_tensor_type(matrix.shape, out_type)
            writer.add_tensor(pair.gguf_name + suffix, encode(matrix, qtype), raw_dtype=qtype)
            parameters += matrix.size
    with atomic_path(output, suffix=".tmp") as tmp:
        try:
            writer.write_header_to_file(path=tmp)
            writer.write_kv_data_to_file()
            writer.write_tensors_to_file()
        finally:
            writer.close()
    return LoraConversion(output, arch, alpha, len(pairs), parameters)


def lora_file_type(lora_gguf: Path) -> str:
    """"f32", "f16" or "q8_0": the widest-spread type of an adapter's A matrices (llama.cpp's converter
    writes no general.file_type for adapters)."""
    adapter = read_gguf(lora_gguf, max_array=0)
    types = {t.type for n, t in adapter.tensors.items() if n.endswith(".lora_a")}
    for label, qtype in ADAPTER_TYPES.items():
        if types == {qtype}:
            return label
    return "+".join(sorted(t.name.lower() for t in types)) or "empty"
