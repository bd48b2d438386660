"""The Glossaries tab: the user's glossaries and do-not-translate lists, edited, imported and exported.

Each list has a language pair (a, b) and is switched on per direction: a -> b uses its entries as they
are, b -> a (for a glossary) with source and target swapped; a do-not-translate list keeps its terms in
either direction. The Text and Documents views ask GlossaryStore.terms_for(src, tgt) for the TermBase of
the lists switched on for their pair and hand it to the engine.

Storage: <user data dir>/glossaries/, one TSV per list (source, target, note; the first line a comment
naming the list) and index.json with the names, kinds, language pairs and enabled directions. Every
write is atomic (alma_core.atomic), and each confirmed edit is written at once, so a crash never
leaves a half-written file in place of a good one and nothing waits for a "save" that never comes.

GlossaryStore has no Qt in it; GlossaryView is the tab.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.dialogs import show_error
from desktop.gui.language_pair import LanguagePair
from desktop.gui.settings import AppSettings

GLOSSARY = "glossary"
DO_NOT_TRANSLATE = "do-not-translate"
KIND_LABELS = {GLOSSARY: "Glossary", DO_NOT_TRANSLATE: "Do not translate"}
INDEX_NAME = "index.json"
INDEX_VERSION = 1
HEADER_PREFIX = "# alma-local "
IMPORT_SUFFIXES = (".tsv", ".txt", ".csv", ".tbx")
EXPORT_SUFFIXES = (".tsv", ".csv", ".tbx")


class GlossaryStoreError(ValueError):
    """A stored list or the index cannot be read; the message names the file (and line)."""


def glossaries_dir() -> Path:
    from alma_core.paths import user_data_dir

    return user_data_dir() / "glossaries"


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
    entries: list = field(default_factory=list)  # TermEntry, as stored (src -> tgt)
    error: str = ""  # why its file could not be read (the list is then not used and not editable)

    def directions(self) -> list[tuple[str, str]]:
        return [(self.src, self.tgt), (self.tgt, self.src)]

    def enabled_for(self, src: str, tgt: str) -> bool:
        return direction_key(src, tgt) in self.enabled

    def entries_for(self, src: str, tgt: str) -> list:
        """The entries for direction src -> tgt ([] when the list is not for that pair)."""
        from desktop.terminology import TermEntry

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
        self._terms_cache: dict[tuple[str, str], tuple[int, object]] = {}

    @property
    def index_path(self) -> Path:
        return self.folder / INDEX_NAME

    # --- reading ---------------------------------------------------------------------------
    def load(self) -> GlossaryStore:
        """Read the index and every list. A broken index is moved aside (index.json.broken) and the
        store starts empty; a broken list stays in the index, marked, with its file left as it is."""
        self.glossaries, self.problems = [], []
        self._changed()
        if not self.index_path.exists():
            return self
        try:
            records = self._read_index()
        except GlossaryStoreError as exc:
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
                glossary.error = _describe(self.folder / glossary.file, exc)
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
            raise GlossaryStoreError(_describe(path, exc)) from exc
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
    def add(self, name: str, kind: str, src: str, tgt: str, entries: Iterable = (),
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

    def save_entries(self, glossary: Glossary, entries: Iterable) -> None:
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
    def terms_for(self, src: str, tgt: str):
        """The TermBase of the lists switched on for src -> tgt (glossaries in list order, then the
        do-not-translate lists, so a kept term wins), or None when there are none."""
        cached = self._terms_cache.get((src, tgt))
        if cached is not None and cached[0] == self._revision:
            return cached[1]
        usable = [g for g in self.glossaries if not g.error and g.enabled_for(src, tgt)]
        ordered = [g for g in usable if g.kind == GLOSSARY] + [g for g in usable if g.kind != GLOSSARY]
        entries = [entry for g in ordered for entry in g.entries_for(src, tgt)]
        terms = None
        if entries:
            from desktop.terminology import TermBase

            terms = TermBase(entries, src, tgt)
        self._terms_cache[(src, tgt)] = (self._revision, terms)
        return terms

    def enabled_names(self, src: str, tgt: str) -> list[str]:
        return [g.name for g in self.glossaries if not g.error and g.enabled_for(src, tgt)
                and g.entries_for(src, tgt)]

    # --- files ------------------------------------------------------------------------------
    def _check_usable(self, glossary: Glossary) -> None:
        if glossary.error:
            raise GlossaryStoreError(glossary.error)

    def _write_entries(self, glossary: Glossary, entries: list) -> None:
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
        from alma_core.atomic import write_text_atomic

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


def write_store_file(path: Path, glossary: Glossary, entries: Iterable) -> None:
    """A list's TSV: a comment line naming it, then source<TAB>target<TAB>note (atomic)."""
    from alma_core.atomic import atomic_writer

    with atomic_writer(path) as handle:
        handle.write(f"{HEADER_PREFIX}{glossary.kind}: {glossary.src} -> {glossary.tgt}"
                     f" (source, target, note)\n")
        for entry in entries:
            handle.write("\t".join(clean_cell(value) for value in (entry.source, entry.target, entry.note)) + "\n")


