"""Our f16/q8_0 files against what llama.cpp's own convert_hf_to_gguf.py writes for the same model.

The reference converter comes from the llama-cpp-python sdist (vendor/llama.cpp); without it on
disk these tests skip and say how to get it. Tensors must be byte-identical; metadata must be equal
except general.name (each tool spells the directory name its own way) and our alma.* keys.
"""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import pytest
from convert_helpers import NAMING_KEYS, OURS_ONLY_KEYS, gguf_differences, run_cli, run_llama_cpp_converter

pytestmark = pytest.mark.slow


def _differences(ours: Path, reference: Path) -> list[str]:
    assert gguf.GGUFReader(ours).fields["general.architecture"].contents() == "llama"
    return gguf_differences(ours, reference, ignore=OURS_ONLY_KEYS | NAMING_KEYS)


@pytest.mark.parametrize("out_type", ["f16", "q8_0"])
def test_tiny_spm_matches_llama_cpp_converter(llama_cpp_converter, tiny_spm_dir, tmp_path, out_type):
    ours, theirs = tmp_path / "ours.gguf", tmp_path / "theirs.gguf"
    assert run_cli(tiny_spm_dir, "-o", ours, "--type", out_type) == 0
    run_llama_cpp_converter(llama_cpp_converter, tiny_spm_dir, theirs, out_type)
    assert _differences(ours, theirs) == []


def test_smollm2_f16_matches_llama_cpp_converter(llama_cpp_converter, default_hf_dir, tmp_path):
    # The default export's tokenizer.json carries transformers' GGUF-loader artefacts (byte_fallback
    # and a SentencePiece-style decoder) that make llama.cpp's converter take SmolLM2 for a
    # SentencePiece vocabulary; give both tools the tokenizer.json SmolLM2 itself ships (plain
    # byte-level BPE). The weights are the export's own file.
    model = tmp_path / "SmolLM2"
    model.mkdir()
    for item in default_hf_dir.iterdir():
        if item.name != "tokenizer.json":
            (model / item.name).symlink_to(item)
    spec = json.loads((default_hf_dir / "tokenizer.json").read_text())
    spec["model"]["byte_fallback"] = False
    spec["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    (model / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False))

    ours, theirs = tmp_path / "ours.gguf", tmp_path / "theirs.gguf"
    assert run_cli(model, "-o", ours) == 0
    run_llama_cpp_converter(llama_cpp_converter, model, theirs, "f16")
    assert _differences(ours, theirs) == []
