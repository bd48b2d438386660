"""Translation speed of one GGUF on the llama.cpp build at hand: CPU threads vs all layers on the GPU.

Both sides translate the same held-out sentences (the out-of-source test set, heldout-test.jsonl of the
demo data: Thonny's catalogs, never trained on) with TranslationEngine, greedy, no cache. Reported per
device: sentences/s, generated tokens/s, load seconds, and how many outputs equal the other device's
(greedy decoding on CPU and GPU differs only by float rounding, so most should be equal). Where the
llama.cpp build has no GPU offload, only the CPU side runs.

    python benchmarks/gpu_translate.py --model FILE --data-dir DIR [--sentences 100] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from desktop.engine import TranslationEngine


def held_out_sentences(data_dir: Path, count: int) -> list[tuple[str, str, str]]:
    """(text, src, tgt) alternating de-en and en-de over the out-of-source test pairs."""
    rows = [json.loads(line) for line in (data_dir / "parallel/de-en/heldout-test.jsonl").open(encoding="utf-8")]
    picked: list[tuple[str, str, str]] = []
    for index, row in enumerate(rows[:count]):
        picked.append((row["de"], "de", "en") if index % 2 == 0 else (row["en"], "en", "de"))
    return picked


def run(model: Path, sentences: list[tuple[str, str, str]], n_gpu_layers: int, threads: int) -> dict:
    started = time.perf_counter()
    engine = TranslationEngine(model, n_threads=threads, n_gpu_layers=n_gpu_layers, cache=False)
    loaded = time.perf_counter() - started
    engine.translate_sentence(*sentences[0])  # warm-up: first-call allocations and kernel loads
    tokens_before = engine.generated_tokens
    started = time.perf_counter()
    outputs = [engine.translate_sentence(*item) for item in sentences]
    seconds = time.perf_counter() - started
    tokens = engine.generated_tokens - tokens_before
    engine.close()
    return {"n_gpu_layers": n_gpu_layers, "threads": threads, "load_s": round(loaded, 2),
            "seconds": round(seconds, 2), "sentences_per_s": round(len(sentences) / seconds, 2),
            "generated_tokens": tokens, "tokens_per_s": round(tokens / seconds, 1), "outputs": outputs}


def main() -> None:
    import llama_cpp

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--sentences", type=int, default=100)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    sentences = held_out_sentences(args.data_dir, args.sentences)
    result: dict = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                    "llama_cpp": llama_cpp.__version__, "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
                    "model": args.model.name, "sentences": len(sentences), "runs": []}
    result["runs"].append(run(args.model, sentences, 0, args.threads))
    if result["gpu_offload"]:
        result["runs"].append(run(args.model, sentences, -1, args.threads))
        cpu, gpu = result["runs"][0]["outputs"], result["runs"][1]["outputs"]
        result["equal_outputs"] = sum(a == b for a, b in zip(cpu, gpu, strict=True))
        result["gpu_speedup_tokens_per_s"] = round(result["runs"][1]["tokens_per_s"] / result["runs"][0]["tokens_per_s"], 2)
    for item in result["runs"]:
        print(f"n_gpu_layers={item['n_gpu_layers']:>3} threads={item['threads']}: load {item['load_s']} s, "
              f"{item['sentences_per_s']} sentences/s, {item['tokens_per_s']} tokens/s "
              f"({item['generated_tokens']} tokens in {item['seconds']} s)")
    if "equal_outputs" in result:
        print(f"equal outputs: {result['equal_outputs']}/{len(sentences)}; "
              f"GPU/CPU tokens/s: {result['gpu_speedup_tokens_per_s']}")
    for index in range(3):
        print("  ", sentences[index][0], "->", result["runs"][-1]["outputs"][index])
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
