"""Terminology enforcement strategies compared on the terminology test set (issue 14).

Each strategy translates the same sentences; term-hit and DNT-kept rates, chrF and seconds per strategy.
How to run it and what it measures: docs/terminology.md, "Measurements".
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DIRECTIONS = ("de-en", "cs-en", "is-en", "zh-en", "ru-en", "en-de", "en-cs", "en-is", "en-zh", "en-ru")
STRATEGIES = ("none", "substitute", "constrained")


def choose(records: list[dict], limit: int) -> list[dict]:
    """Up to `limit` records in file order: the first DNT sentences (up to half: they are few), then
    the first of the rest."""
    if not limit or len(records) <= limit:
        return records
    with_dnt = [r for r in records if r["dnt"]][:limit // 2]
    rest = [r for r in records if r not in with_dnt][:limit - len(with_dnt)]
    chosen = {id(r) for r in with_dnt + rest}
    return [r for r in records if id(r) in chosen]


def load_direction(folder: Path, direction: str, limit: int, chunk: int = 0):
    """(records, TermBase) of one direction: chunk number `chunk` of `limit` records (choose() applied
    to what the earlier chunks left)."""
    from desktop.terminology.sources import load_terms

    src, tgt = direction.split("-")
    test = folder / f"{direction}.test.jsonl"
    records = [json.loads(line) for line in test.read_text(encoding="utf-8").splitlines() if line.strip()]
    for _ in range(chunk):
        taken = {id(r) for r in choose(records, limit)}
        records = [r for r in records if id(r) not in taken]
    records = choose(records, limit)
    terms = load_terms([folder / f"{direction}.glossary.tsv"], [folder / f"{direction}.dnt.txt"], src, tgt)
    return records, terms


def chrf(hypotheses: list[str], references: list[str]) -> tuple[float, str]:
    from sacrebleu.metrics import CHRF

    metric = CHRF()
    return metric.corpus_score(hypotheses, [references]).score, str(metric.get_signature())


def run(args: argparse.Namespace) -> dict:
    from alma_core.atomic import write_text_atomic
    from alma_train.evaluate.evaluation import term_scores
    from desktop.engine import TranslationEngine
    from desktop.terminology import DEFAULT_STRATEGY, Terms, check_strategy

    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    for name in strategies:
        check_strategy(name)
    folder = Path(args.testset)
    directions = [d.strip() for d in args.directions.split(",") if d.strip()] if args.directions else \
        [d for d in DIRECTIONS if (folder / f"{d}.test.jsonl").is_file()]
    output = Path(args.output)
    results: dict = {}
    if args.resume and output.is_file():
        results = json.loads(output.read_text(encoding="utf-8"))
    if args.model:
        model = Path(args.model).expanduser()
    else:
        from alma_core.models import resolve_translation_model

        model = resolve_translation_model().path
    engine = TranslationEngine(model, n_threads=args.threads, max_new_tokens=args.max_new_tokens, cache=False)
    results.setdefault("directions", {})
    results.update({
        "model": str(model), "model_name": engine.info.get("name"), "strategies": strategies,
        "default_strategy": DEFAULT_STRATEGY, "limit": args.limit, "threads": engine.n_threads,
        "max_new_tokens": args.max_new_tokens, "testset": str(folder), "chunk": args.chunk,
        "machine": f"{platform.machine()}, {_cpu_count()} cores, {platform.system()} {platform.release()}",
    })
    for direction in directions:
        if direction in results["directions"] and args.resume:
            print(f"{direction}: done before, skipped", file=sys.stderr)
            continue
        src, tgt = direction.split("-")
        records, terms = load_direction(folder, direction, args.limit, args.chunk)
        if not records:
            continue
        sources = [r[src] for r in records]
        references = [r[tgt] for r in records]
        entry: dict = {"n": len(records), "strategies": {}}
        for strategy in strategies:
            tick, decodes = time.time(), engine.model_calls
            hypotheses = [engine.translate(s, src, tgt, terms=Terms(terms, strategy)) for s in sources]
            seconds = time.time() - tick
            score, signature = chrf(hypotheses, references)
            scores = term_scores(terms, sources, hypotheses)
            entry["strategies"][strategy] = {**scores, "chrf": round(score, 2), "seconds": round(seconds, 1),
                                             "model_decodes": engine.model_calls - decodes, "hypotheses": hypotheses}
            results["chrf_signature"] = signature
            print(f"{direction} {strategy:>11}: terms {scores['term_hits']}/{scores['term_total']}, "
                  f"DNT {scores['dnt_kept']}/{scores['dnt_total']}, chrF {score:.2f}, {seconds:.1f} s",
                  file=sys.stderr)
        entry["sources"], entry["references"] = sources, references
        results["directions"][direction] = entry
        results["averages"] = averages(results["directions"], strategies)
        write_text_atomic(output, json.dumps(results, indent=1, ensure_ascii=False) + "\n")
        write_text_atomic(output.with_suffix(".md"), markdown(results))
    engine.close()
    return results


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 0)


def averages(directions: dict, strategies: list[str]) -> dict:
    result = {}
    for strategy in strategies:
        rows = [d["strategies"][strategy] for d in directions.values() if strategy in d["strategies"]]
        if not rows:
            continue
        sums = {k: sum(r[k] for r in rows) for k in ("term_hits", "term_total", "dnt_kept", "dnt_total")}
        result[strategy] = {
            **sums,
            "term_hit_rate": round(100.0 * sums["term_hits"] / sums["term_total"], 2) if sums["term_total"] else None,
            "dnt_kept_rate": round(100.0 * sums["dnt_kept"] / sums["dnt_total"], 2) if sums["dnt_total"] else None,
            "chrf": round(sum(r["chrf"] for r in rows) / len(rows), 2),
            "seconds": round(sum(r["seconds"] for r in rows), 1),
            "directions": len(rows),
        }
    return result


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def markdown(results: dict) -> str:
    strategies = results["strategies"]
    lines = [f"model: {Path(results['model']).name} ({results.get('model_name')}), greedy, "
             f"max_new_tokens={results['max_new_tokens']}, n_threads={results['threads']}, "
             f"up to {results['limit']} sentences per direction; machine: {results['machine']}",
             f"chrF: {results.get('chrf_signature', '')}", "",
             "| direction | n | strategy | terms placed | term-hit % | DNT kept | DNT-kept % | chrF | Δ chrF | s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, entry in results["directions"].items():
        base = entry["strategies"].get("none", {}).get("chrf")
        for strategy in strategies:
            row = entry["strategies"].get(strategy)
            if row is None:
                continue
            delta = "" if base is None or strategy == "none" else f"{row['chrf'] - base:+.2f}"
            lines.append(f"| {name} | {entry['n']} | {strategy} | {row['term_hits']}/{row['term_total']} | "
                         f"{_pct(row['term_hit_rate'])} | {row['dnt_kept']}/{row['dnt_total']} | "
                         f"{_pct(row['dnt_kept_rate'])} | {row['chrf']:.2f} | {delta} | {row['seconds']:.0f} |")
    avg = results.get("averages", {})
    if avg:
        n = sum(e["n"] for e in results["directions"].values())
        base = avg.get("none", {}).get("chrf")
        lines += ["", f"All {len(results['directions'])} directions ({n} sentences; rates pooled, chrF the mean "
                  "of the directions):", "",
                  "| strategy | terms placed | term-hit % | DNT kept | DNT-kept % | mean chrF | Δ chrF | s |",
                  "|---|---|---|---|---|---|---|---|"]
        for strategy in strategies:
            row = avg.get(strategy)
            if row is None:
                continue
            delta = "" if base is None or strategy == "none" else f"{row['chrf'] - base:+.2f}"
            lines.append(f"| {strategy} | {row['term_hits']}/{row['term_total']} | {_pct(row['term_hit_rate'])} | "
                         f"{row['dnt_kept']}/{row['dnt_total']} | {_pct(row['dnt_kept_rate'])} | "
                         f"{row['chrf']:.2f} | {delta} | {row['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def combine(first: dict, second: dict) -> dict:
    """One direction's results of two runs on different sentences (--chunk), as one run."""
    out = {"n": first["n"] + second["n"], "strategies": {},
           "sources": first["sources"] + second["sources"], "references": first["references"] + second["references"]}
    for strategy, a in first["strategies"].items():
        b = second["strategies"].get(strategy)
        if b is None:
            continue
        row = {k: a[k] + b[k] for k in ("term_hits", "term_total", "dnt_kept", "dnt_total", "model_decodes")}
        row["term_hit_rate"] = round(100.0 * row["term_hits"] / row["term_total"], 2) if row["term_total"] else None
        row["dnt_kept_rate"] = round(100.0 * row["dnt_kept"] / row["dnt_total"], 2) if row["dnt_total"] else None
        row["hypotheses"] = a["hypotheses"] + b["hypotheses"]
        row["chrf"] = round(chrf(row["hypotheses"], out["references"])[0], 2)
        row["seconds"] = round(a["seconds"] + b["seconds"], 1)
        out["strategies"][strategy] = row
    return out


