"""alma.* keys added to a finished GGUF: every other key and every tensor unchanged, llama.cpp loads it."""

from __future__ import annotations

import gguf
import numpy as np
import pytest

from alma_core.gguf_file import read_model_info
from convert.errors import ConversionError
from convert.gguf_metadata import copy_with_metadata


def test_copy_adds_keys_and_keeps_everything_else(default_gguf, tmp_path):
    out = tmp_path / "scored.gguf"
    scores = {"out-of-source": {"chrf": 41.5, "bleu": 17.25, "segments": 400}}
    copy_with_metadata(default_gguf, out, {"alma.scores": scores, "alma.training_steps": 120,
                                                   "alma.base": "smollm2-135m"})
    info = read_model_info(out)
    assert info["alma.base"] == "smollm2-135m" and info["alma.training_steps"] == 120
    import json

    assert json.loads(info["alma.scores"]) == scores
    before, after = gguf.GGUFReader(default_gguf), gguf.GGUFReader(out)
    for name, field in before.fields.items():
        if not name.startswith("GGUF."):
            assert after.fields[name].contents() == field.contents(), name
    assert [t.name for t in before.tensors] == [t.name for t in after.tensors]
    for a, b in zip(before.tensors, after.tensors, strict=True):
        assert a.tensor_type == b.tensor_type and np.array_equal(np.asarray(a.data), np.asarray(b.data)), a.name

    from llama_cpp import Llama

    llm = Llama(str(out), n_ctx=64, n_threads=2, verbose=False)
    assert llm.tokenize(b"Hallo") == Llama(str(default_gguf), vocab_only=True, verbose=False).tokenize(b"Hallo")


def test_copy_refuses_existing_output_and_bad_input(default_gguf, tmp_path):
    existing = tmp_path / "x.gguf"
    existing.write_bytes(b"keep me")
    with pytest.raises(ConversionError, match="already exists"):
        copy_with_metadata(default_gguf, existing, {"alma.base": "x"})
    assert existing.read_bytes() == b"keep me"
    not_gguf = tmp_path / "not.gguf"
    not_gguf.write_bytes(b"\0" * 64)
    with pytest.raises(ConversionError, match="not a readable GGUF"):
        copy_with_metadata(not_gguf, tmp_path / "y.gguf", {"alma.base": "x"})
    assert not (tmp_path / "y.gguf").exists() and len(list(tmp_path.iterdir())) == 2