def read_store_file(path: Path, kind: str) -> list:
    """The entries of a list's TSV (written by write_store_file; every line after the first is a term)."""
    from desktop.terminology import TermEntry

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


def _describe(path: Path, exc: BaseException) -> str:
    message = str(exc) if isinstance(exc, GlossaryStoreError) else (
        getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)
    return message if str(path) in message else f"{path}: {message}"


# --- the tab ---------------------------------------------------------------------------------------
LIST_COLUMNS = ("Name", "Kind", "Terms", "Forward", "Reverse")
NAME, KIND, COUNT, FORWARD, REVERSE = range(len(LIST_COLUMNS))
ENTRY_COLUMNS = ("Source term", "Target term", "Note")
SOURCE, TARGET, NOTE = range(len(ENTRY_COLUMNS))
INCOMPLETE_COLOR = QColor(255, 243, 205)
BROKEN_COLOR = QColor(178, 34, 34)


class GlossaryView(QWidget):
    """Lists on the left (switched on per direction), the selected list's terms on the right."""

    statusMessage = Signal(str)
    changed = Signal()  # terms or switches changed: the text view may translate again

    def __init__(self, store: GlossaryStore, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._settings = settings
        self._filling = False  # tables being filled by the view itself (not a user edit)
        self._drafts: dict[str, list[tuple[str, str, str]]] = {}  # incomplete rows per list file

        self.languages = LanguagePair(*settings.languages("glossaries"))
        self.languages.setToolTip("The language pair of new and imported lists")
        self.new_button = QPushButton("New glossary")
        self.new_dnt_button = QPushButton("New do-not-translate list")
        self.import_button = QPushButton("Import glossary…")
        self.import_button.setToolTip("TSV, CSV or TBX: source term, target term, optional note")
        self.import_dnt_button = QPushButton("Import do-not-translate…")
        self.import_dnt_button.setToolTip("A text file: one term a line, kept as it is (case-sensitive)")
        self.export_button = QPushButton("Export…")
        self.delete_button = QPushButton("Delete list")

        self.lists = QTableWidget(0, len(LIST_COLUMNS))
        self.lists.setHorizontalHeaderLabels(LIST_COLUMNS)
        self.lists.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.lists.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.lists.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.lists.verticalHeader().setVisible(False)
        self.lists.horizontalHeader().setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        self.lists.setAccessibleName("Glossaries")

        self.entries = QTableWidget(0, len(ENTRY_COLUMNS))
        self.entries.setHorizontalHeaderLabels(ENTRY_COLUMNS)
        self.entries.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.entries.verticalHeader().setVisible(False)
        header = self.entries.horizontalHeader()
        for column in range(len(ENTRY_COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        self.entries.setAccessibleName("Terms")
        self.add_entry_button = QPushButton("Add term")
        self.delete_entry_button = QPushButton("Delete terms")
        self.entries_label = QLabel()
        self.entries_label.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(self.languages)
        top.addStretch(1)
        for button in (self.new_button, self.new_dnt_button):
            top.addWidget(button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.lists, 1)
        hint = QLabel("Forward: used from the list's source to its target language; Reverse: the other way. "
                      "Double-click a name to rename it.")
        hint.setWordWrap(True)
        hint.setEnabled(False)
        left_layout.addWidget(hint)
        # Two short rows, so the tab does not widen the window's minimum size.
        for buttons in ((self.import_button, self.import_dnt_button), (self.export_button, self.delete_button)):
            row = QHBoxLayout()
            row.addStretch(1)
            for button in buttons:
                row.addWidget(button)
            left_layout.addLayout(row)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.entries, 1)
        right_layout.addWidget(self.entries_label)
        entry_buttons = QHBoxLayout()
        entry_buttons.addStretch(1)
        entry_buttons.addWidget(self.add_entry_button)
        entry_buttons.addWidget(self.delete_entry_button)
        right_layout.addLayout(entry_buttons)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([420, 580])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

        self.languages.changed.connect(lambda src, tgt: settings.set_languages("glossaries", src, tgt))
        self.new_button.clicked.connect(lambda: self.new_list(GLOSSARY))
        self.new_dnt_button.clicked.connect(lambda: self.new_list(DO_NOT_TRANSLATE))
        self.import_button.clicked.connect(lambda: self.choose_import(GLOSSARY))
        self.import_dnt_button.clicked.connect(lambda: self.choose_import(DO_NOT_TRANSLATE))
        self.export_button.clicked.connect(self.choose_export)
        self.delete_button.clicked.connect(self.confirm_delete)
        self.add_entry_button.clicked.connect(self.add_entry)
        self.delete_entry_button.clicked.connect(self.delete_selected_entries)
        self.delete_entry_button.setToolTip("Delete the selected terms (Delete)")
        # Delete on the table itself (not while a cell is being edited: the editor has the focus then).
        delete_key = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.entries)
        delete_key.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete_key.activated.connect(self.delete_selected_entries)
        self.lists.itemSelectionChanged.connect(self._show_selected)
        self.lists.itemChanged.connect(self._on_list_item_changed)
        self.entries.itemChanged.connect(self._on_entry_changed)

        self._fill_lists()
        if self.store.glossaries:
            self.lists.selectRow(0)
        self._show_selected()

    def show_load_problems(self) -> None:
        """A dialog for what the store could not read (once the window is shown)."""
        if self.store.problems:
            show_error(self, "Glossaries not loaded", "\n\n".join(self.store.problems))
            self.store.problems = []

    # --- lists ----------------------------------------------------------------------------------
    def selected_glossary(self) -> Glossary | None:
        rows = self.lists.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.store.glossaries):
            return None
        return self.store.glossaries[rows[0].row()]

    def select_glossary(self, glossary: Glossary) -> None:
        self.lists.selectRow(self.store.glossaries.index(glossary))

    @Slot()
    def new_list(self, kind: str = GLOSSARY) -> Glossary | None:
        src, tgt = self.languages.pair()
        base = "Do not translate" if kind == DO_NOT_TRANSLATE else f"Glossary {src}-{tgt}"
        names = {g.name for g in self.store.glossaries}
        name, number = base, 2
        while name in names:
            name, number = f"{base} ({number})", number + 1
        glossary = self._guarded(lambda: self.store.add(name, kind, src, tgt), "Glossary not created")
        if glossary is not None:
            self._after_list_change(glossary)
            self.add_entry()
        return glossary

    @Slot()
    def choose_import(self, kind: str = GLOSSARY) -> None:
        if kind == DO_NOT_TRANSLATE:
            file_filter = "Term lists (*.txt);;All files (*)"
        else:
            file_filter = "Glossaries (*.tsv *.txt *.csv *.tbx);;All files (*)"
        path, _ = QFileDialog.getOpenFileName(self, "Import", "", file_filter)
        if path:
            self.import_file(Path(path), kind)

    def import_file(self, path: Path, kind: str = GLOSSARY) -> Glossary | None:
        """A new list from a file, for the pair chosen above; a bad file is a dialog and changes nothing."""
        from desktop.terminology import GlossaryError, read_do_not_translate, read_glossary

        path = Path(path)
        src, tgt = self.languages.pair()
        try:
            if kind == DO_NOT_TRANSLATE:
                entries = read_do_not_translate(path)
            else:
                entries = read_glossary(path, src, tgt)
        except (GlossaryError, OSError, UnicodeDecodeError) as exc:
            show_error(self, "Glossary not imported", _describe(path, exc))
            return None
        if not entries:
            show_error(self, "Glossary not imported", f"{path}: no terms in the file")
            return None
        entries = [_stored_entry(entry, kind) for entry in entries]
        glossary = self._guarded(lambda: self.store.add(path.stem, kind, src, tgt, entries), "Glossary not imported")
        if glossary is not None:
            self._after_list_change(glossary)
            self.statusMessage.emit(f"Imported {len(entries)} terms from {path.name}")
        return glossary

    @Slot()
    def choose_export(self) -> None:
        glossary = self.selected_glossary()
        if glossary is None:
            return
        if glossary.kind == DO_NOT_TRANSLATE:
            file_filter = "Term list (*.txt);;TSV (*.tsv);;CSV (*.csv);;TBX (*.tbx)"
            suggested = f"{glossary.file[:-4]}.txt"
        else:
            file_filter = "TSV (*.tsv);;CSV (*.csv);;TBX (*.tbx)"
            suggested = glossary.file
        path, _ = QFileDialog.getSaveFileName(self, "Export", suggested, file_filter)
        if path:
            self.export_file(glossary, Path(path))

    def export_file(self, glossary: Glossary, path: Path) -> Path | None:
        """Write the list to path: TSV, CSV or TBX by suffix (.txt: a do-not-translate list, one term a
        line); atomic. Returns the path written, or None after a dialog."""
        from desktop.terminology import GlossaryError, write_glossary

        path = Path(path)
        suffix = path.suffix.lower()
        try:
            if suffix == ".txt" and glossary.kind == DO_NOT_TRANSLATE:
                from alma_core.atomic import write_text_atomic

                write_text_atomic(path, "".join(f"{entry.source}\n" for entry in glossary.entries))
            else:
                if suffix not in EXPORT_SUFFIXES:
                    path = path.with_name(path.name + ".tsv")
                write_glossary(path, glossary.entries, glossary.src, glossary.tgt)
        except (GlossaryError, OSError, ValueError) as exc:
            show_error(self, "Glossary not exported", _describe(path, exc))
            return None
        self.statusMessage.emit(f"Exported {len(glossary.entries)} terms to {path}")
        return path

    @Slot()
    def confirm_delete(self) -> QMessageBox | None:
        """Ask first (a window-modal box that does not block the event loop); Yes deletes the list."""
        glossary = self.selected_glossary()
        if glossary is None:
            return None
        box = QMessageBox(QMessageBox.Icon.Question, "Delete list",
                          f"Delete {glossary.name!r} and its {len(glossary.entries)} terms?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("confirmDialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        yes = box.button(QMessageBox.StandardButton.Yes)
        box.finished.connect(lambda _result: self.delete_glossary(glossary)
                             if box.clickedButton() == yes else None)
        box.open()
        return box

    def delete_glossary(self, glossary: Glossary) -> None:
        if glossary not in self.store.glossaries:
            return
        if self._guarded(lambda: self.store.remove(glossary) or True, "List not deleted"):
            self._drafts.pop(glossary.file, None)
            self._after_list_change(None)
            self.statusMessage.emit(f"Deleted {glossary.name}")

    def _after_list_change(self, select: Glossary | None) -> None:
        self._fill_lists()
        if select is not None:
            self.select_glossary(select)
        elif self.store.glossaries:
            self.lists.selectRow(0)
        self._show_selected()
        self.changed.emit()

    def _fill_lists(self) -> None:
        self._filling = True
        try:
            self.lists.setRowCount(len(self.store.glossaries))
            for row, glossary in enumerate(self.store.glossaries):
                name = QTableWidgetItem(glossary.name)
                kind = QTableWidgetItem(KIND_LABELS[glossary.kind])
                count = QTableWidgetItem(str(len(glossary.entries)))
                for item in (kind, count):
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                if glossary.error:
                    for item in (name, kind, count):
                        item.setForeground(QBrush(BROKEN_COLOR))
                        item.setToolTip(glossary.error)
                    count.setText("unreadable")
                for column, item in ((NAME, name), (KIND, kind), (COUNT, count)):
                    self.lists.setItem(row, column, item)
                for column, (src, tgt) in zip((FORWARD, REVERSE), glossary.directions(), strict=True):
                    switch = QTableWidgetItem(f"{src} → {tgt}")
                    switch.setFlags((switch.flags() | Qt.ItemFlag.ItemIsUserCheckable) & ~Qt.ItemFlag.ItemIsEditable)
                    switch.setCheckState(Qt.CheckState.Checked if glossary.enabled_for(src, tgt)
                                         else Qt.CheckState.Unchecked)
                    switch.setToolTip(f"Use this list when translating from {src} to {tgt}")
                    self.lists.setItem(row, column, switch)
            self.lists.resizeColumnsToContents()
            self.lists.horizontalHeader().setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        finally:
            self._filling = False

    def set_enabled(self, glossary: Glossary, src: str, tgt: str, on: bool) -> None:
        """Switch a list on or off for src -> tgt (as its checkbox does)."""
        row = self.store.glossaries.index(glossary)
        column = FORWARD if (src, tgt) == (glossary.src, glossary.tgt) else REVERSE
        self.lists.item(row, column).setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    @Slot(QTableWidgetItem)
    def _on_list_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        glossary = self.store.glossaries[item.row()]
        if item.column() == NAME:
            name = item.text().strip()
            if name and name != glossary.name:
                self._guarded(lambda: self.store.rename(glossary, name) or True, "List not renamed")
            if item.text() != glossary.name:  # stripped, empty or not saved: show what is stored
                self._filling = True
                item.setText(glossary.name)
                self._filling = False
        elif item.column() in (FORWARD, REVERSE):
            src, tgt = glossary.directions()[item.column() - FORWARD]
            on = item.checkState() == Qt.CheckState.Checked
            if on != glossary.enabled_for(src, tgt):
                if self._guarded(lambda: self.store.set_enabled(glossary, src, tgt, on) or True,
                                 "Switch not saved"):
                    self.statusMessage.emit(f"{glossary.name}: {'on' if on else 'off'} for {src} → {tgt}")
                    self.changed.emit()
                else:
                    self._fill_lists()

    # --- entries --------------------------------------------------------------------------------
    @Slot()
    def _show_selected(self) -> None:
        glossary = self.selected_glossary()
        self._filling = True
        try:
            self.entries.setRowCount(0)
            if glossary is not None:
                rows = [(e.source, e.target, e.note) for e in glossary.entries]
                rows += self._drafts.get(glossary.file, [])
                self.entries.setRowCount(len(rows))
                for row, values in enumerate(rows):
                    for column, value in enumerate(values):
                        self.entries.setItem(row, column, QTableWidgetItem(value))
                self.entries.setColumnHidden(TARGET, glossary.kind == DO_NOT_TRANSLATE)
                self._mark_incomplete(glossary)
        finally:
            self._filling = False
        usable = glossary is not None and not glossary.error
        self.entries.setEnabled(usable)
        self.add_entry_button.setEnabled(usable)
        self.delete_entry_button.setEnabled(usable)
        self.export_button.setEnabled(usable)
        self.delete_button.setEnabled(glossary is not None)
        self._update_entries_label(glossary)

    def entry_rows(self) -> list[tuple[str, str, str]]:
        """What the terms table shows, row by row (source, target, note)."""
        def text(row: int, column: int) -> str:
            item = self.entries.item(row, column)
            return item.text() if item is not None else ""

        return [tuple(text(row, column) for column in range(len(ENTRY_COLUMNS)))
                for row in range(self.entries.rowCount())]

    @Slot()
    def add_entry(self) -> None:
        glossary = self.selected_glossary()
        if glossary is None or glossary.error:
            return
        row = self.entries.rowCount()
        self._filling = True
        self.entries.insertRow(row)
        for column in range(len(ENTRY_COLUMNS)):
            self.entries.setItem(row, column, QTableWidgetItem(""))
        self._filling = False
        self.entries.setCurrentCell(row, SOURCE)
        self.entries.editItem(self.entries.item(row, SOURCE))

    def set_entry(self, row: int, source: str, target: str = "", note: str = "") -> None:
        """Fill a row as typing into its cells does (each cell's edit is committed, and saved)."""
        while self.entries.rowCount() <= row:
            self.add_entry()
        for column, value in ((SOURCE, source), (TARGET, target), (NOTE, note)):
            self.entries.item(row, column).setText(value)

    @Slot()
    def delete_selected_entries(self) -> None:
        rows = sorted({index.row() for index in self.entries.selectionModel().selectedRows()}, reverse=True)
        if not rows:
            return
        self._filling = True
        for row in rows:
            self.entries.removeRow(row)
        self._filling = False
        self._commit_entries()

    @Slot(QTableWidgetItem)
    def _on_entry_changed(self, item: QTableWidgetItem) -> None:
        if not self._filling:
            self._commit_entries()

    def _commit_entries(self) -> None:
        """Save the table: complete rows go to the file at once; incomplete ones wait, marked."""
        from desktop.terminology import TermEntry

        glossary = self.selected_glossary()
        if glossary is None or glossary.error:
            return
        complete, drafts = [], []
        for source, target, note in self.entry_rows():
            source, target, note = clean_cell(source), clean_cell(target), clean_cell(note)
            if glossary.kind == DO_NOT_TRANSLATE:
                target = source
            if source and target:
                keep = glossary.kind == DO_NOT_TRANSLATE
                complete.append(TermEntry(source=source, target=target, note=note, keep=keep))
            elif source or target or note:
                drafts.append((source, target, note))
        self._drafts[glossary.file] = drafts
        if _cells(complete) != _cells(glossary.entries):
            if self._guarded(lambda: self.store.save_entries(glossary, complete) or True, "Terms not saved"):
                self.changed.emit()
                row = self.store.glossaries.index(glossary)
                self._filling = True
                self.lists.item(row, COUNT).setText(str(len(complete)))
                self._filling = False
        self._mark_incomplete(glossary)
        self._update_entries_label(glossary)

    def _mark_incomplete(self, glossary: Glossary) -> None:
        was_filling, self._filling = self._filling, True
        try:
            for row, (source, target, _) in enumerate(self.entry_rows()):
                incomplete = not source.strip() or (glossary.kind == GLOSSARY and not target.strip())
                for column in range(len(ENTRY_COLUMNS)):
                    item = self.entries.item(row, column)
                    if item is not None:
                        item.setBackground(QBrush(INCOMPLETE_COLOR) if incomplete else QBrush())
                        item.setToolTip("Not saved until the source and target terms are filled"
                                        if incomplete else "")
        finally:
            self._filling = was_filling

    def _update_entries_label(self, glossary: Glossary | None) -> None:
        if glossary is None:
            self.entries_label.setText("No list selected: create one or import a file.")
        elif glossary.error:
            self.entries_label.setText(f"Not readable: {glossary.error}")
        else:
            drafts = len(self._drafts.get(glossary.file, []))
            pair = f"{glossary.src} ↔ {glossary.tgt}"
            text = f"{KIND_LABELS[glossary.kind]} {pair}: {len(glossary.entries)} terms, saved."
            if drafts:
                text += (f" {drafts} incomplete row{'s' if drafts > 1 else ''} (highlighted) "
                         "not saved until both terms are filled.")
            self.entries_label.setText(text)

    def _guarded(self, action: Callable[[], object], title: str):
        """Run a store change; a failure (disk full, read-only folder) is a dialog, nothing half-done."""
        try:
            return action()
        except (OSError, GlossaryStoreError) as exc:
            show_error(self, title, str(exc))
            return None


def _cells(entries: Iterable) -> list[tuple[str, str, str]]:
    return [(entry.source, entry.target, entry.note) for entry in entries]


def _stored_entry(entry, kind: str):
    """An imported entry as the store keeps it (cells cleaned; do-not-translate: target = source)."""
    from desktop.terminology import TermEntry

    source, note = clean_cell(entry.source), clean_cell(entry.note)
    if kind == DO_NOT_TRANSLATE:
        return TermEntry(source=source, target=source, note=note, origin=entry.origin, keep=True)
    return TermEntry(source=source, target=clean_cell(entry.target), note=note, origin=entry.origin)
