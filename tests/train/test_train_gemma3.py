"""Both ALMA stages on the gemma3 architecture: a tiny random Gemma3ForCausalLM with Gemma 3's real
262k-token tokenizer, through the CLI (the real 270M model runs in test_train_default_model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alma_train.cli import main


@pytest.fixture(scope="module")
def tiny_gemma3(tmp_path_factory) -> Path:
    from base_exports import base_hf_export
    from tiny_model import build_tiny_gemma3

    return build_tiny_gemma3(tmp_path_factory.mktemp("tiny-gemma3") / "model", base_hf_export("gemma3-270m"))


def test_stage1_then_stage2_lora_on_gemma3(tiny_gemma3, demo_data, tmp_path):
    stage1 = tmp_path / "stage1"
    rc = main(["stage1", "--config", "demo-stage1", "--model", str(tiny_gemma3), "--data_dir", str(demo_data),
               "--output_dir", str(stage1), "--max_steps", "3", "--block_size", "64",
               "--per_device_train_batch_size", "2", "--logging_steps", "1", "--save_steps", "3"])
    assert rc == 0
    summary = json.loads((stage1 / "run_summary.json").read_text())
    assert summary["global_step"] == 3 and summary["train_loss"] > 0
    assert (stage1 / "model.safetensors").is_file() and (stage1 / "tokenizer.model").is_file()

    stage2 = tmp_path / "stage2"
    rc = main(["stage2", "--config", "translator-gemma3-270m", "--model", str(stage1), "--data_dir",
               str(demo_data), "--output_dir", str(stage2), "--max_steps", "4", "--eval_steps", "2",
               "--save_steps", "2", "--max_valid_examples", "8", "--per_device_train_batch_size", "4",
               "--max_source_tokens", "32", "--max_target_tokens", "32", "--logging_steps", "1"])
    assert rc == 0
    summary = json.loads((stage2 / "run_summary.json").read_text())
    assert summary["global_step"] == 4 and summary["finetune"] == "lora"
    # The recipe's LoRA targets (every linear layer) exist in the gemma3 family: per layer r 16 times
    # (in + out) of q 64->64, k 64->32, v 64->32, o 64->64, gate 64->128, up 64->128, down 128->64.
    assert summary["parameters"]["trainable"] == 6 * 16 * (128 + 96 + 96 + 128 + 192 + 192 + 192)
    # Validation on the out-of-source set (a project never trained on), as the recipe says.
    assert summary["best_eval_loss"] < summary["initial_eval_loss"]
    assert all("heldout-valid" in f for f in summary["config"]["valid_files"])
    # The recipe restricts the output layer to the kept vocabulary, chosen on the training files by the
    # trim's function and written for the build's trim; every trained label is in it.
    assert summary["config"]["restrict_vocab"] is True
    kept = json.loads((stage2 / "kept_tokens.json").read_text())
    assert summary["kept_vocabulary"]["kept"] == len(kept["ids"]) and 64_000 < len(kept["ids"]) < 262_144
    assert kept["ids"] == sorted(set(kept["ids"])) and {0, 1, 2, 3} <= set(kept["ids"])
