"""Hugging Face model directory -> GGUF file: the entry point of `alma-convert MODEL_DIR`, done by the
converter class of the model's architecture (docs/convert.md)."""

from __future__ import annotations

from pathlib import Path

from convert.converters import converter_for
from convert.converters.base import DIRECT_TYPES, ConversionMetadata
from convert.errors import ConversionError

__all__ = ["DIRECT_TYPES", "ConversionMetadata", "convert_hf_to_gguf"]


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
    if not model_dir.is_dir():
        raise ConversionError(f"{model_dir}: not a directory")
    if output.exists() and not force:
        raise ConversionError(f"{output} already exists; pass --force to overwrite it")
    return converter_for(model_dir).convert(output, out_type, metadata, force=force)
