#!/usr/bin/env bash
# Put every wheel the training side needs into one folder, for an install with the network off:
#   packaging/wheelhouse.sh [DIR] [PYTHON]
#   pip install --no-index --find-links DIR "alma-local[train]"
# `pip wheel` (not `pip download`) so that sdist-only dependencies arrive built, and the offline install
# needs no build tools from an index.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${1:-$ROOT/wheelhouse}"
PYTHON="${2:-$ROOT/.venv/bin/python}"
mkdir -p "$DIR"
# torch first and pinned: the CPU build (see Makefile); the pin keeps pip off multi-GB CUDA builds.
"$PYTHON" -m pip wheel --wheel-dir "$DIR" "torch==2.13.0"
"$PYTHON" -m pip wheel --wheel-dir "$DIR" "$ROOT[train]" "setuptools<81" wheel
echo "wheelhouse: $DIR ($(ls "$DIR" | wc -l) wheels, $(du -sh "$DIR" | cut -f1))"
