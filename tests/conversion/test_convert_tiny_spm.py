"""A tiny LLaMA-2-shaped model (SentencePiece, GQA, untied head, bf16) through convert, verify, import."""

from __future__ import annotations

import gguf
import numpy as np
import pytest
from convert_helpers import THREADS, run_cli

from convert.verify import VERIFY_TEXTS, HFReference, verify_gguf


@pytest.fixture(scope="module")
def tiny_reference(tiny_spm_dir):
    return HFReference(tiny_spm_dir)


@pytest.fixture(scope="module")
def tiny_ggufs(tiny_spm_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny-gguf")
    paths = {t: out / f"tiny-{t}.gguf" for t in ("f16", "q8_0", "q4_0")}
    for out_type, path in paths.items():
        assert run_cli(tiny_spm_dir, "-o", path, "--type", out_type) == 0
    return paths


def test_tiny_spm_metadata(tiny_ggufs, tiny_spm_dir):
    import sentencepiece as spm

    reader = gguf.GGUFReader(tiny_ggufs["f16"])
    fields = {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    assert fields["tokenizer.ggml.model"] == "llama"
    assert fields["tokenizer.ggml.add_bos_token"] is True
    assert fields["tokenizer.ggml.bos_token_id"] == 1 and fields["tokenizer.ggml.eos_token_id"] == 2
    assert fields["llama.attention.head_count"] == 4 and fields["llama.attention.head_count_kv"] == 2
    processor = spm.SentencePieceProcessor(model_file=str(tiny_spm_dir / "tokenizer.model"))
    assert fields["tokenizer.ggml.tokens"][3:300] == [processor.IdToPiece(i) for i in range(3, 300)]
    assert fields["tokenizer.ggml.token_type"][3] == gguf.TokenType.BYTE  # <0x00>
    names = {t.name for t in reader.tensors}
    assert "output.weight" in names  # untied head is written


@pytest.mark.parametrize("out_type", ["f16", "q8_0", "q4_0"])
def test_tiny_spm_verifies(tiny_ggufs, tiny_reference, tiny_spm_dir, out_type):
    report = verify_gguf(tiny_spm_dir, tiny_ggufs[out_type], reference=tiny_reference, threads=THREADS)
    print(report.summary())
    assert report.tokens_match, report.summary()
    assert report.passed
    if out_type == "f16":
        assert report.real_top1_misses == 0
        assert report.max_abs_diff < 0.05 and report.mean_kl < 1e-5


def test_cli_verify_exit_codes(tiny_ggufs, tiny_spm_dir, tmp_path, monkeypatch, capsys):
    assert run_cli("verify", tiny_spm_dir, tiny_ggufs["f16"], "--threads", THREADS) == 0
    assert "PASS" in capsys.readouterr().out
    # A converter that forgot llama.cpp's rope row order must be caught by verify (exit 1).
    import convert.converters.llama as llama_converter

    monkeypatch.setattr(llama_converter, "permute_for_rope", lambda weight, n_heads: weight)
    broken = tmp_path / "no-permute.gguf"
    assert run_cli(tiny_spm_dir, "-o", broken) == 0
    assert run_cli("verify", tiny_spm_dir, broken, "--threads", THREADS) == 1
    assert "FAIL" in capsys.readouterr().out


def test_import_gguf_round_trip(tiny_ggufs, tiny_spm_dir, tiny_reference, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "imported"
    assert run_cli("import-gguf", tiny_ggufs["f16"], "--output", out) == 0
    imported = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32, use_safetensors=True)
    original = tiny_reference.model.state_dict()
    for name, value in imported.state_dict().items():
        # bf16 weights pass through f16 exactly (up to f16's subnormal range)
        np.testing.assert_allclose(value.numpy(), original[name].numpy(), atol=1e-4, rtol=0, err_msg=name)
    tokenizer = AutoTokenizer.from_pretrained(out)
    for text in VERIFY_TEXTS:
        assert tokenizer.encode(text) == tiny_reference.tokenizer.encode(text)
    assert run_cli("import-gguf", tiny_ggufs["f16"], "--output", out) == 2  # exists, no --force


@pytest.mark.parametrize("out_type", ["f32", "bf16"])
def test_tiny_spm_other_direct_types(tiny_spm_dir, tiny_reference, tmp_path, out_type):
    path = tmp_path / f"tiny-{out_type}.gguf"
    assert run_cli(tiny_spm_dir, "-o", path, "--type", out_type) == 0
    report = verify_gguf(
        tiny_spm_dir, path, texts=VERIFY_TEXTS[:2], reference=tiny_reference, threads=THREADS
    )
    assert report.file_type == out_type and report.tokens_match
    assert report.real_top1_misses == 0 and report.mean_kl < 1e-5, report.summary()


def test_every_llama_cpp_quantization_type(tiny_ggufs, tmp_path):
    """Each lower-bit type goes through llama.cpp's quantizer and says so in general.file_type."""
    from llama_cpp import Llama

    from convert.quantize import QUANTIZED_TYPES, quantize_gguf
    from convert.verify import file_type_name

    for out_type in QUANTIZED_TYPES:
        path = quantize_gguf(tiny_ggufs["f16"], tmp_path / f"{out_type}.gguf", out_type)
        llama = Llama(str(path), n_ctx=32, verbose=False, vocab_only=True)
        assert file_type_name(int(llama.metadata["general.file_type"])) == out_type
        llama.close()


ROPE_SCALINGS = {
    "linear": {"rope_type": "linear", "factor": 2.0},
    "llama3": {
        "rope_type": "llama3",
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 64,
    },
    "yarn": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64},
}


@pytest.mark.parametrize("kind", sorted(ROPE_SCALINGS))
def test_rope_scaling_reaches_llama_cpp(tiny_spm_dir, tmp_path, kind):
    """Texts longer than the original 64 positions come out the same as HF's under each rope scaling."""
    import json

    model = tmp_path / f"tiny-{kind}"
    model.mkdir()
    for item in tiny_spm_dir.iterdir():
        if item.name != "config.json":
            (model / item.name).symlink_to(item)
    config = json.loads((tiny_spm_dir / "config.json").read_text())
    config["rope_scaling"] = ROPE_SCALINGS[kind]
    (model / "config.json").write_text(json.dumps(config))
    path = tmp_path / f"{kind}.gguf"
    assert run_cli(model, "-o", path) == 0
    texts = (VERIFY_TEXTS[0], VERIFY_TEXTS[3])  # 84 and 129 tokens
    report = verify_gguf(model, path, texts=texts, threads=THREADS)
    assert report.positions > 200 and report.real_top1_misses == 0, report.summary()
    assert report.max_abs_diff < 0.05, report.summary()
    names = {t.name for t in gguf.GGUFReader(path).tensors}
    assert ("rope_freqs.weight" in names) == (kind == "llama3")


@pytest.mark.parametrize("out_type", ["f16", "q8_0"])
def test_slab_streaming_gives_the_same_bytes(tiny_spm_dir, tiny_ggufs, tmp_path, monkeypatch, out_type):
    """Slabs as small as one head (Q/K) or one row: the file must not change by a byte."""
    import convert.converters.base as converter_base

    monkeypatch.setattr(converter_base, "_SLAB_ELEMENTS", 64)
    path = tmp_path / "slabbed.gguf"
    assert run_cli(tiny_spm_dir, "-o", path, "--type", out_type) == 0
    assert path.read_bytes() == tiny_ggufs[out_type].read_bytes()
