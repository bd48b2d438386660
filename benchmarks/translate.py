"""Engine overhead: bare llama-cpp-python calls vs TranslationEngine on a 200-sentence document.

The document is real German: 200 sentences from Django's German gettext catalogs (msgstr), one per
line. Both sides translate the same sentences with the same model, threads, context size, greedy
decoding and token limit; the engine runs without its cache. To be fair on a shared machine whose
load drifts, the two sides alternate sentence by sentence (which goes first alternates too) and each
side's times are summed; the engine gets each sentence through translate(), so every sentence pays
the engine's whole per-call cost (direction check, splitting, cache-less bookkeeping, streaming).
Time to first token is the median over single sentences (bare: first streamed chunk; engine: first
piece of iter_translate).

    .venv/bin/python benchmarks/translate.py [--sentences 200] [--max-new-tokens 64] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

from alma_core.prompts import build_prompt, clean_output
from desktop.engine import TranslationEngine, split_segments


def german_sentences(count: int) -> list[str]:
    """Real German UI sentences from all of Django's German catalogs, one sentence each."""
    import django
    import polib

    seen: dict[str, None] = {}
    for catalog in sorted(Path(django.__file__).parent.glob("**/locale/de/LC_MESSAGES/*.po")):
        for entry in polib.pofile(str(catalog)):
            text = entry.msgstr.strip()
            if (" " in text and 10 < len(text) < 160 and not any(c in text for c in "%{}<>\n")
                    and [s.text for s in split_segments(text) if s.translatable] == [text]):
                seen[text] = None
    if len(seen) < count:
        raise SystemExit(f"only {len(seen)} sentences found in Django's German catalogs")
    # Whole sentences first, then the longer UI phrases.
    ranked = sorted(seen, key=lambda t: (not t.endswith((".", "?", "!")), -len(t)))
    return ranked[:count]


def bare_translate(llama, sentences: list[str], max_new_tokens: int) -> tuple[list[str], int]:
    outputs, tokens = [], 0
    for sentence in sentences:
        result = llama.create_completion(build_prompt("de", "en", sentence), max_tokens=max_new_tokens,
                                         temperature=0.0, top_k=1, stop=["\n"])
        outputs.append(clean_output(result["choices"][0]["text"], "en"))
        tokens += result["usage"]["completion_tokens"]
    return outputs, tokens


def first_token_bare(llama, sentence: str, max_new_tokens: int) -> float:
    start = time.perf_counter()
    stream = llama.create_completion(build_prompt("de", "en", sentence), max_tokens=max_new_tokens,
                                     temperature=0.0, top_k=1, stream=True)
    next(stream)
    elapsed = time.perf_counter() - start
    stream.close()
    return elapsed


def first_token_engine(engine: TranslationEngine, sentence: str) -> float:
    start = time.perf_counter()
    pieces = engine.iter_translate(sentence, "de", "en")
    next(pieces)
    elapsed = time.perf_counter() - start
    pieces.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--ttft-samples", type=int, default=20)
    args = parser.parse_args()

    from llama_cpp import Llama

    from alma_core.models import default_gguf_path

    model = default_gguf_path()
    sentences = german_sentences(args.sentences)
    document = "\n".join(sentences)  # the document: one sentence per line, each cut as one sentence
    assert [s.text for s in split_segments(document) if s.translatable] == sentences

    llama = Llama(str(model), n_ctx=2048, n_threads=args.threads, n_gpu_layers=0, verbose=False, seed=0)
    engine = TranslationEngine(model, n_threads=args.threads, n_ctx=2048, n_gpu_layers=0,
                               max_new_tokens=args.max_new_tokens, cache=False)
    # Warm both up (the first call of a llama.cpp context allocates its compute buffers).
    bare_translate(llama, sentences[:1], args.max_new_tokens)
    engine.translate(sentences[0], "de", "en")
    engine.generated_tokens = engine.model_calls = 0

    bare_s = engine_s = 0.0
    bare_tokens = 0
    same = True
    for i, sentence in enumerate(sentences):
        # Pairs alternate which side goes first, so neither always meets the other's warm caches.
        sides = ("bare", "engine") if i % 2 == 0 else ("engine", "bare")
        for side in sides:
            start = time.perf_counter()
            if side == "bare":
                (bare_out,), tokens = bare_translate(llama, [sentence], args.max_new_tokens)
                bare_s += time.perf_counter() - start
                bare_tokens += tokens
            else:
                engine_out = engine.translate(sentence, "de", "en")
                engine_s += time.perf_counter() - start
        same = same and bare_out == engine_out
        if (i + 1) % 20 == 0 or i + 1 == len(sentences):
            print(f"  {i + 1}/{len(sentences)} sentences: bare {bare_s:.1f} s ({bare_tokens} tokens), "
                  f"engine {engine_s:.1f} s ({engine.generated_tokens} tokens), "
                  f"overhead {(engine_s - bare_s) / bare_s * 100:+.1f} %", flush=True)

    engine_tokens = engine.generated_tokens  # before the time-to-first-token runs add theirs
    ttft_bare = statistics.median(first_token_bare(llama, s, args.max_new_tokens)
                                  for s in sentences[:args.ttft_samples])
    ttft_engine = statistics.median(first_token_engine(engine, s) for s in sentences[:args.ttft_samples])

    n = len(sentences)
    print(f"model: {model.name}; {n} sentences (Django de catalogs), de->en, greedy, "
          f"max_new_tokens={args.max_new_tokens}, n_threads={args.threads}, n_ctx=2048, CPU only")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
          f"load average {os.getloadavg()[0]:.2f} at the end")
    print("| | sentences/s | tokens/s | total s | generated tokens | time to first token (median) |")
    print("|---|---|---|---|---|---|")
    print(f"| bare llama-cpp-python | {n / bare_s:.2f} | {bare_tokens / bare_s:.1f} | {bare_s:.1f} | "
          f"{bare_tokens} | {ttft_bare * 1000:.0f} ms |")
    print(f"| TranslationEngine | {n / engine_s:.2f} | {engine_tokens / engine_s:.1f} | "
          f"{engine_s:.1f} | {engine_tokens} | {ttft_engine * 1000:.0f} ms |")
    print(f"engine overhead (wall time): {(engine_s - bare_s) / bare_s * 100:+.1f} %; "
          f"identical translations: {same}")


if __name__ == "__main__":
    main()
