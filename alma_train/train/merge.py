"""Merge a LoRA adapter into its base model: a standalone HF model folder (safetensors + tokenizer).

Written in a temporary sibling and renamed into place (docs/training.md#merge).
"""

from __future__ import annotations

from pathlib import Path

from alma_core.atomic import atomic_folder
from alma_train.train.config import ConfigError
from alma_train.train.trainer import copy_tokenizer_files, resolve_model_dir


def adapter_base(adapter_dir: Path) -> str:
    """The base model folder an adapter was trained on, as peft recorded it in adapter_config.json."""
    import json

    recorded = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    base = recorded.get("base_model_name_or_path")
    if not base or not Path(base).is_dir():
        raise ConfigError(f"{adapter_dir}/adapter_config.json names no base folder on this machine "
                          f"({base!r}): give the base with --base")
    return str(base)


def merge_adapter(base: str | None, adapter: str | Path, output: str | Path) -> Path:
    """Write base + adapter, merged, to output; returns the output folder.

    base: a base name, an HF folder, or None for the folder the adapter was trained on.
    """
    adapter_dir = Path(adapter).expanduser()
    if not (adapter_dir / "adapter_config.json").is_file():
        raise FileNotFoundError(f"no LoRA adapter (adapter_config.json) in {adapter_dir}")
    base_dir = resolve_model_dir(base if base is not None else adapter_base(adapter_dir))
    if not (adapter_dir / "adapter_model.safetensors").is_file():
        raise FileNotFoundError(f"the adapter in {adapter_dir} has no adapter_model.safetensors")
    out = Path(output).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"output {out} already exists and is not empty; choose a new folder")

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32, use_safetensors=True,
                                                 trust_remote_code=False)
    model = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()

    with atomic_folder(out) as staging:  # replaces the (empty) output folder only when complete
        model.save_pretrained(staging, safe_serialization=True)
        # The adapter folder carries the tokenizer it was trained with; fall back to the base's.
        if not copy_tokenizer_files(adapter_dir, staging):
            copy_tokenizer_files(base_dir, staging)
    return out
