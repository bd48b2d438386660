"""GGUF -> Hugging Face directory (dequantized), so that any llama GGUF can become a training base.

transformers reads the GGUF (dequantizing every tensor and undoing llama.cpp's Q/K row order); the
weights are copied into a plain LlamaForCausalLM and saved as safetensors. The tokenizer is written
deliberately, as alma_train.default_model does for the default model: transformers' own
save_pretrained on a GGUF-loaded tokenizer copies the whole GGUF as tokenizer.model and guesses
add_bos_token; here BOS/EOS/UNK/PAD and add_bos/add_eos come from the GGUF's own metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

from convert.errors import ConversionError
from convert.output_file import atomic_dir


def gguf_tokenizer_settings(gguf_path: Path) -> dict:
    """Special token strings and add_bos/add_eos as the GGUF's tokenizer.ggml.* keys say."""
    from gguf import GGUFReader

    reader = GGUFReader(gguf_path)
    fields = reader.fields
    if "tokenizer.ggml.tokens" not in fields:
        raise ConversionError(f"{gguf_path}: the GGUF has no tokenizer (tokenizer.ggml.tokens)")
    tokens = fields["tokenizer.ggml.tokens"].contents()
    settings: dict = {}
    for attr, key in (
        ("bos_token", "tokenizer.ggml.bos_token_id"),
        ("eos_token", "tokenizer.ggml.eos_token_id"),
        ("unk_token", "tokenizer.ggml.unknown_token_id"),
        ("pad_token", "tokenizer.ggml.padding_token_id"),
    ):
        if key in fields:
            settings[attr] = tokens[int(fields[key].contents())]
    # llama.cpp's defaults when the keys are absent: SentencePiece ("llama") adds BOS, BPE does not.
    is_spm = (
        fields["tokenizer.ggml.model"].contents() == "llama" if "tokenizer.ggml.model" in fields else False
    )
    for attr, key, default in (
        ("add_bos_token", "tokenizer.ggml.add_bos_token", is_spm),
        ("add_eos_token", "tokenizer.ggml.add_eos_token", False),
    ):
        settings[attr] = bool(fields[key].contents()) if key in fields else default
    if "tokenizer.chat_template" in fields:
        settings["chat_template"] = fields["tokenizer.chat_template"].contents()
    architecture = fields["general.architecture"].contents() if "general.architecture" in fields else None
    if architecture != "llama":
        raise ConversionError(f"{gguf_path}: architecture {architecture!r} is not supported (llama is)")
    return settings


def import_gguf(gguf_path: Path, output_dir: Path, force: bool = False) -> Path:
    """Write a dequantized HF model (fp32 safetensors + tokenizer) of `gguf_path` to `output_dir`."""
    gguf_path, output_dir = Path(gguf_path), Path(output_dir)
    if not gguf_path.is_file():
        raise ConversionError(f"{gguf_path}: no such GGUF file")
    try:
        settings = gguf_tokenizer_settings(gguf_path)
    except (ValueError, KeyError) as error:
        raise ConversionError(f"{gguf_path}: not a readable GGUF file ({error})") from error
    with atomic_dir(output_dir, force=force) as staging:
        _write_model(gguf_path, staging)
        _write_tokenizer(gguf_path, settings, staging)
    return output_dir


def _write_model(gguf_path: Path, out_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    loaded = AutoModelForCausalLM.from_pretrained(
        str(gguf_path.parent), gguf_file=gguf_path.name, dtype=torch.float32
    )
    config_dict = loaded.config.to_dict()
    config_dict.pop("quantization_config", None)  # the saved weights are plain fp32
    config_dict.pop("_name_or_path", None)
    config_dict["architectures"] = ["LlamaForCausalLM"]
    config_dict["torch_dtype"] = "float32"
    model = LlamaForCausalLM(LlamaConfig.from_dict(config_dict))
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    missing = [k for k in missing if not (k == "lm_head.weight" and model.config.tie_word_embeddings)]
    if missing or unexpected:
        raise ConversionError(
            f"{gguf_path}: tensors do not fit a llama model (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    model.save_pretrained(out_dir, safe_serialization=True)


def _write_tokenizer(gguf_path: Path, settings: dict, out_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    backend = tokenizer.backend_tokenizer
    bos = settings.get("bos_token") if settings["add_bos_token"] else None
    eos = settings.get("eos_token") if settings["add_eos_token"] else None
    # BOS/EOS are added by the post-processor: rebuild it from what the GGUF says, not what
    # transformers guessed.
    from tokenizers import processors

    if bos or eos:
        single = " ".join(filter(None, [f"{bos}:0" if bos else None, "$A:0", f"{eos}:0" if eos else None]))
        special = [(t, backend.token_to_id(t)) for t in (bos, eos) if t]
        backend.post_processor = processors.TemplateProcessing(single=single, special_tokens=special)
    else:
        backend.post_processor = None
    backend.save(str(out_dir / "tokenizer.json"))
    special = {k: v for k, v in settings.items() if k.endswith("_token") and not k.startswith("add_")}
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "add_bos_token": settings["add_bos_token"],
        "add_eos_token": settings["add_eos_token"],
        "clean_up_tokenization_spaces": False,
        **special,
    }
    if "chat_template" in settings:
        config["chat_template"] = settings["chat_template"]
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    (out_dir / "special_tokens_map.json").write_text(json.dumps(special, indent=2, ensure_ascii=False) + "\n")
