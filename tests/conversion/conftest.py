"""Fixtures of the conversion tests: the real default model converted once per session, a tiny
SentencePiece llama built here from real text, and llama.cpp's own converter when its source is at hand.

Nothing is mocked: the SmolLM2 files come from the real HF export of the default model; the tiny
model has random weights but a real SentencePiece tokenizer trained on Django's German and Czech
catalogs, saved exactly as a LLaMA-2 checkpoint is (safetensors + tokenizer.model).
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest
from convert_helpers import build_tiny_spm_llama, run_cli

LLAMA_CPP_PYTHON_SDIST = "llama_cpp_python-0.3.36.tar.gz"


@pytest.fixture(scope="session")
def tiny_spm_dir(tmp_path_factory) -> Path:
    return build_tiny_spm_llama(tmp_path_factory.mktemp("tiny-spm") / "tiny-llama2")


@pytest.fixture(scope="session")
def smollm_ggufs(tmp_path_factory, default_hf_dir) -> dict[str, Path]:
    """The default model's HF export converted by alma-convert to f16, q8_0 and q4_0."""
    out = tmp_path_factory.mktemp("smollm-gguf")
    paths = {}
    for out_type in ("f16", "q8_0", "q4_0"):
        paths[out_type] = out / f"smollm2-{out_type}.gguf"
        assert (
            run_cli(
                default_hf_dir,
                "--output",
                paths[out_type],
                "--type",
                out_type,
                "--language-pairs",
                "de-en,en-de",
                "--name",
                "SmolLM2 test",
            )
            == 0
        )
    return paths


@pytest.fixture(scope="session")
def smollm_reference(default_hf_dir):
    from convert.verify import HFReference

    return HFReference(default_hf_dir)


def _find_sdist() -> Path | None:
    candidates = []
    if os.environ.get("ALMA_LLAMA_CPP_SDIST"):
        candidates.append(Path(os.environ["ALMA_LLAMA_CPP_SDIST"]))
    from alma_core.paths import user_cache_dir

    candidates.append(user_cache_dir() / "reference" / LLAMA_CPP_PYTHON_SDIST)
    return next((c for c in candidates if c.exists()), None)


@pytest.fixture(scope="session")
def llama_cpp_converter(tmp_path_factory) -> Path:
    """llama.cpp's convert_hf_to_gguf.py from the llama-cpp-python sdist (extracted), or a skip.

    No wheel ships the script and tests never reach the network, so the sdist must be on disk: at
    $ALMA_LLAMA_CPP_SDIST or in alma-local's cache (see docs/convert.md for the one pip command).
    """
    sdist = _find_sdist()
    if sdist is None:
        pytest.skip(
            "llama.cpp's converter is not on disk: run `pip download --no-deps --no-binary :all: "
            "llama-cpp-python==0.3.36 -d ~/.cache/alma-local/reference` once (or set ALMA_LLAMA_CPP_SDIST)"
        )
    if sdist.is_dir():
        root = sdist
    else:
        target = tmp_path_factory.mktemp("llama-cpp-src")
        prefix = sdist.name.removesuffix(".tar.gz") + "/vendor/llama.cpp/"
        wanted = (prefix + "convert_hf_to_gguf.py", prefix + "convert_lora_to_gguf.py", prefix + "conversion/",
                  prefix + "gguf-py/gguf/")
        with tarfile.open(sdist) as archive:
            members = [m for m in archive.getmembers() if m.name.startswith(wanted)]
            archive.extractall(target, members=members, filter="data")
        root = target / prefix
    script = Path(root) / "convert_hf_to_gguf.py"
    if not script.is_file():
        pytest.skip(f"{sdist} has no vendor/llama.cpp/convert_hf_to_gguf.py")
    return script


@pytest.fixture(scope="session")
def llama_cpp_lora_converter(llama_cpp_converter) -> Path:
    """llama.cpp's convert_lora_to_gguf.py, beside its convert_hf_to_gguf.py (same sdist), or a skip."""
    script = llama_cpp_converter.parent / "convert_lora_to_gguf.py"
    if not script.is_file():
        pytest.skip(f"{llama_cpp_converter.parent} has no convert_lora_to_gguf.py")
    return script
