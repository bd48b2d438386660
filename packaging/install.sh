#!/usr/bin/env bash
# Install the unpacked bundle for the current user: a launcher in ~/.local/bin and a menu entry.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$HOME/.local/bin" "$HOME/.local/share/applications" "$HOME/.local/share/icons/hicolor/256x256/apps"
ln -sf "$HERE/alma-desktop" "$HOME/.local/bin/alma-desktop"
ln -sf "$HERE/alma-translate" "$HOME/.local/bin/alma-translate"
install -m 644 "$HERE/alma-local.png" "$HOME/.local/share/icons/hicolor/256x256/apps/alma-local.png"
sed "s|^Exec=.*|Exec=$HERE/alma-desktop|" "$HERE/alma-local.desktop" > "$HOME/.local/share/applications/alma-local.desktop"
echo "installed: alma-desktop and alma-translate in ~/.local/bin, menu entry alma-local"
