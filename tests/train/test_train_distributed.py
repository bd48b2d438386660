"""The distributed path for real: two data-parallel processes (torchrun, gloo on CPU), and the shipped
accelerate configs for DDP, FSDP and DeepSpeed ZeRO-2."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DISTRIBUTED = REPO / "alma_train" / "distributed"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_process_ddp_run_completes(tmp_path, default_hf_dir, demo_data):
    from tiny_model import build_tiny_llama

    model = build_tiny_llama(tmp_path / "tiny", default_hf_dir)
    out = tmp_path / "ddp"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
           "-m", "alma_train.cli", "stage2", "--config", "demo-stage2", "--model", str(model),
           "--data_dir", str(demo_data), "--output_dir", str(out), "--pairs", "de-en",
           "--max_steps", "3", "--eval_steps", "3", "--save_steps", "3", "--max_valid_examples", "8",
           "--logging_steps", "1", "--per_device_train_batch_size", "2"]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["global_step"] == 3
    # Each step consumed a batch on each of the two ranks: 3 steps x 2 ranks x 2 examples.
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    last_epoch = [r["epoch"] for r in log if "loss" in r][-1]
    assert last_epoch == pytest.approx(3 * 2 * 2 / summary["data"]["train_examples"], rel=0.01)
    assert (out / "adapter_model.safetensors").is_file()
    # Only the main process printed its summary.
    assert done.stdout.count('"global_step"') == 1


def test_shipped_accelerate_configs():
    ddp = yaml.safe_load((DISTRIBUTED / "ddp.yaml").read_text())
    assert ddp["distributed_type"] == "MULTI_GPU" and ddp["mixed_precision"] == "bf16"
    fsdp = yaml.safe_load((DISTRIBUTED / "fsdp.yaml").read_text())
    assert fsdp["distributed_type"] == "FSDP"
    assert fsdp["fsdp_config"]["fsdp_transformer_layer_cls_to_wrap"] == "LlamaDecoderLayer"
    zero = yaml.safe_load((DISTRIBUTED / "deepspeed-zero2.yaml").read_text())
    assert zero["distributed_type"] == "DEEPSPEED" and zero["num_processes"] == 16
    ds_json = REPO / zero["deepspeed_config"]["deepspeed_config_file"]
    ds = json.loads(ds_json.read_text())
    assert ds["zero_optimization"]["stage"] == 2
    # Batch sizes are "auto": transformers fills them from the training config, so one file serves
    # every preset and GPU count.
    assert ds["train_micro_batch_size_per_gpu"] == ds["gradient_accumulation_steps"] == "auto"
