"""The app's local-API switch driven for real (offscreen): off by default, on serves the active model over
HTTP on loopback, off stops it. The real SmolLM2 GGUF, a free port of this computer, no mocks."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

pytest.importorskip("pytestqt")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


TIMEOUT_MS = 600_000  # a model load on a 2-core machine shared with a training run


@pytest.fixture(autouse=True)
def isolated_settings(app_dirs, monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def translate(port: int, text: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/translate", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"q": text, "source": "de", "target": "en"}).encode())
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())


def suggest(port: int, text: str, suggestion: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/suggest", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"q": text, "s": suggestion, "source": "de", "target": "en"}).encode())
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())


def test_the_api_switch_is_off_by_default_and_serves_the_active_model(qtbot, default_gguf, app_default_gguf):
    from desktop.gui.app import MainWindow
    from desktop.gui.settings import AppSettings

    window = MainWindow(default_gguf)
    qtbot.addWidget(window)
    window.show()
    switch = window.api_switch
    assert not switch.enabled.isChecked() and switch.status.text() == "Off" and switch.server is None
    qtbot.waitUntil(lambda: window.translator.model is not None, timeout=TIMEOUT_MS)

    port = free_port()
    switch.port.setValue(port)
    switch.enabled.setChecked(True)
    qtbot.waitUntil(lambda: switch.status.text().startswith(("Serving", "Not running")), timeout=TIMEOUT_MS)
    assert switch.status.text() == f"Serving {default_gguf.name} at http://127.0.0.1:{port}/"
    assert not switch.port.isEnabled()  # the port is fixed while serving
    answer = translate(port, "Das Haus ist groß.")
    assert answer["translatedText"].strip() and answer["translatedText"] != "Das Haus ist groß."
    assert switch.server.engine.model_path == default_gguf  # the active model, its own copy of it

    # /suggest stores into the app's translation memory, and the API serves it from there at once.
    assert suggest(port, "Der Zug fährt ab.", "The train is leaving.") == {"success": True}
    assert window.memory.lookup("de", "en", "Der Zug fährt ab.") == "The train is leaving."
    assert translate(port, "Der Zug fährt ab.")["translatedText"] == "The train is leaving."

    settings = AppSettings()
    assert settings.api_enabled() and settings.api_port() == port  # remembered for the next start

    # Another model loaded in the app: the API follows it.
    from desktop.gui.worker import ModelSpec

    first = switch.server
    window.load_model(ModelSpec(app_default_gguf))
    qtbot.waitUntil(lambda: switch.status.text().startswith(f"Serving {app_default_gguf.name}"),
                    timeout=TIMEOUT_MS)
    assert switch.server is not first and not first.running
    assert translate(port, "Ich habe einen Hund.")["translatedText"].strip()

    switch.enabled.setChecked(False)
    qtbot.waitUntil(lambda: switch.status.text() == "Off", timeout=60_000)
    with pytest.raises(urllib.error.URLError):
        translate(port, "Das Haus ist groß.")
    assert not AppSettings().api_enabled()
