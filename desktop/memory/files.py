"""The translation memory's files: TMX 1.4 out (the one TMX writer, also behind `alma-translate --tmx`)
and in, and the JSON Lines that tuning reads (docs/post_editing.md)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path

from alma_core.atomic import write_bytes_atomic, write_text_atomic
from alma_core.parallel_files import DataFormatError, read_tmx
from desktop.memory.unit import MemoryUnit


class MemoryFileError(ValueError):
    """A TMX or JSON Lines file that cannot be read or written; the message names the file."""


def _tmx_date(seconds: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(seconds))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("alma-local")
    except PackageNotFoundError:
        return "dev"


class Tmx:
    """A TMX 1.4 file to write: alma-local's header, then one <tu> per pair with xml:lang on every <tuv>.

    Built with translate-toolkit's tmx storage (what CAT-tool pipelines read) when written, saved
    atomically (a temporary sibling, then a rename). srclang: the header's, one language or *all*;
    segtype: the header's when not translate-toolkit's "sentence"; created: the header's creationdate.
    """

    def __init__(self, srclang: str, note: str, *, tgtlang: str | None = None, segtype: str | None = None,
                 created: float | None = None) -> None:
        self.srclang = srclang
        self.tgtlang = tgtlang
        self.note = note
        self.segtype = segtype
        self.created = created
        self._units: list[tuple[str, str, str, str, float | None, float | None, Sequence[tuple[str, str]]]] = []

    def add(self, source: str, src: str, target: str, tgt: str, *, created: float | None = None,
            updated: float | None = None, props: Sequence[tuple[str, str]] = ()) -> None:
        """One <tu> (srclang src), dated when created/updated are given, with <prop type=kind>value</prop>s."""
        self._units.append((source, src, target, tgt, created, updated, props))

    def __len__(self) -> int:
        return len(self._units)

    def to_bytes(self) -> bytes:
        from translate.storage.tmx import tmxfile

        store = tmxfile(sourcelanguage=self.srclang, targetlanguage=self.tgtlang)
        store.addheader()
        header = next(store.document.getroot().iterchildren(store.namespaced("header")))
        header.set("creationtool", "alma-local")
        header.set("creationtoolversion", _version())
        header.set("srclang", self.srclang)
        if self.segtype is not None:
            header.set("segtype", self.segtype)
        if self.created is not None:
            header.set("creationdate", _tmx_date(self.created))
        note = header.makeelement("note", {})
        note.text = self.note
        header.append(note)
        for source, src, target, tgt, created, updated, props in self._units:
            tu = store.addsourceunit(source, src)
            tu.settarget(target, tgt, append=True)
            element = tu.xmlelement
            if created is not None:
                element.set("creationdate", _tmx_date(created))
            if updated is not None:
                element.set("changedate", _tmx_date(updated))
            first_tuv = element.find("tuv")
            for kind, value in props:  # the DTD wants note*, prop*, then the tuvs
                prop = element.makeelement("prop", {"type": kind})
                prop.text = value
                first_tuv.addprevious(prop)
        out = BytesIO()
        store.serialize(out)
        return out.getvalue()

    def write(self, path: Path | str) -> Path:
        """Write the file to `path` atomically; MemoryFileError naming the file if its folder is missing
        or it cannot be written (a caller says what a folder given as `path` means)."""
        path = Path(path)
        if not path.parent.is_dir():
            raise MemoryFileError(f"{path}: the folder for the TMX does not exist")
        data = self.to_bytes()
        try:
            write_bytes_atomic(path, data)
        except OSError as exc:
            raise MemoryFileError(f"{path}: cannot write the TMX ({exc.strerror or exc})") from None
        return path


def write_tmx(path: Path | str, units: Sequence[MemoryUnit]) -> None:
    """TMX 1.4 of the units (any directions, each <tu> with its own srclang, its dates and two x- properties:
    origin, and the model whose translation was corrected) at `path`, atomically; MemoryFileError naming
    the file."""
    path = Path(path)
    if path.is_dir():
        raise MemoryFileError(f"{path}: is a folder; give a file name for the TMX (e.g. {path}/memory.tmx)")
    sources = {unit.src for unit in units}
    # TMX 1.4: the header's srclang is one language, or *all* when units have different ones.
    tmx = Tmx(sources.pop() if len(sources) == 1 else "*all*",
              "Translations confirmed or corrected by the user in alma-local (its translation memory).",
              created=time.time())
    for unit in units:
        props = [("x-alma-origin", unit.origin)] + ([("x-alma-model", unit.model)] if unit.model else [])
        tmx.add(unit.source, unit.src, unit.target, unit.tgt, created=unit.created, updated=unit.updated,
                props=props)
    tmx.write(path)


def jsonl_text(units: Sequence[MemoryUnit]) -> str:
    """One {"<src>": source, "<tgt>": target} object a line, as alma_train.data.parallel.read_jsonl reads."""
    return "".join(json.dumps({unit.src: unit.source, unit.tgt: unit.target}, ensure_ascii=False) + "\n"
                   for unit in units)


def write_jsonl(path: Path | str, units: Sequence[MemoryUnit]) -> None:
    """The units as tuning data at `path`, atomically; MemoryFileError naming the file."""
    path = Path(path)
    if path.is_dir():
        raise MemoryFileError(f"{path}: is a folder; give a file name for the JSON Lines (e.g. {path}/memory.jsonl)")
    try:
        write_text_atomic(path, jsonl_text(units))
    except OSError as exc:
        raise MemoryFileError(f"{path}: cannot write the JSON Lines ({exc.strerror or exc})") from None


def read_tmx_pairs(path: Path | str, src: str, tgt: str) -> list[tuple[str, str]]:
    """(source, target) of every unit with both languages (regional variants count: de-DE is de), a source
    given twice once (the last unit wins), read with the reader tuning uses (defused XML, streamed).
    MemoryFileError naming the file (and line) when it cannot be read or has no unit of src-tgt."""
    path = Path(path)
    if not path.is_file():
        raise MemoryFileError(f"{path}: {'is a folder, not a TMX file' if path.is_dir() else 'no such file'}")
    pairs: dict[str, str] = {}
    seen: set[str] = set()
    units = 0
    try:
        for record in read_tmx(path):
            units += 1
            seen.update(record.texts)
            source, target = record.texts.get(src), record.texts.get(tgt)
            if source and target:
                pairs[source] = target
    except DataFormatError as exc:
        raise MemoryFileError(str(exc)) from None
    except OSError as exc:
        raise MemoryFileError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not pairs:
        found = ", ".join(sorted(seen)) or "none"
        raise MemoryFileError(f"{path}: no unit has both {src} and {tgt} ({units} units; languages: {found})")
    return list(pairs.items())
