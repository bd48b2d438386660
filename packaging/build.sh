#!/usr/bin/env bash
# Build the one-folder desktop bundle with PyInstaller and pack it as dist/alma-local-<version>-linux-<arch>.tar.gz.
# Usage: packaging/build.sh [PYTHON]   (PYTHON: the interpreter of a venv with the desktop extra + pyinstaller)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${1:-$ROOT/.venv/bin/python}"
cd "$ROOT"
VERSION="$("$PYTHON" -c 'import alma_train; print(alma_train.__version__)')"
ARCH="$(uname -m)"
DIST="${DIST_DIR:-$ROOT/dist}"
WORK="${BUILD_DIR:-$ROOT/build/pyinstaller}"
mkdir -p "$DIST"
# The model the bundle carries: what the app uses here with no setting (see desktop/models/card.py).
"$PYTHON" -c 'from alma_core.models import resolve_translation_model as r; c = r(); print(f"model: {c.path}, {c.description}")'
rm -rf "$WORK" "$DIST/alma-local"
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$WORK" packaging/alma_local.spec
BUNDLE="$DIST/alma-local"
install -m 644 packaging/alma-local.desktop "$BUNDLE/alma-local.desktop"
install -m 644 packaging/alma-local.png "$BUNDLE/alma-local.png"
install -m 755 packaging/install.sh "$BUNDLE/install.sh"
ARCHIVE="$DIST/alma-local-$VERSION-linux-$ARCH.tar.gz"
tmp="$(mktemp "$DIST/.alma-local.XXXXXX")"
tar -C "$DIST" -czf "$tmp" alma-local
mv "$tmp" "$ARCHIVE"
echo "bundle: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1))"
echo "archive: $ARCHIVE ($(du -h "$ARCHIVE" | cut -f1))"
