"""TMX out: every segment pair a run translated, as a translation memory a CAT tool can reuse.

`TmxCollector` is the `pairs` sink of translate_document (one per run, all documents of the run in one
memory); `write` saves it as TMX 1.4 through translate-toolkit's tmx storage, atomically (a temporary
sibling, then a rename), with the job's languages as xml:lang on every <tuv> and srclang in the header.
Pairs are plain text: inline markup was removed (tags have no meaning outside their document), and a
source translated twice is stored once (the last translation wins, as the cache would give it).
The header says the pairs are machine translation and names the model, so a CAT tool (OmegaT keeps
such memories in tm/mt/) and its user can weigh them.
"""

from __future__ import annotations

from pathlib import Path

from alma_core.atomic import write_bytes_atomic
from desktop.documents.base import DocumentError


class TmxCollector:
    """Collects (source, translation) pairs of one run for one direction."""

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

    def to_bytes(self) -> bytes:
        from io import BytesIO

        from translate.storage.tmx import tmxfile

        store = tmxfile(sourcelanguage=self.src, targetlanguage=self.tgt)
        store.addheader()
        header = next(store.document.getroot().iterchildren(store.namespaced("header")))
        header.set("creationtool", "alma-local")
        header.set("creationtoolversion", _version())
        header.set("srclang", self.src)
        header.set("segtype", "paragraph")  # a document's text blocks and XLIFF units, not always one sentence
        note = header.makeelement("note", {})
        note.text = ("Machine translation by alma-local" + (f" (model {self.model_name})" if self.model_name else "")
                     + "; review before reuse.")
        header.append(note)
        for source, translation in self.pairs.items():
            store.addtranslation(source, self.src, translation, self.tgt)
        out = BytesIO()
        store.serialize(out)
        return out.getvalue()

    def write(self, path: Path | str) -> Path:
        """Write the memory to `path` atomically; DocumentError naming the file if that fails."""
        path = Path(path)
        if path.is_dir():
            raise DocumentError(f"{path}: is a folder; --tmx needs a file name (e.g. {path}/run.tmx)")
        if not path.parent.is_dir():
            raise DocumentError(f"{path}: the folder for the TMX does not exist")
        data = self.to_bytes()
        try:
            write_bytes_atomic(path, data)
        except OSError as exc:
            raise DocumentError(f"{path}: cannot write the TMX ({exc.strerror or exc})") from None
        return path


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("alma-local")
    except PackageNotFoundError:
        return "dev"
