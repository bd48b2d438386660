"""The tables of docs/results.md: every model on every test set, all directions, full sets.

Each (model, test set) pair is one `alma-train evaluate` run (greedy llama.cpp for GGUF files, the
app's decoding) whose report is kept; a rerun skips the reports already written, so the long job
survives interruptions. Then `alma-train compare` puts the models side by side per test set.

    .venv/bin/python benchmarks/results_tables.py --output runs/results \\
        --model gemma-zero-shot=runs/gemma.q8_0.gguf --model translator=~/.local/share/alma-local/models/default-translator.gguf \\
        --test-set "in-source=data/parallel/*-en/test.jsonl" \\
        --test-set "out-of-source=data/parallel/*-en/heldout-test.jsonl" \\
        --test-set "outside=runs/outside/*.jsonl"

Writes OUTPUT/<set>/<model>.json (+ .md, hypotheses) and OUTPUT/<set>.compare.md, and prints the
averages of every model on every set as one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import glob
import json
import subprocess
import sys
from pathlib import Path


def _named(items: list[str], option: str) -> dict[str, str]:
    named = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise SystemExit(f"{option} {item!r}: expected NAME=VALUE")
        named[name] = value
    return named


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--model", action="append", required=True, help="NAME=PATH (GGUF or HF folder)")
    parser.add_argument("--test-set", action="append", required=True, help="NAME=GLOB of parallel files")
    parser.add_argument("--limit", type=int, default=0, help="segments per direction (0: all)")
    args = parser.parse_args()
    models = {name: str(Path(path).expanduser()) for name, path in _named(args.model, "--model").items()}
    sets = {name: sorted(glob.glob(str(Path(pattern).expanduser())))
            for name, pattern in _named(args.test_set, "--test-set").items()}
    for name, files in sets.items():
        if not files:
            raise SystemExit(f"--test-set {name}: no file matches")
    summary: dict[str, dict[str, dict]] = {}
    for set_name, files in sets.items():
        reports = []
        for model_name, model in models.items():
            report = args.output / set_name / f"{model_name}.json"
            if not report.is_file():
                command = [sys.executable, "-m", "alma_train.cli", "evaluate", "--model", model, "--test", *files,
                           "--output", str(report), "--limit", str(args.limit)]
                print("+", " ".join(command), file=sys.stderr, flush=True)
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            reports.append(report)
            data = json.loads(report.read_text(encoding="utf-8"))
            directions = data["directions"]
            summary.setdefault(set_name, {})[model_name] = {
                "chrf": round(sum(d["chrf"] for d in directions.values()) / len(directions), 2),
                "bleu": round(sum(d["bleu"] for d in directions.values()) / len(directions), 2),
                "segments": sum(d["n"] for d in directions.values()),
                "weakest": min(directions, key=lambda d: directions[d]["chrf"]),
            }
        subprocess.run([sys.executable, "-m", "alma_train.cli", "compare", *map(str, reports),
                        "--names", ",".join(models), "--output", str(args.output / f"{set_name}.compare.md")],
                       check=True, stdout=subprocess.DEVNULL)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
