"""The real bases' GGUFs and their HF exports by convert.import_gguf, made once and cached on disk.

Importing Gemma 3 270M (dequantizing 268M parameters, building its 262k-token tokenizer) takes minutes
on two cores, so the export is the one alma_train.train.base_export keeps in the user cache, under a name that
carries a hash of the import code: a change to that code makes a fresh export, never a stale pass.
Training, the build and these tests share it; the in-process cache makes the lookup happen once.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest


@functools.cache
def base_gguf(name: str) -> Path:
    """The GGUF of the base `name` (alma_core.models), assembled into the user cache where needed."""
    from alma_core.models import BaseNotInstalledError, get_base

    try:
        return get_base(name).gguf_path()
    except BaseNotInstalledError as error:
        # Not a skip: these tests must run everywhere the project is installed (`make venv` installs it).
        pytest.fail(f"{error}")


@functools.cache
def base_hf_export(name: str) -> Path:
    """The base's HF export as alma_train.train.base_export makes it (user cache, keyed by the import code, locked)."""
    from alma_train.train.base_export import export_base_hf

    base_gguf(name)  # a missing wheel fails here, with its install command
    return export_base_hf(name)
