"""config.json of a LlamaForCausalLM-family model -> the llama.* keys llama.cpp reads
(docs/convert.md, "How it works")."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gguf
import numpy as np

from convert.errors import ConversionError


@dataclass
class LlamaHparams:
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
    tie_word_embeddings: bool
    head_dim_explicit: bool  # config.json names head_dim (llama.cpp then writes key/value_length)
    rope_scaling: dict[str, Any] = field(default_factory=dict)
    name_or_path: str | None = None


def parse_llama_config(config: dict[str, Any], config_path: Path) -> LlamaHparams:
    """Read the llama hyperparameters of config.json (the architecture was checked by the registry)."""
    if config.get("hidden_act", "silu") != "silu":
        raise ConversionError(f"{config_path}: hidden_act {config['hidden_act']!r} is not silu")
    try:
        n_heads = int(config["num_attention_heads"])
        hidden = int(config["hidden_size"])
        head_dim = config.get("head_dim")
        hparams = LlamaHparams(
            n_layers=int(config["num_hidden_layers"]),
            hidden_size=hidden,
            intermediate_size=int(config["intermediate_size"]),
            n_heads=n_heads,
            n_kv_heads=int(config.get("num_key_value_heads") or n_heads),
            head_dim=int(head_dim) if head_dim else hidden // n_heads,
            head_dim_explicit=head_dim is not None,
            vocab_size=int(config["vocab_size"]),
            context_length=int(config.get("max_position_embeddings", 4096)),
            rms_norm_eps=float(config.get("rms_norm_eps", 1e-6)),
            rope_theta=float(_rope_params(config).get("rope_theta", config.get("rope_theta", 10000.0))),
            tie_word_embeddings=bool(config.get("tie_word_embeddings", False)),
            rope_scaling=_rope_scaling(config, config_path),
            name_or_path=config.get("_name_or_path") or config.get("_model_name_or_path"),
        )
    except KeyError as error:
        raise ConversionError(f"{config_path}: missing required setting {error.args[0]!r}") from error
    if hparams.n_heads % hparams.n_kv_heads:
        raise ConversionError(
            f"{config_path}: num_attention_heads {hparams.n_heads} is not a multiple of "
            f"num_key_value_heads {hparams.n_kv_heads}"
        )
    return hparams


def _rope_params(config: dict[str, Any]) -> dict[str, Any]:
    # transformers 5 moves rope_theta and the scaling into one "rope_parameters" dict.
    return config.get("rope_parameters") or {}


def _rope_scaling(config: dict[str, Any], config_path: Path) -> dict[str, Any]:
    scaling = dict(config.get("rope_scaling") or _rope_params(config) or {})
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind in (None, "default"):
        return {}
    if kind not in ("linear", "yarn", "llama3"):
        raise ConversionError(
            f"{config_path}: rope_scaling type {kind!r} is not supported (linear, yarn, llama3 are)"
        )
    scaling["rope_type"] = kind
    return scaling


def add_llama_hparams(writer: gguf.GGUFWriter, hp: LlamaHparams) -> None:
    """The hyperparameter keys llama.cpp's llama loader reads (llama.* namespace)."""
    writer.add_vocab_size(hp.vocab_size)
    writer.add_context_length(hp.context_length)
    writer.add_embedding_length(hp.hidden_size)
    writer.add_block_count(hp.n_layers)
    writer.add_feed_forward_length(hp.intermediate_size)
    writer.add_head_count(hp.n_heads)
    writer.add_head_count_kv(hp.n_kv_heads)
    writer.add_rope_freq_base(hp.rope_theta)
    writer.add_layer_norm_rms_eps(hp.rms_norm_eps)
    writer.add_rope_dimension_count(hp.head_dim)
    if hp.head_dim_explicit:
        # A head_dim other than hidden/heads must reach llama.cpp; llama.cpp's converter writes the
        # pair whenever config.json names it, so do the same.
        writer.add_key_length(hp.head_dim)
        writer.add_value_length(hp.head_dim)
    scaling = hp.rope_scaling
    kind = scaling.get("rope_type")
    if kind == "linear":
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(scaling["factor"]))
    elif kind == "yarn":
        writer.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        writer.add_rope_scaling_factor(float(scaling["factor"]))
        writer.add_rope_scaling_orig_ctx_len(int(scaling["original_max_position_embeddings"]))
    # llama3 scaling is not a key: it travels as the rope_freqs tensor (llama3_rope_factors).


def llama3_rope_factors(hp: LlamaHparams) -> np.ndarray | None:
    """Per-frequency divisors of Llama-3.1 rope scaling, which llama.cpp reads as rope_freqs.weight.

    Low frequencies (long wavelengths) are slowed by `factor`, high ones kept, and the band between
    them blended smoothly (Meta's llama3 scaling as transformers implements it).
    """
    scaling = hp.rope_scaling
    if scaling.get("rope_type") != "llama3":
        return None
    factor = float(scaling.get("factor", 8.0))
    low = float(scaling.get("low_freq_factor", 1.0))
    high = float(scaling.get("high_freq_factor", 4.0))
    old_ctx = float(scaling.get("original_max_position_embeddings", 8192))
    freqs = 1.0 / (hp.rope_theta ** (np.arange(0, hp.head_dim, 2, dtype=np.float32) / hp.head_dim))
    factors = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < old_ctx / high:
            factors.append(1.0)
        elif wavelen > old_ctx / low:
            factors.append(factor)
        else:
            smooth = (old_ctx / wavelen - low) / (high - low)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return np.asarray(factors, dtype=np.float32)
