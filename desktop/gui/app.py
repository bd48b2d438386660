"""alma-desktop: the desktop app, with text, documents, models, tune and glossary views over the local engine.

The window arranges views; the engine runs in worker threads and answers by signal (docs/gui.md).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QTabWidget, QWidget

from alma_core.interrupts import HANDLED_SIGNALS
from desktop.gui.api_switch import ApiSwitch
from desktop.gui.dialogs import show_error
from desktop.gui.document_queue import DocumentQueue
from desktop.gui.documents_view import DocumentsView
from desktop.gui.glossary_view import GlossaryView
from desktop.gui.models_view import ModelsView
from desktop.gui.settings import APPLICATION, ORGANIZATION, AppSettings
from desktop.gui.text_view import TextView
from desktop.gui.tune_view import TuneView
from desktop.gui.worker import ModelSpec, ModelStatus, TranslationResult, Translator
from desktop.memory.store import TranslationMemory
from desktop.terminology.store import GlossaryStore

TEXT_TAB, DOCUMENTS_TAB, MODELS_TAB, TUNE_TAB, GLOSSARIES_TAB = range(5)
# Python runs a signal handler only when the main thread executes Python code, and Qt's event loop is
# C++: a timer hands the interpreter control this often, so SIGTERM is acted on within this delay.
SIGNAL_POLL_MS = 200


class MainWindow(QMainWindow):
    """Tabs for text, documents, models, tuning and glossaries; a status bar with model, device and
    last-run speed."""

    def __init__(self, model_path: Path | None = None, settings: AppSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("alma-local")
        self.settings = settings or AppSettings()
        self.stopped_by_signal: int | None = None  # set by close_on_signals

        # A model named on the command line wins over the one saved in the settings.
        path = Path(model_path).resolve() if model_path else self.settings.active_model()
        start_spec = ModelSpec(path, self.settings.model_options(path))

        self.translator = Translator(self)
        # The user's translation memory (<user data dir>/memory.sqlite): corrections confirmed in the
        # Text view go in, and the engine serves its exact matches before the model.
        self.memory = TranslationMemory()  # copes with a damaged or read-only file (a warning)
        self.translator.set_memory(self.memory)
        # Documents translate on the Translator's engine: one model in memory for the whole app.
        self.document_queue = DocumentQueue(start_spec, parent=self, translator=self.translator)
        self.glossaries = GlossaryStore().load()  # <user data dir>/glossaries
        self.text_view = TextView(self.translator, self.settings, self.glossaries)
        self.documents_view = DocumentsView(self.document_queue, self.settings, self.glossaries, memory=self.memory)
        self.models_view = ModelsView(self.settings)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.text_view, "Text")
        self.tabs.addTab(self.documents_view, "Documents")
        self.tabs.addTab(self.models_view, "Models")
        # The local API switch sits with the run options, above the stretch of the Models view.
        self.api_switch = ApiSwitch(self.settings)
        self.models_view.settings_layout.insertWidget(self.models_view.settings_layout.count() - 1, self.api_switch)
        # Training runs in child processes; "Tune on my corrections" reads the translation memory.
        self.tune_view = TuneView(self.models_view, memory=self.memory)
        self.tune_view.set_direction(*self.text_view.languages.pair())
        self.text_view.languages.changed.connect(self.tune_view.set_direction)
        self.tabs.addTab(self.tune_view, "Tune")
        self.glossary_view = GlossaryView(self.glossaries, self.settings)
        self.tabs.addTab(self.glossary_view, "Glossaries")
        self.setCentralWidget(self.tabs)

        self.model_label = QLabel("Model: loading…")
        self.device_label = QLabel()
        self.speed_label = QLabel()
        for label in (self.model_label, self.device_label, self.speed_label):
            self.statusBar().addPermanentWidget(label)

        self._add_actions()
        for view in (self.text_view, self.documents_view, self.models_view, self.tune_view, self.glossary_view):
            view.statusMessage.connect(lambda text: self.statusBar().showMessage(text, 5000))
        self.translator.modelLoaded.connect(self._on_model_loaded)
        self.translator.modelError.connect(self._on_model_error)
        self.translator.translationReady.connect(self._on_translation_ready)
        self.models_view.activateRequested.connect(self.load_model)
        self.glossary_view.changed.connect(self.text_view.glossaries_changed)
        self.tabs.currentChanged.connect(self.settings.set_current_tab)

        self.resize(1000, 620)
        geometry = self.settings.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.tabs.setCurrentIndex(self.settings.current_tab())

        self.load_model(start_spec)
        QTimer.singleShot(0, self.glossary_view.show_load_problems)  # a dialog once the window is up

    def _add_actions(self) -> None:
        def action(text: str, shortcut: QKeySequence | str, slot) -> QAction:
            act = QAction(text, self)
            act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            self.addAction(act)
            return act

        self.translate_action = action("Translate", "Ctrl+Return", self._translate_shortcut)
        self.swap_action = action("Swap languages", "Ctrl+Shift+S", self._swap_shortcut)
        self.open_action = action("Open document…", QKeySequence.StandardKey.Open, self._open_shortcut)
        self.quit_action = action("Quit", "Ctrl+Q", self.close)  # StandardKey.Quit is empty on Windows
        self.stop_action = action("Stop", "Escape", self.text_view.stop)
        self.confirm_action = action("Confirm corrections", "Ctrl+Shift+Return", self._confirm_shortcut)

    @Slot()
    def _translate_shortcut(self) -> None:
        self.tabs.setCurrentIndex(TEXT_TAB)
        self.text_view.translate_now()

    @Slot()
    def _confirm_shortcut(self) -> None:
        self.tabs.setCurrentIndex(TEXT_TAB)
        self.text_view.confirm_corrections()

    @Slot()
    def _swap_shortcut(self) -> None:
        if self.tabs.currentIndex() == DOCUMENTS_TAB:
            self.documents_view.languages.swap()
        else:
            self.text_view.swap()

    @Slot()
    def _open_shortcut(self) -> None:
        self.tabs.setCurrentIndex(DOCUMENTS_TAB)
        self.documents_view.choose_files()

    @Slot(object)
    def load_model(self, spec: ModelSpec) -> None:
        self.model_label.setText(f"Model: loading {spec.path.name if spec.path else 'default'}…")
        self.translator.load_model(spec)

    @Slot(object)
    def _on_model_loaded(self, status: ModelStatus) -> None:
        self.settings.set_active_model(status.spec.path)
        self.document_queue.set_model(status.spec)
        self.models_view.set_active(status.path)
        self.api_switch.set_model(status.spec)
        self.model_label.setText(f"Model: {status.path.name}")
        self.model_label.setToolTip(str(status.path))
        self.device_label.setText(f"Device: {status.device}")
        self.statusBar().showMessage(f"Loaded {status.path.name} in {status.seconds:.1f} s", 5000)

    @Slot(str)
    def _on_model_error(self, message: str) -> None:
        current = self.translator.model
        self.model_label.setText(f"Model: {current.path.name}" if current else "Model: none loaded")
        self.models_view.set_load_failed()
        show_error(self, "Model not loaded", message)

    @Slot(object)
    def _on_translation_ready(self, result: TranslationResult) -> None:
        speed = f", {result.tokens_per_second:.0f} tokens/s" if result.tokens else " (from the cache)"
        self.speed_label.setText(f"Last run: {result.seconds:.2f} s{speed}")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        self.settings.set_geometry(self.saveGeometry())
        self.settings.sync()
        self.translator.shutdown()
        self.memory.close()  # after the engine thread stopped: no lookup runs any more
        self.document_queue.shutdown()
        self.tune_view.shutdown()
        self.api_switch.shutdown()
        super().closeEvent(event)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alma-desktop", description="alma-local desktop translator")
    parser.add_argument("-m", "--model", type=Path,
                        help="GGUF model (default: the active one from the Models view, else the default model: "
                             "the translator `make model` built, else the best installed base; see the Models view)")
    return parser


def open_window(argv: Sequence[str] | None = None) -> MainWindow:
    """Parse alma-desktop's arguments and show the window (the QApplication must exist)."""
    args, _ = build_parser().parse_known_args(argv)
    window = MainWindow(args.model)
    window.show()
    return window


