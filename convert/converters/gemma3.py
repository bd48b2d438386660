"""Gemma3ForCausalLM (Gemma 3 text models, e.g. Gemma 3 270M) -> llama.cpp's "gemma3" architecture
(docs/convert.md, "Gemma 3")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np

from convert.converters.base import ModelConverter, PlannedTensor
from convert.converters.registry import register
from convert.errors import ConversionError
from convert.vocab import add_sentencepiece_vocab

# transformers' Gemma3TextConfig defaults, which llama.cpp's converter sees (it reads the config
# through AutoConfig) when config.json leaves a setting out.
_DEFAULTS: dict[str, Any] = {
    "max_position_embeddings": 131072,
    "rms_norm_eps": 1e-6,
    "rope_theta": 1_000_000.0,
    "rope_local_base_freq": 10_000.0,
    "head_dim": 256,
    "num_key_value_heads": 4,
    "sliding_window": 4096,
    "final_logit_softcapping": None,
    "attn_logit_softcapping": None,
    "hidden_activation": "gelu_pytorch_tanh",
    "tie_word_embeddings": True,
}


@dataclass
class Gemma3Hparams:
    n_layers: int
    hidden_size: int
    intermediate_size: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    vocab_size: int
    context_length: int
    rms_norm_eps: float
    rope_theta: float
    rope_theta_local: float
    sliding_window: int
    uses_sliding_window: bool
    final_logit_softcapping: float | None
    rope_scaling: dict[str, Any]
    tie_word_embeddings: bool


def parse_gemma3_config(config: dict[str, Any], config_path: Path) -> Gemma3Hparams:
    """Read config.json of a Gemma3ForCausalLM (a text model: no vision tower)."""
    settings = {**_DEFAULTS, **{k: v for k, v in config.items() if v is not None or k not in _DEFAULTS}}
    if settings["hidden_activation"] not in ("gelu_pytorch_tanh", "gelu_tanh"):
        raise ConversionError(
            f"{config_path}: hidden_activation {settings['hidden_activation']!r} is not llama.cpp's gelu (tanh)"
        )
    if settings["attn_logit_softcapping"] is not None:
        raise ConversionError(
            f"{config_path}: attn_logit_softcapping is set; Gemma 3 has none (a Gemma 2 model?)"
        )
    scaling = dict(settings.get("rope_scaling") or {})
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind not in (None, "default", "linear"):
        raise ConversionError(
            f"{config_path}: rope_scaling type {kind!r} is not supported for gemma3 (linear is)"
        )
    try:
        return Gemma3Hparams(
            n_layers=int(settings["num_hidden_layers"]),
            hidden_size=int(settings["hidden_size"]),
            intermediate_size=int(settings["intermediate_size"]),
            n_heads=int(settings["num_attention_heads"]),
            n_kv_heads=int(settings["num_key_value_heads"]),
            head_dim=int(settings["head_dim"]),
            vocab_size=int(settings["vocab_size"]),
            context_length=int(settings["max_position_embeddings"]),
            rms_norm_eps=float(settings["rms_norm_eps"]),
            rope_theta=float(settings["rope_theta"]),
            rope_theta_local=float(settings["rope_local_base_freq"]),
            sliding_window=int(settings["sliding_window"]),
            # llama.cpp's converter writes the window unless the pattern says every layer is global
            uses_sliding_window=settings.get("sliding_window_pattern") != 1,
            final_logit_softcapping=settings["final_logit_softcapping"],
            rope_scaling=scaling if kind == "linear" else {},
            tie_word_embeddings=bool(settings["tie_word_embeddings"]),
        )
    except KeyError as error:
        raise ConversionError(f"{config_path}: missing required setting {error.args[0]!r}") from error


@register
class Gemma3Converter(ModelConverter):
    hf_architectures = ("Gemma3ForCausalLM",)
    families = "Gemma 3 text models"
    gguf_arch = gguf.MODEL_ARCH.GEMMA3

    def __init__(self, model_dir, config):
        super().__init__(model_dir, config)
        self.hparams = parse_gemma3_config(config, self.config_path)

    @property
    def n_layers(self) -> int:
        return self.hparams.n_layers

    @property
    def tie_word_embeddings(self) -> bool:
        return self.hparams.tie_word_embeddings

    def add_hparams(self, writer: gguf.GGUFWriter) -> None:
        hp = self.hparams
        writer.add_block_count(hp.n_layers)
        writer.add_context_length(hp.context_length)
        writer.add_embedding_length(hp.hidden_size)
        writer.add_feed_forward_length(hp.intermediate_size)
        writer.add_head_count(hp.n_heads)
        writer.add_head_count_kv(hp.n_kv_heads)
        writer.add_key_length(hp.head_dim)
        writer.add_value_length(hp.head_dim)
        writer.add_layer_norm_rms_eps(hp.rms_norm_eps)
        writer.add_rope_freq_base(hp.rope_theta)  # the global (full-attention) layers
        writer.add_rope_freq_base_swa(hp.rope_theta_local)  # the sliding-window layers
        if hp.rope_scaling:
            writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
            writer.add_rope_scaling_factor(float(hp.rope_scaling["factor"]))
        if hp.uses_sliding_window:
            writer.add_sliding_window(hp.sliding_window)
        if hp.final_logit_softcapping:
            writer.add_final_logit_softcapping(float(hp.final_logit_softcapping))

    def add_vocab(self, writer: gguf.GGUFWriter) -> None:
        if not (self.model_dir / "tokenizer.model").is_file():
            raise ConversionError(
                f"{self.model_dir}: no tokenizer.model; a gemma3 model needs its SentencePiece tokenizer "
                "(HF's Gemma 3 folders ship it, `alma-convert import-gguf` writes it)"
            )
        add_sentencepiece_vocab(writer, self.model_dir, self.hparams.vocab_size)
        writer.add_add_space_prefix(False)  # Gemma's text starts without a dummy space

    def required_tensors(self) -> list[str]:
        parts = (
            "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "attn_q_norm", "attn_k_norm",
            "post_attention_norm", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down", "post_ffw_norm",
        )  # fmt: skip
        required = ["token_embd.weight", "output_norm.weight"]
        required += [f"blk.{layer}.{part}.weight" for layer in range(self.n_layers) for part in parts]
        if not self.tie_word_embeddings:
            required.append("output.weight")
        return required

    def rows_written(self, name: str, shape: tuple[int, ...]) -> int:
        if name.endswith("embed_tokens.weight"):
            # The vocabulary llama.cpp's converter writes has vocab_size tokens (tokenizer.model,
            # padded); embedding rows past it are dropped, as it does.
            return min(shape[0], self.hparams.vocab_size)
        return super().rows_written(name, shape)

    def modify_slab(self, tensor: PlannedTensor, data: np.ndarray, source_dtype: str) -> np.ndarray:
        if not tensor.source_name.endswith("norm.weight"):
            return data
        if source_dtype == "F16":
            # llama.cpp's converter adds the one in the checkpoint's own half precision (it widens
            # only bf16/f64 to f32 first); do the same so that the f32 norm is bit-identical.
            return (data.astype(np.float16) + np.float16(1)).astype(np.float32)
        return data + np.float32(1)
