"""The gemma3 converter class on a tiny Gemma3ForCausalLM (random weights, Gemma 3's real tokenizer).

Fast unit checks of what is Gemma-specific (norms + 1, no Q/K permutation, no output tensor, the cut
embedding, the keys, the SentencePiece vocabulary without a space prefix), then HF vs llama.cpp logits
(verify), and llama.cpp's own converter on the same folder where its source is at hand.
"""

from __future__ import annotations

import json
import shutil

import gguf
import numpy as np
import pytest
from base_exports import base_gguf, base_hf_export
from convert_helpers import (
    NAMING_KEYS,
    OURS_ONLY_KEYS,
    THREADS,
    build_tiny_gemma3,
    gguf_differences,
    run_cli,
    run_llama_cpp_converter,
    tokenizer_metadata,
)

from alma_core.gguf_file import read_gguf
from alma_core.prompts import PROMPT_TEMPLATE
from convert.verify import VERIFY_TEXTS, HFReference, verify_gguf


@pytest.fixture(scope="module")
def tiny_gemma3_dir(tmp_path_factory):
    return build_tiny_gemma3(
        tmp_path_factory.mktemp("tiny-gemma3") / "tiny-gemma3", base_hf_export("gemma3-270m")
    )


@pytest.fixture(scope="module")
def tiny_gemma3_ggufs(tiny_gemma3_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny-gemma3-gguf")
    paths = {t: out / f"tiny-gemma3-{t}.gguf" for t in ("f16", "q8_0")}
    for out_type, path in paths.items():
        assert run_cli(tiny_gemma3_dir, "-o", path, "--type", out_type, "--language-pairs", "de-en") == 0
    return paths


@pytest.fixture(scope="module")
def tiny_gemma3_reference(tiny_gemma3_dir):
    return HFReference(tiny_gemma3_dir)


def test_gemma3_keys_and_vocabulary(tiny_gemma3_ggufs):
    fields = read_gguf(tiny_gemma3_ggufs["f16"]).metadata
    assert fields["general.architecture"] == "gemma3"
    expected = {
        "gemma3.block_count": 6,
        "gemma3.embedding_length": 64,
        "gemma3.feed_forward_length": 128,
        "gemma3.attention.head_count": 2,
        "gemma3.attention.head_count_kv": 1,
        "gemma3.attention.key_length": 32,
        "gemma3.attention.value_length": 32,
        "gemma3.attention.sliding_window": 8,
        "gemma3.context_length": 1024,
        "gemma3.rope.freq_base": 1_000_000.0,
        "gemma3.rope.freq_base_swa": 10_000.0,
    }
    assert {k: fields[k] for k in expected} == expected
    # alma.*: the app's keys work for gemma3 as for llama
    assert fields["alma.language_pairs"] == ["de-en"]
    assert fields["alma.prompt"] == PROMPT_TEMPLATE
    assert fields["alma.source_model"] == "tiny-gemma3"  # no _name_or_path in config.json: the folder
    # the vocabulary is the source GGUF's, as llama.cpp tokenizes with it
    source = tokenizer_metadata(base_gguf("gemma3-270m"))
    ours = {k: v for k, v in fields.items() if k.startswith("tokenizer.")}
    assert ours == source
    assert fields["tokenizer.ggml.add_space_prefix"] is False and fields["tokenizer.ggml.model"] == "llama"


def test_gemma3_tensors_are_hf_weights_the_llama_cpp_way(tiny_gemma3_ggufs, tiny_gemma3_dir):
    from safetensors import safe_open

    ours = read_gguf(tiny_gemma3_ggufs["f16"])
    tensors = ours.tensors
    assert "output.weight" not in tensors  # tied: llama.cpp reuses token_embd
    assert len(tensors) == 2 + 6 * 13
    with safe_open(str(tiny_gemma3_dir / "model.safetensors"), "pt") as f:
        hf = {name: f.get_tensor(name).float().numpy() for name in f.keys()}  # noqa: SIM118
    data = {name: ours.tensor_array(name) for name in tensors}
    # norms: f32, and HF's (1 + w) stored as one number
    for gguf_name, hf_name in (
        ("blk.2.attn_norm.weight", "model.layers.2.input_layernorm.weight"),
        ("blk.2.attn_q_norm.weight", "model.layers.2.self_attn.q_norm.weight"),
        ("blk.5.post_ffw_norm.weight", "model.layers.5.post_feedforward_layernorm.weight"),
        ("output_norm.weight", "model.norm.weight"),
    ):
        assert tensors[gguf_name].type == gguf.GGMLQuantizationType.F32
        np.testing.assert_array_equal(data[gguf_name], hf[hf_name] + np.float32(1))
    # Q and K rows are not permuted (Gemma's rope rotates halves, as llama.cpp's gemma3 does), and the
    # embedding is written unscaled (both multiply it by sqrt(hidden) in the graph)
    np.testing.assert_array_equal(
        data["blk.3.attn_q.weight"], hf["model.layers.3.self_attn.q_proj.weight"].astype(np.float16)
    )
    np.testing.assert_array_equal(
        data["blk.3.attn_k.weight"], hf["model.layers.3.self_attn.k_proj.weight"].astype(np.float16)
    )
    np.testing.assert_array_equal(
        data["token_embd.weight"], hf["model.embed_tokens.weight"].astype(np.float16)
    )


@pytest.mark.parametrize("out_type", ["f16", "q8_0"])
def test_tiny_gemma3_verifies(tiny_gemma3_ggufs, tiny_gemma3_reference, tiny_gemma3_dir, out_type):
    texts = VERIFY_TEXTS if out_type == "f16" else VERIFY_TEXTS[:2]
    report = verify_gguf(
        tiny_gemma3_dir,
        tiny_gemma3_ggufs[out_type],
        texts=texts,
        reference=tiny_gemma3_reference,
        threads=THREADS,
    )
    print(report.summary())
    assert report.tokens_match and report.passed, report.summary()
    assert report.positions > (120 if out_type == "f16" else 40)  # far beyond the 8-token window
    if out_type == "f16":
        assert report.real_top1_misses == 0 and report.mean_kl < 1e-4, report.summary()


def test_a_missing_plus_one_is_caught_by_verify(
    tiny_gemma3_dir, tiny_gemma3_reference, tmp_path, monkeypatch
):
    """Without Gemma's norm shift the file still loads, but its logits are wrong: verify fails."""
    import convert.converters.gemma3 as gemma3

    monkeypatch.setattr(gemma3.Gemma3Converter, "modify_slab", lambda self, tensor, data, dtype: data)
    broken = tmp_path / "no-shift.gguf"
    assert run_cli(tiny_gemma3_dir, "-o", broken) == 0
    report = verify_gguf(
        tiny_gemma3_dir, broken, texts=VERIFY_TEXTS[:2], reference=tiny_gemma3_reference, threads=THREADS
    )
    assert report.tokens_match and not report.passed


def test_embedding_rows_past_the_vocabulary_are_cut(tiny_gemma3_dir, tiny_gemma3_ggufs, tmp_path):
    """As llama.cpp's converter does: padding rows of the embedding beyond vocab_size are not written."""
    import torch
    from safetensors.torch import load_file, save_file

    model = tmp_path / "padded"
    shutil.copytree(tiny_gemma3_dir, model)
    state = load_file(str(model / "model.safetensors"))
    embed = state["model.embed_tokens.weight"]
    state["model.embed_tokens.weight"] = torch.cat([embed, torch.ones(64, embed.shape[1], dtype=embed.dtype)])
    save_file(state, str(model / "model.safetensors"), metadata={"format": "pt"})
    out = tmp_path / "padded.gguf"
    assert run_cli(model, "-o", out) == 0
    ours, plain = read_gguf(out), read_gguf(tiny_gemma3_ggufs["f16"])
    assert ours.tensors["token_embd.weight"].shape == plain.tensors["token_embd.weight"].shape == (64, 262144)
    assert np.array_equal(ours.tensor_bytes("token_embd.weight"), plain.tensor_bytes("token_embd.weight"))


@pytest.mark.parametrize("out_type", ["f16", "q8_0"])
def test_slab_streaming_gives_the_same_bytes(
    tiny_gemma3_dir, tiny_gemma3_ggufs, tmp_path, monkeypatch, out_type
):
    import convert.converters.base as converter_base

    # 64-row slabs of the 262,144-row embedding (4096 of them) and two slabs of each 128-row matrix
    monkeypatch.setattr(converter_base, "_SLAB_ELEMENTS", 64 * 64 + 40)
    path = tmp_path / "slabbed.gguf"
    assert run_cli(tiny_gemma3_dir, "-o", path, "--type", out_type, "--language-pairs", "de-en") == 0
    assert path.read_bytes() == tiny_gemma3_ggufs[out_type].read_bytes()


def test_gemma3_without_tokenizer_model_is_refused(tiny_gemma3_dir, tmp_path, capsys):
    model = tmp_path / "no-spm"
    shutil.copytree(tiny_gemma3_dir, model)
    (model / "tokenizer.model").unlink()
    assert run_cli(model, "-o", tmp_path / "x.gguf") == 2
    err = capsys.readouterr().err
    assert "no tokenizer.model" in err and str(model) in err
    assert not (tmp_path / "x.gguf").exists()


def test_multimodal_gemma3_is_refused_by_name(tiny_gemma3_dir, tmp_path, capsys):
    model = tmp_path / "vision"
    shutil.copytree(tiny_gemma3_dir, model)
    config = json.loads((model / "config.json").read_text())
    config["architectures"] = ["Gemma3ForConditionalGeneration"]
    (model / "config.json").write_text(json.dumps(config))
    assert run_cli(model, "-o", tmp_path / "x.gguf") == 2
    err = capsys.readouterr().err
    assert "unsupported architecture Gemma3ForConditionalGeneration" in err and "Gemma3ForCausalLM" in err


def test_k_quants_of_tiny_gemma3(tiny_gemma3_ggufs, tmp_path):
    """q4_k_m / q5_k_m go through llama.cpp's quantizer; 64-wide rows fit no k-quant block (256), so
    llama.cpp falls back to other types for those tensors, and the file still loads and runs."""
    from llama_cpp import Llama

    from convert.quantize import quantize_gguf

    for out_type in ("q4_k_m", "q5_k_m"):
        path = quantize_gguf(tiny_gemma3_ggufs["f16"], tmp_path / f"{out_type}.gguf", out_type)
        types = {t.type.name for t in read_gguf(path).tensors.values() if t.name.endswith("attn_q.weight")}
        assert types and not any(name.endswith("_K") for name in types), types
        llama = Llama(str(path), n_ctx=64, n_threads=THREADS, verbose=False)
        try:
            assert len(llama.tokenize(b"Hallo Welt")) == 3
            llama.eval(llama.tokenize(b"Hallo Welt"))
            assert np.isfinite(np.asarray(llama.scores[:3])).all()
        finally:
            llama.close()


# --- llama.cpp's own converter on the same folder -----------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("dtype", "out_type"), [("bfloat16", "f16"), ("float16", "q8_0")])
def test_tiny_gemma3_matches_llama_cpp_converter(llama_cpp_converter, tmp_path, dtype, out_type):
    """bf16 and f16 checkpoints (the norm shift in the checkpoint's own precision), f16 and q8_0 output."""
    model = build_tiny_gemma3(tmp_path / f"tiny-{dtype}", base_hf_export("gemma3-270m"), dtype=dtype, seed=1)
    ours, theirs = tmp_path / "ours.gguf", tmp_path / "theirs.gguf"
    assert run_cli(model, "-o", ours, "--type", out_type) == 0
    run_llama_cpp_converter(llama_cpp_converter, model, theirs, out_type)
    assert gguf_differences(ours, theirs, ignore=OURS_ONLY_KEYS | NAMING_KEYS) == []
