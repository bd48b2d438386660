"""Load a model folder's tokenizer the one way every part of the project does.

Why `fix_mistral_regex=False`: docs/training.md#quick-start-cpu-the-default-model-minutes.
"""

from __future__ import annotations

from pathlib import Path


def load_tokenizer(model_dir: Path | str):
    """The fast tokenizer of an HF model folder (never remote code)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False, fix_mistral_regex=False)
