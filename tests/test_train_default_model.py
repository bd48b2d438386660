"""The demo recipe on the real default model: demo-stage2 LoRA (a few steps), merge, load, translate."""

from __future__ import annotations

import json

import pytest

from alma_train.cli import main
from alma_train.prompts import build_prompt, clean_output


@pytest.mark.slow
def test_demo_stage2_lora_then_merge_loads_and_translates(default_hf_dir, demo_data, tmp_path):
    run = tmp_path / "demo-stage2"
    rc = main(["stage2", "--config", "demo-stage2", "--data_dir", str(demo_data), "--output_dir", str(run),
               "--pairs", "de-en", "--max_steps", "2", "--eval_steps", "2", "--save_steps", "2",
               "--per_device_train_batch_size", "2", "--max_valid_examples", "2",
               "--max_source_tokens", "24", "--max_target_tokens", "24", "--logging_steps", "1",
               "--eval_at_start", "false"])
    assert rc == 0
    summary = json.loads((run / "run_summary.json").read_text())
    assert summary["model"] == str(default_hf_dir) and summary["finetune"] == "lora"
    assert summary["global_step"] == 2
    # LoRA on down_proj of 30 layers: r * (1536 + 576) per layer.
    assert summary["parameters"]["trainable"] == 30 * 16 * (1536 + 576)

    merged = tmp_path / "merged"
    assert main(["merge", "--base", "default", "--adapter", str(run), "--output", str(merged)]) == 0
    assert (merged / "model.safetensors").is_file() and (merged / "tokenizer.json").is_file()
    assert not (merged / "adapter_config.json").exists()

    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base_weights = load_file(default_hf_dir / "model.safetensors")
    merged_weights = load_file(merged / "model.safetensors")
    key = "model.layers.0.mlp.down_proj.weight"
    assert not torch.equal(base_weights[key], merged_weights[key])
    assert torch.equal(base_weights["model.layers.0.self_attn.q_proj.weight"],
                       merged_weights["model.layers.0.self_attn.q_proj.weight"])

    tokenizer = AutoTokenizer.from_pretrained(merged)
    model = AutoModelForCausalLM.from_pretrained(merged, use_safetensors=True)
    inputs = tokenizer(build_prompt("de", "en", "Passwort ändern"), return_tensors="pt",
                       return_token_type_ids=False)
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=12, do_sample=False,
                                pad_token_id=tokenizer.pad_token_id)
    text = tokenizer.decode(output[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert clean_output(text, "en").strip()

    # Merging into a non-empty folder is refused, and the folder is left as it was.
    assert main(["merge", "--adapter", str(run), "--output", str(merged)]) == 2
    assert main(["merge", "--adapter", str(tmp_path / "none"), "--output", str(tmp_path / "m2")]) == 2
    assert not (tmp_path / "m2").exists()
