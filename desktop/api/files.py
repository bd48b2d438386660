"""The translated files of /translate_file, served by /download_file until they expire
(docs/api.md, "Endpoints")."""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

_SAFE_NAME = re.compile(r"[^\w.\- ]+")


class TranslatedFiles:
    """The folder /translate_file writes to and /download_file serves from, removed at shutdown.

    A translated file is named <32 hex digits>.<name>.<tgt>.<ext>: the random part makes the URL
    unguessable (as LibreTranslate's uuid4 does) and /download_file serves nothing else.
    """

    _NAME = re.compile(r"^[0-9a-f]{32}\.[^/\\]+$")

    def __init__(self, keep_s: float) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="alma-api-files-"))
        self.keep_s = keep_s
        self._lock = threading.Lock()

    def new_id(self) -> str:
        return uuid.uuid4().hex

    def path_of(self, name: str) -> Path | None:
        """The file served under `name`, or None (a malformed, unknown or expired name)."""
        if not self._NAME.match(name):
            return None
        path = self.folder / name
        return path if path.is_file() else None

    def expire(self) -> None:
        """Remove translated files older than keep_s (checked at every upload; nothing runs idle)."""
        limit = time.time() - self.keep_s
        with self._lock:
            for path in self.folder.iterdir():
                try:
                    if path.is_file() and path.stat().st_mtime < limit:
                        path.unlink()
                except OSError:
                    pass

    def remove_all(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def safe_file_name(name: str) -> str:
    """The client's file name without folders or odd characters ("../x/Brief ä.docx" -> "Brief ä.docx")."""
    base = _SAFE_NAME.sub("_", re.split(r"[/\\]", name)[-1]).strip(" ")
    if base.startswith("."):  # ".docx", "..": never a hidden or relative name on the server
        base = "document" + base
    return base or "document"
