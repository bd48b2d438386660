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

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from alma_train.user_dirs import user_cache_dir, user_models_dir

__all__ = ["DEFAULT_TRANSLATOR_FILE", "DefaultModelMissingError", "ModelChoice", "default_gguf_path",
           "default_translator_path", "resolve_translation_model", "user_cache_dir", "user_models_dir"]

DEFAULT_MODEL_ENV = "ALMA_LOCAL_DEFAULT_MODEL"
# The file `alma-train build-translator` writes into the user model folder (and a bundle carries).
DEFAULT_TRANSLATOR_FILE = "default-translator.gguf"


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
    from alma_train.bases import get_base

    return get_base("smollm2-135m").hf_dir()


def export_default_hf(output_dir: Path | None = None, force: bool = False) -> Path:
    """The HF export of SmolLM2-135M: in the user cache (alma_train.bases), or written to output_dir."""
    from alma_train.bases import export_base_hf, get_base

    if output_dir is None:
        return export_base_hf("smollm2-135m", force=force)
    from convert.import_gguf import import_gguf

    return import_gguf(get_base("smollm2-135m").gguf_path(), Path(output_dir), force=force)
