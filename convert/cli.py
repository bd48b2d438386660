"""alma-convert: HF model -> GGUF, quantize, verify (not yet: tracked in issue 4)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alma-convert",
        description="Convert a merged HF model to GGUF, quantize it with llama.cpp, verify it (not yet).",
    )
    parser.add_argument("model_dir", nargs="?", help="HF model directory (safetensors)")
    parser.add_argument("--output", help="output .gguf file")
    parser.add_argument("--type", default="f16", help="f32, f16, bf16, q8_0, q4_0, q4_k_m, ...")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    build_parser().parse_args(argv)
    print("alma-convert: not implemented yet (tracked in issue 4)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
