"""A tiny random LLaMA with a real tokenizer: the stand-in model of fast training tests and smoke runs.

It has the default model's architecture family and tokenizer (so data, masking, LoRA target names and
merge all behave as for the real thing) but 2 layers of width 64, so a training step takes milliseconds.
"""

from __future__ import annotations

from pathlib import Path

from alma_train.trainer import copy_tokenizer_files


def build_tiny_llama(output_dir: Path | str, tokenizer_dir: Path | str, hidden_size: int = 64,
                     num_layers: int = 2, seed: int = 0) -> Path:
    """Write a random LlamaForCausalLM (safetensors) plus the tokenizer of tokenizer_dir."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from alma_train.hf_tokenizer_loading import load_tokenizer

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
