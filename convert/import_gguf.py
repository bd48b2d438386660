"""GGUF -> Hugging Face directory (dequantized weights, the family's tokenizer files), so that a llama or
gemma3 GGUF can become a training base (docs/convert.md, "import-gguf")."""

from __future__ import annotations

from pathlib import Path

from alma_core.atomic import atomic_folder
from convert.errors import ConversionError, check_output_free
from convert.gguf_vocab import read_gguf_vocab
from convert.hf_tokenizer import write_hf_tokenizer

# general.architecture -> the transformers class the weights are saved as
HF_ARCHITECTURES = {"llama": "LlamaForCausalLM", "gemma3": "Gemma3ForCausalLM"}
# Bump when what import_gguf writes changes, so that cached exports (keyed by it) are rebuilt.
IMPORT_FORMAT_VERSION = 2


def import_gguf(gguf_path: Path, output_dir: Path, force: bool = False) -> Path:
    """Write a dequantized HF model (fp32 safetensors + tokenizer) of `gguf_path` to `output_dir`."""
    gguf_path, output_dir = Path(gguf_path), Path(output_dir)
    if not gguf_path.is_file():
        raise ConversionError(f"{gguf_path}: no such GGUF file")
    vocab = read_gguf_vocab(gguf_path)
    if vocab.architecture not in HF_ARCHITECTURES:
        raise ConversionError(
            f"{gguf_path}: architecture {vocab.architecture!r} is not supported "
            f"({', '.join(HF_ARCHITECTURES)} are)"
        )
    check_output_free(output_dir, force)
    with atomic_folder(output_dir) as staging:
        _write_model(gguf_path, HF_ARCHITECTURES[vocab.architecture], staging)
        write_hf_tokenizer(vocab, staging)
    return output_dir


def _write_model(gguf_path: Path, class_name: str, out_dir: Path) -> None:
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    loaded = AutoModelForCausalLM.from_pretrained(
        str(gguf_path.parent), gguf_file=gguf_path.name, dtype=torch.float32
    )
    model_class = getattr(transformers, class_name)
    if not isinstance(loaded, model_class):
        raise ConversionError(
            f"{gguf_path}: transformers read it as {type(loaded).__name__}, not {class_name}"
        )
    config_dict = loaded.config.to_dict()
    config_dict.pop("quantization_config", None)  # the saved weights are plain fp32
    config_dict.pop("_name_or_path", None)
    config_dict["architectures"] = [class_name]
    config_dict["torch_dtype"] = "float32"
    # A fresh model of the plain config, so that nothing of the GGUF loading path is saved with it.
    model = model_class(type(loaded.config).from_dict(config_dict))
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    del loaded
    missing = [k for k in missing if not (k == "lm_head.weight" and model.config.tie_word_embeddings)]
    if missing or unexpected:
        raise ConversionError(
            f"{gguf_path}: tensors do not fit {class_name} (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    model.save_pretrained(out_dir, safe_serialization=True)
