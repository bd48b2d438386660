"""alma-convert on the real default model (SmolLM2-135M-Instruct, HF export): f16 / q8_0 / q4_0."""

from __future__ import annotations

import math

import gguf
import numpy as np
import pytest
from convert_helpers import THREADS

from alma_core.prompts import PROMPT_TEMPLATE, build_prompt, clean_output
from convert.verify import VERIFY_TEXTS, verify_gguf

pytestmark = pytest.mark.slow


def _field(reader: gguf.GGUFReader, key: str):
    return reader.fields[key].contents()


def test_default_model_gguf_metadata(smollm_ggufs):
    reader = gguf.GGUFReader(smollm_ggufs["f16"])
    assert _field(reader, "general.architecture") == "llama"
    assert _field(reader, "general.file_type") == 1
    assert _field(reader, "general.name") == "SmolLM2 test"
    assert _field(reader, "alma.language_pairs") == ["de-en", "en-de"]
    assert _field(reader, "alma.prompt") == PROMPT_TEMPLATE
    # SmolLM2's hyperparameters, GQA and rope base as config.json gives them
    assert _field(reader, "llama.block_count") == 30
    assert _field(reader, "llama.embedding_length") == 576
    assert _field(reader, "llama.attention.head_count") == 9
    assert _field(reader, "llama.attention.head_count_kv") == 3
    assert _field(reader, "llama.rope.freq_base") == pytest.approx(1e5)
    # byte-level BPE recognised by its check-text hash, special tokens and no BOS
    assert _field(reader, "tokenizer.ggml.model") == "gpt2"
    assert _field(reader, "tokenizer.ggml.pre") == "smollm"
    assert _field(reader, "tokenizer.ggml.bos_token_id") == 1
    assert _field(reader, "tokenizer.ggml.eos_token_id") == 2
    assert _field(reader, "tokenizer.ggml.add_bos_token") is False
    assert "<|im_start|>" in _field(reader, "tokenizer.chat_template")
    names = {t.name for t in reader.tensors}
    assert "output.weight" not in names  # tied embeddings: llama.cpp reuses token_embd
    assert len(names) == 2 + 30 * 9
    norm = next(t for t in reader.tensors if t.name == "blk.0.attn_norm.weight")
    assert norm.tensor_type == gguf.GGMLQuantizationType.F32


def test_verify_f16_agrees_with_hf(smollm_ggufs, smollm_reference, default_hf_dir):
    report = verify_gguf(default_hf_dir, smollm_ggufs["f16"], reference=smollm_reference, threads=THREADS)
    print(report.summary())
    assert report.tokens_match
    assert report.real_top1_misses == 0, report.summary()
    assert report.passed
    assert report.positions > 200
    assert report.max_abs_diff < 0.5
    assert report.mean_kl < 1e-3


def test_verify_quantized_types_report_their_loss(smollm_ggufs, smollm_reference, default_hf_dir):
    # two of the multi-sentence texts (en, de) keep this affordable on two shared cores
    texts = VERIFY_TEXTS[:2]
    q8 = verify_gguf(
        default_hf_dir, smollm_ggufs["q8_0"], texts=texts, reference=smollm_reference, threads=THREADS
    )
    q4 = verify_gguf(
        default_hf_dir, smollm_ggufs["q4_0"], texts=texts, reference=smollm_reference, threads=THREADS
    )
    print(q8.summary(), q4.summary(), sep="\n")
    assert (q8.file_type, q4.file_type) == ("q8_0", "q4_0")
    assert q8.tokens_match and q4.tokens_match and q8.passed and q4.passed
    assert all(math.isfinite(v) for v in (q8.mean_kl, q8.top1_agreement, q4.mean_kl, q4.top1_agreement))
    # 8 bits lose far less than 4 bits; q8_0 stays close to the model
    assert q8.mean_kl < q4.mean_kl
    assert q8.mean_kl < 0.05 and q8.top1_agreement > 0.85


def test_greedy_translations_of_f16_equal_hf(smollm_ggufs, smollm_reference):
    """llama.cpp's greedy translation from the f16 file is HF's greedy translation, token for token.

    Checked by teacher forcing: one HF forward pass over prompt + llama.cpp's tokens must pick, at
    every step, the token llama.cpp picked (and EOS where llama.cpp stopped). By induction that is
    exactly "HF greedy decoding gives the same tokens", at one forward pass per sentence.
    """
    import torch
    from llama_cpp import Llama

    max_new = 12
    sentences = ["Das Haus ist klein.", "Ich trinke gern Kaffee am Morgen."]
    llama = Llama(str(smollm_ggufs["f16"]), n_ctx=256, n_threads=THREADS, verbose=False)
    tokenizer, model = smollm_reference.tokenizer, smollm_reference.model
    try:
        for sentence in sentences:
            prompt_ids = tokenizer.encode(build_prompt("de", "en", sentence))
            generated: list[int] = []
            for token in llama.generate(prompt_ids, temp=0.0, top_k=1, reset=True):
                if token == llama.token_eos() or len(generated) == max_new:
                    break
                generated.append(token)
            with torch.no_grad():
                logits = model(torch.tensor([prompt_ids + generated])).logits[0]
            hf_choices = logits[len(prompt_ids) - 1 :].argmax(-1).tolist()
            assert hf_choices[: len(generated)] == generated, (sentence, hf_choices, generated)
            if len(generated) < max_new:
                assert hf_choices[len(generated)] == tokenizer.eos_token_id
            translation = clean_output(llama.detokenize(generated).decode("utf-8", errors="replace"), "en")
            assert translation == clean_output(tokenizer.decode(generated, skip_special_tokens=True), "en")
            assert translation, sentence
            print(f"{sentence} -> {translation}")
    finally:
        llama.close()


def test_gguf_tensors_are_hf_weights(smollm_ggufs, default_hf_dir):
    """Spot-check the numbers: f16 token embedding = HF's, and Q rows follow llama.cpp's rope order."""
    from safetensors import safe_open

    from convert.converters.llama import permute_for_rope

    reader = gguf.GGUFReader(smollm_ggufs["f16"])
    tensors = {t.name: np.asarray(t.data) for t in reader.tensors}
    with safe_open(str(default_hf_dir / "model.safetensors"), "np") as f:
        embed = f.get_tensor("model.embed_tokens.weight")
        q = f.get_tensor("model.layers.3.self_attn.q_proj.weight")
        k = f.get_tensor("model.layers.3.self_attn.k_proj.weight")
    np.testing.assert_array_equal(tensors["token_embd.weight"], embed.astype(np.float16))
    np.testing.assert_array_equal(tensors["blk.3.attn_q.weight"], permute_for_rope(q, 9).astype(np.float16))
    np.testing.assert_array_equal(tensors["blk.3.attn_k.weight"], permute_for_rope(k, 3).astype(np.float16))
    assert not np.array_equal(tensors["blk.3.attn_k.weight"], k.astype(np.float16))
