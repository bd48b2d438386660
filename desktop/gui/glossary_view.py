"""The Glossaries tab: the user's glossaries and do-not-translate lists, edited, imported and exported.

The lists live in the app's glossary store (desktop.terminology.store); docs/terminology.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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

from alma_core.atomic import write_text_atomic
from desktop.gui.dialogs import show_error
from desktop.gui.language_pair import LanguagePair
from desktop.gui.settings import AppSettings
from desktop.terminology import GlossaryError, TermEntry, read_do_not_translate, read_glossary, write_glossary
from desktop.terminology.store import (
    DO_NOT_TRANSLATE,
    GLOSSARY,
    KIND_LABELS,
    Glossary,
    GlossaryStore,
    GlossaryStoreError,
    clean_cell,
    describe_error,
    stored_entry,
)

IMPORT_SUFFIXES = (".tsv", ".txt", ".csv", ".tbx")
EXPORT_SUFFIXES = (".tsv", ".csv", ".tbx")


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
        path = Path(path)
        src, tgt = self.languages.pair()
        try:
            if kind == DO_NOT_TRANSLATE:
                entries = read_do_not_translate(path)
            else:
                entries = read_glossary(path, src, tgt)
        except (GlossaryError, OSError, UnicodeDecodeError) as exc:
            show_error(self, "Glossary not imported", describe_error(path, exc))
            return None
        if not entries:
            show_error(self, "Glossary not imported", f"{path}: no terms in the file")
            return None
        entries = [stored_entry(entry, kind) for entry in entries]
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
        path = Path(path)
        suffix = path.suffix.lower()
        try:
            if suffix == ".txt" and glossary.kind == DO_NOT_TRANSLATE:
                write_text_atomic(path, "".join(f"{entry.source}\n" for entry in glossary.entries))
            else:
                if suffix not in EXPORT_SUFFIXES:
                    path = path.with_name(path.name + ".tsv")
                write_glossary(path, glossary.entries, glossary.src, glossary.tgt)
        except (GlossaryError, OSError, ValueError) as exc:
            show_error(self, "Glossary not exported", describe_error(path, exc))
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
