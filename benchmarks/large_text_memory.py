"""Peak memory of alma-translate on large plain-text files: it should not grow with the file's size.

The .txt format streams: each pass reads one line at a time and the output is written as it goes
(desktop/documents/base.py), so a 50 MB file should need no more memory than a 50 KB one.

How it is measured, honestly: text files of the requested sizes are built from a few German
sentences (one per line, in a shifting order); the translation cache is filled by translating those
sentences once with the real model; then the real `alma-translate` runs on each file in a child
process and its peak resident memory (ru_maxrss) and wall time are reported. Every line of the big
files is a cache hit, so the model's time is left out and what scales with the file is measured:
reading, decoding, segmenting, the cache look-ups and writing.

    .venv/bin/python benchmarks/large_text_memory.py --sizes 0.05 5 50
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = [
    "Das Haus ist groß.",
    "Ich habe einen Hund und eine Katze.",
    "Der Garten ist schön.",
    "Wo ist der Bahnhof?",
    "Heute scheint die Sonne.",
    "Wir fahren morgen nach Berlin.",
]


def build_text(path: Path, size_mb: float) -> int:
    """Write about size_mb MB of the sentences, one per line (blank lines between paragraphs)."""
    target = int(size_mb * 1024 * 1024)
    written = lines = 0
    with path.open("w", encoding="utf-8") as out:
        while written < target:
            line = SENTENCES[lines % len(SENTENCES)] + ("\n\n" if lines % 5 == 4 else "\n")
            out.write(line)
            written += len(line.encode())
            lines += 1
    return lines


def run_child(args: list[str], env: dict[str, str]) -> tuple[int, float, int, str]:
    """(exit code, wall seconds, peak RSS of this child in MB, stderr tail) of one alma-translate run."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "desktop.cli", *args], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, time.monotonic() - started, usage.ru_maxrss // 1024, stderr[-400:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.05, 5, 50], help="file sizes in MB")
    parser.add_argument("--model", type=Path, help="GGUF (default: the fast test model, SmolLM2-135M)")
    args = parser.parse_args(argv)
    if args.model is None:
        from alma_core.models import get_base

        args.model = get_base("smollm2-135m").gguf_path()

    with tempfile.TemporaryDirectory(prefix="alma-large-text-") as scratch:
        folder = Path(scratch)
        env = {**os.environ, "ALMA_LOCAL_DATA": str(folder / "data"), "PYTHONPATH": str(ROOT)}
        common = ["-m", str(args.model), "--from", "de", "--to", "en", "-q", "--max-new-tokens", "24"]
        warm = folder / "warm.de.txt"
        warm.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
        code, seconds, rss, err = run_child([*common, str(warm)], env)
        if code != 0:
            print(f"filling the cache failed: {err}", file=sys.stderr)
            return 1
        print(f"cache filled: {len(SENTENCES)} sentences through the model in {seconds:.1f} s")
        print(f"{'file':>10} {'lines':>10} {'peak RSS':>10} {'time':>8}  MB/s")
        for size in args.sizes:
            path = folder / f"big-{size:g}.de.txt"
            lines = build_text(path, size)
            code, seconds, rss, err = run_child([*common, str(path)], env)
            if code != 0:
                print(f"{size:g} MB failed: {err}", file=sys.stderr)
                return 1
            actual = path.stat().st_size / 2**20
            out = path.with_name(path.name.replace(".de.", ".en."))
            assert out.stat().st_size > 0
            print(f"{actual:8.2f}MB {lines:10,d} {rss:8,d}MB {seconds:7.1f}s  {actual / seconds:.2f}")
            path.unlink()
            out.unlink()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, ru_maxrss of each alma-translate child; "
          f"this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
