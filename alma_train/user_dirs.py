"""Where alma-local keeps things on the user's machine (torch-free; the desktop bundle uses it).

- cache (re-creatable: HF exports of the bases, assembled base GGUFs, the llama.cpp reference):
  $ALMA_LOCAL_CACHE, else the platform's user cache dir.
- data (the user's own: models they built or tuned, the translation cache, tuning runs):
  $ALMA_LOCAL_DATA, else the platform's user data dir. Models live in its models/ folder.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_DIR_ENV = "ALMA_LOCAL_CACHE"
DATA_DIR_ENV = "ALMA_LOCAL_DATA"


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
