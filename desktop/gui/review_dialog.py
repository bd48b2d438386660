"""Reviewing a translated document: its segment pairs in a table, corrections saved to the translation memory.

What it shows, saves and writes again: docs/gui.md#reviewing-a-translated-document.
"""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.dialogs import show_error
from desktop.gui.document_queue import DocumentJob, DocumentQueue, JobState
from desktop.gui.text_view import EDITED_COLOR, MEMORY_COLOR  # the Text view's shades, for the same states

SOURCE, TRANSLATION = range(2)
# Fitting every row's height to its text costs a layout per row: past this many rows they stay one line.
MAX_ROWS_FITTED = 2000


class ReviewDialog(QDialog):
    """The segment pairs of `job` (finished, job.pairs set) for review.

    memory: the TranslationMemory corrections go to (None: they cannot be saved, said in a dialog);
    queue: the DocumentQueue that writes the document again (None: no "Write again").
    """

    def __init__(self, job: DocumentJob, memory=None, queue: DocumentQueue | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self._memory = memory
        self._queue = queue
        self.setWindowTitle(f"Review {job.path.name} ({job.src} → {job.tgt})")
        self.resize(900, 600)
        pairs = job.pairs or []
        # Shown and compared without the segment's surrounding whitespace: the memory stores stripped
        # text, and the DocumentJob puts the document's own whitespace back around a match.
        self._sources = [source.strip() for source, _ in pairs]
        self._shown = [translation.strip() for _, translation in pairs]  # as translated or last saved
        self._saved: set[int] = set()

        self.table = QTableWidget(len(pairs), 2)
        self.table.setHorizontalHeaderLabels(("Source", "Translation"))
        self.table.setWordWrap(True)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.AnyKeyPressed)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(SOURCE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(TRANSLATION, QHeaderView.ResizeMode.Stretch)
        for row, (source, translation) in enumerate(zip(self._sources, self._shown, strict=True)):
            source_item = QTableWidgetItem(source)
            source_item.setFlags(source_item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(row, SOURCE, source_item)
            self.table.setItem(row, TRANSLATION, QTableWidgetItem(translation))
        if len(pairs) <= MAX_ROWS_FITTED:
            self.table.resizeRowsToContents()

        self.status_label = QLabel()
        self.confirm_button = QPushButton("Confirm corrections")
        self.confirm_button.setToolTip("Save the edited rows to your translation memory")
        self.rewrite_button = QPushButton("Write the document again with the corrections")
        self.rewrite_button.setToolTip(f"Translate {job.path.name} again to the same output; your corrections "
                                       "come from the translation memory (edits not yet confirmed are saved first)")
        self.close_button = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addWidget(self.status_label, 1)
        for button in (self.confirm_button, self.rewrite_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

        self.table.itemChanged.connect(self._on_item_changed)
        self.confirm_button.clicked.connect(self.confirm_corrections)
        self.rewrite_button.clicked.connect(self.write_again)
        self.close_button.clicked.connect(self.reject)
        self._update()

    # --- the table ---------------------------------------------------------------------------
    def translation(self, row: int) -> str:
        return self.table.item(row, TRANSLATION).text().strip()

    def edit_row(self, row: int, text: str) -> None:
        """Put text in row's translation cell, as typing it would."""
        self.table.item(row, TRANSLATION).setText(text)

    def is_edited(self, row: int) -> bool:
        """Whether row's translation differs from the one shown (or last saved); an emptied cell is no
        correction (the memory cannot hold an empty translation)."""
        text = self.translation(row)
        return bool(text) and text != self._shown[row]

    def edited_rows(self) -> list[int]:
        return [row for row in range(self.table.rowCount()) if self.is_edited(row)]

    def corrections(self) -> list[tuple[str, str]]:
        """(source, corrected translation) of the edited rows, in table order."""
        return [(self._sources[row], self.translation(row)) for row in self.edited_rows()]

    @Slot(QTableWidgetItem)
    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == TRANSLATION:
            self._mark(item.row())
            self._update()

    def _mark(self, row: int) -> None:
        item = self.table.item(row, TRANSLATION)
        edited = self.is_edited(row)
        color = EDITED_COLOR if edited else MEMORY_COLOR if row in self._saved else None
        # blockSignals: the shade is data too, and setting it must not count as another edit.
        self.table.blockSignals(True)
        try:
            for column in (SOURCE, TRANSLATION):
                self.table.item(row, column).setBackground(QBrush(color) if color is not None else QBrush())
            item.setToolTip("edited, not saved yet" if edited else
                            "your correction (saved to your translation memory)" if row in self._saved else "")
        finally:
            self.table.blockSignals(False)

    def row_state(self, row: int) -> str:
        """"edited", "saved" or "" (as translated): what the row's shade says."""
        if self.is_edited(row):
            return "edited"
        return "saved" if row in self._saved else ""

    def _update(self) -> None:
        edited = len(self.edited_rows())
        self.confirm_button.setEnabled(edited > 0)
        # Writing again makes sense once there is something corrected, and only for a finished job
        # (a queued or running one is writing already).
        can_rewrite = self._queue is not None and self.job.state is JobState.DONE
        self.rewrite_button.setEnabled(can_rewrite and (edited > 0 or bool(self._saved)))
        problem = "no translation memory" if self._memory is None else getattr(self._memory, "problem", None)
        self.confirm_button.setToolTip("Save the edited rows to your translation memory"
                                       + (f"\nCannot save: {problem}" if problem else ""))
        parts = []
        if edited:
            parts.append(f"{edited} row{'s' if edited != 1 else ''} edited")
        if self._saved:
            parts.append(f"{len(self._saved)} saved to your translation memory")
        self.status_label.setText(" · ".join(parts))

    # --- actions ------------------------------------------------------------------------------
    @Slot()
    def confirm_corrections(self) -> int:
        """Save the edited rows to the translation memory; how many were saved. A failed save stores
        nothing (one transaction), shows a dialog and keeps the edits."""
        rows = self.edited_rows()
        if not rows:
            return 0
        if self._memory is None:
            show_error(self, "Corrections not saved", "There is no translation memory to save them to.")
            return 0
        pairs = [(self._sources[row], self.translation(row)) for row in rows]
        try:
            self._memory.add_many(pairs, self.job.src, self.job.tgt, origin="correction", model=self.job.model)
        except (sqlite3.Error, OSError) as exc:  # MemoryWriteError is an OSError
            where = getattr(self._memory, "path", "the translation memory")
            show_error(self, "Corrections not saved", f"{where}: {exc}")
            return 0
        for row, (_source, text) in zip(rows, pairs, strict=True):
            self._shown[row] = text
            self._saved.add(row)
            self._mark(row)
        self._update()
        return len(rows)

    @Slot()
    def write_again(self) -> bool:
        """Save any edits still unconfirmed, then queue the job again to the same output; closes the
        dialog. False (dialog stays open, edits kept) when the save failed or the job cannot rerun."""
        if self.edited_rows() and not self.confirm_corrections():
            return False
        if self._queue is None or self.job.state is not JobState.DONE or not self._saved:
            return False
        if self._queue.rerun(self.job.job_id) is None:
            return False
        self.accept()
        return True
