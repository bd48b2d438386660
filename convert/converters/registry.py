"""HF architecture name (config.json "architectures") -> the converter class that handles it
(docs/convert.md, "How it works")."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from convert.converters.base import ModelConverter

CONVERTERS: dict[str, type[ModelConverter]] = {}


def register(cls: type[ModelConverter]) -> type[ModelConverter]:
    """Class decorator: make `cls` the converter of each name in its hf_architectures."""
    for name in cls.hf_architectures:
        if name in CONVERTERS:
            raise ValueError(f"{name} is already handled by {CONVERTERS[name].__name__}")
        CONVERTERS[name] = cls
    return cls
