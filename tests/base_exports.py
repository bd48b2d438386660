"""The real bases' GGUFs and their HF exports by convert.import_gguf, made once and cached on disk.

Importing Gemma 3 270M (dequantizing 268M parameters, building its 262k-token tokenizer) takes minutes
on two cores, so the export is kept in the user cache under a name that carries a hash of the import
code: a change to that code makes a fresh export, never a stale pass. Tests in several folders use
these functions (each through its own fixture); the in-process cache makes the work happen once per
session, the disk cache once per code version.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import shutil
from pathlib import Path

import pytest

# The modules whose output the export is; their source is hashed into the cache folder's name.
_IMPORT_MODULES = ("import_gguf.py", "hf_tokenizer.py", "gguf_vocab.py", "sentencepiece_model.py")


def _import_code_hash() -> str:
    import convert

    digest = hashlib.sha256()
    for name in _IMPORT_MODULES:
        digest.update((Path(convert.__file__).parent / name).read_bytes())
    return digest.hexdigest()[:12]


@functools.cache
def base_gguf(name: str) -> Path:
    """The GGUF of the base `name` (alma_train.bases), assembled into the user cache where needed."""
    from alma_train.bases import BaseNotInstalledError, get_base

    try:
        return get_base(name).gguf_path()
    except BaseNotInstalledError as error:
        # Not a skip: these tests must run everywhere the project is installed (`make venv` installs it).
        pytest.fail(f"{error}")


@functools.cache
def base_hf_export(name: str) -> Path:
    """import_gguf(base GGUF) in the user cache, keyed by the import code; older exports are removed."""
    from alma_train.user_dirs import user_cache_dir
    from convert.import_gguf import import_gguf

    gguf_path = base_gguf(name)
    folder = user_cache_dir() / "test-exports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}-{_import_code_hash()}"
    # Other test sessions in the same tree may export at the same time: one at a time per base.
    with open(folder / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "config.json").is_file() and (target / "tokenizer_config.json").is_file():
            return target
        for stale in folder.glob(f"{name}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        return import_gguf(gguf_path, target, force=True)
