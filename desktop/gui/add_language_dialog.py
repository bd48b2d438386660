"""The "Add a language…" dialog of the Models view: pick a language the bundle lacks, train its adapter with
`alma-train add-language` as a QProcess child (progress, cancel, errors), as the Tune view runs its steps.

What it does and how long it takes: docs/gui.md#models and docs/adapters.md#adding-a-language.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from alma_core.gguf_file import ModelLoadError
from desktop.gui.child_process import ChildRun
from desktop.gui.dialogs import show_error
from desktop.gui.tune_view import LOG_PANE_MAX_LINES
from desktop.models import add_language, tuning

LANGUAGE_ROLE = Qt.ItemDataRole.UserRole


class AddLanguageDialog(QDialog):
    """The languages with data the bundle has no adapter for; Start trains the chosen one into the bundle."""

    runFinished = Signal(str)  # "done", "failed" or "cancelled"

    def __init__(self, bundle: Path, parent: QWidget | None = None, runs_root: Path | None = None,
                 extra_args: tuple[str, ...] = ()) -> None:
        super().__init__(parent)
        self.bundle = Path(bundle)
        self.runs_root = runs_root  # None: the tuning runs folder
        self.extra_args = extra_args  # more alma-train options (tests: a tiny base, two steps)
        self.run: add_language.AddLanguageRun | None = None
        self.state = "idle"
        self.error_box = None  # the last error dialog (tests read its text)
        self._child: ChildRun | None = None
        self._output = ""  # the end of the child's output: the cause of a failure is found in it
        self._cancelled = False
        self._progress = tuning.TrainProgress()
        self.setWindowTitle(f"Add a language to {self.bundle.name}")

        self.missing = tuning.missing_training_modules()
        note = QLabel("Trains one adapter for the language <-> English on the bundle's base (about 10 minutes on "
                      "a laptop CPU), scores it on held-out data and adds it to the bundle.")
        note.setWordWrap(True)
        install = QLabel(f"Needs the training extra ({', '.join(self.missing)} not installed): "
                         f"{tuning.INSTALL_HINT}, then restart the app.")
        install.setWordWrap(True)
        install.setVisible(bool(self.missing))
        self.list = QListWidget()
        self.list.setAccessibleName("Languages to add")
        self._fill()
        self.status_label = QLabel("Idle" if self.list.count() else "The bundle has every language with data.")
        self.progress_label = QLabel()
        self.log_pane = QPlainTextEdit()
        self.log_pane.setReadOnly(True)
        self.log_pane.setMaximumBlockCount(LOG_PANE_MAX_LINES)
        self.log_pane.setAccessibleName("Add-language log")
        self.start_button = QPushButton("Start")
        self.start_button.setEnabled(self.list.count() > 0 and not self.missing)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress_label, 1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(install)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.status_label)
        layout.addWidget(self.log_pane, 1)
        layout.addLayout(buttons)
        self.start_button.clicked.connect(lambda: self.start())
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)

    def languages(self) -> list[str]:
        """The codes listed, in order."""
        return [self.list.item(i).data(LANGUAGE_ROLE) for i in range(self.list.count())]

    def select_language(self, code: str) -> None:
        self.list.setCurrentRow(self.languages().index(code))

    def is_running(self) -> bool:
        return self.state == "running"

    def start(self) -> bool:
        """Start training the selected language; False with a dialog when it cannot start."""
        item = self.list.currentItem()
        if self.is_running() or item is None:
            return False
        try:
            self.run = add_language.new_run(self.bundle, item.data(LANGUAGE_ROLE), self.runs_root, self.extra_args)
        except (ValueError, OSError, ModelLoadError) as exc:  # AddLanguageError, BundleError
            self.error_box = show_error(self, "Cannot add the language", str(exc))
            return False
        self.state = "running"
        self._cancelled = False
        self._output = ""
        self._progress = tuning.TrainProgress()
        self.log_pane.clear()
        self.list.setEnabled(False)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status_label.setText(f"Training the {add_language.language_label(self.run.language)} adapter…")
        command = self.run.command()
        self._append(f"Run folder: {self.run.run_dir}\n$ {' '.join(command[1:])}\n")
        self._child = ChildRun(self, command, self.run.log_path)
        self._child.output.connect(self._read_output)
        self._child.ended.connect(self._end)
        self._child.start()
        return True

    @Slot(str)
    def _read_output(self, text: str) -> None:
        self._output = (self._output + text)[-20_000:]  # enough to find the cause of a failure
        self._append(text.replace("\r", "\n"))
        assert self.run is not None
        tuning.update_progress(self._progress, text, self.run.output)
        if self._progress.step or self._progress.total:
            self.progress_label.setText(self._progress.describe())

    @Slot(int)
    def _end(self, exit_code: int) -> None:
        child, self._child = self._child, None
        if child is not None and child.start_error:
            self._output += f"\nalma-train add-language: error: {child.start_error}\n"
        assert self.run is not None
        if self._cancelled:
            state, message = "cancelled", f"cancelled; {self.bundle.name} is unchanged"
        elif exit_code != 0:
            state = "failed"
            message = (f"{add_language.failure_reason(self._output, exit_code)}\n\nThe full log: "
                       f"{self.run.log_path}")
        else:
            state, message = "done", f"{self.run.language} adapter added to {self.bundle.name}"
        self.state = state
        self.status_label.setText(f"{state.capitalize()}: {message.splitlines()[0]}")
        self._append(f"\n{state}: {message}\n")
        self.cancel_button.setEnabled(False)
        if state == "done":
            self._fill()  # what the bundle still lacks, now that it has one adapter more
        self.list.setEnabled(True)
        self.start_button.setEnabled(self.list.count() > 0 and not self.missing)
        if state == "failed":
            self.error_box = show_error(self, "Adding the language failed", message)
        self.runFinished.emit(state)

    def _fill(self) -> None:
        self.list.clear()
        for code in add_language.addable_languages(self.bundle):
            item = QListWidgetItem(add_language.language_label(code))
            item.setData(LANGUAGE_ROLE, code)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    @Slot()
    def cancel(self) -> None:
        if not self.is_running() or self._child is None:
            return
        self._cancelled = True
        self._append("\nCancelling…\n")
        self._child.stop()  # alma-train ends cleanly on SIGTERM; its end ends the run as cancelled

    def _append(self, text: str) -> None:
        self.log_pane.moveCursor(QTextCursor.MoveOperation.End)
        self.log_pane.insertPlainText(text)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        # Closing the dialog stops the run: nothing trains in the background without a window to follow it.
        if self._child is not None:
            self._cancelled = True
            self._child.stop_and_wait()  # its end (emitted while waiting) ends the run as cancelled
        super().closeEvent(event)
