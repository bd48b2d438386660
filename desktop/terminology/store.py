"""The app's glossary store, Qt-free: its lists on disk (index + one TSV each), each switched on per direction,
written atomically; the GUI, CLI and API read it (docs/terminology.md, "The app's glossaries")."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from alma_core.atomic import atomic_writer, write_text_atomic
from alma_core.paths import glossaries_dir
from desktop.terminology.entry import TermEntry
from desktop.terminology.matching import TermBase
from desktop.terminology.sources import direction_terms

GLOSSARY = "glossary"
DO_NOT_TRANSLATE = "do-not-translate"
KIND_LABELS = {GLOSSARY: "Glossary", DO_NOT_TRANSLATE: "Do not translate"}
INDEX_NAME = "index.json"
INDEX_VERSION = 1
HEADER_PREFIX = "# alma-local "


class GlossaryStoreError(ValueError):
    """A stored list or the index cannot be read; the message names the file (and line)."""


def direction_key(src: str, tgt: str) -> str:
    return f"{src}-{tgt}"


def clean_cell(value: str) -> str:
    """A term or note as stored: tabs and line breaks (which would break the TSV) become spaces."""
    return re.sub(r"[\t\r\n]+", " ", value).strip()


@dataclass
class Glossary:
    """One list: its name, kind, language pair (src, tgt), the directions it is on for, its entries."""

    name: str
    kind: str
    src: str
    tgt: str
    file: str  # the TSV's name inside the store folder
    enabled: set[str] = field(default_factory=set)  # direction keys, "de-en"
    entries: list[TermEntry] = field(default_factory=list)  # as stored (src -> tgt)
    error: str = ""  # why its file could not be read (the list is then not used and not editable)

    def directions(self) -> list[tuple[str, str]]:
        return [(self.src, self.tgt), (self.tgt, self.src)]

    def enabled_for(self, src: str, tgt: str) -> bool:
        return direction_key(src, tgt) in self.enabled

    def entries_for(self, src: str, tgt: str) -> list[TermEntry]:
        """The entries for direction src -> tgt ([] when the list is not for that pair)."""
        if self.kind == DO_NOT_TRANSLATE:
            return list(self.entries) if (src, tgt) in self.directions() else []
        if (src, tgt) == (self.src, self.tgt):
            return list(self.entries)
        if (src, tgt) == (self.tgt, self.src):
            return [TermEntry(source=e.target, target=e.source, note=e.note, origin=e.origin)
                    for e in self.entries]
        return []


class GlossaryStore:
    """The user's lists on disk (folder/index.json + one TSV each); every change is written atomically."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else glossaries_dir()
        self.glossaries: list[Glossary] = []
        self.problems: list[str] = []  # what load() could not read (shown once in a dialog)
        self._revision = 0
        self._terms_cache: dict[tuple[str, str], tuple[int, TermBase | None]] = {}

    @property
    def index_path(self) -> Path:
        return self.folder / INDEX_NAME

    # --- reading ---------------------------------------------------------------------------
    def load(self, read_only: bool = False) -> GlossaryStore:
        """Read the index and every list. A broken index is moved aside (index.json.broken) and the
        store starts empty; a broken list stays in the index, marked, with its file left as it is.
        read_only (alma-translate, serve): a broken index is only reported, left where it is."""
        self.glossaries, self.problems = [], []
        self._changed()
        if not self.index_path.exists():
            return self
        try:
            records = self._read_index()
        except GlossaryStoreError as exc:
            if read_only:
                self.problems.append(f"{exc}\nThe app's glossaries are not used until it is fixed.")
                return self
            aside = self.index_path.with_name(INDEX_NAME + ".broken")
            self.index_path.replace(aside)
            self.problems.append(f"{exc}\nThe glossary list was set aside as {aside}; the glossary files "
                                 f"are still in {self.folder}.")
            return self
        for record in records:
            glossary = Glossary(name=record["name"], kind=record["kind"], src=record["src"],
                                tgt=record["tgt"], file=record["file"], enabled=set(record["enabled"]))
            try:
                glossary.entries = read_store_file(self.folder / glossary.file, glossary.kind)
            except (OSError, UnicodeDecodeError, GlossaryStoreError) as exc:
                glossary.error = describe_error(self.folder / glossary.file, exc)
                self.problems.append(f"{glossary.error}\nGlossary {glossary.name!r} is not used until the "
                                     "file is fixed.")
            self.glossaries.append(glossary)
        return self

    def _read_index(self) -> list[dict]:
        path = self.index_path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise GlossaryStoreError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise GlossaryStoreError(describe_error(path, exc)) from exc
        items = data.get("glossaries") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise GlossaryStoreError(f"{path}: no \"glossaries\" list")
        records = []
        for number, item in enumerate(items, 1):
            try:
                languages = item["languages"]
                record = {"name": str(item["name"]), "kind": str(item["kind"]), "file": str(item["file"]),
                          "src": str(languages[0]), "tgt": str(languages[1]),
                          "enabled": [str(key) for key in item.get("enabled", [])]}
            except (KeyError, IndexError, TypeError) as exc:
                raise GlossaryStoreError(f"{path}: glossary {number}: missing or bad field {exc}") from exc
            if record["kind"] not in KIND_LABELS or Path(record["file"]).name != record["file"]:
                raise GlossaryStoreError(f"{path}: glossary {number}: bad kind or file name")
            records.append(record)
        return records

    # --- changing (each change written at once) -------------------------------------------
    def add(self, name: str, kind: str, src: str, tgt: str, entries: Iterable[TermEntry] = (),
            enabled: Iterable[str] | None = None) -> Glossary:
        """A new list (its file first, then the index); on by default for src -> tgt (a do-not-translate
        list for both directions)."""
        if kind not in KIND_LABELS:
            raise ValueError(f"unknown glossary kind {kind!r}")
        if enabled is None:
            enabled = [direction_key(src, tgt)]
            if kind == DO_NOT_TRANSLATE:
                enabled.append(direction_key(tgt, src))
        glossary = Glossary(name=name.strip() or "Glossary", kind=kind, src=src, tgt=tgt,
                            file=self._new_file_name(name), enabled=set(enabled))
        self._write_entries(glossary, list(entries))
        self.glossaries.append(glossary)
        try:
            self._write_index()
        except BaseException:
            self.glossaries.remove(glossary)
            (self.folder / glossary.file).unlink(missing_ok=True)
            raise
        return glossary

    def save_entries(self, glossary: Glossary, entries: Iterable[TermEntry]) -> None:
        """Replace the list's entries (written atomically; on failure the old file and entries stay)."""
        self._check_usable(glossary)
        self._write_entries(glossary, list(entries))

    def set_enabled(self, glossary: Glossary, src: str, tgt: str, on: bool) -> None:
        before = set(glossary.enabled)
        (glossary.enabled.add if on else glossary.enabled.discard)(direction_key(src, tgt))
        self._commit_index(lambda: setattr(glossary, "enabled", before))

    def rename(self, glossary: Glossary, name: str) -> None:
        before = glossary.name
        glossary.name = name.strip() or before
        self._commit_index(lambda: setattr(glossary, "name", before))

    def remove(self, glossary: Glossary) -> None:
        """Take the list off the index, then delete its file (a crash in between leaves a stray file)."""
        position = self.glossaries.index(glossary)
        del self.glossaries[position]
        self._commit_index(lambda: self.glossaries.insert(position, glossary))
        (self.folder / glossary.file).unlink(missing_ok=True)

    # --- using ------------------------------------------------------------------------------
    def entries(self, src: str, tgt: str) -> list[TermEntry]:
        """The entries of the lists switched on for src -> tgt (a TermSource): glossaries in list order,
        then the do-not-translate lists, so a kept term wins."""
        usable = [g for g in self.glossaries if not g.error and g.enabled_for(src, tgt)]
        ordered = [g for g in usable if g.kind == GLOSSARY] + [g for g in usable if g.kind != GLOSSARY]
        return [entry for g in ordered for entry in g.entries_for(src, tgt)]

    def terms_for(self, src: str, tgt: str) -> TermBase | None:
        """The TermBase of the lists switched on for src -> tgt (entries()), or None when there are none."""
        cached = self._terms_cache.get((src, tgt))
        if cached is not None and cached[0] == self._revision:
            return cached[1]
        terms = direction_terms([self], src, tgt)
        found = terms if len(terms) else None
        self._terms_cache[(src, tgt)] = (self._revision, found)
        return found

    def enabled_names(self, src: str, tgt: str) -> list[str]:
        return [g.name for g in self.glossaries if not g.error and g.enabled_for(src, tgt)
                and g.entries_for(src, tgt)]

    # --- files ------------------------------------------------------------------------------
    def _check_usable(self, glossary: Glossary) -> None:
        if glossary.error:
            raise GlossaryStoreError(glossary.error)

    def _write_entries(self, glossary: Glossary, entries: list[TermEntry]) -> None:
        path = self.folder / glossary.file
        write_store_file(path, glossary, entries)
        glossary.entries = read_store_file(path, glossary.kind)  # as stored (cleaned, origin file:line)
        self._changed()

    def _commit_index(self, undo: Callable[[], object]) -> None:
        try:
            self._write_index()
        except BaseException:
            undo()
            raise
        finally:
            self._changed()

    def _write_index(self) -> None:
        data = {"version": INDEX_VERSION, "glossaries": [
            {"name": g.name, "kind": g.kind, "languages": [g.src, g.tgt], "file": g.file,
             "enabled": sorted(g.enabled)} for g in self.glossaries]}
        write_text_atomic(self.index_path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")

    def _new_file_name(self, name: str) -> str:
        stem = re.sub(r"[^\w-]+", "-", name.strip().lower(), flags=re.ASCII).strip("-")[:40] or "glossary"
        taken = {g.file for g in self.glossaries}
        number = 1
        while True:
            candidate = f"{stem}.tsv" if number == 1 else f"{stem}-{number}.tsv"
            if candidate not in taken and not (self.folder / candidate).exists():
                return candidate
            number += 1

    def _changed(self) -> None:
        self._revision += 1


def read_app_glossaries(warn: Callable[[str], None]) -> GlossaryStore:
    """The app's store as it is on disk, for alma-translate and serve: read-only (a broken index stays
    where it is); each problem (a list not used) is passed to warn as one line."""
    store = GlossaryStore().load(read_only=True)
    for problem in store.problems:
        warn(" ".join(problem.splitlines()))
    return store


def write_store_file(path: Path, glossary: Glossary, entries: Iterable[TermEntry]) -> None:
    """A list's TSV: a comment line naming it, then source<TAB>target<TAB>note (atomic)."""
    with atomic_writer(path) as handle:
        handle.write(f"{HEADER_PREFIX}{glossary.kind}: {glossary.src} -> {glossary.tgt}"
                     f" (source, target, note)\n")
        for entry in entries:
            handle.write("\t".join(clean_cell(value) for value in (entry.source, entry.target, entry.note)) + "\n")


def read_store_file(path: Path, kind: str) -> list[TermEntry]:
    """The entries of a list's TSV (written by write_store_file; every line after the first is a term)."""
    entries = []
    with open(path, encoding="utf-8", newline="") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\r\n")
            if number == 1 and line.startswith(HEADER_PREFIX) or not line.strip():
                continue
            cells = line.split("\t")
            if len(cells) > 3 or not cells[0].strip() or (kind == GLOSSARY and len(cells) < 2):
                raise GlossaryStoreError(f"{path}:{number}: expected source<TAB>target<TAB>note")
            source = cells[0].strip()
            target = cells[1].strip() if len(cells) > 1 else ""
            note = cells[2].strip() if len(cells) > 2 else ""
            if kind == GLOSSARY and not target:
                raise GlossaryStoreError(f"{path}:{number}: empty target term")
            origin = f"{path}:{number}"
            if kind == DO_NOT_TRANSLATE:
                entries.append(TermEntry(source=source, target=source, note=note, origin=origin, keep=True))
            else:
                entries.append(TermEntry(source=source, target=target, note=note, origin=origin))
    return entries


def describe_error(path: Path, exc: BaseException) -> str:
    """One line naming the file: the store's own message, or the OS error's reason."""
    message = str(exc) if isinstance(exc, GlossaryStoreError) else (
        getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)
    return message if str(path) in message else f"{path}: {message}"


def stored_entry(entry: TermEntry, kind: str) -> TermEntry:
    """An imported entry as the store keeps it (cells cleaned; do-not-translate: target = source)."""
    source, note = clean_cell(entry.source), clean_cell(entry.note)
    if kind == DO_NOT_TRANSLATE:
        return TermEntry(source=source, target=source, note=note, origin=entry.origin, keep=True)
    return TermEntry(source=source, target=clean_cell(entry.target), note=note, origin=entry.origin)
