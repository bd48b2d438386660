"""Real LoRA adapters for tests and benchmarks: a seeded peft LoRA on an HF model (the fast test model,
SmolLM2-135M), its lora_B filled so outputs change, converted to a llama.cpp GGUF adapter by `alma-convert
lora` (convert/lora_adapter.py; its equality with llama.cpp's own converter is tested in
tests/conversion/test_convert_lora.py), and the bundle of them (docs/adapters.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from alma_core.bundle import Bundle, Score, new_adapter, new_base, write_bundle
from convert.lora_adapter import convert_lora

LORA_TARGETS = ("q_proj", "v_proj", "down_proj")
LORA_RANK = 8
LORA_ALPHA = 16


def make_peft_adapter(hf_dir: Path, out: Path, seed: int, scale: float = 0.02, rank: int = LORA_RANK,
                      alpha: int = LORA_ALPHA, targets: tuple[str, ...] = LORA_TARGETS) -> Path:
    """A peft LoRA (default r=8, alpha=16 on q/v/down_proj) on the HF model, lora_A as peft draws it and lora_B
    random (normal * scale) instead of peft's zeros, both from `seed`, so base + adapter differs from the base
    and is the same in every session; saved as peft saves one."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32)
    torch.manual_seed(seed)  # peft draws lora_A from torch's global generator: the same adapter every session
    config = LoraConfig(task_type="CAUSAL_LM", r=rank, lora_alpha=alpha, target_modules=list(targets),
                        lora_dropout=0.0)
    peft_model = get_peft_model(model, config)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
    peft_model.save_pretrained(out)
    return out


def convert_adapter(peft_dir: Path, base_gguf: Path, output: Path, outtype: str = "f16") -> Path:
    """The peft adapter as a GGUF LoRA adapter (f16, q8_0 or f32) for the model base_gguf, by alma-convert lora."""
    convert_lora(peft_dir, base_gguf, output, out_type=outtype)
    return output


def merge_adapter(hf_dir: Path, peft_dir: Path, out: Path) -> Path:
    """The HF model with the peft adapter merged into its weights (what a merged translator is)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, peft_dir).merge_and_unload()
    merged.save_pretrained(out)
    for path in hf_dir.iterdir():  # the tokenizer files exactly as the base has them
        if path.is_file() and path.suffix != ".safetensors" and not (out / path.name).exists():
            shutil.copyfile(path, out / path.name)
    return out


def make_test_bundle(root: Path, base_gguf: Path, adapters: dict[str, Path], alpha: float = LORA_ALPHA,
                     architecture: str = "llama") -> Path:
    """A bundle folder at root: the base (a symlink: the tests' base is ~100 MB), each adapter copied into
    adapters/, bundle.json written by alma_core.bundle with xx<->en directions and made-up scores."""
    (root / "adapters").mkdir(parents=True)
    (root / "base.gguf").symlink_to(base_gguf)
    entries = []
    for language, path in adapters.items():
        shutil.copyfile(path, root / "adapters" / f"{language}.lora.gguf")
        entries.append(new_adapter(root, language, [f"{language}-en", f"en-{language}"],
                                   f"adapters/{language}.lora.gguf", alpha, trained={"steps": 0, "seed": 0},
                                   scores={f"{language}-en": Score("heldout-test", 12.5, 40)}))
    write_bundle(Bundle(name=root.stem, base=new_base(root, "base.gguf", architecture), adapters=entries, root=root))
    return root
