"""Fit the confidence calibration (desktop/engine/confidence.py) on the validation split.

    nice -n 10 .venv/bin/python benchmarks/confidence_calibration.py --per-direction 30 --write \
        --output /tmp/calibration-report.json

For each model (default: the translator `make model` built, and the fast test model SmolLM2-135M),
the first --per-direction pairs of every direction's in-source validation split (demo corpora built
from the installed translation catalogs by alma_train.data.demo_data.build_parallel; --data reuses a
built parallel/ folder) go through the desktop engine one at a time, greedy, no cache. A pair whose
source the engine cuts into several sentences is left out (confidence is per sentence). Each kept
sentence gives x = mean token log-probability of the output and y = 1 when its chrF against the
reference (sacrebleu sentence chrF) is at least --threshold.

A logistic map P(y=1) = sigmoid(slope * x + intercept) is fitted by Newton's method on the even-
numbered sentences and judged on the odd ones (AUC of x, Brier score of the map against the
base rate's), then fitted again on all of them; --write stores that fit in
desktop/engine/confidence_calibration.json under the model's base (alma.base, else --base) and
architecture, replacing an older entry for the same base, when at least MIN_CLASS sentences are on
each side of the threshold (a zero-shot base whose outputs never reach it keeps the exp() fallback).
The report (JSON) has every number.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alma_core.atomic import write_text_atomic  # noqa: E402
from desktop.engine.confidence import CALIBRATION_FILE  # noqa: E402

FAST_MODEL_BASE = "smollm2-135m"
# A fit needs this many good and this many bad sentences; else the model keeps the exp() fallback.
MIN_CLASS = 10


def default_models() -> list[tuple[Path, str | None]]:
    """(GGUF, base name to record when the file has no alma.base) to calibrate by default."""
    from alma_core.models import get_base, resolve_translation_model

    models: list[tuple[Path, str | None]] = []
    choice = resolve_translation_model()
    models.append((choice.path, None))
    models.append((get_base(FAST_MODEL_BASE).gguf_path(), FAST_MODEL_BASE))
    return models


def read_pairs(parallel: Path, per_direction: int) -> list[tuple[str, str, str, str]]:
    """(src, tgt, source, reference) for both directions of every <xx>-en/valid.jsonl, in file order."""
    pairs: list[tuple[str, str, str, str]] = []
    for folder in sorted(parallel.glob("*-en")):
        xx = folder.name.split("-")[0]
        lines = (folder / "valid.jsonl").read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines if line.strip()][:per_direction]
        for record in records:
            pairs.append((xx, "en", record[xx], record["en"]))
            pairs.append(("en", xx, record["en"], record[xx]))
    return pairs


def fit_logistic(xs: list[float], ys: list[int], iterations: int = 50) -> tuple[float, float]:
    """(slope, intercept) maximizing the logistic likelihood (Newton's method, a tiny ridge for
    separable data)."""
    slope = intercept = 0.0
    ridge = 1e-3
    for _ in range(iterations):
        g0 = g1 = h00 = h01 = h11 = 0.0
        for x, y in zip(xs, ys, strict=True):
            p = 1.0 / (1.0 + math.exp(-(slope * x + intercept)))
            g0 += (p - y) * x
            g1 += p - y
            w = p * (1 - p)
            h00 += w * x * x
            h01 += w * x
            h11 += w
        g0 += ridge * slope
        h00 += ridge
        h11 += ridge
        det = h00 * h11 - h01 * h01
        if det <= 0:
            break
        step0 = (h11 * g0 - h01 * g1) / det
        step1 = (h00 * g1 - h01 * g0) / det
        slope, intercept = slope - step0, intercept - step1
        if abs(step0) + abs(step1) < 1e-9:
            break
    return slope, intercept


def auc(xs: list[float], ys: list[int]) -> float | None:
    """Probability that a good sentence has a higher x than a bad one (ties count half)."""
    good = [x for x, y in zip(xs, ys, strict=True) if y]
    bad = [x for x, y in zip(xs, ys, strict=True) if not y]
    if not good or not bad:
        return None
    wins = sum((g > b) + 0.5 * (g == b) for g in good for b in bad)
    return wins / (len(good) * len(bad))


def spearman(xs: list[float], ys: list[float]) -> float:
    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=lambda i: values[i])
        result = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                result[order[k]] = (i + j) / 2
            i = j + 1
        return result

    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    var = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return cov / var if var else 0.0


def score_model(gguf: Path, pairs: list[tuple[str, str, str, str]], threads: int) -> dict:
    """Each usable pair's mean log-probability and sentence chrF, and the time it took."""
    import warnings

    from sacrebleu.metrics import CHRF

    from desktop.engine import TranslationEngine

    chrf = CHRF()
    engine = TranslationEngine(gguf, n_threads=threads, cache=False)
    engine.calibration = None  # confidence = exp(mean log-probability): its log is the raw mean
    rows = []
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for src, tgt, source, reference in pairs:
            report = engine.translate_report(source, src, tgt)
            if len(report.sentences) != 1 or report.sentences[0].confidence is None:
                continue
            sentence = report.sentences[0]
            rows.append({"src": src, "tgt": tgt, "logprob": math.log(max(sentence.confidence, 1e-300)),
                         "chrf": chrf.sentence_score(sentence.translation, [reference]).score})
    seconds = time.perf_counter() - started
    info = engine.info
    engine.close()
    return {"rows": rows, "seconds": seconds, "info": info}


