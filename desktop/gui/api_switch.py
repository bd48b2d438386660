"""The app's switch for the local LibreTranslate-compatible API (desktop.api), off by default: its own copy of
the active model, served on 127.0.0.1 only and restarted with it (docs/api.md, "The app's switch")."""

from __future__ import annotations

import sqlite3
import threading
import warnings

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QLabel, QSpinBox, QWidget

from desktop.gui.settings import AppSettings
from desktop.gui.worker import ModelSpec, load_engine
from desktop.memory.store import TranslationMemory


class ApiSwitch(QGroupBox):
    """A check box, a port and a status line; the server itself runs off the GUI thread."""

    # Emitted from background threads; Qt delivers them in the GUI thread.
    _started = Signal(int, object, object)  # generation, ApiServer, the ModelSpec it serves
    _failed = Signal(int, str)
    _stopped = Signal()

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__("Local API (LibreTranslate-compatible)", parent)
        self._settings = settings
        self.enabled = QCheckBox("Serve translations to other programs on this computer")
        self.enabled.setToolTip("Programs that speak LibreTranslate's API (CAT tools, browser extensions, "
                                "scripts) can translate with the active model at http://127.0.0.1:PORT/. "
                                "Only this computer can connect.")
        self.port = QSpinBox()
        self.port.setRange(1024, 65535)
        self.port.setValue(settings.api_port())
        self.port.setMaximumWidth(180)
        self.status = QLabel("Off")
        self.status.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(self.enabled)
        form.addRow("Port", self.port)
        form.addRow("Status", self.status)

        self.server = None  # the running desktop.api.server.ApiServer
        self._served: ModelSpec | None = None  # the model it serves
        self._spec: ModelSpec | None = None  # the app's active model
        self._generation = 0  # bumped by every start/stop, so a late result of an old start is dropped
        self._starting = False

        self.enabled.setChecked(settings.api_enabled())
        self.port.setEnabled(not self.enabled.isChecked())
        self.enabled.toggled.connect(self._toggled)
        self.port.valueChanged.connect(settings.set_api_port)
        self._started.connect(self._on_started)
        self._failed.connect(self._on_failed)
        self._stopped.connect(self._on_stopped)

    def set_model(self, spec: ModelSpec) -> None:
        """The app loaded `spec`: serve it (starting when switched on, restarting on a change)."""
        self._spec = spec
        if self.enabled.isChecked() and spec != self._served:
            self._restart()

    @Slot(bool)
    def _toggled(self, on: bool) -> None:
        self._settings.set_api_enabled(on)
        self.port.setEnabled(not on)
        if on:
            self._restart()
        else:
            self._stop_in_background()

    def _restart(self) -> None:
        if self._spec is None:
            self.status.setText("Waiting for the model…")
            return
        stopping = self._stop_in_background()
        self._generation += 1
        generation, spec, port = self._generation, self._spec, self.port.value()
        self._starting = True
        self.status.setText(f"Starting on port {port}…")
        threading.Thread(target=self._start, args=(generation, spec, port, stopping), name="alma-api-start",
                         daemon=True).start()

    def _start(self, generation: int, spec: ModelSpec, port: int, stopping: threading.Thread | None) -> None:
        from desktop.api.server import ApiServer, ApiServerError, ServerOptions

        try:
            engine = load_engine(spec)
        except Exception as exc:  # noqa: BLE001 (shown in the status line; the app goes on)
            self._failed.emit(generation, f"the model did not load: {exc}")
            return
        if stopping is not None:  # the server being replaced still holds the port until it has stopped
            stopping.join()
        # The user's translation memory, on a connection of the server's own: its matches are served, as in
        # the app, and /suggest stores into it.
        memory = _open_memory()
        engine.memory = memory
        try:
            server = ApiServer(engine, ServerOptions(port=port, memory=memory))
            server.start()
        except ApiServerError as exc:
            engine.close()
            _close(memory)
            self._failed.emit(generation, str(exc))
            return
        self._started.emit(generation, server, spec)

    @Slot(int, object, object)
    def _on_started(self, generation: int, server, spec: ModelSpec) -> None:
        if generation != self._generation:  # switched off (or restarted) while it was starting
            threading.Thread(target=server.stop, daemon=True).start()
            return
        self._starting = False
        self.server, self._served = server, spec
        self.status.setText(f"Serving {server.engine.model_path.name} at {server.url}")

    @Slot(int, str)
    def _on_failed(self, generation: int, message: str) -> None:
        if generation != self._generation:
            return
        self._starting = False
        self.status.setText(f"Not running: {message}")

    def _stop_in_background(self) -> threading.Thread | None:
        """Stop the server off the GUI thread; the thread doing it (None when none ran)."""
        self._generation += 1
        self._starting = False
        server, self.server, self._served = self.server, None, None
        if server is None:
            self.status.setText("Off")
            return None
        self.status.setText("Stopping…")

        def stop() -> None:
            server.stop()
            _close(server.options.memory)
            self._stopped.emit()

        thread = threading.Thread(target=stop, name="alma-api-stop", daemon=True)
        thread.start()
        return thread

    @Slot()
    def _on_stopped(self) -> None:
        if self.server is None and not self._starting:
            self.status.setText("Off")

    def shutdown(self) -> None:
        """Window closing: stop the server now (a running request is cancelled)."""
        self._generation += 1
        server, self.server = self.server, None
        if server is not None:
            server.stop()
            _close(server.options.memory)


def _open_memory() -> TranslationMemory | None:
    """The user's translation memory for the API, or None when it cannot be opened (the API serves on)."""
    try:
        return TranslationMemory()
    except (OSError, sqlite3.Error) as exc:
        warnings.warn(f"local API: translation memory not used: {exc}", RuntimeWarning, stacklevel=2)
        return None


def _close(memory: TranslationMemory | None) -> None:
    if memory is not None:
        memory.close()
