"""LlamaForCausalLM (LLaMA-2, ALMA, SmolLM2, Llama-3) -> llama.cpp's "llama" architecture: its keys,
Llama-3.1's rope_freqs, the Q/K rope permutation and its vocabulary (docs/convert.md, "How it works")."""

from __future__ import annotations

from typing import Any

import gguf
import numpy as np

from convert.converters.base import ModelConverter, PlannedTensor
from convert.converters.llama_hparams import add_llama_hparams, llama3_rope_factors, parse_llama_config
from convert.converters.registry import register
from convert.vocab import add_vocab

# The projections whose rows follow the rope layout (permuted per head, in query or KV heads).
_QUERY_ROPE = ("self_attn.q_proj.weight", "self_attn.q_proj.bias")
_KEY_ROPE = ("self_attn.k_proj.weight", "self_attn.k_proj.bias")


def permute_for_rope(weight: np.ndarray, n_heads: int) -> np.ndarray:
    """Reorder the rows of a Q or K projection from HF's rope layout to llama.cpp's.

    HF's llama rotates dimension i of each head together with dimension i + head_dim/2 (its
    rotate_half); llama.cpp's llama rope rotates neighbours (2i, 2i+1), the layout of Meta's original
    checkpoints. HF's own conversion from Meta permuted the rows; this is the inverse, per head.
    """
    rows = weight.shape[0]
    return (
        weight.reshape(n_heads, 2, rows // n_heads // 2, *weight.shape[1:])
        .swapaxes(1, 2)
        .reshape(weight.shape)
    )


@register
class LlamaConverter(ModelConverter):
    hf_architectures = ("LlamaForCausalLM", "LLaMAForCausalLM")
    families = "LLaMA-2, ALMA, SmolLM2, Llama-3"
    gguf_arch = gguf.MODEL_ARCH.LLAMA

    def __init__(self, model_dir, config):
        super().__init__(model_dir, config)
        self.hparams = parse_llama_config(config, self.config_path)

    @property
    def n_layers(self) -> int:
        return self.hparams.n_layers

    @property
    def tie_word_embeddings(self) -> bool:
        return self.hparams.tie_word_embeddings

    def add_hparams(self, writer: gguf.GGUFWriter) -> None:
        add_llama_hparams(writer, self.hparams)

    def add_vocab(self, writer: gguf.GGUFWriter) -> None:
        add_vocab(writer, self.model_dir, self.hparams.vocab_size)

    def extra_tensors(self) -> list[PlannedTensor]:
        factors = llama3_rope_factors(self.hparams)
        if factors is None:
            return []
        return [
            PlannedTensor(
                "rope_freqs.weight", None, factors.shape, gguf.GGMLQuantizationType.F32, data=factors
            )
        ]

    def required_tensors(self) -> list[str]:
        parts = (
            "attn_norm",
            "attn_q",
            "attn_k",
            "attn_v",
            "attn_output",
            "ffn_norm",
            "ffn_gate",
            "ffn_up",
            "ffn_down",
        )
        required = ["token_embd.weight", "output_norm.weight"]
        required += [f"blk.{layer}.{part}.weight" for layer in range(self.n_layers) for part in parts]
        if not self.tie_word_embeddings:
            required.append("output.weight")
        return required

    def _rope_heads(self, name: str) -> int | None:
        if name.endswith(_QUERY_ROPE):
            return self.hparams.n_heads
        if name.endswith(_KEY_ROPE):
            return self.hparams.n_kv_heads
        return None

    def row_group(self, name: str, shape: tuple[int, ...]) -> int:
        heads = self._rope_heads(name)
        return shape[0] // heads if heads else 1  # the permutation works within one head

    def modify_slab(self, tensor: PlannedTensor, data: np.ndarray, source_dtype: str) -> np.ndarray:
        if self._rope_heads(tensor.source_name) is None:
            return data
        return permute_for_rope(data, data.shape[0] // tensor.row_group)  # the heads in this slab

    @classmethod
    def modify_lora_b(cls, hf_name: str, lora_b: np.ndarray, base_metadata: dict[str, Any]) -> np.ndarray:
        # B's rows are Q's or K's rows, so they take the same per-head permutation (as llama.cpp's
        # convert_lora_to_gguf.py does through its LoraTorchTensor); A is on the input side.
        arch = gguf.MODEL_ARCH_NAMES[cls.gguf_arch]
        n_heads = int(base_metadata[f"{arch}.attention.head_count"])
        if hf_name.endswith(_QUERY_ROPE):
            return permute_for_rope(lora_b, n_heads)
        if hf_name.endswith(_KEY_ROPE):
            return permute_for_rope(lora_b, int(base_metadata.get(f"{arch}.attention.head_count_kv", n_heads)))
        return lora_b
