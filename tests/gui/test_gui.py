"""The desktop window driven for real (offscreen): the default model, real typing, real dialogs.

Every test builds the real MainWindow with no model set, so it translates with the model the app picks
by itself (here, with no translator built: the best installed base, Gemma 3 270M zero-shot); other
models are the real SmolLM2 GGUF. Nothing in the engine is replaced. Settings go to an INI file in a
temp dir and the translation cache to a temp data dir, so tests neither read nor change the user's own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from alma_core.models import default_gguf_path

pytest.importorskip("pytestqt")
pytestmark = [pytest.mark.timeout(300), pytest.mark.usefixtures("app_dirs")]  # QSettings, cache in tmp_path

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QKeySequence  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

MODEL_TIMEOUT_MS = 60_000


def open_window(qtbot, model_path: Path | None = None, wait_for_model: bool = True):
    from desktop.gui.app import MainWindow

    window = MainWindow(model_path)
    qtbot.addWidget(window)  # closed (worker threads stopped) at teardown
    window.show()
    qtbot.waitExposed(window)
    if wait_for_model:
        qtbot.waitUntil(lambda: window.translator.model is not None, timeout=MODEL_TIMEOUT_MS)
    return window


@pytest.fixture
def window(qtbot):
    return open_window(qtbot)


@pytest.fixture(scope="module")
def reference_engine():
    """A second engine on the same model, no cache: what the window must show for a given input."""
    from desktop.engine import TranslationEngine

    return TranslationEngine(default_gguf_path(), cache=False)  # same threads as the window: identical arithmetic


def error_dialogs(window) -> list[QMessageBox]:
    return [box for box in window.findChildren(QMessageBox) if box.isVisible()]


def wait_idle(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.translator.busy, timeout=MODEL_TIMEOUT_MS)


def type_and_wait(qtbot, window, text: str) -> str:
    """Put text in the source box and wait for the debounced translation to finish."""
    with qtbot.waitSignal(window.translator.translationReady, timeout=MODEL_TIMEOUT_MS):
        window.text_view.source.setPlainText(text)
    wait_idle(qtbot, window)
    return window.text_view.target.toPlainText()


def test_typing_translates_after_debounce_and_streams(qtbot, window, reference_engine):
    view = window.text_view
    assert window.model_label.text() == f"Model: {reference_engine.model_path.name}"
    assert window.device_label.text() == "Device: CPU"
    partials: list[str] = []
    window.translator.partial.connect(partials.append)

    qtbot.keyClicks(view.source, "Guten Morgen.")
    qtbot.waitUntil(lambda: window.translator.busy, timeout=5_000)
    wait_idle(qtbot, window)

    expected = reference_engine.translate("Guten Morgen.", "de", "en")
    assert expected
    assert view.target.toPlainText() == expected
    # Debounced: thirteen keystrokes, one sentence sent to the model.
    assert window.translator._worker._engine.model_calls == 1
    assert len(partials) >= 2 and partials[-1] == expected  # streamed piece by piece
    assert view.source_counts.text() == "13 characters · 1 segments"
    assert view.target_counts.text() == f"{len(expected)} characters"
    assert window.speed_label.text().startswith("Last run: ")
    assert "tokens/s" in window.speed_label.text()

    view.copy_button.click()
    assert QApplication.clipboard().text() == expected


def test_only_the_newest_request_is_translated(qtbot, window, reference_engine):
    translator = window.translator
    ready = []
    translator.translationReady.connect(ready.append)
    for text in ("Eins.", "Eins zwei.", "Eins zwei drei.", "Der Hund schläft."):
        translator.translate(text, "de", "en")
    wait_idle(qtbot, window)

    assert [result.text for result in ready] == [reference_engine.translate("Der Hund schläft.", "de", "en")]
    assert window.text_view.target.toPlainText() == ready[0].text


def test_swap_shortcut_swaps_languages_and_retranslates(qtbot, window, reference_engine):
    view = window.text_view
    first = type_and_wait(qtbot, window, "Das Wetter ist schön.")
    assert view.languages.pair() == ("de", "en")

    assert window.swap_action.shortcut() == QKeySequence("Ctrl+Shift+S")
    window.activateWindow()
    with qtbot.waitSignal(window.translator.translationReady, timeout=MODEL_TIMEOUT_MS):
        qtbot.keyClick(view.source, Qt.Key.Key_S,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        assert view.languages.pair() == ("en", "de")
        assert view.source.toPlainText() == first  # the translation became the new source
    assert view.target.toPlainText() == reference_engine.translate(first, "en", "de")
    # The pair is persisted for the next start.
    assert window.settings.languages("text") == ("en", "de")


def test_stop_cancels_a_running_translation(qtbot, window):
    view = window.text_view
    view.live_box.setChecked(False)
    long_text = " ".join(f"Satz Nummer {n} ist hier." for n in range(1, 30))
    view.source.setPlainText(long_text)
    ready = []
    window.translator.translationReady.connect(ready.append)
    qtbot.keyClick(view.source, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Return
    qtbot.waitUntil(lambda: view.target.toPlainText() != "", timeout=MODEL_TIMEOUT_MS)
    assert view.stop_button.isEnabled()

    view.stop_button.click()
    assert not window.translator.busy and not view.stop_button.isEnabled()
    partial = view.target.toPlainText()
    engine = window.translator._worker._engine
    qtbot.waitUntil(lambda: not window.translator._worker._running.is_set(), timeout=10_000)
    calls = engine.model_calls
    qtbot.wait(300)
    assert engine.model_calls == calls and calls < 29  # stopped well before the 29th sentence
    assert ready == [] and view.target.toPlainText() == partial


def test_corrupt_model_shows_a_dialog_and_the_app_stays_usable(qtbot, window, tmp_path, default_gguf,
                                                               app_default_gguf, reference_engine):
    # A truncated download: the real model's first MiB.
    corrupt = tmp_path / "truncated.gguf"
    corrupt.write_bytes(default_gguf.read_bytes()[: 1 << 20])
    models = window.models_view
    before = models.model_paths()

    assert models.add_model(corrupt) is False
    qtbot.waitUntil(lambda: len(error_dialogs(models)) == 1, timeout=5_000)
    box = error_dialogs(models)[0]
    assert "truncated.gguf" in box.text() and "truncated" in box.text().lower()
    assert models.model_paths() == before
    box.close()

    # Loading it anyway (say it was listed before it broke) goes through the worker: same story.
    window.load_model(models.spec_for(corrupt))
    qtbot.waitUntil(lambda: len(error_dialogs(window)) == 1, timeout=MODEL_TIMEOUT_MS)
    assert str(corrupt) in error_dialogs(window)[0].text()
    assert window.model_label.text() == f"Model: {app_default_gguf.name}"  # the old model still serves

    translation = type_and_wait(qtbot, window, "Guten Abend.")
    assert translation == reference_engine.translate("Guten Abend.", "de", "en")


def test_start_with_a_bad_model_then_pick_the_default(qtbot, tmp_path, app_default_gguf):
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("this is not a model\n", encoding="utf-8")
    window = open_window(qtbot, not_gguf, wait_for_model=False)
    qtbot.waitUntil(lambda: len(error_dialogs(window)) == 1, timeout=MODEL_TIMEOUT_MS)
    assert "notes.gguf" in error_dialogs(window)[0].text()
    assert "GGUF" in error_dialogs(window)[0].text()
    assert window.model_label.text() == "Model: none loaded"

    window.text_view.source.setPlainText("Hallo.")
    qtbot.waitUntil(lambda: "no model is loaded" in window.statusBar().currentMessage(), timeout=10_000)

    models = window.models_view
    models.select_model(app_default_gguf)
    models.use_button.click()
    qtbot.waitUntil(lambda: window.translator.model is not None, timeout=MODEL_TIMEOUT_MS)
    assert window.model_label.text() == f"Model: {app_default_gguf.name}"
    assert window.settings.active_model() is None  # the default model is stored as "default"


def test_models_inventory_persists_and_never_deletes_files(qtbot, window, tmp_path, default_gguf):
    copy = tmp_path / "my-model.gguf"
    shutil.copyfile(default_gguf, copy)
    models = window.models_view
    window.tabs.setCurrentWidget(models)

    assert models.add_model(copy)
    assert copy.resolve() in models.model_paths()
    assert models.fields["architecture"].text() == "llama"
    assert models.fields["quantization"].text() == "Q4_1"
    assert models.fields["layers"].text() == "30"
    assert models.fields["size"].text() == f"{copy.stat().st_size / 1024**2:.1f} MB"
    assert models.fields["pairs"].text() == "not recorded in the file"
    models.threads.setValue(2)
    models.gpu_layers.setValue(0)

    models.use_button.click()
    qtbot.waitUntil(lambda: window.model_label.text() == "Model: my-model.gguf", timeout=MODEL_TIMEOUT_MS)
    assert window.translator.model.path == copy.resolve()
    assert window.document_queue.spec.path == copy.resolve()
    assert window.translator._worker._engine.n_threads == 2
    assert window.translator._worker._engine.n_gpu_layers == 0
    window.close()

    # A new window finds the inventory, the active model and its options again.
    again = open_window(qtbot)
    assert again.translator.model.path == copy.resolve()
    assert again.translator._worker._engine.n_threads == 2
    assert copy.resolve() in again.models_view.model_paths()
    again.models_view.select_model(copy.resolve())
    again.models_view.remove_selected()
    assert copy.resolve() not in again.models_view.model_paths()
    assert copy.exists()  # removed from the list, never from disk


def test_geometry_and_tab_are_restored(qtbot, window, app_dirs):
    window.resize(722, 511)  # inside the offscreen screen (800x600)
    window.tabs.setCurrentIndex(2)
    window.close()
    assert list(app_dirs.rglob("*.ini"))  # written where the test redirected QSettings
    again = open_window(qtbot)
    assert (again.width(), again.height()) == (722, 511)
    assert again.tabs.currentIndex() == 2


def test_quit_and_open_shortcuts_are_bound(qtbot, window):
    assert window.quit_action.shortcut() == QKeySequence("Ctrl+Q")
    assert window.open_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert window.translate_action.shortcut() == QKeySequence("Ctrl+Return")
    window.activateWindow()
    qtbot.keyClick(window.text_view.source, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert not window.isVisible()


def test_alma_desktop_model_option_opens_the_window_on_that_model(qtbot, tmp_path, default_gguf):
    from desktop.gui.app import open_window as open_from_command_line

    copy = tmp_path / "chosen.gguf"
    shutil.copyfile(default_gguf, copy)
    window = open_from_command_line(["--model", str(copy)])
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.translator.model is not None, timeout=MODEL_TIMEOUT_MS)
    assert window.model_label.text() == "Model: chosen.gguf"
    assert window.settings.active_model() == copy.resolve()


def test_pyside_build_keeps_none_alive(qtbot):
    """PySide6 6.12.0 on Python 3.11 drops a reference to None on every void call: the app aborts with
    'deallocating None' after a few thousand widget updates. pyproject pins it out; this catches it."""
    import sys

    from PySide6.QtWidgets import QLabel

    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for n in range(2000):
        label.setText(str(n))
    assert sys.getrefcount(None) - before > -100
