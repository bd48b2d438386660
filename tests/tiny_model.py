"""Tiny random models with real tokenizers: the stand-ins of fast training, build and conversion tests.

Each has a real base's architecture family and tokenizer (so data, masking, LoRA target names, merge and
conversion behave as for the real thing) but a few layers of width 64, so a step takes milliseconds.
"""

from __future__ import annotations

from pathlib import Path

from alma_train.train.trainer import copy_tokenizer_files


def build_tiny_llama(output_dir: Path | str, tokenizer_dir: Path | str, hidden_size: int = 64,
                     num_layers: int = 2, seed: int = 0) -> Path:
    """Write a random LlamaForCausalLM (safetensors) plus the tokenizer of tokenizer_dir."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from alma_train.train.tokenizer import load_tokenizer

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = load_tokenizer(tokenizer_dir)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(out, safe_serialization=True)
    copy_tokenizer_files(Path(tokenizer_dir), out)
    return out


def build_tiny_gemma3(output_dir: Path | str, tokenizer_dir: Path | str, dtype: str = "float32",
                      seed: int = 0) -> Path:
    """A Gemma3ForCausalLM in miniature with random weights and Gemma 3's real tokenizer (262,144 tokens).

    Six layers, so that llama.cpp's fixed pattern (five sliding-window layers, then a global one) is
    exercised, with a window of 8 tokens that real texts far exceed. The norm weights are random too (HF
    initialises them to 0, i.e. a scale of 1 + 0), so that a converter's missing "+ 1" shows.
    """
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = Gemma3TextConfig(
        vocab_size=262144,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=6,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        query_pre_attn_scalar=32,  # llama.cpp scales attention by 1/sqrt(head_dim) for these sizes
        sliding_window=8,
        max_position_embeddings=1024,
        rope_theta=1_000_000.0,
        rope_local_base_freq=10_000.0,
        bos_token_id=2,
        eos_token_id=1,
        pad_token_id=0,
        initializer_range=0.08,
        tie_word_embeddings=True,
    )
    model = Gemma3ForCausalLM(config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("norm.weight"):
                param.normal_(0.0, 0.3)
    model.to(getattr(torch, dtype)).save_pretrained(out, safe_serialization=True)
    copy_tokenizer_files(Path(tokenizer_dir), out)
    return out
