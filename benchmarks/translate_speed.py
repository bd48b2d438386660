"""Translation speed: plain llama.cpp one sentence at a time vs the product's path, same sentences.

Sentences: the first --per-direction segments of each direction's test split (parallel/<xx>-en/test.jsonl
of the build data), 10 directions, the same for both sides. Each side runs in its own child process
(so its peak RSS is its own) with the same threads:

- baseline: llama-cpp-python's Llama on the untrimmed model, one sentence at a time, the ALMA prompt,
  greedy (create_completion, temperature 0), output cut by clean_output;
- fast: the product's path: each direction's sentences as one text document translated by
  desktop.documents.DocumentJob with a TranslationEngine (no cache) on the vocabulary-trimmed
  model, sentences decoded in batches (desktop.engine.batch_translate).

The sides run in turn --rounds times (baseline first, then fast, then again) and each side's best time
counts, so a burst of load on the shared machine hurts neither more. chrF (sacrebleu, corpus level over
all directions) is of each side's outputs against the references. The last line printed is JSON:
{"speedup", "chrf_delta", "sentences_per_s": {...}, "peak_rss_mb": {...}, ...}.

    .venv/bin/python benchmarks/translate_speed.py --data DATA_DIR [--model GGUF] [--trimmed GGUF]
        [--per-direction 10] [--threads 2] [--batch 16] [--rounds 2]

--model defaults to the translator alma-translate would use; --trimmed defaults to that model's
trim (alma-convert trim-vocab on DATA_DIR's training data, made once into the user cache) unless the
model is already trimmed (then both sides use it and only batching differs).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_sentences(data: Path, per_direction: int) -> list[dict]:
    """[{src, tgt, source, reference}] for every direction of the data's test splits."""
    rows: list[dict] = []
    for folder in sorted((data / "parallel").iterdir()):
        test = folder / "test.jsonl"
        if not folder.is_dir() or not test.is_file():
            continue
        xx, en = folder.name.split("-")
        pairs = [json.loads(line) for line in test.read_text(encoding="utf-8").splitlines() if line.strip()]
        pairs = [p for p in pairs if "\n" not in p[xx] and "\n" not in p[en]][:per_direction]
        for src, tgt in ((xx, en), (en, xx)):
            rows += [{"src": src, "tgt": tgt, "source": p[src], "reference": p[tgt]} for p in pairs]
    if not rows:
        raise SystemExit(f"{data}: no parallel/<xx>-en/test.jsonl found")
    return rows


def run_baseline(model: str, rows: list[dict], threads: int, max_new_tokens: int) -> list[str]:
    from llama_cpp import Llama, StoppingCriteriaList

    from alma_core.prompts import build_prompt, clean_output, output_token_limit
    from alma_train.evaluate.decode import _LlamaFirstLine

    llama = Llama(str(model), n_ctx=2048, n_threads=threads, verbose=False, seed=0)
    outputs = []
    for row in rows:
        source_tokens = len(llama.tokenize(row["source"].encode(), add_bos=False))
        # Stops once a non-empty line is complete, as the engine and `alma-train evaluate` do.
        result = llama.create_completion(build_prompt(row["src"], row["tgt"], row["source"]),
                                         max_tokens=output_token_limit(source_tokens, max_new_tokens),
                                         temperature=0.0, top_k=1,
                                         stopping_criteria=StoppingCriteriaList([_LlamaFirstLine(llama)]))
        outputs.append(clean_output(result["choices"][0]["text"], row["tgt"]))
    return outputs


def run_fast(model: str, rows: list[dict], threads: int, max_new_tokens: int, batch: int, work: Path) -> list[str]:
    from desktop.documents import DocumentJob, JobOptions
    from desktop.engine import TranslationEngine

    engine = TranslationEngine(model, n_threads=threads, max_new_tokens=max_new_tokens, cache=False)
    outputs: list[str] = []
    directions: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        directions.setdefault((row["src"], row["tgt"]), []).append(row)
    by_source: dict[tuple[str, str, str], str] = {}
    for (src, tgt), group in directions.items():
        # One sentence per paragraph: the document keeps them apart, as the baseline does.
        source = work / f"doc.{src}-{tgt}.txt"
        source.write_text("".join(f"{r['source']}\n\n" for r in group), encoding="utf-8")
        written = DocumentJob(source, JobOptions(src, tgt, output=work / f"out.{src}-{tgt}.txt", batch=batch)).run(engine)
        lines = written.read_text(encoding="utf-8").split("\n\n")
        for r, line in zip(group, lines, strict=False):
            by_source[(src, tgt, r["source"])] = line.strip()
    outputs = [by_source[(r["src"], r["tgt"], r["source"])] for r in rows]
    return outputs


def own_peak_rss_mb() -> float:
    """This process's own peak resident size: VmHWM of its address space (Linux). getrusage's ru_maxrss
    would not do: Linux carries it across exec, so a child started from a large parent reports the
    parent's peak (both sides once showed 702.6 MB)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> None:
    """One side, in this process: prints {"seconds", "outputs", "peak_rss_mb"}."""
    import tempfile

    rows = json.loads(Path(args.rows).read_text(encoding="utf-8"))
    started = time.perf_counter()
    if args.side == "baseline":
        outputs = run_baseline(args.model, rows, args.threads, args.max_new_tokens)
    else:
        with tempfile.TemporaryDirectory() as work:
            outputs = run_fast(args.trimmed, rows, args.threads, args.max_new_tokens, args.batch, Path(work))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "outputs": outputs, "peak_rss_mb": round(own_peak_rss_mb(), 1)}))


def trimmed_model(model: Path, data: Path) -> Path:
    """The model's vocabulary-trimmed copy (made once, kept in the user cache)."""
    import gguf

    from alma_core.paths import user_cache_dir
    from desktop.stores.cache import model_fingerprint

    if gguf.GGUFReader(model).get_field("alma.vocab_trimmed") is not None:
        return model
    output = user_cache_dir() / "trimmed" / f"{model.stem}.{model_fingerprint(model)[:12]}.gguf"
    if not output.is_file():
        output.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "convert.cli", "trim-vocab", str(model), "--data",
                        str(data / "parallel"), "--output", str(output)], check=True)
    return output


