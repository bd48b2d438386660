"""The documents view: a queue of files, each with its progress bar, ETA and output, and their review.

docs/gui.md, "Documents".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.dialogs import show_error
from desktop.gui.document_queue import DocumentJob, DocumentQueue, JobState, format_note, supported_extensions
from desktop.gui.language_pair import LanguagePair
from desktop.gui.review_dialog import ReviewDialog
from desktop.gui.settings import AppSettings
from desktop.terminology import Terms

COLUMNS = ("File", "Languages", "Status", "Progress", "ETA", "Output / error")
FILE, LANGUAGES, STATUS, PROGRESS, ETA, OUTPUT = range(len(COLUMNS))
FAILED_COLOR = QColor(178, 34, 34)
MISSING_TERMS_COLOR = QColor(176, 96, 0)
MAX_MISSING_LISTED = 20


def describe_missing_terms(missing: list) -> list[str]:
    """Lines for a job's sentences with terms not placed: (sentence number, source, entries) each."""
    lines = []
    for number, _source, entries in missing[:MAX_MISSING_LISTED]:
        terms = ", ".join(f"'{e.source}'" if getattr(e, "keep", False) else f"'{e.source}' → '{e.target}'"
                          for e in entries)
        lines.append(f"sentence {number}: {terms} not placed")
    if len(missing) > MAX_MISSING_LISTED:
        lines.append(f"… and {len(missing) - MAX_MISSING_LISTED} more sentences")
    return lines


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"


def _short_error(job: DocumentJob) -> str:
    """The error without the source path in front (the row already names the file)."""
    prefix = f"{job.path}: "
    return job.error[len(prefix):] if job.error.startswith(prefix) else job.error


