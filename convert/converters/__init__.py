"""One converter class per HF architecture, found by the name in config.json (as llama.cpp's converter is
organised); a new family is a new module, never a branch in an existing one (docs/convert.md)."""

from __future__ import annotations

from pathlib import Path

import gguf

from convert.converters import gemma3, llama  # noqa: F401  (importing registers the classes)
from convert.converters.base import ModelConverter, read_config, refuse_quantized
from convert.converters.registry import CONVERTERS
from convert.errors import ConversionError


def converter_for(model_dir: Path) -> ModelConverter:
    """The converter of the HF model in `model_dir`, by its config.json (ConversionError if none fits)."""
    model_dir = Path(model_dir)
    config = read_config(model_dir)
    config_path = model_dir / "config.json"
    architectures = config.get("architectures") or []
    cls = next((CONVERTERS[name] for name in architectures if name in CONVERTERS), None)
    if cls is None:
        found = ", ".join(architectures) or f"model_type {config.get('model_type')!r}"
        handled = "; ".join(
            f"{' / '.join(c.hf_architectures)} ({c.families})" for c in dict.fromkeys(CONVERTERS.values())
        )
        raise ConversionError(
            f"{config_path}: unsupported architecture {found}; alma-convert handles {handled}"
        )
    refuse_quantized(config, config_path)
    return cls(model_dir, config)


def converter_class_for_gguf_arch(arch: str, gguf_path: Path) -> type[ModelConverter]:
    """The converter class of a llama.cpp architecture name (a base GGUF's general.architecture)."""
    for cls in dict.fromkeys(CONVERTERS.values()):
        if gguf.MODEL_ARCH_NAMES[cls.gguf_arch] == arch:
            return cls
    handled = ", ".join(gguf.MODEL_ARCH_NAMES[c.gguf_arch] for c in dict.fromkeys(CONVERTERS.values()))
    raise ConversionError(f"{gguf_path}: general.architecture {arch!r} is not one alma-convert handles ({handled})")
