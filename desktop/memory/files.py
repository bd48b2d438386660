"""The translation memory's files: TMX 1.4 out and in, and the JSON Lines that tuning reads.

TMX goes out through desktop.documents.tmx_out (translate-toolkit's tmx storage, the same header and
atomic write as `alma-translate --tmx`), one <tu> per unit with its own srclang, its dates and two
x- properties (origin: correction or import; the model that gave the translation the user corrected).
TMX comes in through alma_train.data.parallel's reader, the one tuning uses: defused XML, streamed, and
errors that name the file and line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.documents.tmx_out import TmxCollector

if TYPE_CHECKING:
    from desktop.memory.store import MemoryUnit


def _tmx_date(seconds: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(seconds))


class MemoryTmx(TmxCollector):
    """A TmxCollector whose units are translation-memory units (any directions, with their metadata)."""

    def __init__(self, units: Sequence[MemoryUnit]) -> None:
        sources = {unit.src for unit in units}
        # TMX 1.4: the header's srclang is one language, or *all* when units have different ones.
        super().__init__(sources.pop() if len(sources) == 1 else "*all*", "*all*")
        self.units = list(units)

    def __len__(self) -> int:
        return len(self.units)

    def to_bytes(self) -> bytes:
        from io import BytesIO

        from translate.storage.tmx import tmxfile

        from desktop.documents.tmx_out import _version

        store = tmxfile(sourcelanguage=self.src)
        store.addheader()
        header = next(store.document.getroot().iterchildren(store.namespaced("header")))
        header.set("creationtool", "alma-local")
        header.set("creationtoolversion", _version())
        header.set("creationdate", _tmx_date(time.time()))
        note = header.makeelement("note", {})
        note.text = "Translations confirmed or corrected by the user in alma-local (its translation memory)."
        header.append(note)
        for unit in self.units:
            tu = store.addsourceunit(unit.source, unit.src)
            tu.settarget(unit.target, unit.tgt, append=True)
            element = tu.xmlelement
            element.set("creationdate", _tmx_date(unit.created))
            element.set("changedate", _tmx_date(unit.updated))
            first_tuv = element.find("tuv")
            props = [("x-alma-origin", unit.origin)] + ([("x-alma-model", unit.model)] if unit.model else [])
            for kind, value in props:  # the DTD wants note*, prop*, then the tuvs
                prop = element.makeelement("prop", {"type": kind})
                prop.text = value
                first_tuv.addprevious(prop)
        out = BytesIO()
        store.serialize(out)
        return out.getvalue()


def write_tmx(path: Path | str, units: Sequence[MemoryUnit]) -> None:
    """TMX 1.4 of the units at `path`, atomically; MemoryFileError naming the file."""
    from desktop.documents.base import DocumentError
    from desktop.memory.store import MemoryFileError

    path = Path(path)
    if path.is_dir():
        raise MemoryFileError(f"{path}: is a folder; give a file name for the TMX (e.g. {path}/memory.tmx)")
    try:
        MemoryTmx(units).write(path)
    except DocumentError as exc:
        raise MemoryFileError(str(exc)) from None


def jsonl_text(units: Sequence[MemoryUnit]) -> str:
    """One {"<src>": source, "<tgt>": target} object a line, as alma_train.data.parallel.read_jsonl reads."""
    return "".join(json.dumps({unit.src: unit.source, unit.tgt: unit.target}, ensure_ascii=False) + "\n"
                   for unit in units)


def write_jsonl(path: Path | str, units: Sequence[MemoryUnit]) -> None:
    """The units as tuning data at `path`, atomically; MemoryFileError naming the file."""
    from alma_core.atomic import write_text_atomic
    from desktop.memory.store import MemoryFileError

    path = Path(path)
    if path.is_dir():
        raise MemoryFileError(f"{path}: is a folder; give a file name for the JSON Lines (e.g. {path}/memory.jsonl)")
    try:
        write_text_atomic(path, jsonl_text(units))
    except OSError as exc:
        raise MemoryFileError(f"{path}: cannot write the JSON Lines ({exc.strerror or exc})") from None


def read_tmx_pairs(path: Path | str, src: str, tgt: str) -> list[tuple[str, str]]:
    """(source, target) of every unit with both languages (regional variants count: de-DE is de), a source
    given twice once (the last unit wins). MemoryFileError naming the file (and line) when it cannot be
    read or has no unit of src-tgt."""
    from alma_core.parallel_files import DataFormatError, read_tmx
    from desktop.memory.store import MemoryFileError

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
