"""Stage-2 runs of the shared trainer on a tiny random LLaMA with the real SmolLM2 tokenizer and the
real demo corpus: CLI + presets + overrides, keep-best, logs and summary, resume after a kill, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alma_train.cli import main
from alma_train.train.config import ConfigError, load_config, preset_names
from alma_train.train.trainer import cpu_has_native_bf16

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, default_hf_dir) -> Path:
    from tiny_model import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "model", default_hf_dir)


def stage2_args(tiny_model: Path, demo_data: Path, out: Path, *extra: str) -> list[str]:
    return ["stage2", "--config", "demo-stage2", "--model", str(tiny_model), "--data_dir", str(demo_data),
            "--output_dir", str(out), "--max_valid_examples", "24", "--logging_steps", "1",
            "--per_device_train_batch_size", "4", *extra]


def test_presets_ship_and_carry_the_paper_settings():
    names = set(preset_names())
    assert {"alma-7b-stage1", "alma-13b-stage1", "alma-7b-stage2-full", "alma-7b-stage2-lora",
            "alma-13b-stage2-lora", "demo-stage1", "demo-stage2", "demo-stage2-full"} <= names
    lora = load_config("alma-7b-stage2-lora", {"output_dir": "x"})
    assert (lora.finetune, lora.lora_r, lora.lora_alpha, lora.lora_dropout, lora.lora_target_modules,
            lora.learning_rate, lora.max_source_tokens, lora.max_target_tokens) == \
        ("lora", 16, 32, 0.05, ["down_proj"], 2e-3, 256, 256)
    full = load_config("alma-7b-stage2-full", {"output_dir": "x"})
    assert (full.finetune, full.learning_rate, full.lr_scheduler_type, full.warmup_ratio,
            full.weight_decay) == ("full", 2e-5, "inverse_sqrt", 0.01, 0.01)
    stage1 = load_config("alma-13b-stage1", {"output_dir": "x"})
    assert stage1.sampling == {"en": 0.17, "ru": 0.22, "cs": 0.14, "zh": 0.19, "is": 0.08, "de": 0.20}
    assert stage1.block_size == 512 and stage1.lr_scheduler_type == "cosine"
    for name in ("alma-7b-stage1", "alma-7b-stage2-full"):
        cfg = load_config(name, {"output_dir": "x"})
        # Global batch 256 on the paper's 16 GPUs.
        assert 16 * cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps == 256


def test_overrides_are_typed_and_unknown_settings_named():
    cfg = load_config("demo-stage2", {"max_steps": 2, "pairs": "de-en, cs-en", "learning_rate": "1e-4",
                                      "output_dir": "o"})
    assert (cfg.max_steps, cfg.pairs, cfg.learning_rate) == (2, ["de-en", "cs-en"], 1e-4)
    with pytest.raises(ConfigError, match="unknown setting 'max_step'"):
        load_config("demo-stage2", {"max_step": 2, "output_dir": "o"})
    with pytest.raises(ConfigError, match="'max_steps' must be an integer"):
        load_config("demo-stage2", {"max_steps": "two", "output_dir": "o"})
    with pytest.raises(ConfigError, match="no config file or preset named 'nope'"):
        load_config("nope", {"output_dir": "o"})
    with pytest.raises(ConfigError, match="is a stage1 config"):
        load_config("demo-stage1", {"output_dir": "o"}, stage="stage2")


@pytest.mark.slow
def test_stage2_lora_run_keeps_best_logs_and_summarises(tiny_model, demo_data, tmp_path):
    out = tmp_path / "run"
    rc = main(stage2_args(tiny_model, demo_data, out, "--max_steps", "4", "--eval_steps", "2",
                          "--save_steps", "2", "--pairs", "[de-en, zh-en]"))
    assert rc == 0
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["global_step"] == 4
    assert summary["data"]["directions"] == ["de-en", "en-de", "en-zh", "zh-en"]
    assert summary["parameters"]["trainable"] < summary["parameters"]["total"] / 10
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == [1, 2, 3, 4]
    evals = {r["step"]: r["eval_loss"] for r in log if "eval_loss" in r and r["step"] in (2, 4)}
    # Keep-best: the saved model is the checkpoint with the lowest validation loss.
    best_step = min(evals, key=evals.get)
    assert summary["best_checkpoint"].endswith(f"checkpoint-{best_step}")
    assert summary["final_eval_loss"] == pytest.approx(evals[best_step], abs=1e-5)
    assert (out / "adapter_model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    # Length-grouped batches, not pad-to-512: the longest example is far shorter.
    assert summary["data"]["max_example_tokens"] < 512


@pytest.mark.slow
def test_stage2_full_run_writes_standalone_model(tiny_model, demo_data, tmp_path):
    out = tmp_path / "full"
    rc = main(stage2_args(tiny_model, demo_data, out, "--finetune", "full", "--max_steps", "2",
                          "--eval_steps", "2", "--save_steps", "2", "--pairs", "de-en",
                          "--gradient_checkpointing", "true", "--learning_rate", "1e-3"))
    assert rc == 0
    from safetensors.torch import load_file

    trained = load_file(out / "model.safetensors")
    base = load_file(tiny_model / "model.safetensors")
    assert any(not (trained[k] == base[k]).all() for k in base)
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["parameters"]["trainable"] == summary["parameters"]["total"]
    # precision auto: bf16 autocast only where this CPU multiplies bf16 in hardware.
    assert summary["precision"] == ("bf16" if cpu_has_native_bf16() else "fp32")


@pytest.mark.slow
def test_resume_after_kill_continues_the_step_count(tiny_model, demo_data, tmp_path):
    out = tmp_path / "killed"
    args = stage2_args(tiny_model, demo_data, out, "--max_steps", "400", "--eval_steps", "3",
                       "--save_steps", "3", "--pairs", "de-en", "--eval_at_start", "false")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "alma_train.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while not (out / "checkpoint-6" / "trainer_state.json").is_file():
            assert proc.poll() is None, "training ended before it could be killed"
            assert time.time() < deadline, "no checkpoint-6 within 300 s"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert not (out / "run_summary.json").exists()
    # The kill may cut a checkpoint short; the last complete one (trainer_state.json written last) counts.
    last = max(int(p.parent.name.split("-")[1]) for p in out.glob("checkpoint-*/trainer_state.json"))
    assert last >= 6
    # The same command again (shorter here only to keep the test fast) resumes.
    args[args.index("--max_steps") + 1] = str(last + 3)
    assert main(args) == 0
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["resumed_from"].endswith(f"checkpoint-{last}")
    assert summary["global_step"] == last + 3
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in log if "loss" in r]
    assert steps[-3:] == [last + 1, last + 2, last + 3]


def run_cli_expecting_usage_error(args: list[str], capsys) -> str:
    assert main(args) == 2
    return capsys.readouterr().err


def test_bad_input_exits_2_and_writes_nothing(tiny_model, demo_data, tmp_path, capsys):
    out = tmp_path / "never"
    err = run_cli_expecting_usage_error(stage2_args(tiny_model, demo_data, out, "--pairs", "de-xx"), capsys)
    assert "unknown language code 'xx'" in err
    err = run_cli_expecting_usage_error(stage2_args(tmp_path / "nomodel", demo_data, out), capsys)
    assert "model folder not found" in err and "nomodel" in err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    err = run_cli_expecting_usage_error(
        stage2_args(tiny_model, demo_data, out, "--train_files", str(empty), "--valid_files", "[]"), capsys)
    assert "training corpus is empty" in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"de": "Ja", "en": "Yes"}\n{oops\n', encoding="utf-8")
    err = run_cli_expecting_usage_error(
        stage2_args(tiny_model, demo_data, out, "--train_files", str(bad)), capsys)
    assert f"{bad}:2" in err
    err = run_cli_expecting_usage_error(stage2_args(tiny_model, demo_data, out, "--max_steps", "x"), capsys)
    assert "'max_steps' must be an integer" in err
    assert not out.exists()


def test_resume_skips_a_checkpoint_cut_short(tmp_path):
    from alma_train.train.trainer import last_complete_checkpoint

    assert last_complete_checkpoint(tmp_path) is None
    for step in (3, 6, 9):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "model.safetensors").write_text("")
    (tmp_path / "checkpoint-3" / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-6" / "trainer_state.json").write_text("{}")
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-6")
    # The partial checkpoint-9 (killed while saving) is removed so the resumed run can save there.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-3", "checkpoint-6"]


@pytest.mark.slow
def test_rerun_of_a_finished_command_does_not_train_further(tiny_model, demo_data, tmp_path):
    out = tmp_path / "done"
    args = stage2_args(tiny_model, demo_data, out, "--max_steps", "2", "--eval_steps", "2",
                       "--save_steps", "2", "--pairs", "de-en", "--eval_at_start", "false")
    assert main(args) == 0
    first = json.loads((out / "run_summary.json").read_text())
    assert main(args) == 0
    again = json.loads((out / "run_summary.json").read_text())
    assert again["resumed_from"].endswith("checkpoint-2")
    assert again["global_step"] == 2 and again["train_loss"] is None
    assert again["final_eval_loss"] == pytest.approx(first["final_eval_loss"], abs=1e-6)
