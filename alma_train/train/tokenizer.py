"""Load a model folder's tokenizer the one way every part of the project does.

transformers 4.57.3 to 4.57.6 takes any local folder whose config.json was written by those versions
for a Mistral tokenizer with a broken pre-tokenizer regex and warns "incorrect regex pattern ... This
will lead to incorrect tokenization" on every load (its check compares the writing version, not the
tokenizer). Our folders are Gemma 3 and llama tokenizers written by convert.import_gguf and tested
token for token against llama.cpp; saying so (fix_mistral_regex=False) silences the false alarm
without changing a single id.
"""

from __future__ import annotations

from pathlib import Path


def load_tokenizer(model_dir: Path | str):
    """The fast tokenizer of an HF model folder (never remote code)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False, fix_mistral_regex=False)
