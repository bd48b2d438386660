"""Error dialogs that never block the event loop.

QMessageBox.open() shows the box window-modal and returns at once (exec() would spin a nested event
loop and stall tests and the worker signals). Each box is a child of its window, so tests find the
very dialog a user would see with window.findChildren(QMessageBox).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def show_error(parent: QWidget, title: str, message: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorDialog")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # paths can be copied
    box.open()
    return box
