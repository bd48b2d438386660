"""alma-desktop: the desktop app (text view over the engine; the full GUI is tracked in issue 6).

The engine lives in a worker thread and talks by signals, so the event loop never waits on the model.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from alma_train.languages import LANGUAGES


class EngineWorker(QObject):
    """Owns the TranslationEngine inside the worker thread."""

    ready = Signal(str)
    translated = Signal(int, str)
    failed = Signal(str)

    def __init__(self, model_path: Path | None) -> None:
        super().__init__()
        self._model_path = model_path
        self._engine = None

    @Slot()
    def load(self) -> None:
        try:
            from desktop.engine import TranslationEngine

            self._engine = TranslationEngine(self._model_path)
            self.ready.emit(self._engine.model_path.name)
        except Exception as exc:  # shown in the window; the app stays up
            self.failed.emit(f"could not load the model: {exc}")

    @Slot(int, str, str, str)
    def translate(self, request_id: int, text: str, src: str, tgt: str) -> None:
        if self._engine is None:
            self.failed.emit("no model loaded")
            return
        try:
            self.translated.emit(request_id, self._engine.translate(text, src, tgt))
        except Exception as exc:
            self.failed.emit(str(exc))


class MainWindow(QMainWindow):
    request = Signal(int, str, str, str)

    def __init__(self, model_path: Path | None = None) -> None:
        super().__init__()
        self.setWindowTitle("alma-local")
        self.source = QPlainTextEdit()
        self.source.setPlaceholderText("Text to translate")
        self.target = QPlainTextEdit()
        self.target.setReadOnly(True)
        self.src_box, self.tgt_box = QComboBox(), QComboBox()
        for code, name in LANGUAGES.items():
            self.src_box.addItem(name, code)
            self.tgt_box.addItem(name, code)
        self.src_box.setCurrentIndex(self.src_box.findData("de"))
        self.tgt_box.setCurrentIndex(self.tgt_box.findData("en"))
        self.swap_button = QPushButton("Swap")
        self.translate_button = QPushButton("Translate")
        self.translate_button.setEnabled(False)
        self.status = QLabel("loading model…")

        pickers = QHBoxLayout()
        for widget in (self.src_box, self.swap_button, self.tgt_box, self.translate_button):
            pickers.addWidget(widget)
        panes = QHBoxLayout()
        panes.addWidget(self.source)
        panes.addWidget(self.target)
        layout = QVBoxLayout()
        layout.addLayout(pickers)
        layout.addLayout(panes)
        layout.addWidget(self.status)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)
        self.resize(900, 500)

        self._request_id = 0
        self._thread = QThread(self)
        self._worker = EngineWorker(model_path)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.load)
        self._worker.ready.connect(self._on_ready)
        self._worker.translated.connect(self._on_translated)
        self._worker.failed.connect(self._on_failed)
        self.request.connect(self._worker.translate)
        self.translate_button.clicked.connect(self.translate)
        self.swap_button.clicked.connect(self.swap)
        self._thread.start()

    @Slot(str)
    def _on_ready(self, name: str) -> None:
        self.status.setText(f"model: {name}")
        self.translate_button.setEnabled(True)

    @Slot()
    def translate(self) -> None:
        self._request_id += 1
        self.request.emit(self._request_id, self.source.toPlainText(),
                          self.src_box.currentData(), self.tgt_box.currentData())

    @Slot(int, str)
    def _on_translated(self, request_id: int, text: str) -> None:
        if request_id == self._request_id:  # an older request's answer is stale
            self.target.setPlainText(text)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.status.setText(f"error: {message}")

    @Slot()
    def swap(self) -> None:
        src, tgt = self.src_box.currentIndex(), self.tgt_box.currentIndex()
        self.src_box.setCurrentIndex(tgt)
        self.tgt_box.setCurrentIndex(src)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self._thread.quit()
        self._thread.wait()
        super().closeEvent(event)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="alma-desktop", description="alma-local desktop translator")
    parser.add_argument("-m", "--model", type=Path, help="GGUF model (default: SmolLM2-135M-Instruct)")
    args, qt_args = parser.parse_known_args(argv)
    app = QApplication([sys.argv[0], *qt_args])
    window = MainWindow(args.model)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
