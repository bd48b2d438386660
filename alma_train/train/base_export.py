"""The HF copy of a base that training needs: exported once from its GGUF (convert.import_gguf) into the user
cache, and what a `model:` setting resolves to (docs/training.md#quick-start-cpu-the-default-model-minutes)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alma_core.bundle import file_sha256
from alma_core.models import BASES, Base, get_base, is_base_name
from alma_core.paths import user_cache_dir

# The HF export of a base is what these modules of convert/ write: their source is hashed into the
# export folder's name, so a change to the import code makes a fresh export, never a stale one.
_IMPORT_MODULES = ("import_gguf.py", "hf_tokenizer.py", "gguf_vocab.py", "sentencepiece_model.py")


def import_code_hash() -> str:
    """A short hash of the code that writes base exports (convert.import_gguf and its helpers)."""
    import convert

    convert_dir = Path(convert.__file__).resolve().parent
    digest = hashlib.sha256()
    for name in _IMPORT_MODULES:
        digest.update((convert_dir / name).read_bytes())
    return digest.hexdigest()[:12]


def base_hf_dir(base: Base) -> Path:
    """Where the HF export of `base` lives in the user cache (it may not exist yet)."""
    return user_cache_dir() / "models" / f"{base.name}-hf-{import_code_hash()}"


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (POSIX flock; on systems without it, no lock)."""
    try:
        import fcntl
    except ImportError:  # Windows: exports may then run twice at worst
        yield
        return
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def export_base_hf(name: str, force: bool = False) -> Path:
    """The HF folder of a base, exported from its GGUF once (convert.import_gguf) and then reused.

    Exports made by older import code are removed. One process exports at a time (a lock file): two
    test sessions or a build and the app's Tune view must not do the same minutes of work twice.
    """
    base = get_base(name)
    target = base_hf_dir(base)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(target.parent / f".{base.name}-hf.lock"):
        if not force and (target / "config.json").is_file() and (target / "tokenizer_config.json").is_file():
            return target
        from convert.import_gguf import import_gguf

        gguf_path = base.gguf_path()
        for stale in target.parent.glob(f"{base.name}-hf-*"):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        return import_gguf(gguf_path, target, force=True)


def export_gguf_hf(gguf_path: Path, sha256: str) -> Path:
    """The HF folder of a GGUF with this sha256 (a bundle's base): the registry base's own export when the file
    is that base's GGUF (same sha256), else one imported once into the user cache under the hash and reused."""
    for base in BASES.values():
        try:
            if file_sha256(base.gguf_path(assemble=False)) == sha256:
                return export_base_hf(base.name)
        except (FileNotFoundError, OSError):
            continue  # not installed (BaseNotInstalledError is a FileNotFoundError)
    target = user_cache_dir() / "models" / f"gguf-{sha256[:16]}-hf-{import_code_hash()}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(target.parent / f".gguf-{sha256[:16]}-hf.lock"):
        if (target / "config.json").is_file() and (target / "tokenizer_config.json").is_file():
            return target
        from convert.import_gguf import import_gguf

        for stale in target.parent.glob(f"gguf-{sha256[:16]}-hf-*"):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        return import_gguf(gguf_path, target, force=True)


def resolve_model_dir(model: str) -> Path:
    """A training model setting: a base name (or "default") or a local HF folder with safetensors."""
    if is_base_name(model):
        return export_base_hf(model)
    path = Path(model).expanduser()
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"model folder not found or has no config.json (setting 'model'; "
                                f"bases: default, {', '.join(BASES)}): {path}")
    if not any(path.glob("*.safetensors")):
        raise FileNotFoundError(f"model folder has no .safetensors weights (setting 'model'): {path}")
    return path


def default_hf_dir() -> Path:
    """Where the HF export of SmolLM2-135M (the fast model of the tests) lives (it may not exist yet)."""
    return base_hf_dir(get_base("smollm2-135m"))


def export_default_hf(output_dir: Path | None = None, force: bool = False) -> Path:
    """The HF export of SmolLM2-135M: in the user cache, or written to output_dir."""
    if output_dir is None:
        return export_base_hf("smollm2-135m", force=force)
    from convert.import_gguf import import_gguf

    return import_gguf(get_base("smollm2-135m").gguf_path(), Path(output_dir), force=force)
