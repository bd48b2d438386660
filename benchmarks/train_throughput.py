"""Stage-2 training throughput: our length-grouped batches vs ALMA-style left-pad-to-512 batches.

Both modes train the same model (default: SmolLM2-135M-Instruct, LoRA as in demo-stage2) on batches
drawn from the same pool of demo examples (Django catalogs, both directions of every demo pair), with
the same batch size; only the batching differs:
- ours: a mega-batch of 50 batches' worth of examples sorted by length and cut into batches (what
  transformers' group_by_length sampler does), each right-padded to its own longest example;
- alma: the reference repository's batches, random examples each left-padded to 512 tokens.
Reported per mode: trained target tokens per second (tokens that carry loss: target + EOS), all
tokens per second, and the fraction of padding among the positions computed. A timed step is
forward + backward + optimizer step. The two modes' steps alternate on one model (after an
untimed warm-up step for each distinct batch shape), so that a machine shared with other work slows
both alike.

    python benchmarks/train_throughput.py                     # CPU here; GPU where one is present
    python benchmarks/train_throughput.py --finetune full --steps 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from machine_info import cpu_name  # benchmarks/ is on sys.path when a script runs

from alma_train.data.parallel import directions_of, read_parallel
from alma_train.train.config import load_config
from alma_train.train.examples import IGNORE_INDEX, PaddingCollator, TokenizedDataset, tokenize_pair


def machine() -> str:
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    cpu = cpu_name()
    return f"CPU {cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


def demo_pairs(data_dir: Path | None) -> list:
    if data_dir is None:
        from alma_train.data.demo_data import build_demo_data

        data_dir = Path(tempfile.mkdtemp(prefix="alma-bench-"))
        build_demo_data(data_dir, monolingual=False)
    files = sorted((data_dir / "parallel").glob("*-en/train.jsonl"))
    pairs = [f.parent.name for f in files]
    return list(read_parallel(files, directions_of(pairs)))


def batches_ours(pool: list, batch_size: int, count: int, rng: random.Random) -> list[list]:
    mega = sorted(pool[: 50 * batch_size], key=lambda e: len(e.input_ids), reverse=True)
    batches = [mega[i:i + batch_size] for i in range(0, len(mega), batch_size)]
    return rng.sample(batches, count)


def batches_alma(pool: list, batch_size: int, count: int, rng: random.Random) -> list[list]:
    return [rng.sample(pool, batch_size) for _ in range(count)]


def make_step(model, optimizer, device):
    import torch

    def step(collator: PaddingCollator, batch: list) -> dict:
        tensors = {k: v.to(device) for k, v in collator(TokenizedDataset(batch)).items()}
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = model(**tensors).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        mask = tensors["attention_mask"]
        return {"seconds": time.perf_counter() - start,
                "trained": int((tensors["labels"] != IGNORE_INDEX).sum()),
                "real": int(mask.sum()), "positions": int(mask.numel())}

    return step


def summarise(steps: list[dict]) -> dict:
    seconds = sum(s["seconds"] for s in steps)
    trained, real, positions = (sum(s[k] for s in steps) for k in ("trained", "real", "positions"))
    return {
        "timed_steps": len(steps),
        "seconds": round(seconds, 3),
        "trained_target_tokens": trained,
        "trained_target_tokens_per_s": round(trained / seconds, 1),
        "tokens_per_s": round(real / seconds, 1),
        "positions_per_s": round(positions / seconds, 1),
        "padding_fraction": round(1 - real / positions, 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default", help='HF model folder ("default": SmolLM2-135M)')
    parser.add_argument("--data-dir", type=Path, help="demo data folder (built in a temp dir if absent)")
    parser.add_argument("--finetune", choices=("lora", "full"), default="lora")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per mode (after warm-up)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)

    import torch
    from transformers import AutoTokenizer

    from alma_train.train.trainer import load_model, resolve_model_dir

    config = load_config("demo-stage2", {"output_dir": "unused", "finetune": args.finetune, "model": args.model})
    model_dir = resolve_model_dir(config.model)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    rng = random.Random(args.seed)
    pairs = demo_pairs(args.data_dir)
    drawn = rng.sample(pairs, 50 * args.batch_size)
    pool = [tokenize_pair(p, tokenizer, config.max_source_tokens, config.max_target_tokens) for p in drawn]
    pool = [e for e in pool if len(e.input_ids) <= 512]  # the baseline cannot hold longer ones

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    precision = "bf16" if device.type == "cuda" else "fp32"
    torch.manual_seed(args.seed)
    model = load_model(config, model_dir, precision).to(device)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    step = make_step(model, optimizer, device)
    modes = {
        "ours (length-grouped)": (PaddingCollator(tokenizer.pad_token_id,
                                                  pad_to_multiple_of=config.pad_to_multiple_of),
                                  batches_ours(pool, args.batch_size, args.steps, rng)),
        "alma (left-pad to 512)": (PaddingCollator(tokenizer.pad_token_id, pad_to=512, side="left"),
                                   batches_alma(pool, args.batch_size, args.steps, rng)),
    }
    # Warm-up, untimed: one step per distinct batch shape. On CPU every new shape pays a one-time
    # kernel setup that a real run pays once per shape (pad_to_multiple_of keeps them few), so the
    # timed steps measure the steady state of both modes.
    for collator, batches in modes.values():
        seen: set[int] = set()
        for batch in batches:
            width = collator(TokenizedDataset(batch))["input_ids"].shape[1]
            if width not in seen:
                seen.add(width)
                step(collator, batch)
    timed: dict[str, list[dict]] = {mode: [] for mode in modes}
    for index in range(args.steps):
        for mode, (collator, batches) in modes.items():
            timed[mode].append(step(collator, batches[index]))
    results = {mode: summarise(steps) for mode, steps in timed.items()}

    ours, alma = results["ours (length-grouped)"], results["alma (left-pad to 512)"]
    report = {
        "machine": machine(),
        "model": str(model_dir),
        "finetune": args.finetune,
        "precision": precision,
        "batch_size": args.batch_size,
        "pool_examples": len(pool),
        "results": results,
        "speedup_trained_target_tokens_per_s": round(
            ours["trained_target_tokens_per_s"] / alma["trained_target_tokens_per_s"], 2),
    }
    print(json.dumps(report, indent=2))
    print("\n| batching | trained target tok/s | all tok/s | padding |\n|---|---|---|---|", file=sys.stderr)
    for mode, r in results.items():
        print(f"| {mode} | {r['trained_target_tokens_per_s']} | {r['tokens_per_s']} | "
              f"{r['padding_fraction']:.1%} |", file=sys.stderr)
    print(f"speedup: {report['speedup_trained_target_tokens_per_s']}x on {report['machine']}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
