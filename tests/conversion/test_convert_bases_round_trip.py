"""The real bases: import-gguf -> alma-convert against llama.cpp's own converter, and HF vs llama.cpp.

Round trip (needs llama.cpp's converter source, else skipped with the command that fetches it): our f16
of the import-gguf export must equal what llama.cpp's convert_hf_to_gguf.py writes for the same folder
(tensors byte for byte, every key but naming and alma.*), and llama.cpp's converter must read our
tokenizer files back to exactly the source GGUF's tokenizer metadata (tokens, scores, types, merges,
special ids, add_bos ...). Then the real Gemma 3 f16 must pass `alma-convert verify` and quantize.
"""

from __future__ import annotations

import gguf
import pytest
from base_exports import base_gguf, base_hf_export
from convert_helpers import (
    NAMING_KEYS,
    OURS_ONLY_KEYS,
    THREADS,
    gguf_differences,
    run_cli,
    run_llama_cpp_converter,
    tokenizer_metadata,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gemma3_f16(tmp_path_factory):
    path = tmp_path_factory.mktemp("gemma3-real") / "gemma3-270m-f16.gguf"
    assert run_cli(base_hf_export("gemma3-270m"), "-o", path, "--type", "f16") == 0
    return path


@pytest.mark.parametrize("base", ["gemma3-270m", "smollm2-135m"])
def test_round_trip_matches_llama_cpp_converter(llama_cpp_converter, gemma3_f16, base, tmp_path):
    export = base_hf_export(base)
    if base == "gemma3-270m":
        ours = gemma3_f16
    else:
        ours = tmp_path / "ours.gguf"
        assert run_cli(export, "-o", ours) == 0
    theirs = tmp_path / "theirs.gguf"
    run_llama_cpp_converter(llama_cpp_converter, export, theirs, "f16")
    assert gguf_differences(ours, theirs, ignore=OURS_ONLY_KEYS | NAMING_KEYS) == []

    source = tokenizer_metadata(base_gguf(base))
    read_back = tokenizer_metadata(theirs)
    assert sorted(read_back) == sorted(source)
    for key in source:
        assert read_back[key] == source[key], key
    kind = (source["tokenizer.ggml.model"], source["tokenizer.ggml.pre"])
    assert kind == {"gemma3-270m": ("llama", "default"), "smollm2-135m": ("gpt2", "smollm")}[base]


def test_real_gemma3_f16_verifies(gemma3_f16):
    from convert.verify import verify_gguf

    report = verify_gguf(base_hf_export("gemma3-270m"), gemma3_f16, threads=THREADS)
    print(report.summary())
    assert report.tokens_match and report.passed, report.summary()
    assert report.real_top1_misses == 0 and report.positions > 120
    assert report.mean_kl < 1e-3, report.summary()


def test_real_gemma3_q4_k_m(gemma3_f16, tmp_path):
    """llama.cpp's q4_k_m of the 270M: 640-wide rows take no k-quant block, so llama.cpp falls back."""
    from llama_cpp import Llama

    from convert.quantize import quantize_gguf

    path = quantize_gguf(gemma3_f16, tmp_path / "q4_k_m.gguf", "q4_k_m")
    reader = gguf.GGUFReader(path)
    assert reader.fields["general.file_type"].contents() == gguf.LlamaFileType.MOSTLY_Q4_K_M
    types = {t.name: t.tensor_type.name for t in reader.tensors}
    print({name: kind for name, kind in types.items() if name.startswith(("blk.0.", "token_embd"))})
    assert path.stat().st_size < 0.5 * gemma3_f16.stat().st_size
    llama = Llama(str(path), n_ctx=64, n_threads=THREADS, verbose=False)
    try:
        out = llama.create_completion("The capital of France is", max_tokens=4, temperature=0.0, top_k=1)
        assert out["choices"][0]["text"].strip(), out
    finally:
        llama.close()
