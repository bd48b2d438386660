"""The Documents queue translates on the app's one engine (issue 15 item 7), driven for real.

The window loads the fast test model once; a document is translated on that same engine while the
Text view translates (and cancels its own requests as the user types): typing never cancels the
document, and cancelling a document never cancels the Text view.
"""

from __future__ import annotations

import gc

import pytest

pytest.importorskip("pytestqt")
pytestmark = [pytest.mark.usefixtures("app_dirs"), pytest.mark.slow, pytest.mark.timeout(600)]

TIMEOUT_MS = 240_000
# Long enough that the document (decoded in batches) is still running while the Text view translates.
SENTENCES = [f"Im Jahr {1700 + n} baute die Stadt eine neue Brücke." for n in range(160)]
LONGER = [f"Im Jahr {1700 + n} eröffnete die Stadt eine neue Schule." for n in range(320)]


def llama_models() -> int:
    """llama.cpp models alive in this process."""
    from llama_cpp import Llama

    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is Llama)  # type(): no lazy object wakes up


@pytest.fixture
def window(qtbot, default_gguf):
    from desktop.gui.app import MainWindow

    window = MainWindow(default_gguf)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.translator.engine is not None, timeout=TIMEOUT_MS)
    return window


def test_a_document_uses_the_apps_engine_and_typing_does_not_cancel_it(qtbot, window, tmp_path):
    queue, translator, text_view = window.document_queue, window.translator, window.text_view
    models_before = llama_models()
    assert queue.engine is translator.engine  # one model in memory for text and documents

    # Inline markup in every sentence: each goes through the engine's sentence path (not a batch decoded
    # ahead), where engine.cancel() — what the Text view used to call — would stop it.
    document = tmp_path / "chronik.html"
    body = "".join(f"<p>Im Jahr <b>{1700 + n}</b> baute die Stadt eine neue Brücke.</p>\n" for n in range(40))
    document.write_text(f"<html><body>\n{body}</body></html>\n", encoding="utf-8")
    job = queue.add(document, "de", "en")
    qtbot.waitUntil(lambda: job.done >= 1, timeout=TIMEOUT_MS)

    # The user types while the document is translated: each new text cancels the Text view's running
    # request (it must be running: its first piece came), never the document.
    text_view.languages.set_pair("de", "en")
    with qtbot.waitSignal(translator.partial, timeout=TIMEOUT_MS):
        text_view.source.setPlainText("Guten Morgen. Das Haus ist groß. Wir gehen heute in die Stadt.")
        text_view.translate_now()
    assert not job.state.finished
    with qtbot.waitSignal(translator.translationReady, timeout=TIMEOUT_MS) as ready:
        text_view.source.setPlainText("Guten Tag.")
        text_view.translate_now()
    assert ready.args[0].text.strip()
    qtbot.waitUntil(lambda: job.state.finished, timeout=TIMEOUT_MS)
    assert job.state.value == "Done", job.error
    assert job.done == 40
    output = (tmp_path / "chronik.en.html").read_text(encoding="utf-8")
    assert output.count("<p>") == 40 and output.count("<b>") == 40  # every sentence, its markup kept
    # No second model was loaded for the document, and the queue keeps none of its own.
    assert llama_models() == models_before
    assert queue._worker._engine is None


def test_cancelling_a_document_leaves_the_text_view_translating(qtbot, window, tmp_path):
    queue, translator, text_view = window.document_queue, window.translator, window.text_view
    document = tmp_path / "lang.txt"
    document.write_text("\n\n".join(LONGER) + "\n", encoding="utf-8")
    job = queue.add(document, "de", "en")
    qtbot.waitUntil(lambda: job.done >= 1, timeout=TIMEOUT_MS)

    text_view.languages.set_pair("de", "en")
    partials, results = [], []
    translator.partial.connect(partials.append)
    translator.translationReady.connect(results.append)
    text_view.source.setPlainText("Das Wetter ist schön. Wir gehen heute in der Stadt spazieren.")
    text_view.translate_now()
    qtbot.waitUntil(lambda: bool(partials or results), timeout=TIMEOUT_MS)
    queue.cancel(job.job_id)  # while the Text view's request runs on the same engine
    qtbot.waitUntil(lambda: bool(results), timeout=TIMEOUT_MS)
    # The whole text came back: the document's cancel did not cut the Text view's translation off.
    assert results[0].text.strip()
    qtbot.waitUntil(lambda: job.state.finished, timeout=TIMEOUT_MS)
    assert job.state.value == "Cancelled" and job.done < len(LONGER)
    assert not (tmp_path / "lang.en.txt").exists() and queue.running is None
