"""Where alma-local keeps things on the user's machine (cache: re-creatable; data: the user's own), and every
environment variable that moves them."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_DIR_ENV = "ALMA_LOCAL_CACHE"  # the cache folder
DATA_DIR_ENV = "ALMA_LOCAL_DATA"  # the user data folder
DEFAULT_MODEL_ENV = "ALMA_LOCAL_DEFAULT_MODEL"  # a GGUF that translates when no model is set
MMAP_ENV = "ALMA_LOCAL_MMAP"  # 1: llama.cpp maps the GGUF instead of reading it (desktop.engine)
CACHE_MAX_ROWS_ENV = "ALMA_LOCAL_CACHE_MAX_ROWS"  # the translation cache's row cap
BASE_GGUF_ENV_PREFIX = "ALMA_LOCAL_BASE_"  # + base name (GEMMA3_270M): a base's GGUF file


def base_gguf_env(base_name: str) -> str:
    """The variable that points base `base_name` at a GGUF file (ALMA_LOCAL_BASE_GEMMA3_270M)."""
    return BASE_GGUF_ENV_PREFIX + base_name.upper().replace("-", "_")


def user_cache_dir() -> Path:
    """alma-local's cache folder ($ALMA_LOCAL_CACHE overrides the platform default)."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override)
    from platformdirs import user_cache_dir as platform_cache

    return Path(platform_cache("alma-local", appauthor=False))


def user_data_dir() -> Path:
    """alma-local's user data folder ($ALMA_LOCAL_DATA overrides the platform default)."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    from platformdirs import user_data_dir as platform_data

    return Path(platform_data("alma-local", appauthor=False))


def user_models_dir() -> Path:
    """The user model folder: the default translator `make model` builds, and tuned models."""
    return user_data_dir() / "models"


def translation_cache_path() -> Path:
    """The translation cache (SQLite)."""
    return user_data_dir() / "translation-cache.sqlite3"


def translation_memory_path() -> Path:
    """The translation memory (SQLite): the sentence pairs the user confirmed."""
    return user_data_dir() / "memory.sqlite"


def tuning_runs_dir() -> Path:
    """The folders of on-device tuning runs, one per run."""
    return user_data_dir() / "tuning"


def glossaries_dir() -> Path:
    """The app's glossaries and do-not-translate lists (index.json + one TSV each)."""
    return user_data_dir() / "glossaries"
