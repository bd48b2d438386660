"""Training throughput, two comparisons (`--compare`):

batching (default), stage 2: our length-grouped batches vs ALMA-style left-pad-to-512 batches. Both modes
train the same model (default: SmolLM2-135M-Instruct, LoRA as in demo-stage2) on batches drawn from the
same pool of demo examples (Django catalogs, both directions of every demo pair), with the same batch
size; only the batching differs:
- ours: a mega-batch of 50 batches' worth of examples sorted by length and cut into batches (what
  transformers' group_by_length sampler does), each right-padded to its own longest example;
- alma: the reference repository's batches, random examples each left-padded to 512 tokens.
Reported per mode: trained target tokens per second (tokens that carry loss: target + EOS), all
tokens per second, and the fraction of padding among the positions computed. A timed step is
forward + backward + optimizer step. The two modes' steps alternate on one model (after an
untimed warm-up step for each distinct batch shape), so that a machine shared with other work slows
both alike.

vocab: restrict_vocab off (today's loss: every trained position over the whole vocabulary) vs on (the
kept vocabulary the shipped GGUF has), stage 2 (the translator-gemma3-270m recipe, LoRA) and stage 1
(demo-stage1, full fine-tuning), on Gemma 3 270M. Each side runs in its own child process, on the same
batches (same seed), with the trainer's own loss functions, so that its peak RSS (VmHWM) is its own; one
line per side: target tokens/s over the timed steps and peak RSS. The first warm-up batch of stage 2 is
the training set's 8 longest examples, where a real run meets its peak memory. docs/training.md#efficiency.

recipe: as vocab, but the two sides are the recipes: `before` is stage 2 as v5 was built until
2026-12 (restrict_vocab off, fp32 on a CPU, LoRA dropout 0.05), `after` the translator-gemma3-270m preset as it is now
(restrict_vocab on, precision auto: bf16 autocast on a CPU that multiplies bf16 natively). Stage 1: demo-stage1
with the same two settings. This is the comparison issue 27's "2x the target tokens/s" is about.

    python benchmarks/train_throughput.py                     # CPU here; GPU where one is present
    python benchmarks/train_throughput.py --finetune full --steps 2 --json out.json
    python benchmarks/train_throughput.py --compare vocab --data-dir DEMO_DATA --steps 12 --stage1-steps 3
    python benchmarks/train_throughput.py --compare recipe --data-dir DEMO_DATA --steps 12 --stage1-steps 3
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

# The repository root first: benchmarks/convert.py must not shadow the convert package (restrict_vocab).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alma_train.data.parallel import directions_of, read_parallel  # noqa: E402
from alma_train.train.config import load_config  # noqa: E402
from alma_train.train.examples import (  # noqa: E402
    IGNORE_INDEX,
    PaddingCollator,
    TokenizedDataset,
    tokenize_pair,
    tokenize_pairs,
)


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


# --- vocab: restrict_vocab off vs on ------------------------------------------------------------------


def peak_rss_gib() -> float:
    """This process's peak resident set (VmHWM), GiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


# The sides of the vocab and recipe comparisons: the settings each changes from its preset.
SIDES = {
    "vocab": {"off": {"restrict_vocab": False}, "on": {"restrict_vocab": True}},
    # before: recipe v5 as built until 2026-12 (LoRA dropout 0.05; no effect on stage 1's full fine-tuning).
    "recipe": {"before": {"restrict_vocab": False, "precision": "before", "lora_dropout": 0.05},
               "after": {"restrict_vocab": True}},
}


def vocab_side_config(stage: str, settings: dict, args):
    model = "gemma3-270m" if args.model == "default" else args.model
    common = {"output_dir": "unused", "model": model, "data_dir": str(args.data_dir), **settings}
    if stage == "stage2":
        return load_config("translator-gemma3-270m", common, stage="stage2")
    return load_config("demo-stage1", {**common, "block_size": 256}, stage="stage1")


