"""The desktop app's persisted settings, kept apart from the window (as TranslateLocally does).

One QSettings store, lists and per-model options as JSON strings (docs/gui.md, "How it is built").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "alma-local"
APPLICATION = "alma-desktop"

DEFAULT_SOURCE = "de"
DEFAULT_TARGET = "en"
DEFAULT_API_PORT = 5000  # LibreTranslate's, so its clients' defaults find the app


@dataclass(frozen=True)
class ModelOptions:
    """How to run one model: GPU layers (-1 = automatic: all on a GPU build, 0 = CPU only) and CPU
    threads (0 = automatic)."""

    n_gpu_layers: int = -1
    n_threads: int = 0


class AppSettings:
    """Typed access to the app's QSettings (models, languages, live translation, window geometry)."""

    def __init__(self, store: QSettings | None = None) -> None:
        self._store = store or QSettings(QSettings.defaultFormat(), QSettings.Scope.UserScope,
                                         ORGANIZATION, APPLICATION)

    @property
    def file_name(self) -> str:
        return self._store.fileName()

    def sync(self) -> None:
        self._store.sync()

    # --- model inventory -------------------------------------------------------------------
    def added_models(self) -> list[Path]:
        """GGUF files the user added (the default model is always listed and not stored here)."""
        return [Path(p) for p in self._json("models/added", [])]

    def set_added_models(self, paths: list[Path]) -> None:
        self._store.setValue("models/added", json.dumps([str(p) for p in paths]))

    def seen_bundles(self) -> list[Path]:
        """The bundles of the user model folder already put on the list once (a removed one stays off)."""
        return [Path(p) for p in self._json("models/seen_bundles", [])]

    def set_seen_bundles(self, paths: list[Path]) -> None:
        self._store.setValue("models/seen_bundles", json.dumps([str(p) for p in paths]))

    def active_model(self) -> Path | None:
        """The model to load at start; None means the default model."""
        value = self._store.value("models/active", "")
        return Path(value) if value else None

    def set_active_model(self, path: Path | None) -> None:
        self._store.setValue("models/active", str(path) if path else "")

    def model_options(self, path: Path | None) -> ModelOptions:
        raw = self._json("models/options", {}).get(_model_key(path), {})
        try:
            return ModelOptions(int(raw.get("n_gpu_layers", -1)), int(raw.get("n_threads", 0)))
        except (TypeError, ValueError):  # a hand-edited settings file: fall back to the defaults
            return ModelOptions()

    def set_model_options(self, path: Path | None, options: ModelOptions) -> None:
        all_options = self._json("models/options", {})
        all_options[_model_key(path)] = asdict(options)
        self._store.setValue("models/options", json.dumps(all_options))

    # --- translation -----------------------------------------------------------------------
    def languages(self, view: str) -> tuple[str, str]:
        src = self._store.value(f"{view}/source", DEFAULT_SOURCE)
        tgt = self._store.value(f"{view}/target", DEFAULT_TARGET)
        return str(src), str(tgt)

    def set_languages(self, view: str, src: str, tgt: str) -> None:
        self._store.setValue(f"{view}/source", src)
        self._store.setValue(f"{view}/target", tgt)

    def live_translation(self) -> bool:
        return _as_bool(self._store.value("text/live", True))

    def set_live_translation(self, enabled: bool) -> None:
        self._store.setValue("text/live", enabled)

    # --- local API (desktop.gui.api_switch) ----------------------------------------------------
    def api_enabled(self) -> bool:
        return _as_bool(self._store.value("api/enabled", False))  # off unless the user switched it on

    def set_api_enabled(self, enabled: bool) -> None:
        self._store.setValue("api/enabled", enabled)

    def api_port(self) -> int:
        try:
            return int(self._store.value("api/port", DEFAULT_API_PORT))
        except (TypeError, ValueError):
            return DEFAULT_API_PORT

    def set_api_port(self, port: int) -> None:
        self._store.setValue("api/port", port)

    # --- window ----------------------------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        value = self._store.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_geometry(self, geometry: QByteArray) -> None:
        self._store.setValue("window/geometry", geometry)

    def current_tab(self) -> int:
        return int(self._store.value("window/tab", 0))

    def set_current_tab(self, index: int) -> None:
        self._store.setValue("window/tab", index)

    def _json(self, key: str, default):
        try:
            value = json.loads(self._store.value(key, "") or "null")
        except (TypeError, ValueError):
            return default
        return value if isinstance(value, type(default)) else default


def _model_key(path: Path | None) -> str:
    return str(path) if path else "default"


def _as_bool(value: object) -> bool:
    # The INI back end hands booleans back as the strings "true"/"false".
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)
