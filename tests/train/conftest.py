"""Fixtures of the adapter and bundle tests: a tiny random Gemma 3 with the real tokenizer, and a small real
data folder (French and Japanese from the installed catalogs)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_gemma3(tmp_path_factory) -> Path:
    from base_exports import base_hf_export
    from tiny_model import build_tiny_gemma3

    return build_tiny_gemma3(tmp_path_factory.mktemp("tiny-gemma3") / "model", base_hf_export("gemma3-270m"))


@pytest.fixture(scope="session")
def fr_ja_data(tmp_path_factory) -> Path:
    """parallel/{fr,ja}-en/ with 8 train pairs per source and 16 held-out pairs: read only (copy it to change it)."""
    from alma_train.data.demo_data import build_parallel

    root = tmp_path_factory.mktemp("data")
    build_parallel(root / "parallel", languages=["fr", "ja"], max_train_pairs_per_source=8, heldout_pairs=16)
    return root