def merge(paths: list[str], output: Path) -> dict:
    """One result file from several runs (e.g. xx->en and en->xx run side by side), directions in order."""
    from alma_core.atomic import write_text_atomic

    parts = [json.loads(Path(p).read_text(encoding="utf-8")) for p in paths]
    results = {k: v for k, v in parts[0].items() if k not in ("directions", "averages")}
    found: dict[str, dict] = {}
    for part in parts:
        for name, entry in part["directions"].items():
            if name not in found:
                found[name] = entry
            elif not set(entry["sources"]) <= set(found[name]["sources"]):  # a chunk given twice counts once
                found[name] = combine(found[name], entry)
    results["directions"] = {d: found[d] for d in DIRECTIONS if d in found}
    results["directions"].update({d: e for d, e in found.items() if d not in results["directions"]})
    results["merged_from"] = list(paths)
    results["averages"] = averages(results["directions"], results["strategies"])
    write_text_atomic(output, json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    write_text_atomic(output.with_suffix(".md"), markdown(results))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--testset", help="folder benchmarks/terminology_testset.py wrote")
    parser.add_argument("--output", required=True, help="results JSON (the Markdown table goes beside it)")
    parser.add_argument("--model", help="GGUF (default: the installed default translator)")
    parser.add_argument("--strategies", default=",".join(STRATEGIES), help="comma-separated, in this order")
    parser.add_argument("--directions", help="comma-separated (default: every direction of the test set)")
    parser.add_argument("--limit", type=int, default=30, help="sentences per direction (0: all)")
    parser.add_argument("--chunk", type=int, default=0,
                        help="take the N-th --limit sentences (0: the first), for a run that adds sentences")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--resume", action="store_true", help="keep the directions --output already has")
    parser.add_argument("--merge", nargs="+", metavar="JSON",
                        help="only merge these result files into --output (no translation)")
    args = parser.parse_args(argv)
    if args.merge:
        print(markdown(merge(args.merge, Path(args.output))))
        return 0
    if not args.testset or not Path(args.testset).is_dir():
        print(f"--testset {args.testset}: no such folder", file=sys.stderr)
        return 2
    results = run(args)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
