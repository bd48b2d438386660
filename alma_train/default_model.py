"""Which model translates when none is set, and the SmolLM2 HF export the tests train on.

The app, `alma-translate` and the Tune view all ask `resolve_translation_model()`, which takes, in
order:
1. $ALMA_LOCAL_DEFAULT_MODEL, when set (a GGUF path; for tests and for users who want to pin one);
2. the default translator `make model` (alma-train build-translator) built into the user model folder;
3. inside a packaged bundle, the translator (or base) the bundle carries;
4. the best installed base, zero-shot (alma_train.bases: Gemma 3 270M first, then SmolLM2-135M).

All of it is torch-free (the desktop bundle uses it). The SmolLM2 HF export below imports torch and
transformers lazily.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from alma_train.user_dirs import user_cache_dir, user_models_dir

__all__ = ["DEFAULT_TRANSLATOR_FILE", "DefaultModelMissingError", "ModelChoice", "default_gguf_path",
           "default_translator_path", "resolve_translation_model", "user_cache_dir", "user_models_dir"]

DEFAULT_MODEL_ENV = "ALMA_LOCAL_DEFAULT_MODEL"
# The file `alma-train build-translator` writes into the user model folder (and a bundle carries).
DEFAULT_TRANSLATOR_FILE = "default-translator.gguf"
DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
# Bump when the export changes, so that a stale cached export is not reused.
EXPORT_VERSION = 2


class DefaultModelMissingError(FileNotFoundError):
    """No model to translate with: no translator built, none bundled, no base installed."""


@dataclass(frozen=True)
class ModelChoice:
    """The model used when none is set, and why (origin: environment, built, bundled or base)."""

    path: Path
    origin: str
    description: str


def default_translator_path() -> Path:
    """Where `make model` puts the default translator (it may not exist yet)."""
    return user_models_dir() / DEFAULT_TRANSLATOR_FILE


def _bundled_model() -> Path | None:
    bundle_root = getattr(sys, "_MEIPASS", None)  # set inside a PyInstaller bundle
    if bundle_root is None:
        return None
    from alma_train.bases import BASES, DEFAULT_BASE

    folder = Path(bundle_root) / "models"
    names = [DEFAULT_TRANSLATOR_FILE, BASES[DEFAULT_BASE].gguf_name, *(b.gguf_name for b in BASES.values())]
    return next((folder / name for name in names if (folder / name).is_file()), None)


def resolve_translation_model() -> ModelChoice:
    """The GGUF to translate with when no model is set (see the module docstring for the order)."""
    override = os.environ.get(DEFAULT_MODEL_ENV)
    if override:
        if not Path(override).is_file():
            raise DefaultModelMissingError(f"{DEFAULT_MODEL_ENV}={override}: no such file")
        return ModelChoice(Path(override), "environment", f"set by {DEFAULT_MODEL_ENV}")
    built = default_translator_path()
    if built.is_file():
        return ModelChoice(built, "built", "the default translator built by `make model`")
    bundled = _bundled_model()
    if bundled is not None:
        return ModelChoice(bundled, "bundled", "the model this package carries")
    from alma_train.bases import BaseNotInstalledError, best_installed_base

    base = best_installed_base()
    if base is None:
        raise DefaultModelMissingError(
            "no model to translate with: build one with `make model`, or install a base "
            "(see `alma-train bases`), or pass a GGUF with -m"
        )
    try:
        return ModelChoice(base.gguf_path(), "base", f"the base {base.name}, zero-shot (no translator built)")
    except BaseNotInstalledError as exc:
        raise DefaultModelMissingError(str(exc)) from None


def default_gguf_path() -> Path:
    """The GGUF used when no model is set (resolve_translation_model's choice)."""
    return resolve_translation_model().path


def default_hf_dir() -> Path:
    """Where the HF export of SmolLM2-135M (the fast model of the tests) lives (it may not exist yet)."""
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
    from alma_train.bases import get_base

    gguf_path = get_base("smollm2-135m").gguf_path()
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
