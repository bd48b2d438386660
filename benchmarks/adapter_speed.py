"""Translation speed with a runtime LoRA adapter (a bundle: base + adapter) vs a merged GGUF of the same weights,
and what a direction switch costs beside a model load (docs/adapters.md, "Speed").

The weights (--adapter-type: the adapters' tensor type, f16 by default): one peft LoRA of the translator recipe's shape (v6: r=16, alpha=32 on q/k/v/o/gate/up/down_proj;
lora_B random, as training's values do not change the arithmetic) on the --base's HF export, then
- merged: the adapter merged into the HF weights (peft merge_and_unload), converted by alma-convert (q8_0);
- bundle: the base converted by alma-convert (q8_0) + the adapter converted by alma-convert lora (f16),
  set on the context at run time (desktop.engine, a bundle);
a second adapter (another seed) gives a bundle two languages, for the switch.

Both run through TranslationEngine (no cache), the same --sentences sentences one at a time (greedy, streamed)
and as one document (batched), --rounds times in turn, best time each. Their outputs differ a little (the adapter
in f16 against weights merged then quantized), so their lengths do too: tokens/s counts each side's generated
tokens, and the same fixed tokens are also timed on both (a 200-token prompt read at once, then 64 tokens
decoded one at a time), which is the like-for-like measure.
Sentences: the first --sentences distinct German sentences of DATA/parallel/de-en/test.jsonl (--data, the
build data), else of desktop/samples/sample.de.*.

The switch: what changes after one is setting the adapter (llama_set_adapters_lora) and reading the prompt
whole, as the KV cells of the previous prompt's shared beginning were computed under the other adapter. So a
prompt is timed (one new token) after a prompt of the same direction (its shared beginning reused) and right
after a switch; the difference is the switch's cost, beside a model load (TranslationEngine). The last line
printed is JSON.

    .venv/bin/python -m benchmarks.adapter_speed [--data DATA] [--base gemma3-270m] [--sentences 40]
        [--threads 2] [--rounds 3]

The models are made once into --work (default: the user cache's adapter-speed/<base>/).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The adapter helpers the tests use (seeded peft adapter, alma-convert lora, the merge, the bundle).
sys.path.insert(0, str(ROOT / "tests"))

RECIPE_RANK, RECIPE_ALPHA = 16, 32
RECIPE_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
SAMPLE = ROOT / "desktop" / "samples" / "sample.de.txt"
SWITCHES = 20


def build(base_name: str, work: Path, adapter_type: str = "f16") -> dict[str, Path]:
    """The merged GGUF, the bundle (base + two adapters), made once into work."""
    from lora_adapters import convert_adapter, make_peft_adapter, make_test_bundle, merge_adapter

    from alma_core.gguf_file import read_model_info
    from alma_train.train.base_export import export_base_hf

    work.mkdir(parents=True, exist_ok=True)
    hf = export_base_hf(base_name)
    suffix = "" if adapter_type == "f16" else f".{adapter_type}"  # f16: the names of the first runs
    paths = {"merged": work / "merged.q8_0.gguf", "base": work / "base.q8_0.gguf",
             "bundle": work / f"two{suffix}.bundle", "adapter": work / f"de{suffix}.lora.gguf"}
    peft = [work / f"peft-{seed}" for seed in (0, 1)]
    for seed, folder in enumerate(peft):
        if not (folder / "adapter_config.json").is_file():
            make_peft_adapter(hf, folder, seed, rank=RECIPE_RANK, alpha=RECIPE_ALPHA, targets=RECIPE_TARGETS)

    def convert(model_dir: Path, output: Path) -> None:
        if not output.is_file():
            subprocess.run([sys.executable, "-m", "convert.cli", str(model_dir), "--output", str(output),
                            "--type", "q8_0"], check=True, cwd=ROOT, timeout=3600)

    convert(hf, paths["base"])
    if not paths["merged"].is_file():
        merged_hf = merge_adapter(hf, peft[0], work / "merged-hf")
        convert(merged_hf, paths["merged"])
    if not paths["bundle"].is_dir():
        adapters = {lang: convert_adapter(folder, paths["base"], work / f"{lang}{suffix}.lora.gguf", adapter_type)
                    for lang, folder in zip(("de", "fr"), peft, strict=True)}
        make_test_bundle(paths["bundle"], paths["base"], adapters, alpha=RECIPE_ALPHA,
                         architecture=read_model_info(paths["base"])["architecture"])
    return paths


def sentences(data: Path | None, count: int) -> list[str]:
    """Up to count distinct German sentences (single lines) from the build data's de-en test split or the samples."""
    if data is not None:
        rows = [json.loads(line) for line in (data / "parallel" / "de-en" / "test.jsonl").read_text(
            encoding="utf-8").splitlines() if line.strip()]
        lines = [row["de"].strip() for row in rows if "\n" not in row["de"].strip()]
    else:
        lines = [line.strip() for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return list(dict.fromkeys(line for line in lines if line))[:count]


def timed_translation(engine, texts: list[str], batched: bool) -> tuple[float, int, list[str]]:
    """(seconds, generated tokens, outputs) for de->en, one sentence at a time or as one batched document."""
    engine.generated_tokens = 0
    start = time.perf_counter()
    if batched:
        with engine.prefetch(texts, "de", "en"):
            outputs = [engine.translate(t, "de", "en") for t in texts]
    else:
        outputs = [engine.translate(t, "de", "en") for t in texts]
    return time.perf_counter() - start, engine.generated_tokens, outputs


def fixed_tokens(engine, text: str, rounds: int) -> dict[str, float]:
    """Prompt tokens/s (200 tokens read at once) and ms per decoded token (64, one at a time) on the de->en
    context, the same tokens for every model: best of rounds."""
    model = engine._model
    llama = model._llama
    tokens = llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)
    if len(tokens) < 264:
        raise SystemExit(f"the sentences give {len(tokens)} tokens, fewer than the 264 the fixed test reads")
    prompt_s = step_s = float("inf")
    for _ in range(rounds):
        model._use_direction("de", "en")
        llama.reset()
        start = time.perf_counter()
        llama.eval(tokens[:200])
        prompt_s = min(prompt_s, time.perf_counter() - start)
        start = time.perf_counter()
        for token in tokens[200:264]:
            llama.eval([token])
        step_s = min(step_s, time.perf_counter() - start)
    llama.reset()
    return {"prompt_tokens_per_s": 200 / prompt_s, "ms_per_decoded_token": step_s / 64 * 1000}