class DocumentsView(QWidget):
    statusMessage = Signal(str)

    def __init__(self, queue: DocumentQueue, settings: AppSettings, glossaries=None,
                 parent: QWidget | None = None, memory=None) -> None:
        """memory: the app's TranslationMemory, where corrections made in the review table go."""
        super().__init__(parent)
        self.queue = queue
        self.memory = memory
        self.review_dialog: ReviewDialog | None = None  # the one open (or last opened)
        self._settings = settings
        self._glossaries = glossaries  # a GlossaryStore (desktop.terminology.store), or None
        # How outputs and folders are opened; the desktop's default application unless replaced.
        self.opener: Callable[[QUrl], object] = QDesktopServices.openUrl
        self.setAcceptDrops(True)

        self.languages = LanguagePair(*settings.languages("documents"))
        self.add_button = QPushButton("Add files…")
        self.add_button.setToolTip("Add documents to the queue (Ctrl+O)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_all_button = QPushButton("Cancel all")
        self.open_button = QPushButton("Open output")
        self.folder_button = QPushButton("Open folder")
        self.clear_button = QPushButton("Clear finished")
        self.review_button = QPushButton("Review…")
        self.review_button.setToolTip("Review and correct a translated file's segments; corrections go to "
                                      "your translation memory")
        hint = QLabel(f"Drop files here · {' '.join(supported_extensions())}")
        hint.setEnabled(False)
        # The list grows with every format: wrapped, it never widens the window (tests/gui/test_gui.py).
        hint.setWordWrap(True)
        # Options for the files added from now on: a TMX of the translated segments (for a CAT tool's
        # memory) and, for XLIFF, whether existing targets are replaced.
        self.tmx_check = QCheckBox("Save segment pairs to TMX:")
        self.tmx_check.setToolTip("Add every translated segment pair to a TMX file a CAT tool can reuse")
        self.tmx_path = QLineEdit()
        self.tmx_path.setPlaceholderText("translations.tmx")
        self.tmx_button = QPushButton("Choose…")
        self.overwrite_check = QCheckBox("Replace existing XLIFF targets")
        self.overwrite_check.setToolTip("Off: only empty XLIFF units are filled; human translations are kept")

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(FILE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(OUTPUT, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(LANGUAGES, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnWidth(STATUS, 100)
        self.table.setColumnWidth(PROGRESS, 170)
        self.table.setColumnWidth(ETA, 60)

        top = QHBoxLayout()
        top.addWidget(self.languages)
        top.addStretch(1)
        top.addWidget(self.add_button)
        options = QHBoxLayout()
        options.addWidget(self.tmx_check)
        options.addWidget(self.tmx_path, 1)
        options.addWidget(self.tmx_button)
        options.addWidget(self.overwrite_check)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        for button in (self.review_button, self.cancel_button, self.cancel_all_button, self.open_button,
                       self.folder_button, self.clear_button):
            bottom.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(options)
        layout.addWidget(self.table, 1)
        layout.addWidget(hint)
        layout.addLayout(bottom)

        self._rows: list[int] = []  # job id of each table row
        self.languages.changed.connect(lambda src, tgt: settings.set_languages("documents", src, tgt))
        self.add_button.clicked.connect(self.choose_files)
        self.tmx_button.clicked.connect(self.choose_tmx)
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.cancel_all_button.clicked.connect(queue.cancel_all)
        self.open_button.clicked.connect(self.open_output)
        self.folder_button.clicked.connect(self.open_folder)
        self.clear_button.clicked.connect(self.clear_finished)
        self.review_button.clicked.connect(self.review_selected)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        queue.jobAdded.connect(self._on_job_added)
        queue.jobChanged.connect(self._on_job_changed)
        queue.jobFailed.connect(self._on_job_failed)
        queue.jobRemoved.connect(self._on_job_removed)
        self._update_buttons()

    # --- adding ------------------------------------------------------------------------------
    @Slot()
    def choose_files(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in supported_extensions())
        # XLIFF has its own entry too: CAT-tool users look for their exchange files by name; a PDF's
        # entry says what comes back.
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Add documents", "",
            f"Documents ({patterns});;XLIFF from a CAT tool (*.xlf *.xliff *.sdlxliff);;E-books (*.epub);;"
            "PDF, written as Word without its layout (*.pdf);;All files (*)")
        self.add_files(Path(p) for p in paths)

    @Slot()
    def choose_tmx(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save segment pairs to", self.tmx_path.text(),
                                              "Translation memory (*.tmx)")
        if path:
            self.tmx_path.setText(path if path.lower().endswith(".tmx") else path + ".tmx")
            self.tmx_check.setChecked(True)

    def tmx_file(self) -> Path | None:
        """The TMX the next jobs add to, or None (box unticked or no file named)."""
        text = self.tmx_path.text().strip()
        return Path(text).expanduser() if self.tmx_check.isChecked() and text else None

    def add_files(self, paths: Iterable[Path]) -> list[DocumentJob]:
        src, tgt = self.languages.pair()
        tmx, overwrite = self.tmx_file(), self.overwrite_check.isChecked()
        # The glossaries switched on for the pair now apply to these files.
        terms = Terms.of(self._glossaries.terms_for(src, tgt)) if self._glossaries is not None else None
        return [self.queue.add(Path(path), src, tgt, tmx=tmx, overwrite=overwrite, terms=terms) for path in paths]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt's name)
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt's name)
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_files(paths)

    # --- acting on rows ----------------------------------------------------------------------
    def selected_jobs(self) -> list[DocumentJob]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.queue.jobs[self._rows[row]] for row in rows if self._rows[row] in self.queue.jobs]

    def select_job(self, job_id: int) -> None:
        self.table.selectRow(self._rows.index(job_id))

    @Slot()
    def cancel_selected(self) -> None:
        for job in self.selected_jobs():
            self.queue.cancel(job.job_id)

    @Slot()
    def open_output(self) -> None:
        for job in self.selected_jobs():
            if job.output is not None:
                self.opener(QUrl.fromLocalFile(str(job.output)))

    @Slot()
    def open_folder(self) -> None:
        for job in self.selected_jobs():
            target = job.output or job.path
            self.opener(QUrl.fromLocalFile(str(target.parent)))

    def reviewable_job(self) -> DocumentJob | None:
        """The one selected job when it finished with segment pairs to review, else None."""
        selected = self.selected_jobs()
        if len(selected) != 1 or selected[0].state is not JobState.DONE or not selected[0].pairs:
            return None
        return selected[0]

    @Slot()
    def review_selected(self) -> ReviewDialog | None:
        """Open the review table of the selected finished job (window-modal, not blocking the event loop)."""
        job = self.reviewable_job()
        if job is None:
            return None
        if self.review_dialog is not None:
            self.review_dialog.deleteLater()
        self.review_dialog = ReviewDialog(job, self.memory, self.queue, self)
        self.review_dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.review_dialog.destroyed.connect(self._forget_review_dialog)
        self.review_dialog.open()
        return self.review_dialog

    @Slot(object)
    def _forget_review_dialog(self, dialog: object) -> None:
        if dialog is self.review_dialog:
            self.review_dialog = None

    @Slot()
    def clear_finished(self) -> None:
        for job in list(self.queue.jobs.values()):
            if job.state.finished:
                self.queue.remove(job.job_id)

    # --- queue signals -----------------------------------------------------------------------
    @Slot(object)
    def _on_job_added(self, job: DocumentJob) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self._rows.append(job.job_id)
        name = QTableWidgetItem(job.path.name)
        name.setToolTip(str(job.path))
        self.table.setItem(row, FILE, name)
        self.table.setItem(row, LANGUAGES, QTableWidgetItem(f"{job.src} → {job.tgt}"))
        for column in (STATUS, ETA, OUTPUT):
            self.table.setItem(row, column, QTableWidgetItem())
        bar = QProgressBar()
        bar.setRange(0, 1)
        bar.setValue(0)
        self.table.setCellWidget(row, PROGRESS, bar)
        self._on_job_changed(job)

    @Slot(object)
    def _on_job_changed(self, job: DocumentJob) -> None:
        if job.job_id not in self._rows:
            return
        row = self._rows.index(job.job_id)
        failed = job.state is JobState.FAILED
        status = self.table.item(row, STATUS)
        status.setText(job.state.value)
        status.setToolTip(job.error)
        # QBrush(): the default colour again for a failed job queued once more (rerun).
        status.setForeground(QBrush(FAILED_COLOR) if failed else QBrush())
        bar = self.progress_bar(job.job_id)
        bar.setRange(0, max(job.total, 1))
        bar.setValue(job.done if job.total else (1 if job.state is JobState.DONE else 0))
        bar.setFormat(f"{job.done}/{job.total} segments" if job.total else "")
        self.table.item(row, ETA).setText(format_eta(job.eta_seconds) if job.state is JobState.RUNNING else "")
        output = self.table.item(row, OUTPUT)
        if failed:
            output.setText(_short_error(job))
            output.setToolTip(job.error)
            output.setForeground(QBrush(FAILED_COLOR))
        else:
            output.setText(job.output.name if job.output else "")
            output.setToolTip(str(job.output) if job.output else "")
            output.setForeground(QBrush())
            note = format_note(job.path) if job.state is JobState.DONE else ""
            if note:  # a PDF comes back as a Word document: said in the row, the whole note in its tooltip
                output.setText(f"{output.text()} · layout not kept")
                output.setToolTip(f"{job.output}\n{note[:1].upper()}{note[1:]}.")
            if job.missing_terms and job.state is JobState.DONE:
                # Glossary terms the model did not place: said in the row, listed in its tooltip.
                count = len(job.missing_terms)
                output.setText(f"{output.text()} · terms not placed in {count} sentence{'s' if count > 1 else ''}")
                output.setToolTip("\n".join([str(job.output), *describe_missing_terms(job.missing_terms)]))
                output.setForeground(QBrush(MISSING_TERMS_COLOR))
        self._update_buttons()

    @Slot(object)
    def _on_job_failed(self, job: DocumentJob) -> None:
        self.statusMessage.emit(f"{job.path.name} not translated: {_short_error(job)}")
        show_error(self, "Document not translated", job.error)

    @Slot(int)
    def _on_job_removed(self, job_id: int) -> None:
        row = self._rows.index(job_id)
        self.table.removeRow(row)
        del self._rows[row]
        self._update_buttons()

    def progress_bar(self, job_id: int) -> QProgressBar:
        return self.table.cellWidget(self._rows.index(job_id), PROGRESS)

    def status_text(self, job_id: int) -> str:
        return self.table.item(self._rows.index(job_id), STATUS).text()

    def detail_text(self, job_id: int) -> str:
        """The Output / error cell: the output file's name, or why the file failed."""
        return self.table.item(self._rows.index(job_id), OUTPUT).text()

    @Slot()
    def _update_buttons(self) -> None:
        selected = self.selected_jobs()
        self.cancel_button.setEnabled(any(not job.state.finished for job in selected))
        self.cancel_all_button.setEnabled(any(not job.state.finished for job in self.queue.jobs.values()))
        self.open_button.setEnabled(any(job.output for job in selected))
        self.folder_button.setEnabled(bool(selected))
        self.clear_button.setEnabled(any(job.state.finished for job in self.queue.jobs.values()))
        self.review_button.setEnabled(self.reviewable_job() is not None)
