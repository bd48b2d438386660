"""TMX out for a translation run (`alma-translate --tmx`, the Documents view): every segment pair of the run,
written by the translation memory's TMX writer (desktop.memory.files.Tmx; docs/translate.md)."""

from __future__ import annotations

from pathlib import Path

from desktop.documents.base import DocumentError
from desktop.memory.files import MemoryFileError, Tmx


class TmxCollector:
    """Collects the (source, translation) pairs of one run for one direction: the `pairs` sink of
    a DocumentJob. Plain text (inline markup removed), a source translated twice kept once (the
    last translation wins, as the cache would give it); the header says it is machine translation."""

    def __init__(self, src: str, tgt: str, model_name: str | None = None) -> None:
        self.src = src
        self.tgt = tgt
        self.model_name = model_name
        self.pairs: dict[str, str] = {}  # source -> translation, first-seen order kept

    def __call__(self, source: str, translation: str) -> None:
        self.add(source, translation)

    def add(self, source: str, translation: str) -> None:
        source, translation = source.strip(), translation.strip()
        if source and translation and any(ch.isalpha() for ch in source):
            self.pairs[source] = translation

    def __len__(self) -> int:
        return len(self.pairs)

    def _tmx(self) -> Tmx:
        # A CAT tool (OmegaT keeps such memories in tm/mt/) and its user can weigh machine translation.
        note = ("Machine translation by alma-local" + (f" (model {self.model_name})" if self.model_name else "")
                + "; review before reuse.")
        # segtype: a document's text blocks and XLIFF units, not always one sentence.
        tmx = Tmx(self.src, note, tgtlang=self.tgt, segtype="paragraph")
        for source, translation in self.pairs.items():
            tmx.add(source, self.src, translation, self.tgt)
        return tmx

    def to_bytes(self) -> bytes:
        return self._tmx().to_bytes()

    def write(self, path: Path | str) -> Path:
        """Write the memory to `path` atomically; DocumentError naming the file if that fails."""
        path = Path(path)
        if path.is_dir():
            raise DocumentError(f"{path}: is a folder; --tmx needs a file name (e.g. {path}/run.tmx)")
        try:
            return self._tmx().write(path)
        except MemoryFileError as exc:
            raise DocumentError(str(exc)) from None