def vocab_side_batches(stage: str, config, tokenizer, count: int, seed: int) -> tuple[list[list], tuple | None]:
    """`count` batches, the same for both sides: stage 2 length-grouped demo examples (and the pool they
    come from, with its pairs), stage 1 packed blocks."""
    from alma_train.train.trainer import build_stage1_data, read_stage2_pairs

    size = config.per_device_train_batch_size
    if stage == "stage2":
        rng = random.Random(seed)
        train, _ = read_stage2_pairs(config)
        drawn = rng.sample(train, 50 * size)
        pool = [tokenize_pair(p, tokenizer, config.max_source_tokens, config.max_target_tokens) for p in drawn]
        # The first (untimed) batch is the run's longest: transformers' length-grouped sampler puts the
        # batch with the longest example first, so a real run's peak memory is met at its first step.
        everything = tokenize_pairs(train, tokenizer, config.max_source_tokens, config.max_target_tokens)
        longest = sorted(range(len(train)), key=lambda i: len(everything[i].input_ids))[-size:]
        batches = [[everything[i] for i in longest], *batches_ours(pool, size, count - 1, rng)]
        return batches, ([*pool, *(everything[i] for i in longest)], [*drawn, *(train[i] for i in longest)])
    blocks = iter(build_stage1_data(config, tokenizer).train)
    return [[next(blocks) for _ in range(size)] for _ in range(count)], None


def run_vocab_side(args) -> dict:
    """One side of the vocab comparison, in this (child) process."""
    import torch

    from alma_train.train.kept_loss import KeptVocabulary, kept_vocabulary_loss
    from alma_train.train.restrict import check_examples_kept, choose_kept
    from alma_train.train.target_loss import target_only_loss
    from alma_train.train.tokenizer import load_tokenizer
    from alma_train.train.trainer import load_model, precision_of, resolve_model_dir

    stage, side = args.side.split(":")
    settings = dict(SIDES[args.compare][side])
    # "before": the precision `auto` gave until 2026-12 (bf16 on CUDA only, fp32 on every CPU).
    before = settings.pop("precision", None) == "before"
    if args.precision:
        settings["precision"] = args.precision
    config = vocab_side_config(stage, settings, args)
    restrict = config.restrict_vocab
    model_dir = resolve_model_dir(config.model)
    tokenizer = load_tokenizer(model_dir)
    steps = args.steps if stage == "stage2" else args.stage1_steps
    batches, examples = vocab_side_batches(stage, config, tokenizer, args.warmup + steps, args.seed)
    kept, choose_seconds = None, 0.0
    if restrict:
        started = time.perf_counter()
        choice = choose_kept(config, model_dir, tokenizer)
        choose_seconds = time.perf_counter() - started
        if examples is not None:
            check_examples_kept(*examples, choice)
        kept = KeptVocabulary.of(choice.ids, choice.vocab_size, choice.names)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    precision = ("bf16" if device.type == "cuda" else "fp32") if before else precision_of(config)
    torch.manual_seed(args.seed)
    model = load_model(config, model_dir, precision).to(device)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    collator = PaddingCollator(pad_id, pad_to_multiple_of=config.pad_to_multiple_of)
    timed = []
    for index, batch in enumerate(batches):
        tensors = {k: v.to(device) for k, v in collator(batch if stage == "stage1" else TokenizedDataset(batch)
                                                         ).items()}
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            if kept is not None:
                loss = kept_vocabulary_loss(model, tensors["input_ids"], tensors["attention_mask"],
                                            tensors["labels"], kept)
            else:
                loss = target_only_loss(model, tensors["input_ids"], tensors["attention_mask"], tensors["labels"])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if index >= args.warmup:
            timed.append({"seconds": time.perf_counter() - start,
                          "trained": int((tensors["labels"][:, 1:] != IGNORE_INDEX).sum()),
                          "loss": loss.detach().item()})
    seconds = sum(t["seconds"] for t in timed)
    trained = sum(t["trained"] for t in timed)
    return {"stage": stage, "side": side, "restrict_vocab": restrict, "precision": precision,
            "finetune": config.finetune, "steps": len(timed),
            "batch_size": config.per_device_train_batch_size, "seconds": round(seconds, 2),
            "target_tokens": trained, "target_tokens_per_s": round(trained / seconds, 1),
            "mean_loss": round(sum(t["loss"] for t in timed) / len(timed), 4),
            "kept": len(kept.ids) if kept is not None else None, "choose_kept_seconds": round(choose_seconds, 1),
            "peak_rss_gib": round(peak_rss_gib(), 2),
            "peak_cuda_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if device.type == "cuda" else None,
            "machine": machine()}


