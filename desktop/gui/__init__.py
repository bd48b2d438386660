"""desktop.gui: the PySide6 window over desktop.engine (Qt only here; the engine stays Qt-free)."""
