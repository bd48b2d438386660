"""Stage 1 through the shared trainer: packed monolingual blocks of the demo man pages, tiny model."""

from __future__ import annotations

import json

import pytest

from alma_train.cli import main


@pytest.mark.slow
def test_stage1_runs_packed_blocks_and_loss_falls(tmp_path, default_hf_dir, demo_data):
    from tiny_model import build_tiny_llama

    model = build_tiny_llama(tmp_path / "tiny", default_hf_dir)
    out = tmp_path / "stage1"
    rc = main(["stage1", "--config", "demo-stage1", "--model", str(model), "--data_dir", str(demo_data),
               "--output_dir", str(out), "--max_steps", "12", "--block_size", "64", "--logging_steps", "1",
               "--save_steps", "12", "--learning_rate", "3e-3", "--lr_scheduler_type", "constant"])
    assert rc == 0
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["global_step"] == 12
    assert summary["data"]["languages"] == ["cs", "de", "en", "ru", "zh"]
    losses = [r["loss"] for r in map(json.loads, (out / "train_log.jsonl").read_text().splitlines())
              if "loss" in r]
    assert len(losses) == 12
    # A random model learns the token statistics of real text quickly: loss on every token falls.
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.5
    assert (out / "model.safetensors").is_file()


def test_stage1_bad_sources_exit_2_and_write_nothing(tmp_path, demo_data, capsys):
    out = tmp_path / "never"
    base = ["stage1", "--config", "demo-stage1", "--data_dir", str(demo_data), "--output_dir", str(out),
            "--model", str(tmp_path)]
    assert main(base) == 2
    assert "model folder not found" in capsys.readouterr().err
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_text("")
    empty = tmp_path / "en.txt"
    empty.write_text("\n\n")
    assert main([*base, "--monolingual", f"{{en: {empty}}}", "--sampling", "{en: 1.0}"]) == 2
    assert "is empty" in capsys.readouterr().err
    assert main([*base, "--monolingual", f"{{xx: {empty}}}", "--sampling", "{}"]) == 2
    assert "unknown language code 'xx'" in capsys.readouterr().err
    assert main([*base, "--max_steps", "-1"]) == 2
    assert "set 'max_steps'" in capsys.readouterr().err
    assert not out.exists()
