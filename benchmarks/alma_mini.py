"""The ALMA result in miniature: zero-shot vs stage 2 (LoRA, full) vs stage 1 + stage 2, on the default model.

Runs the whole pipeline with the project's own commands, on the demo corpora (Django's human-written UI
translations for stage 2, Debian's man pages for stage 1), and evaluates every model on the held-out
Django test split:

    demo-data -> evaluate the zero-shot default model -> stage2 LoRA (+ merge) -> stage2 full -> stage1
    -> stage1 + stage2 LoRA (+ merge) -> evaluate each -> the best one to GGUF q8_0 -> evaluate it
    -> compare (one table, deltas against zero-shot)

Every step is skipped when its marker (WORKDIR/steps/NAME.json, written when the step ends, with its
wall time) exists, so an interrupted run continues where it stopped; --only NAME,... runs just those
steps (e.g. an evaluation beside a training run). Usage:

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/alma_mini.py --workdir runs/alma-mini

The defaults are sized for a shared 2-core CPU (greedy decoding, first 16 segments per direction, 48
new tokens, 60 stage-2 steps, 15 stage-1 steps); on a GPU use --beams 5 --max-new-tokens 256
--limit 0 (whole test split) and more steps. The table goes to WORKDIR/compare.md and the timings to
WORKDIR/timings.json; docs/results.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from alma_core.atomic import write_text_atomic as write_atomic

PAIRS = ("de-en", "cs-en", "is-en", "zh-en", "ru-en")


def run_step(workdir: Path, name: str, command: list[str]) -> dict:
    """Run one pipeline command unless its marker says it already ran; returns the marker."""
    marker = workdir / "steps" / f"{name}.json"
    if marker.is_file():
        print(f"[alma-mini] {name}: done earlier ({marker})", flush=True)
        return json.loads(marker.read_text())
    print(f"[alma-mini] {name}: {' '.join(command)}", flush=True)
    started = time.time()
    subprocess.run(command, check=True)
    record = {"step": name, "command": command, "seconds": round(time.time() - started, 1)}
    write_atomic(marker, json.dumps(record, indent=2) + "\n")
    print(f"[alma-mini] {name}: {record['seconds']} s", flush=True)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", default="runs/alma-mini", help="where data, models and reports go")
    parser.add_argument("--limit", type=int, default=16, help="test sentences per direction (0: all)")
    parser.add_argument("--beams", type=int, default=1, help="beam size for the HF models (paper: 5)")
    parser.add_argument("--max-new-tokens", type=int, default=48, help="paper: 256")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--stage1-steps", type=int, default=15)
    parser.add_argument("--stage2-steps", type=int, default=60)
    parser.add_argument("--valid-examples", type=int, default=48, help="validation examples per stage-2 eval")
    parser.add_argument("--max-documents", type=int, default=40, help="man pages per language for stage 1")
    parser.add_argument("--pairs", default=",".join(PAIRS), help="language pairs (each: both directions)")
    parser.add_argument("--only", help="run only these steps (comma-separated names, e.g. evaluate-zero-shot), "
                                       "to run independent steps side by side")
    args = parser.parse_args(argv)

    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    train = [sys.executable, "-m", "alma_train.cli"]
    convert = [sys.executable, "-m", "convert.cli"]
    data = workdir / "data"
    pairs = args.pairs.split(",")
    pair_list = "[" + ", ".join(pairs) + "]"
    train_files = "[" + ", ".join(f"parallel/{p}/train.jsonl" for p in pairs) + "]"
    valid_files = "[" + ", ".join(f"parallel/{p}/valid.jsonl" for p in pairs) + "]"
    # Evaluate (and keep the best checkpoint) twice per run, on a small validation sample: on a CPU
    # the preset's 200 validation examples cost as much as many training steps.
    half = str(max(1, args.stage2_steps // 2))
    stage2_common = ["--data_dir", str(data), "--pairs", pair_list, "--train_files", train_files,
                     "--valid_files", valid_files, "--max_steps", str(args.stage2_steps),
                     "--max_valid_examples", str(args.valid_examples), "--eval_steps", half,
                     "--save_steps", half, "--eval_at_start", "false"]
    timings: dict[str, float] = {}

    only = set(args.only.split(",")) if args.only else None

    def step(name: str, command: list[str]) -> None:
        if only is None or name in only:
            timings[name] = run_step(workdir, name, command)["seconds"]

    # 1. Data, and the zero-shot baseline.
    step("demo-data", [*train, "demo-data", "--output", str(data), "--max-documents", str(args.max_documents)])

    # Every model is evaluated on the same held-out directions.
    from alma_train.train.base_export import export_default_hf

    tests = [str(data / "parallel" / p / "test.jsonl") for p in pairs]
    decoding = ["--beams", str(args.beams), "--max-new-tokens", str(args.max_new_tokens),
                "--batch-size", str(args.batch_size), "--limit", str(args.limit)]
    models = {
        "zero-shot": str(export_default_hf()),
        "stage2-lora": str(workdir / "stage2-lora-merged"),
        "stage2-full": str(workdir / "stage2-full"),
        "stage1-stage2-lora": str(workdir / "stage1-stage2-lora-merged"),
    }
    reports = workdir / "reports"
    step("evaluate-zero-shot", [*train, "evaluate", "--model", models["zero-shot"], "--test", *tests, *decoding,
                                "--output", str(reports / "zero-shot.json")])

    # 2. Training: stage 2 alone (LoRA, full), stage 1, stage 1 + stage 2 (LoRA).
    step("stage2-lora", [*train, "stage2", "--config", "demo-stage2", *stage2_common,
                         "--output_dir", str(workdir / "stage2-lora")])
    step("merge-stage2-lora", [*train, "merge", "--base", "default", "--adapter", str(workdir / "stage2-lora"),
                               "--output", str(workdir / "stage2-lora-merged")])
    step("stage2-full", [*train, "stage2", "--config", "demo-stage2-full", *stage2_common,
                         "--output_dir", str(workdir / "stage2-full")])
    step("stage1", [*train, "stage1", "--config", "demo-stage1", "--data_dir", str(data),
                    "--max_steps", str(args.stage1_steps), "--save_steps", str(args.stage1_steps),
                    "--output_dir", str(workdir / "stage1")])
    step("stage1-stage2-lora", [*train, "stage2", "--config", "demo-stage2", *stage2_common,
                                "--model", str(workdir / "stage1"),
                                "--output_dir", str(workdir / "stage1-stage2-lora")])
    step("merge-stage1-stage2-lora", [*train, "merge", "--base", str(workdir / "stage1"),
                                      "--adapter", str(workdir / "stage1-stage2-lora"),
                                      "--output", str(workdir / "stage1-stage2-lora-merged")])

    # 3. Evaluation of the trained models.
    for name, model in list(models.items())[1:]:
        step(f"evaluate-{name}", [*train, "evaluate", "--model", model, "--test", *tests, *decoding,
                                  "--output", str(reports / f"{name}.json")])

    if only is not None:
        return 0

    # 4. The best trained model as the desktop app would ship it: GGUF q8_0, decoded greedily by llama.cpp.
    def avg_bleu(name: str) -> float:
        report = json.loads((reports / f"{name}.json").read_text())
        values = [d["bleu"] for d in report["directions"].values()]
        return sum(values) / len(values)

    best = max((n for n in models if n != "zero-shot"), key=avg_bleu)
    gguf = workdir / f"{best}.q8_0.gguf"
    step("convert-best", [*convert, models[best], "--output", str(gguf), "--type", "q8_0", "--force"])
    step("evaluate-best-gguf", [*train, "evaluate", "--model", str(gguf), "--test", *tests,
                                "--max-new-tokens", str(args.max_new_tokens), "--limit", str(args.limit),
                                "--output", str(reports / f"{best}-q8_0-gguf.json")])
    # The HF original decoded greedily too, so that the GGUF row differs from it only by quantization.
    if args.beams != 1:
        step("evaluate-best-greedy", [*train, "evaluate", "--model", models[best], "--test", *tests,
                                      *decoding[2:], "--beams", "1",
                                      "--output", str(reports / f"{best}-greedy.json")])

    order = ["zero-shot", "stage2-lora", "stage2-full", "stage1-stage2-lora", f"{best}-q8_0-gguf"]
    if args.beams != 1:
        order.insert(-1, f"{best}-greedy")
    compare_md = workdir / "compare.md"
    table = subprocess.run([*train, "compare", *[str(reports / f"{n}.json") for n in order]], check=True,
                           stdout=subprocess.PIPE, text=True).stdout
    write_atomic(compare_md, table)
    summary = {"machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.platform()}",
               "settings": vars(args), "best": best, "seconds": timings}
    write_atomic(workdir / "timings.json", json.dumps(summary, indent=2) + "\n")
    print(compare_md.read_text())
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