def time_alternatives(gguf: Path, pairs: list[tuple[str, str, str, str]], count: int, n: int,
                      threads: int) -> dict:
    """Seconds per sentence for the greedy translation and for alternatives(n) (beam search after the
    greedy pass, which the engine then has in memory: no cache), on the first `count` pairs."""
    import warnings

    from desktop.engine import TranslationEngine

    engine = TranslationEngine(gguf, n_threads=threads, cache=False)
    engine.alternatives("Hallo.", "de", "en", n=n)  # the beam context is made once, on first use
    greedy = beam = 0.0
    found = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for src, tgt, source, _ in pairs[:count]:
            started = time.perf_counter()
            engine.translate_sentence(source, src, tgt)
            greedy += time.perf_counter() - started
            started = time.perf_counter()
            found += len(engine.alternatives(source, src, tgt, n=n))
            beam += time.perf_counter() - started
    engine.close()
    return {"sentences": count, "n": n, "greedy_s_per_sentence": greedy / count,
            "alternatives_s_per_sentence": beam / count, "mean_distinct": found / count}


def evaluate(rows: list[dict], threshold: float) -> dict:
    xs = [r["logprob"] for r in rows]
    ys = [int(r["chrf"] >= threshold) for r in rows]
    train = list(range(0, len(rows), 2))
    test = list(range(1, len(rows), 2))
    slope, intercept = fit_logistic([xs[i] for i in train], [ys[i] for i in train])

    def prob(x: float) -> float:
        return 1.0 / (1.0 + math.exp(-(slope * x + intercept)))

    rate = sum(ys[i] for i in train) / max(1, len(train))
    brier = sum((prob(xs[i]) - ys[i]) ** 2 for i in test) / max(1, len(test))
    brier_base = sum((rate - ys[i]) ** 2 for i in test) / max(1, len(test))
    brier_exp = sum((math.exp(xs[i]) - ys[i]) ** 2 for i in test) / max(1, len(test))
    final_slope, final_intercept = fit_logistic(xs, ys)
    return {
        "sentences": len(rows), "threshold": threshold, "positive_rate": sum(ys) / max(1, len(ys)),
        "spearman_logprob_chrf": spearman(xs, [r["chrf"] for r in rows]),
        "auc_heldout": auc([xs[i] for i in test], [ys[i] for i in test]),
        "brier_heldout": brier, "brier_base_rate": brier_base, "brier_exp_fallback": brier_exp,
        "slope": final_slope, "intercept": final_intercept,
        "mean_logprob_range": [min(xs), max(xs)] if xs else None,
    }


