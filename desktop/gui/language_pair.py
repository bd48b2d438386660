"""Source and target language pickers with a swap button, shared by the text and documents views
(docs/gui.md, "How it is built")."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QWidget

from alma_core.languages import LANGUAGES


class LanguagePair(QWidget):
    """Two language combo boxes (by code) and a swap button; emits changed(src, tgt)."""

    changed = Signal(str, str)

    def __init__(self, src: str, tgt: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source_box = self._language_box("Source language")
        self.target_box = self._language_box("Target language")
        self.swap_button = QToolButton()
        self.swap_button.setText("⇄")
        self.swap_button.setToolTip("Swap languages (Ctrl+Shift+S)")
        self.swap_button.setAccessibleName("Swap languages")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("From"))
        layout.addWidget(self.source_box)
        layout.addWidget(self.swap_button)
        layout.addWidget(QLabel("to"))
        layout.addWidget(self.target_box)
        self.set_pair(src, tgt)
        self.source_box.currentIndexChanged.connect(self._emit_changed)
        self.target_box.currentIndexChanged.connect(self._emit_changed)
        self.swap_button.clicked.connect(self.swap)

    @staticmethod
    def _language_box(name: str) -> QComboBox:
        box = QComboBox()
        box.setAccessibleName(name)
        for code, language in LANGUAGES.items():
            box.addItem(f"{language} ({code})", code)
        return box

    def pair(self) -> tuple[str, str]:
        return self.source_box.currentData(), self.target_box.currentData()

    def set_pair(self, src: str, tgt: str) -> None:
        """Select src and tgt; an unknown code (say, from an old settings file) leaves the box as is."""
        for box, code in ((self.source_box, src), (self.target_box, tgt)):
            index = box.findData(code)
            if index >= 0:
                box.setCurrentIndex(index)

    @Slot()
    def swap(self) -> None:
        src, tgt = self.pair()
        # One changed signal for the swap, not one per combo box.
        self.source_box.blockSignals(True)
        self.target_box.blockSignals(True)
        self.set_pair(tgt, src)
        self.source_box.blockSignals(False)
        self.target_box.blockSignals(False)
        self._emit_changed()

    @Slot()
    def _emit_changed(self) -> None:
        self.changed.emit(*self.pair())
