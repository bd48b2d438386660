"""Our f16/q8_0 files against what llama.cpp's own convert_hf_to_gguf.py writes for the same model.

The reference converter comes from the llama-cpp-python sdist (vendor/llama.cpp); without it on
disk these tests skip and say how to get it. Tensors must be byte-identical; metadata must be equal
except general.name (each tool spells the directory name its own way) and our alma.* keys.
"""

from __future__ import annotations

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
    # The export's own files, as import-gguf wrote them: llama.cpp's converter must read them as it
    # reads SmolLM2's published tokenizer (byte-level BPE, pre-tokenizer smollm).
    model = default_hf_dir
    ours, theirs = tmp_path / "ours.gguf", tmp_path / "theirs.gguf"
    assert run_cli(model, "-o", ours) == 0
    run_llama_cpp_converter(llama_cpp_converter, model, theirs, "f16")
    assert _differences(ours, theirs) == []