def tokenization_check(model: Path, trimmed: Path, data: Path) -> dict:
    """Every line of every test split through both tokenizers: lines whose trimmed tokens hold the unknown
    token where the untrimmed ones did not (must be 0), lines that do not detokenize back to themselves,
    and lines split into other pieces (allowed: a word whose tokens were cut splits smaller)."""
    import gguf
    from llama_cpp import Llama

    full = Llama(str(model), vocab_only=True, verbose=False)
    small = Llama(str(trimmed), vocab_only=True, verbose=False)
    unknown = {}
    for name, path in (("full", model), ("small", trimmed)):
        field = gguf.GGUFReader(path).get_field("tokenizer.ggml.unknown_token_id")
        unknown[name] = int(field.contents()) if field is not None else -1
    lines = new_unknown = not_round_trip = other_pieces = 0
    for split in sorted((data / "parallel").glob("*-en/*test*.jsonl")):
        for row in split.read_text(encoding="utf-8").splitlines():
            for text in json.loads(row).values():
                if not isinstance(text, str) or not text:
                    continue
                lines += 1
                a = full.tokenize(text.encode(), add_bos=False)
                b = small.tokenize(text.encode(), add_bos=False)
                new_unknown += unknown["small"] in b and unknown["full"] not in a
                not_round_trip += small.detokenize(b).decode("utf-8", "replace") != full.detokenize(a).decode(
                    "utf-8", "replace")
                other_pieces += [full.detokenize([t]) for t in a] != [small.detokenize([t]) for t in b]
    return {"lines": lines, "new_unknown": new_unknown, "not_round_trip": not_round_trip,
            "other_pieces": other_pieces}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="build data folder (parallel/<xx>-en/test.jsonl)")
    parser.add_argument("--model", type=Path, help="untrimmed GGUF (default: the translator in use)")
    parser.add_argument("--trimmed", type=Path, help="trimmed GGUF (default: trim --model on --data)")
    parser.add_argument("--per-direction", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--side", choices=("baseline", "fast"), help=argparse.SUPPRESS)
    parser.add_argument("--rows", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        child(args)
        return
    if args.data is None:
        parser.error("--data is required (the build data: parallel/<xx>-en/test.jsonl)")
    if args.model is None:
        from alma_core.models import resolve_translation_model

        args.model = resolve_translation_model().path
    trimmed = args.trimmed or trimmed_model(args.model, args.data)
    rows = load_sentences(args.data, args.per_direction)
    rows_file = Path(f"/tmp/translate_speed_rows.{time.time_ns()}.json")
    rows_file.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    results: dict[str, dict] = {}
    try:
        for _ in range(args.rounds):
            for side in ("baseline", "fast"):
                command = [sys.executable, __file__, "--side", side, "--rows", str(rows_file),
                           "--model", str(args.model), "--trimmed", str(trimmed), "--threads", str(args.threads),
                           "--batch", str(args.batch), "--max-new-tokens", str(args.max_new_tokens)]
                done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
                if done.returncode != 0:
                    raise SystemExit(f"{side} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
                result = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"{side}: {len(rows)} sentences in {result['seconds']:.1f} s, peak RSS "
                      f"{result['peak_rss_mb']:.0f} MB", flush=True)
                best = results.get(side)
                if best is None or result["seconds"] < best["seconds"]:
                    results[side] = result
    finally:
        rows_file.unlink(missing_ok=True)

    import sacrebleu

    references = [[row["reference"] for row in rows]]
    chrf = {side: sacrebleu.corpus_chrf(results[side]["outputs"], references).score for side in results}
    same = sum(a == b for a, b in zip(results["baseline"]["outputs"], results["fast"]["outputs"], strict=True))
    rate = {side: round(len(rows) / results[side]["seconds"], 2) for side in results}
    import gguf

    def vocab_size(path: Path) -> int:
        return len(gguf.GGUFReader(path).get_field("tokenizer.ggml.tokens").data)

    tokens = tokenization_check(args.model, trimmed, args.data)
    print(f"test splits through both tokenizers: {tokens}", flush=True)
    summary = {
        "speedup": round(results["baseline"]["seconds"] / results["fast"]["seconds"], 2),
        "chrf_delta": round(chrf["fast"] - chrf["baseline"], 2),
        "chrf": {side: round(score, 2) for side, score in chrf.items()},
        "sentences_per_s": rate,
        "peak_rss_mb": {side: results[side]["peak_rss_mb"] for side in results},
        "identical_outputs": f"{same}/{len(rows)}",
        "sentences": len(rows),
        "model_mb": {"baseline": round(args.model.stat().st_size / 1e6, 1),
                     "fast": round(trimmed.stat().st_size / 1e6, 1)},
        "vocabulary": {"baseline": vocab_size(args.model), "fast": vocab_size(trimmed)},
        "test_split_tokenization": tokens,
        "threads": args.threads, "batch": args.batch, "machine": f"{platform.machine()} {platform.node()}",
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