def compare_sides(args, argv: list[str]) -> int:
    """Each side in its own child process, one after the other; one line per side, then the ratios."""
    import subprocess

    if args.data_dir is None:
        from alma_train.data.demo_data import build_demo_data

        args.data_dir = Path(tempfile.mkdtemp(prefix="alma-bench-"))
        build_demo_data(args.data_dir, monolingual=True, max_documents=40)
        argv = [*argv, "--data-dir", str(args.data_dir)]
    results = []
    for stage in [s.strip() for s in args.stages.split(",") if s.strip()]:
        by_side = {}
        first, second = SIDES[args.compare]
        for side in (first, second):
            child = subprocess.run([sys.executable, __file__, *argv, "--side", f"{stage}:{side}"],
                                   capture_output=True, text=True)
            if child.returncode != 0:
                print(child.stderr[-4000:], file=sys.stderr)
                return child.returncode
            r = json.loads(child.stdout.strip().splitlines()[-1])
            by_side[side] = r
            results.append(r)
            kept = f"kept {r['kept']:,} tokens (chosen in {r['choose_kept_seconds']} s)" if r["kept"] else "all tokens"
            print(f"{stage} {r['finetune']} {args.compare} {side:>6} ({r['precision']}, restrict_vocab "
                  f"{'on' if r['restrict_vocab'] else 'off'}): {r['target_tokens_per_s']} target tok/s "
                  f"({r['target_tokens']} target tokens in {r['steps']} steps of {r['batch_size']}, "
                  f"{r['seconds']} s), peak RSS {r['peak_rss_gib']} GiB, {kept}, mean loss {r['mean_loss']}",
                  flush=True)
        off, on = by_side[first], by_side[second]
        print(f"{stage}: {second} = {on['target_tokens_per_s'] / off['target_tokens_per_s']:.2f}x {first}'s "
              f"target tok/s, {on['peak_rss_gib'] - off['peak_rss_gib']:+.2f} GiB peak RSS, on {off['machine']}",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default", help='HF model folder ("default": SmolLM2-135M)')
    parser.add_argument("--data-dir", type=Path, help="demo data folder (built in a temp dir if absent)")
    parser.add_argument("--finetune", choices=("lora", "full"), default="lora")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per mode (after warm-up)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument("--compare", choices=("batching", "vocab", "recipe"), default="batching")
    parser.add_argument("--stages", default="stage2,stage1", help="vocab: the stages to measure")
    parser.add_argument("--stage1-steps", type=int, default=3, help="vocab: timed stage-1 steps per side")
    parser.add_argument("--warmup", type=int, default=2, help="vocab: untimed steps first, per side")
    parser.add_argument("--precision", choices=("fp32", "bf16"), help="vocab: both sides' precision "
                        "(default: the preset's, `auto`)")
    parser.add_argument("--side", help=argparse.SUPPRESS)  # vocab: run one side here (a child process)
    args = parser.parse_args(argv)
    if args.side:
        print(json.dumps(run_vocab_side(args)))
        return 0
    if args.compare in SIDES:
        return compare_sides(args, argv if argv is not None else sys.argv[1:])

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
