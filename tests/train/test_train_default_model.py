"""The demo recipe on the real default base, Gemma 3 270M, end to end: demo-stage2 LoRA (a few steps) on
`model: default`, merge, convert to GGUF with alma-convert, translate with the app's engine."""

from __future__ import annotations

import json

import pytest

from alma_train.cli import main


@pytest.mark.slow
def test_demo_stage2_on_gemma3_then_merge_convert_and_translate(demo_data, tmp_path):
    from alma_train.train.base_export import export_base_hf

    gemma_dir = export_base_hf("default")
    run = tmp_path / "demo-stage2"
    rc = main(["stage2", "--config", "demo-stage2", "--data_dir", str(demo_data), "--output_dir", str(run),
               "--pairs", "de-en", "--max_steps", "2", "--eval_steps", "2", "--save_steps", "2",
               "--per_device_train_batch_size", "2", "--max_valid_examples", "2",
               "--max_source_tokens", "24", "--max_target_tokens", "24", "--logging_steps", "1",
               "--eval_at_start", "false"])
    assert rc == 0
    summary = json.loads((run / "run_summary.json").read_text())
    assert summary["model"] == str(gemma_dir) and summary["finetune"] == "lora"
    assert summary["global_step"] == 2
    # LoRA on down_proj of Gemma 3 270M's 18 layers: r * (2048 + 640) per layer.
    assert summary["parameters"]["trainable"] == 18 * 16 * (2048 + 640)

    merged = tmp_path / "merged"
    assert main(["merge", "--adapter", str(run), "--output", str(merged)]) == 0  # base from the adapter
    assert (merged / "model.safetensors").is_file() and (merged / "tokenizer.json").is_file()
    assert not (merged / "adapter_config.json").exists()

    import torch
    from safetensors.torch import load_file

    base_weights = load_file(gemma_dir / "model.safetensors")
    merged_weights = load_file(merged / "model.safetensors")
    key = "model.layers.0.mlp.down_proj.weight"
    assert not torch.equal(base_weights[key], merged_weights[key])
    assert torch.equal(base_weights["model.layers.0.self_attn.q_proj.weight"],
                       merged_weights["model.layers.0.self_attn.q_proj.weight"])
    del base_weights, merged_weights

    from convert.cli import main as convert_main

    gguf = tmp_path / "tuned.q8_0.gguf"
    assert convert_main([str(merged), "--output", str(gguf), "--type", "q8_0", "--language-pairs", "de-en"]) == 0
    from desktop.engine import TranslationEngine

    engine = TranslationEngine(gguf, n_threads=2, cache=False, max_new_tokens=24)
    assert engine.info["architecture"] == "gemma3"
    assert engine.translate("Passwort ändern", "de", "en").strip()

    # Merging into a non-empty folder is refused, and the folder is left as it was.
    assert main(["merge", "--adapter", str(run), "--output", str(merged)]) == 2
    assert main(["merge", "--adapter", str(tmp_path / "none"), "--output", str(tmp_path / "m2")]) == 2
    assert not (tmp_path / "m2").exists()
