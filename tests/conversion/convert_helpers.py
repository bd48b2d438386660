"""Helpers shared by the conversion tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# llama.cpp threads in the tests: on a shared, oversubscribed CPU, two threads that meet at a
# barrier after every op wait for each other's time slices (16 greedy tokens took 50-130 s with 2
# threads vs 19 s with 1 under load 10); one thread has no barriers.
THREADS = 1


def run_cli(*args: str) -> int:
    from convert.cli import main

    return main([str(a) for a in args])


def django_catalog_texts(langs: tuple[str, ...] = ("de", "cs")) -> list[str]:
    """English source strings and their translations from Django's own gettext catalogs."""
    import django
    import polib

    texts: list[str] = []
    locale = Path(django.__file__).parent / "conf" / "locale"
    for lang in langs:
        for entry in polib.pofile(str(locale / lang / "LC_MESSAGES" / "django.po")):
            if entry.msgstr:
                texts += [entry.msgid, entry.msgstr]
    return texts


def build_tiny_spm_llama(out: Path, seed: int = 0) -> Path:
    """A LLaMA-2-shaped model in miniature: SentencePiece BPE with byte fallback, GQA, untied head, bf16."""
    import sentencepiece as spm
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaTokenizer

    out.mkdir(parents=True, exist_ok=True)
    # The settings LLaMA-2's tokenizer was trained with (identity normalization, dummy prefix,
    # byte fallback, split digits), which is what llama.cpp's SentencePiece tokenizer implements.
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(django_catalog_texts()),
        model_prefix=str(out / "spm"),
        vocab_size=448,
        model_type="bpe",
        byte_fallback=True,
        split_digits=True,
        character_coverage=0.9995,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=True,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        num_threads=1,
        minloglevel=2,
    )
    os.replace(out / "spm.model", out / "tokenizer.model")
    (out / "spm.vocab").unlink()
    # The slow (SentencePiece) tokenizer, as LLaMA-2 repos ship it; the fast one would need a newer
    # protobuf than this environment has to convert the model.
    tokenizer = LlamaTokenizer(vocab_file=str(out / "tokenizer.model"), legacy=True, add_bos_token=True)
    tokenizer.save_pretrained(out)

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=448,
        hidden_size=64,
        intermediate_size=160,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=False,
        bos_token_id=1,
        eos_token_id=2,
        initializer_range=0.08,
    )
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(out, safe_serialization=True)
    return out


def run_llama_cpp_converter(
    script: Path, model_dir: Path, output: Path, out_type: str, timeout: int = 900
) -> None:
    import subprocess

    result = subprocess.run(
        [sys.executable, str(script), str(model_dir), "--outfile", str(output), "--outtype", out_type],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]


# Keys two converters may write differently: our alma.* keys, and the naming keys (each tool spells the
# folder's name its own way).
OURS_ONLY_KEYS = frozenset({"alma.prompt", "alma.source_model", "alma.language_pairs"})
NAMING_KEYS = frozenset(
    {"general.name", "general.basename", "general.finetune", "general.version", "general.size_label"}
)


def build_tiny_gemma3(out: Path, tokenizer_dir: Path, dtype: str = "bfloat16", seed: int = 0) -> Path:
    """tiny_model's tiny Gemma 3, saved in bf16 by default (as Google's checkpoints are)."""
    from tiny_model import build_tiny_gemma3 as build

    return build(out, tokenizer_dir, dtype=dtype, seed=seed)


def gguf_differences(ours: Path, reference: Path, ignore: frozenset[str] = frozenset()) -> list[str]:
    """Metadata keys (but `ignore`) and tensors (type, shape, bytes) in which two GGUF files differ."""
    import numpy as np

    from alma_core.gguf_file import read_gguf

    a, b = read_gguf(ours), read_gguf(reference)
    problems = []
    for key in sorted((set(a.metadata) | set(b.metadata)) - set(ignore)):
        if a.metadata.get(key) != b.metadata.get(key):
            problems.append(
                f"metadata {key}: ours {str(a.metadata.get(key))[:60]} vs llama.cpp {str(b.metadata.get(key))[:60]}"
            )
    if set(a.tensors) != set(b.tensors):
        problems.append(f"tensor names differ: {sorted(set(a.tensors) ^ set(b.tensors))[:5]}")
    for name in sorted(set(a.tensors) & set(b.tensors)):
        x, y = a.tensors[name], b.tensors[name]
        if x.type != y.type or x.shape != y.shape:
            problems.append(f"tensor {name}: {x.type.name}{list(x.shape)} vs {y.type.name}{list(y.shape)}")
        elif not np.array_equal(a.tensor_bytes(name), b.tensor_bytes(name)):
            problems.append(f"tensor {name}: data differs")
    assert len(a.tensors) > 0
    return problems


def tokenizer_metadata(path: Path) -> dict:
    """The tokenizer.* keys of a GGUF file."""
    from alma_core.gguf_file import read_gguf

    return {k: v for k, v in read_gguf(path).metadata.items() if k.startswith("tokenizer.")}


# The recipe's targets (alma_train/presets/translator-gemma3-270m.yaml): every linear layer of a block.
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def build_peft_lora(model_dir: Path, out: Path, r: int = 8, alpha: int = 16, b_std: float = 0.02,
                    targets: tuple[str, ...] = LORA_TARGETS, dtype: str = "float32", seed: int = 0) -> Path:
    """A real peft LoRA adapter of `model_dir`, saved as peft saves one (adapter_config.json + safetensors).

    peft starts B at zero (the adapter changes nothing); B gets random values here so that it does.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32, use_safetensors=True)
    torch.manual_seed(seed)
    peft_model = get_peft_model(
        model, LoraConfig(task_type="CAUSAL_LM", r=r, lora_alpha=alpha, target_modules=list(targets))
    )
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name or "lora_embedding_B" in name:
                param.normal_(0.0, b_std)
    peft_model.to(getattr(torch, dtype)).save_pretrained(str(out), safe_serialization=True)
    return out


def run_llama_cpp_lora_converter(script: Path, adapter_dir: Path, base_dir: Path, output: Path,
                                 out_type: str, timeout: int = 600) -> None:
    import subprocess

    result = subprocess.run(
        [sys.executable, str(script), str(adapter_dir), "--base", str(base_dir), "--outfile", str(output),
         "--outtype", out_type],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