def close_on_signals(window: MainWindow) -> dict[int, object]:
    """SIGTERM (logout, kill), SIGHUP (terminal closed) and Ctrl-C close the window as its close button
    does: running document jobs are cancelled, which removes their .part files, and a Tune step is
    stopped. The signal is kept in window.stopped_by_signal; returns the handlers it replaced."""
    def handler(signum: int, frame: object) -> None:
        if window.stopped_by_signal is None:
            window.stopped_by_signal = signum
            # From the event loop, not from inside whatever Python code the signal interrupted.
            QTimer.singleShot(0, window.close)

    previous = {signum: signal.signal(signum, handler) for signum in HANDLED_SIGNALS}
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(SIGNAL_POLL_MS)
    return previous


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    _, qt_args = build_parser().parse_known_args(argv)  # the rest (-platform, -style, ...) is Qt's
    app = QApplication.instance() or QApplication([sys.argv[0], *qt_args])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    window = open_window(argv)
    close_on_signals(window)
    status = app.exec()
    if window.stopped_by_signal is not None:
        name = signal.Signals(window.stopped_by_signal).name
        print(f"alma-desktop: interrupted ({name}); running document jobs were cancelled", file=sys.stderr)
        return 128 + window.stopped_by_signal
    return status


if __name__ == "__main__":
    sys.exit(main())