def write_calibration(entry: dict, path: Path = CALIBRATION_FILE) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    kept = [e for e in data.get("calibrations", []) if e.get("base") != entry["base"]]
    data = {"about": "confidence = 1 / (1 + exp(-(slope * mean_token_logprob + intercept))), fitted by "
                     "benchmarks/confidence_calibration.py; models without an entry use exp(mean logprob)",
            "calibrations": sorted([*kept, entry], key=lambda e: e["base"] or "")}
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, action="append", help="GGUF to calibrate (repeatable)")
    parser.add_argument("--base", help="base name to record for --model files without alma.base")
    parser.add_argument("--data", type=Path, help="a built parallel/ folder (default: build one in a temp dir)")
    parser.add_argument("--per-direction", type=int, default=30, help="validation pairs per direction")
    parser.add_argument("--threshold", type=float, default=50.0, help="sentence chrF that counts as good")
    parser.add_argument("--threads", type=int, default=min(8, os.cpu_count() or 1))
    parser.add_argument("--write", action="store_true", help="store the fits in confidence_calibration.json")
    parser.add_argument("--output", type=Path, help="the report (JSON)")
    parser.add_argument("--time-alternatives", type=int, default=0, metavar="N",
                        help="also time alternatives(n=4) against greedy on the first N pairs")
    parser.add_argument("--skip-fit", action="store_true", help="only the timing")
    args = parser.parse_args(argv)

    models = [(path, args.base) for path in args.model] if args.model else default_models()
    with tempfile.TemporaryDirectory(prefix="calibration-data-") as scratch:
        parallel = args.data
        if parallel is None:
            from alma_train.data.demo_data import build_parallel

            parallel = Path(scratch) / "parallel"
            build_parallel(parallel)
        pairs = read_pairs(parallel, args.per_direction)
    machine = f"{platform.node()}: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"
    from benchmarks.machine_info import cpu_name

    machine = f"{cpu_name()}, {machine}"
    report = {"machine": machine, "date": datetime.date.today().isoformat(), "pairs": len(pairs), "models": []}
    for gguf, base in models:
        if args.time_alternatives:
            timing = time_alternatives(gguf, pairs, args.time_alternatives, 4, args.threads)
            timing["model"] = Path(gguf).name
            report.setdefault("alternatives_timing", []).append(timing)
            print(json.dumps(timing, indent=2), flush=True)
        if args.skip_fit:
            continue
        scored = score_model(gguf, pairs, args.threads)
        info = scored["info"]
        result = evaluate(scored["rows"], args.threshold)
        entry_base = info.get("alma.base") or base or Path(gguf).stem
        result.update({"model": Path(gguf).name, "base": entry_base, "architecture": info.get("architecture"),
                       "seconds": round(scored["seconds"], 1)})
        report["models"].append(result)
        print(json.dumps(result, indent=2), flush=True)
        good = round(result["positive_rate"] * result["sentences"])
        if min(good, result["sentences"] - good) < MIN_CLASS:
            print(f"{Path(gguf).name}: {good} of {result['sentences']} sentences reach chrF {args.threshold}: "
                  f"too few of one kind to fit (at least {MIN_CLASS} each); not written, exp() fallback stays",
                  flush=True)
            result["written"] = False
        elif args.write:
            result["written"] = True
            write_calibration({
                "base": entry_base, "architecture": info.get("architecture"), "slope": round(result["slope"], 6),
                "intercept": round(result["intercept"], 6), "fitted_on": Path(gguf).name,
                "sentences": result["sentences"], "threshold": args.threshold,
                "auc_heldout": None if result["auc_heldout"] is None else round(result["auc_heldout"], 3),
                "date": report["date"],
            })
    if args.output:
        write_text_atomic(args.output, json.dumps(report, indent=2) + "\n")
    print(f"machine: {machine}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