def main(argv: list[str] | None = None) -> int:
    from alma_core.paths import user_cache_dir
    from alma_core.prompts import build_prompt
    from desktop.engine import TranslationEngine

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="gemma3-270m")
    parser.add_argument("--data", type=Path, default=None, help="build data (parallel/de-en/test.jsonl)")
    parser.add_argument("--sentences", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--adapter-type", choices=("f16", "q8_0", "f32"), default="f16",
                        help="the adapters' tensor type (convert_lora_to_gguf.py --outtype)")
    args = parser.parse_args(argv)
    work = args.work or user_cache_dir() / "adapter-speed" / args.base
    paths = build(args.base, work, args.adapter_type)
    texts = sentences(args.data, args.sentences)
    options = {"n_threads": args.threads, "cache": False, "max_new_tokens": args.max_new_tokens, "n_gpu_layers": 0}

    loads = {}
    start = time.perf_counter()
    merged = TranslationEngine(paths["merged"], **options)
    loads["merged"] = time.perf_counter() - start
    start = time.perf_counter()
    bundle = TranslationEngine(paths["bundle"], **options)
    loads["bundle"] = time.perf_counter() - start
    best: dict[str, dict[str, float]] = {}
    outputs: dict[str, list[str]] = {}
    for _ in range(args.rounds):
        for name, engine in (("merged", merged), ("bundle", bundle)):
            for mode in ("one at a time", "batched"):
                seconds, tokens, out = timed_translation(engine, texts, mode == "batched")
                key = f"{name}, {mode}"
                outputs[key] = out
                if key not in best or seconds < best[key]["seconds"]:
                    best[key] = {"seconds": seconds, "tokens": tokens, "tokens_per_s": tokens / seconds}

    fixed = {name: fixed_tokens(engine, " ".join(texts), args.rounds)
             for name, engine in (("merged", merged), ("bundle", bundle))}

    # The switch: a prompt read after one of the same direction vs right after a switch (en-de with adapter
    # de, en-fr with adapter fr: the prompts share "Translate this from English to"), one new token each.
    model = bundle._model
    llama = model._llama

    def prompt_ms(previous: tuple[str, str], direction: tuple[str, str], text: str) -> float:
        model._use_direction(*previous)
        llama.create_completion(build_prompt(*previous, texts[-1]), max_tokens=1, temperature=0.0)
        start = time.perf_counter()
        model._use_direction(*direction)
        llama.create_completion(build_prompt(*direction, text), max_tokens=1, temperature=0.0)
        return (time.perf_counter() - start) * 1000

    pool = texts[:-1][:SWITCHES]  # never the previous prompt's own sentence
    same = min(sum(prompt_ms(("en", "de"), ("en", "de"), t) for t in pool) / len(pool) for _ in range(args.rounds))
    switched = min(sum(prompt_ms(("en", "fr"), ("en", "de"), t) for t in pool) / len(pool)
                   for _ in range(args.rounds))
    start = time.perf_counter()
    for _ in range(1000):
        model._use_direction("de", "en")
        model._use_direction("fr", "en")
    set_only = (time.perf_counter() - start) / 2000
    merged.close()
    bundle.close()

    print(f"base {args.base}, LoRA r={RECIPE_RANK} alpha={RECIPE_ALPHA} on {len(RECIPE_TARGETS)} projections; "
          f"{len(texts)} sentences de->en ({args.data or SAMPLE}), max {args.max_new_tokens} new tokens, {args.threads} threads, "
          f"best of {args.rounds}; {platform.processor() or platform.machine()}")
    sizes = {"merged GGUF": paths["merged"].stat().st_size,
             "base GGUF": paths["base"].stat().st_size,
             f"one adapter ({args.adapter_type})": paths["adapter"].stat().st_size}
    print("sizes: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sizes.items()))
    for key, row in best.items():
        print(f"{key:>26}: {row['tokens']:5d} tokens in {row['seconds']:6.2f} s = {row['tokens_per_s']:6.1f} tokens/s")
    ratios = {mode: best[f"bundle, {mode}"]["tokens_per_s"] / best[f"merged, {mode}"]["tokens_per_s"]
              for mode in ("one at a time", "batched")}
    for mode, ratio in ratios.items():
        print(f"bundle / merged tokens/s, {mode}: {ratio:.3f}")
    for name, row in fixed.items():
        print(f"{name:>6}, fixed tokens: prompt {row['prompt_tokens_per_s']:6.1f} tokens/s, "
              f"decoding {row['ms_per_decoded_token']:5.1f} ms/token")
    fixed_ratio = {"prompt": fixed["bundle"]["prompt_tokens_per_s"] / fixed["merged"]["prompt_tokens_per_s"],
                   "decoding": fixed["merged"]["ms_per_decoded_token"] / fixed["bundle"]["ms_per_decoded_token"]}
    print(f"bundle / merged speed, fixed tokens: prompt {fixed_ratio['prompt']:.3f}, "
          f"decoding {fixed_ratio['decoding']:.3f}")
    same_outputs = {mode: sum(a == b for a, b in zip(outputs[f"bundle, {mode}"], outputs[f"merged, {mode}"],
                                                     strict=True)) for mode in ("one at a time", "batched")}
    print("identical outputs, bundle vs merged: " + ", ".join(f"{m} {n}/{len(texts)}" for m, n in same_outputs.items()))
    switch_ms = switched - same
    print(f"direction switch: {switch_ms:.1f} ms (a prompt read in {same:.1f} ms after one of its direction, "
          f"{switched:.1f} ms right after a switch; setting the adapter alone {set_only * 1e6:.0f} µs); "
          f"model load: merged {loads['merged'] * 1000:.0f} ms, bundle {loads['bundle'] * 1000:.0f} ms")
    print(json.dumps({"base": args.base, "adapter_type": args.adapter_type, "sentences": len(texts), "threads": args.threads, "best": best,
                      "ratio": ratios, "fixed": fixed, "fixed_ratio": fixed_ratio, "identical": same_outputs, "switch_ms": switch_ms,
                      "set_adapter_us": set_only * 1e6, "load_ms": {k: v * 1000 for k, v in loads.items()},
                      "sizes": sizes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
